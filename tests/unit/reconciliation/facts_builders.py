"""Builders for the rules' input facts: plain functions with keyword overrides, no I/O."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from app.kernel.calendar import CalendarTable
from app.kernel.findings import Finding
from app.kernel.thresholds import ThresholdTable
from app.reconciliation.facts import EventFacts, LegFacts, OrderFacts
from app.reconciliation.rules import find_discrepancies
from carriers.types import TrackingStatus

NEW_YORK = ZoneInfo("America/New_York")
POLL_AGE = timedelta(hours=4)
CALENDARS = CalendarTable()
THRESHOLDS = ThresholdTable()


def ny(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    """A New York wall-clock time, the zone of the default carrier calendar."""
    return datetime(year, month, day, hour, minute, tzinfo=NEW_YORK)


def make_event(
    status: TrackingStatus, occurred_at: datetime, description: str = "", **overrides: Any
) -> EventFacts:
    values: dict[str, Any] = {
        "status": status,
        "occurred_at": occurred_at,
        "carrier_code": "X",
        "description": description or status.replace("_", " ").title(),
        "location": None,
    }
    values.update(overrides)
    return EventFacts(**values)


def make_leg(**overrides: Any) -> LegFacts:
    """A USPS leg labelled Thu 17 Dec 2026 10:00 New York, never scanned, polled just now."""
    label_at = overrides.pop("label_created_at", ny(2026, 12, 17, 10))
    values: dict[str, Any] = {
        "leg_id": 1,
        "carrier": "usps",
        "service": None,
        "tracking_number": "9400111899223100000001",
        "sequence": 1,
        "label_created_at": label_at,
        "events": (),
        "current_status": TrackingStatus.LABEL_CREATED,
        "tracking_started_at": label_at,
        "last_successful_poll_at": label_at,
        "max_poll_age": POLL_AGE,
        "handoff_to_leg_id": None,
        "handed_off_at": None,
    }
    values.update(overrides)
    return LegFacts(**values)


def make_order(*legs: LegFacts, **overrides: Any) -> OrderFacts:
    values: dict[str, Any] = {
        "order_number": "FS-1001",
        "claimed_status": "shipped",
        "promised_delivery_on": None,
        "legs": legs,
    }
    values.update(overrides)
    return OrderFacts(**values)


def polled_at(order: OrderFacts, at: datetime) -> OrderFacts:
    """The same facts, with every leg freshly polled at `at` (the carrier said nothing new)."""
    return replace(
        order, legs=tuple(replace(leg, last_successful_poll_at=at) for leg in order.legs)
    )


def findings_at(
    order: OrderFacts,
    now: datetime,
    *,
    thresholds: ThresholdTable = THRESHOLDS,
    calendars: CalendarTable = CALENDARS,
    fresh: bool = True,
) -> list[Finding]:
    """find_discrepancies at `now`; by default every leg was polled successfully just now."""
    facts = polled_at(order, now) if fresh else order
    return find_discrepancies(facts, now=now, thresholds=thresholds, calendars=calendars)


def rules_at(order: OrderFacts, now: datetime, **kwargs: Any) -> set[tuple[str, int | None]]:
    """The (rule, leg_id) pairs found at `now`."""
    return {(f.rule, f.leg_id) for f in findings_at(order, now, **kwargs)}


def only(findings: list[Finding], rule: str) -> Finding:
    """The single finding of `rule`; fails the test if there is not exactly one."""
    matching = [f for f in findings if f.rule == rule]
    assert len(matching) == 1, f"expected one {rule} finding, got {findings}"
    return matching[0]
