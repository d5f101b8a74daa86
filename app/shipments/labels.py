"""Turning what a shop sends about a label into checked (carrier, tracking number) pairs."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from app.errors import FieldError
from app.shipments.dates import DateWindows, check_label_time
from app.shipments.schemas import ShipmentCreate
from carriers import numbers


def join_field(prefix: str, name: str) -> str:
    """The path of `name` inside `prefix` ("shipments[0]" + "carrier"); a bare name at the top."""
    return f"{prefix}.{name}" if prefix else name


@dataclass(frozen=True, slots=True)
class CheckedNumber:
    carrier: str
    tracking_number: str


@dataclass(frozen=True, slots=True)
class CheckedShipment:
    first: CheckedNumber
    last_mile: CheckedNumber | None
    service: str | None
    label_created_at: datetime


def check_number(carrier: str | None, raw: str, *, field: str) -> CheckedNumber | FieldError:
    """Normalizes the number and checks it against the named carrier, or detects the carrier."""
    number = numbers.normalize_tracking_number(raw)
    if not number:
        return FieldError(
            join_field(field, "tracking_number"), "is empty once spaces and dashes are removed"
        )
    if carrier is not None:
        if carrier not in numbers.KNOWN_CARRIERS:
            known = ", ".join(numbers.KNOWN_CARRIERS)
            return FieldError(
                join_field(field, "carrier"), f"unknown carrier '{carrier}'; use one of: {known}"
            )
        reason = numbers.check_number_for_carrier(carrier, number)
        if reason is not None:
            return FieldError(join_field(field, "tracking_number"), reason)
        return CheckedNumber(carrier, number)
    candidates = numbers.detect_carriers(number)
    if len(candidates) == 1:
        return CheckedNumber(candidates[0], number)
    if not candidates:
        return FieldError(
            join_field(field, "carrier"),
            f"'{number}' is not a recognised tracking number of any supported carrier "
            f"({', '.join(numbers.KNOWN_CARRIERS)}); name the carrier",
        )
    return FieldError(
        join_field(field, "carrier"),
        f"'{number}' could be a {' or a '.join(candidates)} number; name the carrier",
    )


def check_shipment(
    shipment: ShipmentCreate, *, field: str, now: datetime, windows: DateWindows
) -> CheckedShipment | list[FieldError]:
    """Checks one label; returns every problem found, not just the first."""
    errors: list[FieldError] = []
    first = check_number(shipment.carrier, shipment.tracking_number, field=field)
    if isinstance(first, FieldError):
        errors.append(first)
    last_mile: CheckedNumber | FieldError | None = None
    if shipment.last_mile is not None:
        last_mile = check_number(
            shipment.last_mile.carrier,
            shipment.last_mile.tracking_number,
            field=join_field(field, "last_mile"),
        )
        if isinstance(last_mile, FieldError):
            errors.append(last_mile)
    late_or_early = check_label_time(
        shipment.label_created_at,
        field=join_field(field, "label_created_at"),
        now=now,
        windows=windows,
    )
    if late_or_early is not None:
        errors.append(late_or_early)
    if (
        isinstance(first, CheckedNumber)
        and isinstance(last_mile, CheckedNumber)
        and first == last_mile
    ):
        errors.append(
            FieldError(
                join_field(field, "last_mile.tracking_number"),
                "is the same as the first leg's number",
            )
        )
    if errors or not isinstance(first, CheckedNumber) or isinstance(last_mile, FieldError):
        return errors
    return CheckedShipment(
        first=first,
        last_mile=last_mile,
        service=shipment.service,
        # Inside its window a label time converts to UTC without overflowing.
        label_created_at=shipment.label_created_at.astimezone(UTC),
    )


def check_shipments(
    shipments: list[ShipmentCreate],
    *,
    field: str,
    now: datetime,
    windows: DateWindows = DateWindows(),  # noqa: B008 - frozen, shared safely
) -> list[CheckedShipment] | list[FieldError]:
    """Checks every label of a request, including the same number given twice."""
    checked: list[CheckedShipment] = []
    errors: list[FieldError] = []
    seen: dict[CheckedNumber, str] = {}
    for index, shipment in enumerate(shipments):
        path = f"{field}[{index}]"
        result = check_shipment(shipment, field=path, now=now, windows=windows)
        if isinstance(result, list):
            errors.extend(result)
            continue
        for number, sub in ((result.first, path), (result.last_mile, f"{path}.last_mile")):
            if number is None:
                continue
            if number in seen:
                errors.append(
                    FieldError(f"{sub}.tracking_number", f"repeats the number in {seen[number]}")
                )
            seen[number] = sub
        checked.append(result)
    return errors if errors else checked
