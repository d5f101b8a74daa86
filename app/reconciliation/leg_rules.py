"""One function per discrepancy kind (listed in `app.reconciliation.rules`), judged on one leg.

Each returns the findings it would raise and when they fall due, whatever `now` is; the entry
points in `rules.py` keep the ones due at `now` and apply the staleness guard.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, timedelta

from app.reconciliation.facts import Finding, LegFacts, Severity
from app.reconciliation.scene import (
    Due,
    Scene,
    first_physical_event,
    handoff_event,
    has_physical_scan,
    label_created_at,
    newest_event,
)
from app.reconciliation.wording import (
    business_days_passed,
    carrier_name,
    day,
    iso,
    moment,
    quote,
    span,
    status_words,
)
from carriers.types import TERMINAL_STATUSES, TrackingStatus

SHIPPED_CLAIMS = frozenset({"shipped", "fulfilled", "in_transit"})
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
TROUBLE = {
    TrackingStatus.EXCEPTION: (
        Severity.WARNING,
        "{name} reports a problem with {number}{when}: {words}.",
        "Act on {name}'s note (correct the address, reach the customer or call {name}) so "
        "delivery can resume.",
    ),
    TrackingStatus.RETURNED_TO_SENDER: (
        Severity.CRITICAL,
        "{name} is returning {number} to the sender{when}: {words}.",
        "Confirm the address with the customer; reship or refund once the parcel is back.",
    ),
    TrackingStatus.DELIVERY_ATTEMPTED: (
        Severity.INFO,
        "{name} tried to deliver {number}{when}: {words}.",
        "Tell the customer where to collect the parcel or how to rebook delivery with {name}.",
    ),
}


def never_inducted(leg: LegFacts, scene: Scene) -> list[Due]:
    """Due N business days after the label (after the cutoff: from the next business day)."""
    if (
        scene.cancelled
        or scene.is_handoff_target(leg)
        or has_physical_scan(leg)
        or leg.current_status == TrackingStatus.CANCELLED
    ):
        return []
    calendar, limit = scene.calendar(leg), scene.limits(leg).never_inducted_business_days
    started = label_created_at(leg)
    due_at = calendar.add_business_days(started, limit)
    counting_from = calendar.first_counting_day(started)
    elapsed = calendar.business_days_between(started, scene.now)
    finding = _finding(
        "never_inducted",
        Severity.CRITICAL,
        leg,
        f"{_label_story(leg, scene, started)}; {business_days_passed(elapsed)} "
        f"(threshold {limit}).",
        "Ask the shipper or consolidator for proof of tender (pickup scan or signed manifest); "
        "if there is none, reship now and file a claim.",
        label_created_at=iso(started),
        counting_from_on=counting_from.isoformat(),
        deadline_at=iso(due_at),
        business_days_elapsed=str(elapsed),
        threshold_business_days=str(limit),
    )
    return [Due(finding, due_at, needs_fresh=True)]


def _label_story(leg: LegFacts, scene: Scene, started: datetime) -> str:
    calendar, name, number = scene.calendar(leg), carrier_name(leg.carrier), leg.tracking_number
    when = day(started, calendar, scene.now)
    if leg.current_status == TrackingStatus.NOT_FOUND:
        story = f"A {name} label {number} was created on {when}, but {name} still does not know it"
    elif leg.current_status == TrackingStatus.LABEL_CREATED:
        story = (
            f"{name} received the electronic label {number} on {when} but has never scanned "
            "the parcel"
        )
    else:
        story = f"A {name} label {number} was created on {when}, but {name} never scanned it"
    counting_from = calendar.first_counting_day(started)
    if counting_from != calendar.local(started).date():
        # Say why the count starts after the label date, or the agent will count differently.
        from_day = _on(counting_from, scene, leg)
        story += f" (after the pickup cutoff or on a day off: counted from {from_day})"
    return story


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
    words = f" ({quote(event.description)})" if event is not None else ""
    elapsed = calendar.business_days_between(handed_at, scene.now)
    finding = _finding(
        "handoff_gap",
        Severity.CRITICAL,
        leg,
        f"{giver} says it handed the parcel to {taker} on {moment(handed_at, calendar, scene.now)}"
        f"{words}, but {taker} has never scanned {number}; "
        f"{business_days_passed(elapsed)} (threshold {limit}).",
        f"Ask {giver} for proof of tender to {taker} (the hand-off scan and manifest for "
        f"{number}); if there is none, reship now and file a claim with {giver}.",
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
    ):
        return []
    calendar, limit = scene.calendar(leg), scene.limits(leg).not_found_grace_business_days
    due_at = calendar.add_business_days(leg.tracking_started_at, limit)
    name, number = carrier_name(leg.carrier), leg.tracking_number
    elapsed = calendar.business_days_between(leg.tracking_started_at, scene.now)
    finding = _finding(
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
    finding = _finding(
        "stalled",
        Severity.WARNING,
        leg,
        f"{name} last scanned {number} on {moment(last.occurred_at, calendar, scene.now)}{where}: "
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


def late(leg: LegFacts, scene: Scene) -> list[Due]:
    """Due at the end of the promised day (carrier's zone) on each undelivered delivering leg."""
    promised = scene.order.promised_delivery_on
    if (
        promised is None
        or scene.cancelled
        or leg not in scene.delivering_legs()
        or leg.current_status == TrackingStatus.DELIVERED
    ):
        return []
    calendar = scene.calendar(leg)
    due_at = calendar.start_of_day(promised + timedelta(days=1))
    name, number = carrier_name(leg.carrier), leg.tracking_number
    last = newest_event(leg)
    seen = (
        f" (last scan {moment(last.occurred_at, calendar, scene.now)}: {quote(last.description)})"
        if last is not None
        else ""
    )
    finding = _finding(
        "late",
        Severity.WARNING,
        leg,
        f"Order {scene.order.order_number} was promised for {_on(promised, scene, leg)}; "
        f"{name} {number} is {status_words(leg.current_status)}{seen}.",
        "Tell the customer the parcel is late and offer a remedy; if the carrier has stopped "
        "scanning, open a trace.",
        promised_delivery_on=promised.isoformat(),
        deadline_at=iso(due_at),
    )
    return [Due(finding, due_at, needs_fresh=True)]


def late_without_tracking(scene: Scene) -> list[Due]:
    """Due at the end of the promised day for an order that has no tracking number at all."""
    promised = scene.order.promised_delivery_on
    if promised is None or scene.cancelled or scene.order.legs:
        return []
    due_at = scene.calendars.default.start_of_day(promised + timedelta(days=1))
    finding = Finding(
        rule="late",
        severity=Severity.WARNING,
        leg_id=None,
        carrier=None,
        tracking_number=None,
        explanation=f"Order {scene.order.order_number} was promised for "
        f"{day(scene.calendars.default.start_of_day(promised), scene.calendars.default, scene.now)}"
        " but has no tracking number yet.",
        recommended_action="Ship it or give the customer a new date; add the tracking number as "
        "soon as the label exists.",
        evidence={"promised_delivery_on": promised.isoformat(), "deadline_at": iso(due_at)},
    )
    # Nothing is polled, so nothing can be stale: this finding rests on our own data only.
    return [Due(finding, due_at, needs_fresh=False)]


def carrier_reported_trouble(leg: LegFacts, scene: Scene) -> list[Due]:
    """Due at once on an exception, return or failed attempt, quoting the carrier's words."""
    if leg.current_status not in TROUBLE:
        return []
    severity, explanation, action = TROUBLE[leg.current_status]
    event = newest_event(leg, leg.current_status)
    calendar = scene.calendar(leg)
    when = f" on {moment(event.occurred_at, calendar, scene.now)}" if event is not None else ""
    words = quote(event.description if event is not None else "")
    fields = {"name": carrier_name(leg.carrier), "number": leg.tracking_number}
    finding = _finding(
        str(leg.current_status),
        severity,
        leg,
        explanation.format(when=when, words=words, **fields),
        action.format(**fields),
        event_at=iso(event.occurred_at) if event is not None else "",
        carrier_words=event.description if event is not None else "",
    )
    # A positive report from the carrier stays true while polls fail: no freshness needed.
    return [Due(finding, None, needs_fresh=False)]


def claim_mismatch(leg: LegFacts, scene: Scene) -> list[Due]:
    """Due at once when our claimed status and this leg's carrier data contradict each other."""
    name, number = carrier_name(leg.carrier), leg.tracking_number
    order_number, calendar = scene.order.order_number, scene.calendar(leg)
    if scene.cancelled:
        moved = first_physical_event(leg)
        if moved is None:
            return []
        text = (
            f"Order {order_number} is cancelled on our side, but {name} scanned {number} on "
            f"{moment(moved.occurred_at, calendar, scene.now)}: {quote(moved.description)}."
        )
        action = f"Ask {name} to intercept {number} and return it, or reinstate the order."
        return [_claim(leg, scene, Severity.CRITICAL, text, action, needs_fresh=False)]
    if scene.claim == "delivered":
        if leg.current_status in (None, TrackingStatus.DELIVERED):
            return []
        if leg not in scene.delivering_legs():
            return []
        text = (
            f"Our system says order {order_number} was delivered, but {name} shows {number} as "
            f"{status_words(leg.current_status)}."
        )
        action = f"Do not tell the customer it was delivered; check with {name} and fix the order."
        return [_claim(leg, scene, Severity.WARNING, text, action, needs_fresh=True)]
    if scene.claim in SHIPPED_CLAIMS and leg.current_status == TrackingStatus.CANCELLED:
        text = (
            f"Our system says order {order_number} has shipped, but {name} shows the label "
            f"{number} as cancelled."
        )
        action = (
            "Check for a replacement label; if there is none, make one and ship, or fix the order."
        )
        return [_claim(leg, scene, Severity.WARNING, text, action, needs_fresh=False)]
    return []


def expired(leg: LegFacts, scene: Scene) -> list[Due]:
    """Due when a leg outside a terminal state has shown no change for the expiry period."""
    if leg.current_status in TERMINAL_STATUSES:
        return []
    limit = scene.limits(leg).expire_after
    last = newest_event(leg)
    changed_at = max(leg.tracking_started_at, last.occurred_at if last else leg.tracking_started_at)
    due_at = changed_at + limit
    calendar, name = scene.calendar(leg), carrier_name(leg.carrier)
    finding = _finding(
        "expired",
        Severity.INFO,
        leg,
        f"{name} has shown nothing new for {leg.tracking_number} since "
        f"{day(changed_at, calendar, scene.now)} (limit {span(limit)}); "
        "firstscan stops polling it.",
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


def _claim(
    leg: LegFacts, scene: Scene, severity: Severity, text: str, action: str, *, needs_fresh: bool
) -> Due:
    finding = _finding("claim_mismatch", severity, leg, text, action, claimed_status=scene.claim)
    return Due(finding, None, needs_fresh=needs_fresh)


def _on(on: date, scene: Scene, leg: LegFacts) -> str:
    calendar = scene.calendar(leg)
    return day(calendar.start_of_day(on), calendar, scene.now)


def _finding(
    rule: str,
    severity: Severity,
    leg: LegFacts,
    explanation: str,
    action: str,
    **evidence: str,
) -> Finding:
    base: Mapping[str, str] = {"current_status": str(leg.current_status or "")}
    return Finding(
        rule=rule,
        severity=severity,
        leg_id=leg.leg_id,
        carrier=leg.carrier,
        tracking_number=leg.tracking_number,
        explanation=explanation,
        recommended_action=action,
        evidence={**base, **evidence},
    )
