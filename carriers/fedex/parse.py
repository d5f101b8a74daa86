from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, datetime

from pydantic import ValidationError

from carriers.answers import adapter_fault, decode_answer, invalid_answer
from carriers.errors import (
    CarrierError,
    CarrierResponseInvalid,
    InvalidTrackingNumber,
    TrackingNotFound,
    TrackingNumberError,
)
from carriers.fedex import payloads
from carriers.local_time import LocalTimeResolver, parse_timestamp
from carriers.protocol import TrackingFailure, TrackingResult
from carriers.types import (
    PHYSICAL_STATUSES,
    Handoff,
    Location,
    TrackingEvent,
    TrackingSnapshot,
    TrackingStatus,
)

CARRIER = "fedex"
logger = logging.getLogger("carriers.fedex")
S = TrackingStatus

# FedEx scan event types (scanEvents[].eventType, latestStatusDetail.code) and derived status
# codes (scanEvents[].derivedStatusCode, latestStatusDetail.derivedCode) share one namespace with
# the same meaning, so one table serves both; the event type is looked up first. Wording is
# FedEx's own, from the Track API reference "Tracking Status Codes"
# (developer.fedex.com/api/en-us/catalog/track/v1/docs.html).
STATUS_CODES: dict[str, tuple[TrackingStatus, str]] = {
    # Before the network: data, a pickup appointment or its delay; nothing scanned yet.
    "OC": (S.LABEL_CREATED, "Shipment information sent to FedEx"),
    "IN": (S.LABEL_CREATED, "Initiated"),  # derived code of OC, shown as "Label created"
    "OX": (S.LABEL_CREATED, "Shipment information sent to USPS"),
    "EP": (S.LABEL_CREATED, "Enroute to Pickup"),
    "AP": (S.LABEL_CREATED, "At Pickup"),
    "PD": (S.LABEL_CREATED, "Pickup Delay"),  # an exception, but FedEx does not hold the parcel
    "PU": (S.ACCEPTED, "Picked Up"),
    "PX": (S.ACCEPTED, "Picked up (see Details)"),
    "AA": (S.IN_TRANSIT, "At Airport"),
    "AC": (S.IN_TRANSIT, "At Canada Post facility"),
    "AE": (S.IN_TRANSIT, "Shipment arriving early"),
    "AF": (S.IN_TRANSIT, "At local FedEx Facility"),
    "AO": (S.IN_TRANSIT, "Shipment arriving On-time"),
    "AR": (S.IN_TRANSIT, "Arrived at FedEx location"),
    "CC": (S.IN_TRANSIT, "Cleared Customs"),
    "CP": (S.IN_TRANSIT, "Clearance in Progress"),
    "DP": (S.IN_TRANSIT, "Departed"),
    "EA": (S.IN_TRANSIT, "Enroute to Airport"),  # also "Export Approved"; in transit either way
    "EO": (S.IN_TRANSIT, "Enroute to Origin Airport"),
    "FD": (S.IN_TRANSIT, "At FedEx Destination"),
    "IT": (S.IN_TRANSIT, "In Transit"),
    "IX": (S.IN_TRANSIT, "In transit (see Details)"),
    "LO": (S.IN_TRANSIT, "Left Origin"),
    "OF": (S.IN_TRANSIT, "At FedEx origin facility"),
    "PF": (S.IN_TRANSIT, "Plane in Flight"),
    "PL": (S.IN_TRANSIT, "Plane Landed"),
    "SF": (S.IN_TRANSIT, "At Sort Facility"),
    "TR": (S.IN_TRANSIT, "Transfer"),
    # Ground Economy (formerly SmartPost): tendered to USPS, who deliver the last mile.
    "AX": (S.HANDED_OFF, "At USPS facility"),
    "OD": (S.OUT_FOR_DELIVERY, "Out for Delivery"),
    "HL": (S.AVAILABLE_FOR_PICKUP, "Hold at Location"),
    "HP": (S.AVAILABLE_FOR_PICKUP, "Ready for Recipient Pickup"),
    "DL": (S.DELIVERED, "Delivered"),
    "CD": (S.EXCEPTION, "Clearance Delay"),
    "DD": (S.EXCEPTION, "Delivery Delay"),
    "DE": (S.EXCEPTION, "Delivery Exception"),
    "DY": (S.EXCEPTION, "Delay"),
    "SE": (S.EXCEPTION, "Shipment Exception"),
    "RS": (S.RETURNED_TO_SENDER, "Return to Shipper"),
    "CA": (S.CANCELLED, "Shipment Cancelled"),
}

# Per-number error codes inside a 200 answer (trackResults[].error.code).
NOT_FOUND_CODE = "TRACKING.TRACKINGNUMBER.NOTFOUND"
NUMBER_CODE_PREFIX = "TRACKING.TRACKINGNUMBER."
PARTNER_CARRIER_NUMBER = "PARTNER_CARRIER_NUMBER"


def parse_error_message(body: str | bytes) -> str | None:
    """Returns FedEx's own "CODE: message" text from an error body; None if the body is not one."""
    try:
        answer = payloads.ErrorResponse.model_validate_json(body)
    except ValidationError:
        return None
    text = "; ".join(f"{e.code or 'no code'}: {e.message or 'no message'}" for e in answer.errors)
    return text or None


def parse_error_body(body: str) -> TrackingNumberError | None:
    """Returns the number-level error a FedEx error body names, or None when it names none."""
    try:
        answer = payloads.ErrorResponse.model_validate_json(body)
    except ValidationError:
        return None
    for error in answer.errors:
        mapped = _number_error(error, body)
        if isinstance(mapped, TrackingNumberError):
            return mapped
    return None


def parse_track_response(body: str, numbers: Sequence[str]) -> list[TrackingResult]:
    """Returns exactly one result per number, in the order given.

    Raises CarrierResponseInvalid when the body as a whole is not a FedEx track answer.
    """
    answer = decode_answer(payloads.TrackResponse, body, carrier=CARRIER, what="track answer")
    matched = _match_results(answer.output.complete_track_results, numbers)
    return [_parse_isolated(number, matched.get(number)) for number in numbers]


def _parse_isolated(number: str, complete: payloads.CompleteTrackResult | None) -> TrackingResult:
    # Up to 30 numbers share one answer: one that our parser cannot read must not take the
    # other 29 down with it.
    try:
        return _parse_number(number, complete)
    except Exception as error:
        return adapter_fault(number, error, carrier=CARRIER)


def _match_results(
    results: Sequence[payloads.CompleteTrackResult], numbers: Sequence[str]
) -> dict[str, payloads.CompleteTrackResult]:
    matched: dict[str, payloads.CompleteTrackResult] = {}
    spare: list[payloads.CompleteTrackResult] = []
    for result in results:
        if result.tracking_number in numbers and result.tracking_number not in matched:
            matched[result.tracking_number] = result
        else:
            spare.append(result)
    # FedEx can echo a number in another form (a Ground Economy barcode as its short number);
    # it answers in the order asked, so the leftovers pair up in order.
    missing = [number for number in dict.fromkeys(numbers) if number not in matched]
    matched.update(zip(missing, spare, strict=False))
    return matched


def _parse_number(number: str, complete: payloads.CompleteTrackResult | None) -> TrackingResult:
    if complete is None or not complete.track_results:
        return TrackingFailure(
            number,
            CarrierResponseInvalid("FedEx answer holds no result for this number", carrier=CARRIER),
        )
    track = _pick_track_result(complete.track_results)
    if track.error is not None and track.error.code:
        return TrackingFailure(number, _number_error(track.error, track.model_dump_json()))
    try:
        return _build_snapshot(number, track)
    except ValueError as exc:
        message = f"FedEx result has an unreadable time: {exc}"
        return TrackingFailure(
            number, invalid_answer(message, track.model_dump_json(), carrier=CARRIER)
        )


def _number_error(error: payloads.Error, body: str) -> CarrierError:
    code = (error.code or "").upper()
    message = f"{code}: {error.message or 'no message'}"
    if code == NOT_FOUND_CODE:
        return TrackingNotFound(message, carrier=CARRIER)
    if code.startswith(NUMBER_CODE_PREFIX):
        return InvalidTrackingNumber(message, carrier=CARRIER)
    return invalid_answer(f"FedEx error {message}", body, carrier=CARRIER)


def _pick_track_result(results: Sequence[payloads.TrackResult]) -> payloads.TrackResult:
    # A reused number yields one trackResult per shipment; the one with the latest activity is
    # the parcel being tracked now. An error result only wins when there is nothing else.
    usable = [result for result in results if result.error is None or not result.error.code]
    return max(usable, key=_latest_activity) if usable else results[0]


def _latest_activity(track: payloads.TrackResult) -> float:
    # Ranks on wall-clock time: offsets cannot reorder shipments that are days apart.
    moments = [moment.replace(tzinfo=UTC).timestamp() for moment in _stated_times(track)]
    return max(moments, default=float("-inf"))


def _stated_times(track: payloads.TrackResult) -> list[datetime]:
    values = [scan.date for scan in track.scan_events or []]
    values += [entry.date_time for entry in track.date_and_times or [] if entry.date_time]
    for window in (track.estimated_delivery_time_window, track.standard_transit_time_window):
        if window is not None and window.window is not None:
            values += [v for v in (window.window.begins, window.window.ends) if v]
    moments: list[datetime] = []
    for value in values:
        try:
            moments.append(parse_timestamp(value))
        except ValueError:
            continue
    return moments


def _build_snapshot(number: str, track: payloads.TrackResult) -> TrackingSnapshot:
    resolver = LocalTimeResolver(_stated_times(track))
    unknown: list[str] = []
    events = _parse_events(number, track.scan_events or [], resolver, unknown)
    detail = track.latest_status_detail
    detail_status = (
        _code_status(number, (detail.code, detail.derived_code), unknown)
        if detail is not None and (detail.code or detail.derived_code)
        else None
    )
    return TrackingSnapshot(
        carrier=CARRIER,
        tracking_number=number,
        status=_current_status(detail_status, events),
        events=tuple(events),
        service=track.service_detail.type if track.service_detail else None,
        estimated_delivery_at=_estimated_delivery(track, resolver),
        handoff=_handoff(track),
        unknown_codes=tuple(dict.fromkeys(unknown)),
    )


def _parse_events(
    number: str,
    scans: Sequence[payloads.ScanEvent],
    resolver: LocalTimeResolver,
    unknown: list[str],
) -> list[TrackingEvent]:
    events: list[TrackingEvent] = []
    for scan in reversed(scans):  # FedEx lists newest first
        codes = (scan.event_type, scan.derived_status_code)
        events.append(
            TrackingEvent(
                status=_code_status(number, codes, unknown),
                occurred_at=resolver.resolve(parse_timestamp(scan.date)),
                carrier_code=scan.event_type or scan.derived_status_code or "",
                description=_describe(scan),
                location=_location(scan.scan_location),
            )
        )
    events.sort(key=lambda event: event.occurred_at)  # stable: equal times keep FedEx's order
    return events


def _code_status(number: str, codes: Sequence[str | None], unknown: list[str]) -> TrackingStatus:
    """Maps the first known code; every code missing from STATUS_CODES is recorded and logged."""
    present = [code.strip().upper() for code in codes if code and code.strip()]
    for code in present:
        if code not in STATUS_CODES:
            unknown.append(code)
            logger.warning("FedEx status code %r (number %s) is not in STATUS_CODES", code, number)
    known = [STATUS_CODES[code][0] for code in present if code in STATUS_CODES]
    return known[0] if known else S.UNKNOWN


def _scan_status(events: Sequence[TrackingEvent]) -> TrackingStatus | None:
    if not events:
        return None
    # "Shipment information sent" can be stamped after the pickup scan (a midnight pickup time,
    # a late manifest upload): information never undoes a physical scan.
    physical = any(event.status in PHYSICAL_STATUSES for event in events)
    for event in reversed(events):
        if not (physical and event.status is S.LABEL_CREATED):
            return event.status
    return events[-1].status


def _current_status(
    detail: TrackingStatus | None, events: Sequence[TrackingEvent]
) -> TrackingStatus:
    scan = _scan_status(events)
    if scan is None:
        # Label only (CARRIER-NOTES): FedEx knows the number and has scanned nothing.
        return detail or S.LABEL_CREATED
    if detail is None or detail is scan:
        return scan
    if detail is S.DELIVERED:
        # FedEx sets the latest detail from its delivery record; scans listed after it (a
        # cancelled-label residue, an arrival notice) do not undo a delivery.
        return detail
    if {detail, scan} == {S.EXCEPTION, S.RETURNED_TO_SENDER}:
        # A return in progress keeps the delivery exception that caused it as the latest detail
        # while the newest scan already says return to shipper (CARRIER-NOTES): the return wins.
        return S.RETURNED_TO_SENDER
    if scan in (S.UNKNOWN, S.LABEL_CREATED) and detail is not S.UNKNOWN:
        # FedEx's own current status, mapped by code, beats a scan we cannot read, and a scan
        # list showing only the label lags behind a pickup or a cancellation the detail reports.
        return detail
    # Otherwise the newest timestamped scan: the latest detail can lag behind the scans.
    return scan


def _estimated_delivery(
    track: payloads.TrackResult, resolver: LocalTimeResolver
) -> datetime | None:
    candidates: list[str | None] = []
    if track.estimated_delivery_time_window and track.estimated_delivery_time_window.window:
        window = track.estimated_delivery_time_window.window
        candidates += [window.ends, window.begins]
    candidates += [
        entry.date_time
        for entry in track.date_and_times or []
        if entry.type == "ESTIMATED_DELIVERY"
    ]
    if track.standard_transit_time_window and track.standard_transit_time_window.window:
        candidates.append(track.standard_transit_time_window.window.ends)
    for value in candidates:
        if value:
            return resolver.resolve(parse_timestamp(value)).astimezone(UTC)
    return None


def _handoff(track: payloads.TrackResult) -> Handoff | None:
    info = track.additional_tracking_info
    for identifier in (info.package_identifiers or []) if info else []:
        if (identifier.type or "").upper() != PARTNER_CARRIER_NUMBER:
            continue
        single = identifier.value
        candidates = [*(identifier.values or [])]
        candidates += [single] if isinstance(single, str) else single or []
        for candidate in candidates:
            if candidate.strip():
                return Handoff(carrier="usps", tracking_number=candidate.strip())
    return None


def _describe(scan: payloads.ScanEvent) -> str:
    text = (scan.event_description or "").strip()
    reason = (scan.exception_description or "").strip()
    if reason and reason != text:
        return f"{text}: {reason}" if text else reason
    if text:
        return text
    code = (scan.event_type or "").upper()
    return STATUS_CODES[code][1] if code in STATUS_CODES else code


def _location(address: payloads.Address | None) -> Location | None:
    if address is None:
        return None
    location = Location(
        city=address.city or None,
        state=address.state_or_province_code or None,
        postal_code=address.postal_code or None,
        country=address.country_code or None,
    )
    return None if location == Location() else location
