"""Who is sending labels, when, and within which limits: one request's or one import's."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from app.settings import Settings
from app.shipments.dates import DateWindows


@dataclass(frozen=True, slots=True)
class IngestContext:
    actor: str
    now: datetime
    reuse_window: timedelta
    windows: DateWindows = field(default_factory=DateWindows)
    max_shipments_per_order: int = 200

    @classmethod
    def from_settings(cls, settings: Settings, *, actor: str, now: datetime) -> IngestContext:
        return cls(
            actor=actor,
            now=now,
            reuse_window=settings.tracking_number_reuse_window,
            windows=DateWindows(
                label_max_age=timedelta(days=settings.label_max_age_days),
                promise_max_ahead=timedelta(days=settings.promise_max_days_ahead),
            ),
            max_shipments_per_order=settings.max_shipments_per_order,
        )
