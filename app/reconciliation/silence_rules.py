"""Rules that rest on the carrier's silence: nothing scanned by a deadline.

Each returns the finding it would raise and when it falls due, whatever `now` is; `rules.py`
keeps those due at `now` and holds them back on stale legs (the staleness guard).
"""

from __future__ import annotations

from datetime import datetime

from app.kernel.findings import Severity
from app.reconciliation.facts import LegFacts
from app.reconciliation.scene import (
    Due,
    Scene,
    handoff_event,
    has_physical_scan,
    label_created_at,
    leg_finding,
    newest_event,
)
from app.reconciliation.wording import (
    business_days_passed,
    date_words,
    day,
    handoff_sentence,
    iso,
    long_date,
    quote,
    scan_moment,
    span,
    unscanned_label_sentence,
)
from carriers.types import TERMINAL_STATUSES, TrackingStatus, carrier_name

# Statuses of a parcel that should keep being scanned as it moves; UNKNOWN counts once the parcel
# has been scanned physically, since an unmapped code is most often an ordinary hub scan.
MOVING_STATUSES = frozenset(
    {
        TrackingStatus.ACCEPTED,
        TrackingStatus.IN_TRANSIT,
        TrackingStatus.HANDED_OFF,
        TrackingStatus.OUT_FOR_DELIVERY,
        TrackingStatus.UNKNOWN,
    }
)


def never_inducted(leg: LegFacts, scene: Scene) -> list[Due]:
    """Due N business days after the label (after the cutoff: from the next business day)."""
    if (
        scene.cancelled
        or scene.is_handoff_target(leg)
        or has_physical_scan(leg)
        or scene.scanned_later(leg)  # the next carrier has the parcel: it entered the network
        or leg.current_status == TrackingStatus.CANCELLED
    ):
        return []
    calendar, limit = scene.calendar(leg), scene.limits(leg).never_inducted_business_days
    started = label_created_at(leg)
    due_at = calendar.add_business_days(started, limit)
    counting_from = calendar.first_counting_day(started)
    elapsed = calendar.business_days_between(started, scene.now)
    story = _label_sentence(leg, scene, started)
    finding = leg_finding(
        "never_inducted",
        Severity.CRITICAL,
        leg,
        f"{story} {carrier_name(leg.carrier)} number {leg.tracking_number}"
        f"{_counting_note(leg, scene, started)}; {business_days_passed(elapsed)} "
        f"(threshold {limit}).",
        "Ask the shipper or consolidator for proof of tender (pickup scan or signed manifest); "
        "if there is none, reship now and file a claim.",
        story=story,
        label_created_at=iso(started),
        counting_from_on=counting_from.isoformat(),
        deadline_at=iso(due_at),
        business_days_elapsed=str(elapsed),
        threshold_business_days=str(limit),
    )
    return [Due(finding, due_at, needs_fresh=True)]


def _label_sentence(leg: LegFacts, scene: Scene, started: datetime) -> str:
    calendar = scene.calendar(leg)
    on = long_date(calendar.local(started).date(), calendar.local(scene.now).date())
    known = leg.current_status != TrackingStatus.NOT_FOUND
    return unscanned_label_sentence(carrier_name(leg.carrier), on, known=known)


def _counting_note(leg: LegFacts, scene: Scene, started: datetime) -> str:
    calendar = scene.calendar(leg)
    counting_from = calendar.first_counting_day(started)
    if counting_from == calendar.local(started).date():
        return ""
    # Say why the count starts after the label date, or the agent will count differently.
    from_day = date_words(counting_from, calendar, scene.now)
    return f" (after the pickup cutoff or on a day off: counted from {from_day})"


def handoff_gap(leg: LegFacts, scene: Scene) -> list[Due]:
    """Due N business days after the previous leg's hand-off while this leg has no scan."""
    if scene.cancelled or not scene.is_handoff_target(leg) or has_physical_scan(leg):
        return []
    previous = scene.previous(leg)
    event = handoff_event(previous) if previous is not None else None
    handed_at = event.occurred_at if event is not None else leg.handed_off_at
    if handed_at is None:
        return []  # not handed off yet: the previous leg's own rules watch the parcel
    calendar, limit = scene.calendar(leg), scene.limits(leg).handoff_gap_business_days
    due_at = calendar.add_business_days(handed_at, limit)
    giver = carrier_name(previous.carrier) if previous is not None else "The previous carrier"
    taker, number = carrier_name(leg.carrier), leg.tracking_number
    # The hand-off's day as the giver recorded it (the scan's own zone), else in the taker's.
    handed_on = handed_at.date() if event is not None else calendar.local(handed_at).date()
    story = handoff_sentence(giver, taker, long_date(handed_on, calendar.local(scene.now).date()))
    scan = (
        f" {giver}'s hand-off scan: {scan_moment(event.occurred_at, scene.now)}, "
        f"{quote(event.description)}."
        if event is not None
        else ""
    )
    elapsed = calendar.business_days_between(handed_at, scene.now)
    finding = leg_finding(
        "handoff_gap",
        Severity.CRITICAL,
        leg,
        f"{story}{scan} {taker} number {number}: {business_days_passed(elapsed)} "
        f"(threshold {limit}).",
        f"Ask {giver} for proof of tender to {taker} (the hand-off scan and manifest for "
        f"{number}); if there is none, reship now and file a claim with {giver}.",
        story=story,
        handed_off_at=iso(handed_at),
        handoff_event=event.description if event is not None else "",
        previous_tracking_number=previous.tracking_number if previous is not None else "",
        deadline_at=iso(due_at),
        business_days_elapsed=str(elapsed),
        threshold_business_days=str(limit),
    )
    return [Due(finding, due_at, needs_fresh=True)]


def not_found(leg: LegFacts, scene: Scene) -> list[Due]:
    """Due when the carrier still answers not_found a grace period after tracking started."""
    if (
        leg.current_status != TrackingStatus.NOT_FOUND
        or scene.cancelled
        or scene.is_handoff_target(leg)
        or scene.scanned_later(leg)
    ):
        return []
    calendar, limit = scene.calendar(leg), scene.limits(leg).not_found_grace_business_days
    due_at = calendar.add_business_days(leg.tracking_started_at, limit)
    name, number = carrier_name(leg.carrier), leg.tracking_number
    elapsed = calendar.business_days_between(leg.tracking_started_at, scene.now)
    finding = leg_finding(
        "not_found",
        Severity.WARNING,
        leg,
        f"{name} still does not know tracking number {number}; firstscan has tracked it since "
        f"{day(leg.tracking_started_at, calendar, scene.now)} and "
        f"{business_days_passed(elapsed)} (grace {limit}).",
        f"Check the number against the label (typo, wrong carrier); if it is right, ask the "
        f"shipper whether the label was sent to {name}.",
        tracking_started_at=iso(leg.tracking_started_at),
        deadline_at=iso(due_at),
        business_days_elapsed=str(elapsed),
        threshold_business_days=str(limit),
    )
    return [Due(finding, due_at, needs_fresh=True)]


def stalled(leg: LegFacts, scene: Scene) -> list[Due]:
    """Due N business days after the newest scan of a moving parcel that was not handed on."""
    last = newest_event(leg)
    if (
        scene.cancelled
        or leg.current_status not in MOVING_STATUSES
        or last is None
        or not has_physical_scan(leg)
        or _handed_on(leg, scene)
    ):
        return []
    calendar, limit = scene.calendar(leg), scene.limits(leg).stalled_business_days
    due_at = calendar.add_business_days(last.occurred_at, limit)
    name, number = carrier_name(leg.carrier), leg.tracking_number
    where = f" at {last.location}" if last.location else ""
    elapsed = calendar.business_days_between(last.occurred_at, scene.now)
    finding = leg_finding(
        "stalled",
        Severity.WARNING,
        leg,
        f"{name} last scanned {number} on {scan_moment(last.occurred_at, scene.now)}{where}: "
        f"{quote(last.description)}; no scan since and {business_days_passed(elapsed)} "
        f"(threshold {limit}).",
        f"Open a trace with {name} for {number} and tell the customer the parcel is delayed.",
        last_event_at=iso(last.occurred_at),
        last_event=last.description,
        deadline_at=iso(due_at),
        business_days_elapsed=str(elapsed),
        threshold_business_days=str(limit),
    )
    return [Due(finding, due_at, needs_fresh=True)]


def expired(leg: LegFacts, scene: Scene) -> list[Due]:
    """Due when a leg outside a terminal state has shown no change for the expiry period."""
    if leg.current_status in TERMINAL_STATUSES:
        return []
    limit = scene.limits(leg).expire_after
    last = newest_event(leg)
    changed_at = max(leg.tracking_started_at, last.occurred_at if last else leg.tracking_started_at)
    due_at = changed_at + limit
    calendar, name = scene.calendar(leg), carrier_name(leg.carrier)
    # Say what the carrier last showed, not when firstscan happened to start asking.
    since = (
        f"its last scan on {day(last.occurred_at, calendar, scene.now)}"
        if last is not None
        else f"firstscan began tracking it on {day(leg.tracking_started_at, calendar, scene.now)}"
    )
    finding = leg_finding(
        "expired",
        Severity.INFO,
        leg,
        f"{name} has shown nothing new for {leg.tracking_number} since {since} "
        f"(limit {span(limit)}); firstscan stops polling it.",
        f"Check {leg.tracking_number} by hand on {name}'s site, then close the order or file "
        "a claim.",
        last_change_at=iso(changed_at),
        deadline_at=iso(due_at),
    )
    return [Due(finding, due_at, needs_fresh=True)]


def _handed_on(leg: LegFacts, scene: Scene) -> bool:
    """The parcel left this leg for a known next leg, whose own rules now watch it."""
    following = scene.following(leg)
    if following is None:
        return False
    return (
        leg.current_status == TrackingStatus.HANDED_OFF
        or handoff_event(leg) is not None
        or has_physical_scan(following)
    )
