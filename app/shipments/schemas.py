from __future__ import annotations

import re
from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import AwareDatetime, BaseModel, BeforeValidator, EmailStr, Field

from app.input import Name, StrictInput

# Letters and digits of ASCII only (no look-alike letters from other scripts), spaces and
# # - _ . : + ; first a letter, a digit or # (Shopify's "#1001"). No "/": it would end the path
# segment of every route that names the order (send SO-2026/001 as SO-2026-001).
ORDER_NUMBER_PATTERN = r"^ *[A-Za-z0-9#][A-Za-z0-9#_.:+ -]*$"
ORDER_NUMBER_ALPHABET = (
    "may contain only ASCII letters, digits, spaces and # - _ . : + and must start with a "
    "letter, a digit or # (no '/': send SO-2026/001 as SO-2026-001)"
)
OrderNumber = Annotated[
    str, Name(max_length=64, pattern=ORDER_NUMBER_PATTERN, mismatch=ORDER_NUMBER_ALPHABET)
]
TrackingNumberText = Annotated[str, Name(max_length=64)]
CarrierCode = Annotated[
    str,
    Name(
        max_length=32,
        pattern=r"^ *[A-Za-z0-9_]+ *$",
        mismatch="may contain only letters, digits and _",
        lower=True,
    ),
]
PostalCode = Annotated[
    str,
    Name(
        min_length=2,
        max_length=16,
        pattern=r"^ *[A-Za-z0-9][A-Za-z0-9 -]*[A-Za-z0-9-] *$",
        mismatch="may contain only letters, digits, spaces and - (at least two)",
    ),
]
ServiceName = Annotated[str, Name(max_length=64, lower=True)]

# ISO 8601 text only: a number (a Unix time, or 0 meaning "none") is refused, not guessed at.
# Seconds may be left out and a space may stand for the T, as ERP exports write them.
_DATE_TEXT = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_DATETIME_TEXT = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,9})?)?"
    r"([Zz]|[+-][0-9]{2}:?[0-9]{2})?"
)


def _text_matching(shape: re.Pattern[str], example: str) -> BeforeValidator:
    def check(value: Any) -> Any:
        if isinstance(value, date):
            return value  # built in code (the demo, tests), not sent
        if not isinstance(value, str) or not shape.fullmatch(value):
            raise ValueError(f"must be an ISO 8601 text like {example}")
        return value

    return BeforeValidator(check)


IsoDate = Annotated[date, _text_matching(_DATE_TEXT, "2026-12-23")]
IsoDateTime = Annotated[AwareDatetime, _text_matching(_DATETIME_TEXT, "2026-12-17T14:00:00Z")]


class InputWarning(BaseModel):
    """Something the request carried that was not stored as sent, and why."""

    field: str
    reason: str


class ClaimedStatus(StrEnum):
    """What our side (the shop's systems) says happened to the order."""

    PENDING = "pending"
    SHIPPED = "shipped"
    DELIVERED = "delivered"
    CANCELLED = "cancelled"
    RETURNED = "returned"


class LastMileCreate(StrictInput):
    carrier: CarrierCode
    tracking_number: TrackingNumberText


class ShipmentCreate(StrictInput):
    tracking_number: TrackingNumberText
    carrier: CarrierCode | None = None
    label_created_at: IsoDateTime = Field(
        description="RFC 3339 with an offset; between FIRSTSCAN_LABEL_MAX_AGE_DAYS ago and now"
    )
    service: ServiceName | None = None
    last_mile: LastMileCreate | None = None


PROMISE_DESCRIPTION = (
    "a 'no date' placeholder (9999-12-31, 1900-01-01, ...) or a date outside the window "
    "(FIRSTSCAN_LABEL_MAX_AGE_DAYS ago .. FIRSTSCAN_PROMISE_MAX_DAYS_AHEAD ahead) is treated as "
    "no promise and answered with a warning"
)


class OrderCreate(StrictInput):
    order_number: OrderNumber = Field(
        description="ASCII letters, digits, spaces and # - _ . : + (no '/'), up to 64 characters"
    )
    customer_email: EmailStr | None = None
    customer_postal_code: PostalCode | None = None
    promised_delivery_date: IsoDate | None = Field(default=None, description=PROMISE_DESCRIPTION)
    claimed_status: ClaimedStatus | None = None
    shipments: list[ShipmentCreate] = Field(
        default_factory=list,
        description="at most FIRSTSCAN_MAX_SHIPMENTS_PER_ORDER per order, counting those stored",
    )


class OrderUpdate(StrictInput):
    """Only the fields sent change; null clears the claim or the promise."""

    claimed_status: ClaimedStatus | None = None
    promised_delivery_date: IsoDate | None = Field(default=None, description=PROMISE_DESCRIPTION)


class PartnerNumberRead(BaseModel):
    number: str = Field(description="the number as the carrier gave it")
    partner_name: str | None = Field(description="the partner, when the carrier names it")
    first_seen_at: datetime


class LegRead(BaseModel):
    id: int
    sequence: int
    carrier: str
    carrier_name: str
    tracking_number: str
    service: str | None
    source: str = Field(
        description="'shop' when the shop told us the number, 'carrier' when a carrier revealed it"
    )
    hands_off_to: str | None = Field(description="tracking number of the next leg, if any")
    handed_off_from: str | None = Field(description="tracking number of the previous leg, if any")
    role: str = Field(description="'first_mile', 'last_mile' or 'only'")
    status: str | None = Field(description="current normalized status; null until first polled")
    status_explanation: str
    last_event_at: datetime | None
    last_polled_at: datetime | None
    last_successful_poll_at: datetime | None
    next_poll_at: datetime | None
    active: bool
    partner_numbers: list[PartnerNumberRead] = Field(
        default_factory=list,
        description="numbers under which a local delivery partner firstscan does not track "
        "(e.g. the foreign postal service after DHL eCommerce) carries the parcel on: found by "
        "a lookup, never polled",
    )


class ShipmentRead(BaseModel):
    id: int
    service: str | None
    label_created_at: datetime
    legs: list[LegRead]


class OrderRead(BaseModel):
    order_number: str
    customer_email: str | None
    customer_postal_code: str | None
    promised_delivery_date: date | None
    claimed_status: str | None
    created_at: datetime
    updated_at: datetime
    shipments: list[ShipmentRead]


class OrderIngestRead(OrderRead):
    warnings: list[InputWarning] = Field(
        description="what was not stored as sent (e.g. a 'no date' promise), and why"
    )


class OrderUpdateReceipt(BaseModel):
    """The answer to PATCH: enough for the sender, without reading the order back."""

    order_number: str
    changed: list[str] = Field(description="the fields whose stored value changed")
    warnings: list[InputWarning]


class ImportRowError(BaseModel):
    line: int
    field: str
    reason: str


class ImportRowWarning(BaseModel):
    line: int
    field: str
    reason: str


class ImportReport(BaseModel):
    rows: int
    stored: int
    unchanged: int
    rejected: list[ImportRowError]
    warnings: list[ImportRowWarning] = Field(
        default_factory=list, description="rows stored, but not exactly as sent, and why"
    )
