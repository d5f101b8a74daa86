"""Who is sending labels, when, and within which limits: one request's or one import's."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from app.settings import Settings
from app.shipments.dates import DateWindows

# (carrier, service, label time) -> a new first leg's alert deadline, its poll priority until
# it is first judged (issue 14: week-old labels ingested now must be polled before fresh ones).
FirstAlertDeadline = Callable[[str, str | None, datetime], datetime | None]


@dataclass(frozen=True, slots=True)
class IngestContext:
    actor: str
    now: datetime
    reuse_window: timedelta
    windows: DateWindows = field(default_factory=DateWindows)
    max_shipments_per_order: int = 200
    first_alert_deadline: FirstAlertDeadline | None = None

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        *,
        actor: str,
        now: datetime,
        first_alert_deadline: FirstAlertDeadline | None = None,
    ) -> IngestContext:
        return cls(
            actor=actor,
            now=now,
            reuse_window=settings.tracking_number_reuse_window,
            windows=DateWindows(
                label_max_age=timedelta(days=settings.label_max_age_days),
                promise_max_ahead=timedelta(days=settings.promise_max_days_ahead),
            ),
            max_shipments_per_order=settings.max_shipments_per_order,
            first_alert_deadline=first_alert_deadline,
        )
