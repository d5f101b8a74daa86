from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, Field

from app.input import FreeText, Name, StrictInput

TeamName = Annotated[
    str,
    Name(
        max_length=64,
        pattern=r"^ *[A-Za-z0-9_.-]+ *$",
        mismatch="may contain only ASCII letters, digits and _ . -",
    ),
]
NoteText = Annotated[str, FreeText(min_length=1, max_length=4000)]


class AlertStatus(StrEnum):
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"


class Outcome(StrEnum):
    """How a person closed an alert (auto-resolution records `carrier_found_it`)."""

    RESHIPPED = "reshipped"
    REFUNDED = "refunded"
    CARRIER_FOUND_IT = "carrier_found_it"
    CARRIER_CLAIM = "carrier_claim"
    FALSE_ALARM = "false_alarm"
    OTHER = "other"


class ResolveRequest(StrictInput):
    outcome: Outcome
    note: NoteText | None = None


class AssignRequest(StrictInput):
    team: TeamName


class NoteRequest(StrictInput):
    note: NoteText


class AlertRead(BaseModel):
    id: int
    rule: str
    severity: str
    status: AlertStatus
    order_number: str | None
    carrier: str | None
    tracking_number: str | None
    team: str | None
    opened_at: datetime
    last_seen_at: datetime
    explanation: str
    recommended_action: str
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    resolved_at: datetime | None
    resolved_by: str | None
    outcome: str | None
    resolution_note: str | None
    auto_resolved: bool
    item_id: int | None = Field(description="the work item this finding is worked in")


class AlertDetailRead(AlertRead):
    evidence: dict[str, Any]
    history: list[AuditEntryRead]
    notifications: list[NotificationRead]


class AuditEntryRead(BaseModel):
    occurred_at: datetime
    actor: str
    action: str
    detail: dict[str, Any]


class NotificationRead(BaseModel):
    channel: str
    destination: str
    event: str
    status: str
    attempts: int
    delivered_at: datetime | None
    last_error: str | None


class AlertPage(BaseModel):
    items: list[AlertRead]
    total: int = Field(description="alerts matching the filters, across all pages")
    next_cursor: str | None = Field(description="pass as `cursor` for the next page")


class CountRead(BaseModel):
    key: str
    count: int


class AlertSummary(BaseModel):
    status: list[AlertStatus]
    total: int
    by_rule: list[CountRead]
    by_carrier: list[CountRead]
    by_team: list[CountRead]
    by_rule_and_carrier: list[dict[str, Any]]


class ItemFindingRead(BaseModel):
    """One finding of a work item (an alert), most specific first."""

    alert_id: int
    rule: str
    severity: str
    status: AlertStatus
    carrier: str | None
    tracking_number: str | None
    explanation: str
    recommended_action: str
    opened_at: datetime


class ItemRead(BaseModel):
    """One parcel problem: its headline is its most specific finding."""

    id: int
    rule: str = Field(description="the headline finding's rule")
    severity: str = Field(description="the highest severity of its unresolved findings")
    status: AlertStatus
    order_number: str | None
    carrier: str | None
    tracking_number: str | None
    team: str | None
    assignee: str | None
    headline: str
    next_step: str
    opened_at: datetime
    updated_at: datetime
    announced_at: datetime | None
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    escalated_at: datetime | None
    resolved_at: datetime | None
    resolved_by: str | None
    outcome: str | None
    resolution_note: str | None
    auto_resolved: bool
    findings: list[ItemFindingRead]


class ItemDetailRead(ItemRead):
    history: list[AuditEntryRead]


class ItemPage(BaseModel):
    items: list[ItemRead]
    total: int = Field(description="work items matching the filters, across all pages")
    next_cursor: str | None = Field(description="pass as `cursor` for the next page")


class ItemAssignRequest(StrictInput):
    """Give the item to a team, a person, or both."""

    team: TeamName | None = None
    assignee: (
        Annotated[
            str,
            Name(
                max_length=128,
                pattern=r"^ *[A-Za-z0-9 _.@'-]+ *$",
                mismatch="may contain only ASCII letters, digits, spaces and _ . @ ' -",
            ),
        ]
        | None
    ) = None


AlertDetailRead.model_rebuild()
