"""What an agent reads about an order: the order as ingested, with what every carrier scanned,
the alerts open on it and the ones its next deadline will open."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from app.shipments.schemas import OrderRead


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
        description="what the searched number matched: 'order_number', 'tracking_number' "
        "and/or 'partner_number' (a leg's partner number, see legs[].partner_numbers)"
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
