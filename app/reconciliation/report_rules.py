"""Rules that rest on what was said: the carrier's trouble, our claimed status, our promise.

Each returns the finding it would raise and when it falls due, whatever `now` is; `rules.py`
keeps those due at `now` and applies the staleness guard where the finding needs it.
"""

from __future__ import annotations

from datetime import timedelta

from app.kernel.findings import Finding, Severity
from app.reconciliation.facts import LegFacts
from app.reconciliation.scene import (
    Due,
    Scene,
    first_physical_event,
    leg_finding,
    newest_event,
)
from app.reconciliation.wording import (
    date_words,
    iso,
    quote,
    scan_moment,
    status_words,
)
from carriers.types import TrackingStatus, carrier_name

SHIPPED_CLAIMS = frozenset({"shipped", "fulfilled", "in_transit"})
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


def late(leg: LegFacts, scene: Scene) -> list[Due]:
    """Due at the end of the promised day (carrier's zone) on each undelivered delivering leg."""
    promised = scene.order.promised_delivery_on
    if (
        promised is None
        or scene.cancelled
        or not scene.is_delivering(leg)
        or leg.current_status == TrackingStatus.DELIVERED
    ):
        return []
    calendar = scene.calendar(leg)
    due_at = calendar.start_of_day(promised + timedelta(days=1))
    name, number = carrier_name(leg.carrier), leg.tracking_number
    last = newest_event(leg)
    seen = (
        f" (last scan {scan_moment(last.occurred_at, scene.now)}: {quote(last.description)})"
        if last is not None
        else ""
    )
    finding = leg_finding(
        "late",
        Severity.WARNING,
        leg,
        f"Order {scene.order.order_number} was promised for "
        f"{date_words(promised, calendar, scene.now)}; "
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
    calendar = scene.calendars.default
    due_at = calendar.start_of_day(promised + timedelta(days=1))
    finding = Finding(
        rule="late",
        severity=Severity.WARNING,
        leg_id=None,
        carrier=None,
        tracking_number=None,
        explanation=f"Order {scene.order.order_number} was promised for "
        f"{date_words(promised, calendar, scene.now)} but has no tracking number yet.",
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
    when = f" on {scan_moment(event.occurred_at, scene.now)}" if event is not None else ""
    words = quote(event.description if event is not None else "")
    fields = {"name": carrier_name(leg.carrier), "number": leg.tracking_number}
    finding = leg_finding(
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
    order_number = scene.order.order_number
    if scene.cancelled:
        moved = first_physical_event(leg)
        if moved is None:
            return []
        text = (
            f"Order {order_number} is cancelled on our side, but {name} scanned {number} on "
            f"{scan_moment(moved.occurred_at, scene.now)}: {quote(moved.description)}."
        )
        action = f"Ask {name} to intercept {number} and return it, or reinstate the order."
        return [_claim(leg, scene, Severity.CRITICAL, text, action, needs_fresh=False)]
    if scene.claim == "delivered":
        if leg.current_status in (None, TrackingStatus.DELIVERED):
            return []
        if not scene.is_delivering(leg):
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


def _claim(
    leg: LegFacts, scene: Scene, severity: Severity, text: str, action: str, *, needs_fresh: bool
) -> Due:
    finding = leg_finding("claim_mismatch", severity, leg, text, action, claimed_status=scene.claim)
    return Due(finding, None, needs_fresh=needs_fresh)
