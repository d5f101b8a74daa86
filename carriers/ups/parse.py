"""UPS Track API answers (GET /api/track/v1/details/{inquiryNumber}) turned into snapshots. Pure.

UPS gives every activity a status `type` (Track API appendix, "Status Types"); the status is
read from it, with a few activity `code`s that are more precise than their type. `currentStatus`
is left alone: older answers do not have it and newer ones carry only a description and a
numeric code.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import date, datetime, time, timedelta, timezone
from typing import Annotated, TypeVar

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from carriers.answers import decode_answer, invalid_answer
from carriers.errors import TrackingNotFound
from carriers.local_time import LocalTimeResolver, offset_between, parse_utc_offset
from carriers.numbers import normalize_tracking_number
from carriers.types import (
    Handoff,
    Location,
    TrackingEvent,
    TrackingSnapshot,
    TrackingStatus,
    codes_name_scans,
)

logger = logging.getLogger("carriers.ups")

CARRIER = "ups"
S = TrackingStatus

# UPS activity status type -> (our status, UPS's wording).
STATUS_TYPES: Mapping[str, tuple[TrackingStatus, str]] = {
    "M": (S.LABEL_CREATED, "Billing Information Received"),  # label only; UPS has nothing yet
    "MV": (S.CANCELLED, "Billing Information Voided"),
    "P": (S.ACCEPTED, "Pickup"),
    "I": (S.IN_TRANSIT, "In Transit"),
    "W": (S.IN_TRANSIT, "Warehousing"),
    "DO": (S.IN_TRANSIT, "Delivered Origin CFS"),  # freight container station, not the consignee
    "DD": (S.IN_TRANSIT, "Delivered Destination CFS"),
    "O": (S.OUT_FOR_DELIVERY, "Out for Delivery"),
    "D": (S.DELIVERED, "Delivered"),
    "X": (S.EXCEPTION, "Exception"),
    "RS": (S.RETURNED_TO_SENDER, "Returned to Shipper"),
    "NA": (S.UNKNOWN, "Not Available"),  # UPS itself has no status to give
}

# Activity status codes that say more than their type: the origin scan is the acceptance, and
# older answers report out-for-delivery as type I with code OT.
STATUS_CODES: Mapping[str, tuple[TrackingStatus, str]] = {
    "OR": (S.ACCEPTED, "Origin Scan"),
    "OT": (S.OUT_FOR_DELIVERY, "Out For Delivery Today"),
}

NOT_FOUND_WARNINGS = frozenset({"TW0001"})
_MISSING = "missing"


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)


def _none_is_empty(value: object) -> object:
    return [] if value is None else value


T = TypeVar("T")
# UPS sends null, or leaves the key out, where it means an empty list.
ListOrNull = Annotated[list[T], BeforeValidator(_none_is_empty)]


class _Address(_Model):
    city: str | None = None
    state_province: str | None = Field(None, alias="stateProvince")
    postal_code: str | None = Field(None, alias="postalCode")
    country_code: str | None = Field(None, alias="countryCode")
    country: str | None = None


class _Location(_Model):
    address: _Address | None = None


class _Status(_Model):
    type: str | None = None
    code: str | None = None
    description: str | None = None


class _Activity(_Model):
    local_date: str = Field(alias="date")
    local_time: str | None = Field(None, alias="time")
    gmt_date: str | None = Field(None, alias="gmtDate")
    gmt_time: str | None = Field(None, alias="gmtTime")
    gmt_offset: str | None = Field(None, alias="gmtOffset")
    location: _Location | None = None
    status: _Status = Field(default_factory=_Status)


class _Alternate(_Model):
    number: str | None = None
    type: str | None = None


class _DeliveryDate(_Model):
    date: str | None = None
    type: str | None = None


class _DeliveryTime(_Model):
    type: str | None = None
    end_time: str | None = Field(None, alias="endTime")


class _Service(_Model):
    description: str | None = None


class _Package(_Model):
    tracking_number: str | None = Field(None, alias="trackingNumber")
    activity: ListOrNull[_Activity] = Field(default_factory=list)
    alternate_numbers: ListOrNull[_Alternate] = Field(
        default_factory=list, alias="alternateTrackingNumber"
    )
    delivery_dates: ListOrNull[_DeliveryDate] = Field(default_factory=list, alias="deliveryDate")
    delivery_time: _DeliveryTime | None = Field(None, alias="deliveryTime")
    service: _Service | None = None


class _Warning(_Model):
    code: str | None = None
    message: str | None = None


class _Shipment(_Model):
    inquiry_number: str | None = Field(None, alias="inquiryNumber")
    packages: ListOrNull[_Package] = Field(default_factory=list, alias="package")
    warnings: ListOrNull[_Warning] = Field(default_factory=list)


class _TrackResponse(_Model):
    shipment: list[_Shipment] = Field(min_length=1)


class _Answer(_Model):
    track_response: _TrackResponse = Field(alias="trackResponse")


class _Error(_Model):
    code: str | None = None
    message: str | None = None


class _ErrorList(_Model):
    errors: list[_Error] = Field(min_length=1)


class _ErrorAnswer(_Model):
    response: _ErrorList


def parse_errors(body: str | bytes) -> list[tuple[str, str]]:
    """Returns UPS's (code, message) pairs from an error body; empty if the body is not one."""
    try:
        errors = _ErrorAnswer.model_validate_json(body).response.errors
    except ValidationError:
        return []
    return [((e.code or "").strip(), (e.message or "").strip()) for e in errors]


def _ymd(text: str) -> date:
    digits = text.strip()
    if len(digits) != 8 or not digits.isdigit():
        raise ValueError(f"not a UPS date: {text!r}")
    return date(int(digits[:4]), int(digits[4:6]), int(digits[6:]))


def _hms(text: str | None) -> time | None:
    """Reads HHMMSS. `gmtTime` also comes as "74700" (leading zero dropped, UPS's own OpenAPI
    example) and as "09:41:00" (recorded answers)."""
    digits = (text or "").replace(":", "").strip()
    if not digits:
        return None
    if not digits.isdigit() or len(digits) > 6:
        raise ValueError(f"not a UPS time: {text!r}")
    digits = digits.zfill(6)
    return time(int(digits[:2]), int(digits[2:4]), int(digits[4:]))


def _local_time(activity: _Activity) -> datetime:
    # An activity without a time (rare) is placed at the start of its day.
    return datetime.combine(_ymd(activity.local_date), _hms(activity.local_time) or time())


def _gmt_time(activity: _Activity) -> datetime | None:
    clock = _hms(activity.gmt_time)
    if not activity.gmt_date or clock is None:
        return None
    return datetime.combine(_ymd(activity.gmt_date), clock)


def _activity_offset(activity: _Activity) -> timedelta | None:
    """UPS `date`/`time` are local; newer answers add `gmtOffset` (used when present) and
    `gmtDate`/`gmtTime` (which imply the offset when `gmtOffset` is missing)."""
    offset = parse_utc_offset(activity.gmt_offset)
    gmt = _gmt_time(activity)
    if offset is None and gmt is not None:
        offset = offset_between(_local_time(activity), gmt)
    return offset


def _stated_time(activity: _Activity) -> datetime | None:
    """Returns the activity's local time with its offset, when UPS states or implies one."""
    offset = _activity_offset(activity)
    return None if offset is None else _local_time(activity).replace(tzinfo=timezone(offset))


def _occurred_at(activity: _Activity, resolver: LocalTimeResolver) -> datetime:
    stated = _stated_time(activity)
    if stated is not None:
        return stated
    if not resolver.stated:
        # Older answers carry no offset anywhere: the local time is read as UTC, and said so.
        logger.warning("ups: activity without any UTC offset; reading its time as UTC")
    return resolver.resolve(_local_time(activity))


def _status_of(status: _Status) -> tuple[TrackingStatus, str]:
    code, kind = (status.code or "").strip().upper(), (status.type or "").strip().upper()
    mapped, wording = STATUS_CODES.get(code) or STATUS_TYPES.get(kind, (S.UNKNOWN, ""))
    return mapped, (status.description or "").strip() or wording or f"UPS status {kind}"


def _location(activity: _Activity) -> Location | None:
    address = activity.location.address if activity.location else None
    if address is None:
        return None
    country = address.country_code or address.country
    parts = (address.city, address.state_province, address.postal_code, country)
    if not any(p and p.strip() for p in parts):
        return None
    return Location(*(p.strip() if p and p.strip() else None for p in parts))


def _events(package: _Package) -> list[TrackingEvent]:
    stated = (_stated_time(a) for a in package.activity)
    resolver = LocalTimeResolver(t for t in stated if t is not None)
    events = []
    # A push and a poll word the same scan differently; its code names it (types.py).
    by_code = codes_name_scans(CARRIER)
    for activity in package.activity:
        status, description = _status_of(activity.status)
        code = (activity.status.code or activity.status.type or "").strip()
        occurred_at = _occurred_at(activity, resolver)
        location = _location(activity)
        events.append(
            TrackingEvent(status, occurred_at, code, description, location, code_names_scan=by_code)
        )
    # UPS lists activity newest first (Track API, Activity schema); keep its order on ties.
    events.reverse()
    return sorted(events, key=lambda e: e.occurred_at)


def _unknown_codes(package: _Package) -> tuple[str, ...]:
    unknown: list[str] = []
    for activity in package.activity:
        code = (activity.status.code or "").strip().upper()
        kind = (activity.status.type or "").strip().upper() or _MISSING
        if code not in STATUS_CODES and kind not in STATUS_TYPES and kind not in unknown:
            unknown.append(kind)
            logger.warning("ups: unknown status type %r (%s)", kind, activity.status.description)
    return tuple(unknown)


def _handoff(package: _Package) -> Handoff | None:
    """SurePost / Ground Saver parcels name their USPS last-mile number as type USPS_PIC."""
    for alternate in package.alternate_numbers:
        if (alternate.type or "").strip().upper() == "USPS_PIC" and (
            alternate.number or ""
        ).strip():
            return Handoff("usps", normalize_tracking_number(alternate.number or ""))
    return None


def _estimated_delivery(package: _Package, offset: timedelta | None) -> datetime | None:
    """The rescheduled (RDD) or else scheduled (SDD) delivery date, at the end of its delivery
    window if UPS gives one, else at the end of that day (UPS's "EOD"); in the newest event's
    offset, since UPS gives none for the delivery place."""
    dates = {(d.type or "").upper(): d.date for d in package.delivery_dates if d.date}
    text = dates.get("RDD") or dates.get("SDD")
    if not text:
        return None
    window = package.delivery_time
    end = _hms(window.end_time) if window and (window.type or "").upper() != "DEL" else None
    moment = datetime.combine(_ymd(text), end or time(23, 59, 59))
    return moment.replace(tzinfo=timezone(offset or timedelta(0)))


def _select_package(answer: _Answer, number: str, body: str | bytes) -> _Package:
    """Returns the package asked about: the one with this tracking number, else the first one
    (an inquiry can name a whole multi-piece shipment)."""
    shipments = answer.track_response.shipment
    packages = [p for s in shipments for p in s.packages]
    warnings = [w for s in shipments for w in s.warnings]
    if not packages:
        found = [w for w in warnings if (w.code or "").strip() in NOT_FOUND_WARNINGS]
        if found:
            message = "; ".join(f"{w.code} {w.message or ''}".strip() for w in found)
            raise TrackingNotFound(f"UPS does not know the number: {message}", carrier=CARRIER)
        raise invalid_answer(
            "UPS answer has no package and no not-found warning", body, carrier=CARRIER
        )
    wanted = normalize_tracking_number(number)
    matching = (p for p in packages if normalize_tracking_number(p.tracking_number or "") == wanted)
    return next(matching, packages[0])


def parse_tracking(body: str | bytes, *, tracking_number: str) -> TrackingSnapshot:
    """Returns what UPS says about one package, events oldest first.

    Raises TrackingNotFound for UPS's HTTP 200 "TW0001 Tracking Information Not Found" answer
    and CarrierResponseInvalid for a body that is not a Track API answer. The status is the
    newest activity's; an unknown status type gives UNKNOWN and is listed in `unknown_codes`.
    """
    answer = decode_answer(_Answer, body, carrier=CARRIER, what="tracking answer")
    package = _select_package(answer, tracking_number, body)
    return snapshot_of_package(package, tracking_number=tracking_number, body=body)


def snapshot_of_package(
    package: _Package, *, tracking_number: str, body: str | bytes
) -> TrackingSnapshot:
    """Returns the snapshot of one UPS package, polled or pushed: one mapping for both.

    Raises CarrierResponseInvalid (quoting `body`) for an activity with an unreadable time.
    """
    try:
        events = _events(package)
        offset = events[-1].occurred_at.utcoffset() if events else None
        estimated_delivery_at = _estimated_delivery(package, offset)
    except ValueError as exc:
        message = f"not a UPS tracking answer: unreadable time ({exc})"
        raise invalid_answer(message, body, carrier=CARRIER) from exc
    service = package.service.description if package.service else None
    return TrackingSnapshot(
        carrier=CARRIER,
        tracking_number=tracking_number,
        status=events[-1].status if events else S.UNKNOWN,
        events=tuple(events),
        service=(service or "").strip() or None,
        estimated_delivery_at=estimated_delivery_at,
        handoff=_handoff(package),
        unknown_codes=_unknown_codes(package),
    )
