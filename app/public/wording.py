"""What the customer is told: plain words per parcel state, and the honest message while an alert
is open, with the date by which someone will get back to them. Pure: time is a parameter.

Customer states (`CustomerState`), from the carrier's normalized status of the current leg:
preparing (label only), in_transit, out_for_delivery, ready_for_pickup, delivery_attempted,
delivered, problem, returning, cancelled, checking (the carrier does not know the number yet).
`delayed` replaces them while an alert the customer should hear about is open on the shipment.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from enum import StrEnum

from app.alerts.customer_notice import NOTICE_PROBLEMS, NoticeDraft
from app.kernel.calendar import BusinessCalendar
from app.reconciliation.wording import long_date
from carriers.types import TrackingStatus


class CustomerState(StrEnum):
    PREPARING = "preparing"
    IN_TRANSIT = "in_transit"
    OUT_FOR_DELIVERY = "out_for_delivery"
    READY_FOR_PICKUP = "ready_for_pickup"
    DELIVERY_ATTEMPTED = "delivery_attempted"
    DELIVERED = "delivered"
    PROBLEM = "problem"
    RETURNING = "returning"
    CANCELLED = "cancelled"
    CHECKING = "checking"
    DELAYED = "delayed"


_STATE_OF_STATUS: dict[TrackingStatus, CustomerState] = {
    TrackingStatus.LABEL_CREATED: CustomerState.PREPARING,
    TrackingStatus.ACCEPTED: CustomerState.IN_TRANSIT,
    TrackingStatus.IN_TRANSIT: CustomerState.IN_TRANSIT,
    TrackingStatus.HANDED_OFF: CustomerState.IN_TRANSIT,
    TrackingStatus.OUT_FOR_DELIVERY: CustomerState.OUT_FOR_DELIVERY,
    TrackingStatus.AVAILABLE_FOR_PICKUP: CustomerState.READY_FOR_PICKUP,
    TrackingStatus.DELIVERY_ATTEMPTED: CustomerState.DELIVERY_ATTEMPTED,
    TrackingStatus.DELIVERED: CustomerState.DELIVERED,
    TrackingStatus.EXCEPTION: CustomerState.PROBLEM,
    TrackingStatus.RETURNED_TO_SENDER: CustomerState.RETURNING,
    TrackingStatus.CANCELLED: CustomerState.CANCELLED,
    TrackingStatus.NOT_FOUND: CustomerState.CHECKING,
    TrackingStatus.UNKNOWN: CustomerState.IN_TRANSIT,
}

STATE_WORDS: dict[CustomerState, str] = {
    CustomerState.PREPARING: "Your order is packed and labelled; the carrier has not scanned it "
    "yet.",
    CustomerState.IN_TRANSIT: "Your parcel is on its way.",
    CustomerState.OUT_FOR_DELIVERY: "Your parcel is out for delivery today.",
    CustomerState.READY_FOR_PICKUP: "Your parcel is waiting for you at a pickup point.",
    CustomerState.DELIVERY_ATTEMPTED: "The carrier tried to deliver your parcel and could not; "
    "it will try again or leave a notice.",
    CustomerState.DELIVERED: "Your parcel has been delivered.",
    CustomerState.PROBLEM: "The carrier reported a problem with your parcel.",
    CustomerState.RETURNING: "The carrier is returning your parcel to us.",
    CustomerState.CANCELLED: "This shipping label was cancelled.",
    CustomerState.CHECKING: "We are checking your parcel's status with the carrier.",
    CustomerState.DELAYED: "Your parcel is delayed.",
}

NOT_RECEIVED = (
    "The carrier has not received your parcel yet. We are looking into it and will contact you "
    "by {date}."
)
# What an open alert means for the customer. Rules not listed here (delivery_attempted, expired,
# carrier_unreachable) are not the customer's news: the state words already say enough.
ALERT_WORDS: dict[str, str] = {
    "never_inducted": NOT_RECEIVED,
    "handoff_gap": NOT_RECEIVED,
    "not_found": "The carrier has no record of your parcel yet. We are looking into it and will "
    "contact you by {date}.",
    "returned_to_sender": "The carrier is sending your parcel back to us. We are looking into it "
    "and will contact you by {date}.",
    "exception": "The carrier reported a problem with your parcel. We are looking into it and "
    "will contact you by {date}.",
    "stalled": "Your parcel has not moved for a few days. We are looking into it with the "
    "carrier and will contact you by {date}.",
    "late": "Your parcel is later than we promised. We are looking into it and will contact you "
    "by {date}.",
    "claim_mismatch": "We are checking your parcel's status with the carrier and will contact "
    "you by {date}.",
}
# When several alerts are open, the customer hears about the most fundamental one.
ALERT_PRIORITY = tuple(ALERT_WORDS)
FOLLOW_UP = "We are looking into it and will contact you by {date}."
CONTACT_WITHIN_BUSINESS_DAYS = 2
_QUIET_STATUSES = frozenset({None, TrackingStatus.LABEL_CREATED, TrackingStatus.NOT_FOUND})


@dataclass(frozen=True, slots=True)
class LegView:
    leg_id: int
    carrier_name: str
    status: str | None
    estimated_delivery_at: datetime | None
    label_created_at: datetime | None = None
    handed_off_at: datetime | None = None  # when this leg handed the parcel to the next one


@dataclass(frozen=True, slots=True)
class ScanView:
    leg_id: int
    status: str
    occurred_at: datetime
    utc_offset_minutes: int
    city: str | None
    region: str | None


@dataclass(frozen=True, slots=True)
class AlertView:
    rule: str
    leg_id: int | None
    opened_at: datetime
    story: str | None = None  # the finding's one-sentence story, word for word what ops read


@dataclass(frozen=True, slots=True)
class LegWords:
    """One carrier's part of the journey, as the customer reads it."""

    carrier_name: str
    words: str
    last_scan_place: str | None
    last_scan_on: date | None


@dataclass(frozen=True, slots=True)
class ShipmentWords:
    state: CustomerState
    headline: str
    carrier_name: str | None  # the carrier that has the parcel now, by the carriers' own account
    expected_delivery_on: date | None
    last_scan_place: str | None
    last_scan_on: date | None
    last_scan_carrier: str | None = None
    journey: tuple[LegWords, ...] = ()


def _status(value: str | None) -> TrackingStatus | None:
    try:
        return TrackingStatus(value) if value else None
    except ValueError:
        return TrackingStatus.UNKNOWN


def contact_by(opened_at: datetime, *, now: datetime, calendar: BusinessCalendar) -> date:
    """The business day by which we promise to get back: two business days after the alert
    opened, or the next business day once that date has passed (never a date in the past)."""
    day = calendar.first_counting_day(opened_at)
    for _ in range(CONTACT_WITHIN_BUSINESS_DAYS):
        day = calendar.next_business_day(day)
    today = calendar.local(now).date()
    return day if day >= today else calendar.next_business_day(today)


def date_words(on: date) -> str:
    """'Monday 21 December', the same in every locale."""
    return f"{on:%A} {on.day} {on:%B}"


def most_important_alert(alerts: Sequence[AlertView]) -> AlertView | None:
    """The open alert the customer hears about, or None if none is customer news."""
    told = [a for a in alerts if a.rule in ALERT_WORDS]
    return min(told, key=lambda a: (ALERT_PRIORITY.index(a.rule), a.opened_at), default=None)


def alert_message(alert: AlertView, *, now: datetime, calendar: BusinessCalendar) -> str:
    """The honest sentence for an open alert, with the date we will be back in touch; where the
    finding tells the parcel's story (who has it, who has not scanned it, since when), the
    customer reads that very sentence."""
    by = date_words(contact_by(alert.opened_at, now=now, calendar=calendar))
    if alert.story and alert.rule in NOTICE_PROBLEMS:
        return f"{alert.story} {FOLLOW_UP.format(date=by)}"
    return ALERT_WORDS[alert.rule].format(date=by)


def current_leg(legs: Sequence[LegView]) -> LegView | None:
    """The leg the parcel is on: the last one the carriers have scanned, else the first."""
    scanned = [leg for leg in legs if _status(leg.status) not in _QUIET_STATUSES]
    return scanned[-1] if scanned else (legs[0] if legs else None)


def describe_shipment(
    legs: Sequence[LegView],
    scans: Sequence[ScanView],
    alerts: Sequence[AlertView],
    *,
    promised_on: date | None,
    now: datetime,
    calendar: BusinessCalendar,
) -> ShipmentWords:
    """What the customer sees for one shipment: never a cheerful state over an open problem."""
    leg = current_leg(legs)
    status = _status(leg.status) if leg else None
    state = _STATE_OF_STATUS[status] if status else CustomerState.PREPARING
    headline = STATE_WORDS[state]
    alert = most_important_alert(alerts)
    if alert is not None:
        state, headline = CustomerState.DELAYED, alert_message(alert, now=now, calendar=calendar)
    last = _last_scan(scans)
    holder = holding_leg(legs)
    expected = None
    if state not in (CustomerState.DELIVERED, CustomerState.CANCELLED, CustomerState.RETURNING):
        estimated = leg.estimated_delivery_at if leg else None
        expected = calendar.local(estimated).date() if estimated else promised_on
        # A date already gone by is no expectation; saying "not known" is the honest answer.
        if expected is not None and expected < calendar.local(now).date():
            expected = None
    carriers = {item.leg_id: item.carrier_name for item in legs}
    return ShipmentWords(
        state=state,
        headline=headline,
        carrier_name=holder.carrier_name if holder else None,
        expected_delivery_on=expected,
        last_scan_place=_place(last) if last else None,
        last_scan_on=_local_date(last) if last else None,
        last_scan_carrier=carriers.get(last.leg_id) if last else None,
        journey=describe_journey(legs, scans, now=now, calendar=calendar) if len(legs) > 1 else (),
    )


def holding_leg(legs: Sequence[LegView]) -> LegView | None:
    """The leg whose carrier has the parcel now by the carriers' own account: the last one that
    scanned it, or the next one once it says it handed the parcel on (even if that carrier has
    not scanned it yet: that is exactly the news)."""
    holder = legs[0] if legs else None
    for index, item in enumerate(legs):
        if _status(item.status) not in _QUIET_STATUSES:
            holder = item
        if _handed_on(item) and index + 1 < len(legs):
            holder = legs[index + 1]
    return holder


def describe_journey(
    legs: Sequence[LegView], scans: Sequence[ScanView], *, now: datetime, calendar: BusinessCalendar
) -> tuple[LegWords, ...]:
    """Each carrier's part, in order: who has the parcel, who has not scanned it, since when."""
    today = calendar.local(now).date()
    parts = []
    for index, item in enumerate(legs):
        previous = legs[index - 1] if index else None
        following = legs[index + 1] if index + 1 < len(legs) else None
        last = _last_scan([s for s in scans if s.leg_id == item.leg_id])
        parts.append(
            LegWords(
                carrier_name=item.carrier_name,
                words=_leg_words(item, previous, following, last, today, calendar),
                last_scan_place=_place(last) if last else None,
                last_scan_on=_local_date(last) if last else None,
            )
        )
    return tuple(parts)


def _leg_words(
    item: LegView,
    previous: LegView | None,
    following: LegView | None,
    last: ScanView | None,
    today: date,
    calendar: BusinessCalendar,
) -> str:
    def on(at: datetime) -> str:
        return long_date(calendar.local(at).date(), today)

    status = _status(item.status)
    if _handed_on(item) and following is not None:
        when = f" on {on(item.handed_off_at)}" if item.handed_off_at else ""
        return f"Handed the parcel to {following.carrier_name}{when}."
    if status is TrackingStatus.DELIVERED:
        return "Delivered the parcel."
    if last is not None:
        place = _place(last) or "place not given"
        return f"Has the parcel; last scan {place}, {long_date(_local_date(last), today)}."
    if previous is not None and _handed_on(previous):
        since = f" on {on(previous.handed_off_at)}" if previous.handed_off_at else ""
        return f"Has not scanned the parcel since {previous.carrier_name} handed it over{since}."
    if previous is not None:
        return f"Takes over from {previous.carrier_name} for the last part of the journey."
    if status is TrackingStatus.NOT_FOUND:
        return "Does not know the parcel yet."
    label = f" since {on(item.label_created_at)}" if item.label_created_at else ""
    return f"Has had the label{label}; has not scanned the parcel yet."


def _handed_on(item: LegView) -> bool:
    return item.handed_off_at is not None or _status(item.status) is TrackingStatus.HANDED_OFF


def _last_scan(scans: Sequence[ScanView]) -> ScanView | None:
    # An electronic label notice is not a scan of the parcel; its place is the shipper's.
    physical = [s for s in scans if _status(s.status) not in _QUIET_STATUSES]
    return max(physical, key=lambda s: s.occurred_at, default=None)


def _place(scan: ScanView) -> str | None:
    return ", ".join(p for p in (scan.city, scan.region) if p) or None


def _local_date(scan: ScanView) -> date:
    return scan.occurred_at.astimezone(timezone(timedelta(minutes=scan.utc_offset_minutes))).date()


def build_notice_email(
    *, order_number: str, message: str, link: str, link_expires_on: date
) -> tuple[str, str]:
    """(subject, plain-text body) of the proactive email: the honest message and the link."""
    subject = f"Order {order_number}: an update on your parcel"
    body = (
        f"Hello,\n\n"
        f"An update on your order {order_number}:\n\n"
        f"{message}\n\n"
        f"You can see your order's status at any time here, without a postal code:\n"
        f"{link}\n"
        f"(The link works until {date_words(link_expires_on)}.)\n\n"
        f"We are sorry for the wait.\n"
    )
    return subject, body


def write_notice_email(draft: NoticeDraft, *, calendar: BusinessCalendar) -> tuple[str, str]:
    """The proactive email for a newly opened alert, with the message the status page shows."""
    view = AlertView(
        rule=draft.rule, leg_id=draft.leg_id, opened_at=draft.opened_at, story=draft.story
    )
    return build_notice_email(
        order_number=draft.order_number,
        message=alert_message(view, now=draft.now, calendar=calendar),
        link=draft.link,
        link_expires_on=draft.link_expires_on,
    )
