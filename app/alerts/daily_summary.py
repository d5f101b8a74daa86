"""The daily summary email per team (opt-in, FIRSTSCAN_DAILY_SUMMARY_TO): the team's open work
items by rule and carrier, the oldest first, and what closed yesterday and how (reshipped, the
carrier found it, a false alarm...). Queued once a day per team and address, after
FIRSTSCAN_DAILY_SUMMARY_HOUR (UTC); its idempotency key holds the day, so a second worker or a
second pass that day finds it queued and does nothing."""

from __future__ import annotations

import hashlib
import html
from collections.abc import Mapping
from datetime import datetime, timedelta
from email.message import EmailMessage
from typing import Any

from pydantic import BaseModel, ConfigDict
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.alerts.models import AlertNotification, WorkItem
from app.alerts.schemas import AlertStatus
from app.shipments.models import Order

SUMMARY_EVENT = "summary"
OLDEST_LISTED = 20


class SummaryItem(BaseModel):
    model_config = ConfigDict(frozen=True)

    item_id: int
    rule: str
    severity: str
    subject: str  # the order number, or carrier and tracking number: never customer contacts
    opened_at: datetime
    headline: str


class DailySummary(BaseModel):
    """The outbox payload of a summary email."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    team: str
    day: str  # the UTC day it was written
    open_count: int
    by_rule: dict[str, int]
    by_carrier: dict[str, int]
    oldest: list[SummaryItem]
    closed_yesterday: dict[str, int]  # outcome -> items
    closed_by_themselves: int  # of those, how many closed on their own (the carrier found it)
    url: str


async def queue_due(
    session: AsyncSession,
    *,
    now: datetime,
    recipients: Mapping[str, tuple[str, ...]],
    hour: int,
    console_base_url: str,
) -> int:
    """Queues today's summaries not yet queued, once `now` is past `hour` UTC; how many."""
    if now.hour < hour:
        return 0
    queued = 0
    for team, addresses in sorted(recipients.items()):
        keys = {address: summary_key(team, now, address) for address in addresses}
        missing = await _not_yet_queued(session, keys)
        if not missing:
            continue
        summary = await build_summary(session, team=team, now=now, console=console_base_url)
        session.add_all(
            AlertNotification(
                event=SUMMARY_EVENT,
                channel="email",
                destination=address,
                idempotency_key=keys[address],
                payload=summary.model_dump(mode="json"),
                status="pending",
                attempts=0,
                rate_limited_attempts=0,
                next_attempt_at=now,
                created_at=now,
            )
            for address in missing
        )
        queued += len(missing)
    await session.flush()
    return queued


async def _not_yet_queued(session: AsyncSession, keys: Mapping[str, str]) -> list[str]:
    """The addresses whose summary of the day (key) is not in the outbox yet."""
    stmt = select(AlertNotification.idempotency_key).where(
        AlertNotification.idempotency_key.in_(list(keys.values()))
    )
    known = set((await session.execute(stmt)).scalars())
    return [address for address, key in keys.items() if key not in known]


def summary_key(team: str, now: datetime, address: str) -> str:
    digest = hashlib.sha256(f"{team}\n{address}".encode()).hexdigest()[:16]
    return f"firstscan-summary-{now.date().isoformat()}-{digest}"


async def build_summary(
    session: AsyncSession, *, team: str, now: datetime, console: str
) -> DailySummary:
    by_rule = await _open_counts(session, team, WorkItem.rule)
    closed = await _closed_yesterday(session, team, now)
    closed_by_outcome: dict[str, int] = {}
    for outcome, _, n in closed:
        closed_by_outcome[outcome or "other"] = closed_by_outcome.get(outcome or "other", 0) + n
    return DailySummary(
        team=team,
        day=now.date().isoformat(),
        open_count=sum(by_rule.values()),
        by_rule=by_rule,
        by_carrier=await _open_counts(session, team, WorkItem.carrier),
        oldest=await _oldest(session, team),
        closed_yesterday=closed_by_outcome,
        closed_by_themselves=sum(n for _, auto, n in closed if auto),
        url=f"{console.rstrip('/')}/console/alerts?team={team}",
    )


def _unresolved(team: str) -> tuple[Any, ...]:
    return (WorkItem.team == team, WorkItem.status != AlertStatus.RESOLVED.value)


async def _open_counts(session: AsyncSession, team: str, column: Any) -> dict[str, int]:
    """The team's open items by `column`, most first."""
    stmt = select(column, func.count()).where(*_unresolved(team)).group_by(column)
    rows = (await session.execute(stmt)).all()
    return {str(key or "-"): int(n) for key, n in sorted(rows, key=lambda r: -r[1])}


async def _oldest(session: AsyncSession, team: str) -> list[SummaryItem]:
    stmt = (
        select(WorkItem, Order.order_number)
        .outerjoin(Order, Order.id == WorkItem.order_id)
        .where(*_unresolved(team))
        .order_by(WorkItem.opened_at, WorkItem.id)
        .limit(OLDEST_LISTED)
    )
    return [
        SummaryItem(
            item_id=item.id,
            rule=item.rule,
            severity=item.severity,
            subject=number or f"{item.carrier or ''} {item.tracking_number or ''}".strip(),
            opened_at=item.opened_at,
            headline=item.headline,
        )
        for item, number in (await session.execute(stmt)).all()
    ]


async def _closed_yesterday(
    session: AsyncSession, team: str, now: datetime
) -> list[tuple[str | None, bool, int]]:
    """(outcome, closed by itself, items) of the team's items resolved the UTC day before."""
    today = now.replace(hour=0, minute=0, second=0, microsecond=0)
    stmt = (
        select(WorkItem.outcome, WorkItem.auto_resolved, func.count())
        .where(
            WorkItem.team == team,
            WorkItem.status == AlertStatus.RESOLVED.value,
            WorkItem.resolved_at >= today - timedelta(days=1),
            WorkItem.resolved_at < today,
        )
        .group_by(WorkItem.outcome, WorkItem.auto_resolved)
    )
    return [(row[0], bool(row[1]), int(row[2])) for row in (await session.execute(stmt)).all()]


def build_summary_email(payload: Mapping[str, Any]) -> EmailMessage:
    """Plain text and HTML of a summary; raises pydantic.ValidationError on a bad payload."""
    summary = DailySummary.model_validate(dict(payload))
    message = EmailMessage()
    message["Subject"] = (
        f"firstscan daily summary for {summary.team}: {summary.open_count} open ({summary.day})"
    )
    lines = _summary_lines(summary)
    message.set_content("\n".join(lines) + "\n")
    body = "".join(f"<p>{html.escape(line)}</p>" for line in lines if line)
    message.add_alternative(f"<html><body>{body}</body></html>", subtype="html")
    return message


def _summary_lines(summary: DailySummary) -> list[str]:
    def listing(counts: Mapping[str, int]) -> str:
        return ", ".join(f"{key.replace('_', ' ')} {n}" for key, n in counts.items()) or "none"

    lines = [
        f"Open problems for {summary.team}: {summary.open_count}",
        f"By rule: {listing(summary.by_rule)}",
        f"By carrier: {listing(summary.by_carrier)}",
        "",
        "Oldest first:",
    ]
    lines += [
        f"- {item.opened_at:%Y-%m-%d %H:%M} UTC {item.subject} [{item.severity}] "
        f"{item.rule.replace('_', ' ')}: {item.headline}"
        for item in summary.oldest
    ] or ["- nothing open"]
    closed = sum(summary.closed_yesterday.values())
    lines += [
        "",
        f"Closed yesterday: {closed} ({listing(summary.closed_yesterday)}); "
        f"{summary.closed_by_themselves} closed on their own when the carrier scanned the parcel.",
        f"The board: {summary.url}",
    ]
    return lines
