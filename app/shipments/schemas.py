from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Annotated

from pydantic import AwareDatetime, BaseModel, EmailStr, Field, StringConstraints

from app.input import StrictInput

OrderNumber = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64, pattern=r"^\S.*$")
]
TrackingNumberText = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)
]
CarrierCode = Annotated[
    str, StringConstraints(strip_whitespace=True, to_lower=True, min_length=1, max_length=32)
]
PostalCode = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, min_length=2, max_length=16, pattern=r"^[A-Za-z0-9 -]+$"
    ),
]
ServiceName = Annotated[
    str, StringConstraints(strip_whitespace=True, to_lower=True, min_length=1, max_length=64)
]


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
    label_created_at: AwareDatetime
    service: ServiceName | None = None
    last_mile: LastMileCreate | None = None


class OrderCreate(StrictInput):
    order_number: OrderNumber
    customer_email: EmailStr | None = None
    customer_postal_code: PostalCode | None = None
    promised_delivery_date: date | None = None
    claimed_status: ClaimedStatus | None = None
    shipments: list[ShipmentCreate] = Field(default_factory=list)


class OrderUpdate(StrictInput):
    claimed_status: ClaimedStatus | None = None
    promised_delivery_date: date | None = None


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


class TimelineEventRead(BaseModel):
    occurred_at: datetime = Field(description="UTC")
    local_time: str = Field(description="the scan's local time with its UTC offset, ISO 8601")
    carrier: str
    tracking_number: str
    status: str
    carrier_code: str
    description: str
    location: str | None


class OpenAlertRead(BaseModel):
    id: int
    rule: str
    severity: str
    status: str
    carrier: str | None
    tracking_number: str | None
    opened_at: datetime
    explanation: str
    recommended_action: str


class UpcomingAlertRead(BaseModel):
    rule: str
    severity: str
    carrier: str | None
    tracking_number: str | None
    due_at: datetime = Field(description="when the alert opens unless the data change first (UTC)")
    explanation: str = Field(description="the alert's wording as it will read then")
    recommended_action: str


class OrderDetailRead(OrderRead):
    matched_by: list[str] = Field(
        description="what the searched number matched: 'order_number' and/or 'tracking_number'"
    )
    timeline: list[TimelineEventRead] = Field(description="every leg's events, newest first")
    open_alerts: list[OpenAlertRead]
    upcoming_alerts: list[UpcomingAlertRead] = Field(
        description="what firstscan will raise at the order's next deadline if no scan or "
        "change arrives before it"
    )


class LookupRead(BaseModel):
    query: str
    normalized: str
    orders: list[OrderDetailRead] = Field(
        description="matching orders, newest first (tracking numbers are recycled by carriers)"
    )


class ImportRowError(BaseModel):
    line: int
    field: str
    reason: str


class ImportReport(BaseModel):
    rows: int
    stored: int
    unchanged: int
    rejected: list[ImportRowError]
