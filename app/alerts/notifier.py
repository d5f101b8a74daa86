"""The notifier: what ops hear of work items, written to the outbox in one pass.

- Grouped messages (`app.alerts.grouping` decides when): one message per group of items (by
  team and rule unless configured) to every ops destination, naming how many items and listing
  the first few. The items it names are marked `announced_at` in the same transaction as the
  message's outbox rows, and the group's `sequence` (part of the message's idempotency key)
  moves on, so a worker killed midway leaves either both or neither.
- Escalation: an open critical item nobody acknowledged within `escalate_after` moves to its
  escalation route's team (FIRSTSCAN_ESCALATION_ROUTES; its own team when none matches) and is
  announced again there.
- PagerDuty: a trigger per item that pages (escalated, or every critical one), a resolve when
  the item closes, both with the item's dedup_key.
- The daily summary email per team (opt-in).

Every pass runs under one lock, so two workers never announce the same items twice.
"""

from __future__ import annotations

import typing
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal
from urllib.parse import quote, urlencode

from sqlalchemy import Table, and_, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.alerts import daily_summary
from app.alerts.group_message import GROUP_EVENT, build_group_message, group_idempotency_key
from app.alerts.grouping import (
    GroupingPolicy,
    GroupItem,
    GroupKey,
    GroupState,
    SendNow,
    build_group_key,
    decide_group,
)
from app.alerts.items import audit_item
from app.alerts.models import AlertNotification, NotificationGroup, WorkItem
from app.alerts.pagerduty import (
    PAGERDUTY_DESTINATION,
    PagerDutyItem,
    build_pagerduty_resolve,
    build_pagerduty_trigger,
    item_dedup_key,
)
from app.alerts.routing import route_alert
from app.alerts.schemas import AlertStatus
from app.db import lock_for_update
from app.settings.overrides import AlertRoute
from app.shipments.models import Order

RESOLVED = AlertStatus.RESOLVED.value
PAGERDUTY_CHANNEL = "pagerduty"
_CHUNK = 5000
_outbox = typing.cast(Table, AlertNotification.__table__)


@dataclass(frozen=True, slots=True)
class NotifierPolicy:
    """Built once from settings (app.wiring)."""

    destinations: tuple[tuple[str, str], ...] = ()  # (channel, destination) of ops messages
    console_base_url: str = "http://127.0.0.1:8000"
    grouping: GroupingPolicy = field(default_factory=GroupingPolicy)
    group_by: tuple[str, ...] = ("team", "rule")
    escalate_after: timedelta = timedelta(minutes=30)
    escalation_routes: tuple[AlertRoute, ...] = ()
    pagerduty: bool = False
    pagerduty_pages: Literal["escalated", "critical"] = "escalated"
    summary_recipients: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    summary_hour: int = 7


@dataclass(slots=True)
class NotifyReport:
    messages: int = 0  # group messages written (each to every destination)
    announced: int = 0  # items named as new in them
    escalated: int = 0
    pages: int = 0  # PagerDuty events written
    summaries: int = 0
    next_due_at: datetime | None = None  # the soonest a group will have something to send


async def notify(session: AsyncSession, *, now: datetime, policy: NotifierPolicy) -> NotifyReport:
    """One pass, in the caller's transaction: escalate, page, send due groups, summarise."""
    await lock_for_update(session, ["notifier"])
    report = NotifyReport()
    report.escalated = await escalate_unacknowledged(session, now=now, policy=policy)
    if policy.pagerduty:
        report.pages = await page(session, now=now, policy=policy)
    await send_due_groups(session, now=now, policy=policy, report=report)
    if policy.summary_recipients:
        report.summaries = await daily_summary.queue_due(
            session,
            now=now,
            recipients=policy.summary_recipients,
            hour=policy.summary_hour,
            console_base_url=policy.console_base_url,
        )
    return report


# Grouped messages.


async def send_due_groups(
    session: AsyncSession, *, now: datetime, policy: NotifierPolicy, report: NotifyReport
) -> None:
    for key in await _candidate_groups(session, now=now, policy=policy):
        state_row = await session.get(NotificationGroup, key.key)
        state = (
            GroupState(last_sent_at=state_row.last_sent_at, sequence=state_row.sequence)
            if state_row
            else GroupState()
        )
        # Cheap first: the items no message named yet (a partial index); a group's whole list
        # (tens of thousands after a midnight) is read only when a message is due.
        decision = decide_group(
            state,
            await _open_items_of_group(session, key, pending_only=True),
            policy.grouping,
            now=now,
        )
        if isinstance(decision, SendNow) or (state_row is not None and decision.due_at is None):
            members = await _open_items_of_group(session, key, pending_only=False)
            decision = decide_group(state, members, policy.grouping, now=now)
        if not isinstance(decision, SendNow):
            if decision.due_at is not None and (
                report.next_due_at is None or decision.due_at < report.next_due_at
            ):
                report.next_due_at = decision.due_at
            continue
        await _write_group_message(session, key, decision, now=now, policy=policy)
        await _remember_send(session, key, state_row, decision.sequence, now=now)
        report.messages += 1
        report.announced += len(decision.new)


async def _candidate_groups(
    session: AsyncSession, *, now: datetime, policy: NotifierPolicy
) -> list[GroupKey]:
    """Groups with items no message named yet, and groups due to repeat what is still open."""
    columns = [getattr(WorkItem, name) for name in policy.group_by]
    pending = (
        select(*columns)
        .where(WorkItem.announced_at.is_(None), WorkItem.status != RESOLVED)
        .group_by(*columns)
    )
    found: dict[str, GroupKey] = {}
    for row in (await session.execute(pending)).all():
        key = build_group_key(dict(zip(policy.group_by, row, strict=True)), policy.group_by)
        found[key.key] = key
    repeat_due = select(NotificationGroup).where(
        NotificationGroup.last_sent_at <= now - policy.grouping.repeat_interval
    )
    for group in (await session.execute(repeat_due)).scalars():
        key = build_group_key(group.fields, policy.group_by)
        if key.key == group.group_key:  # a group of another grouping setting is left alone
            found.setdefault(key.key, key)
    return [found[name] for name in sorted(found)]


def _in_group(key: GroupKey) -> list[Any]:
    """An item is in the group when each grouping field matches ("" stands for none)."""
    return [
        or_(getattr(WorkItem, name) == value, getattr(WorkItem, name).is_(None))
        if value == ""
        else getattr(WorkItem, name) == value
        for name, value in key.fields
    ]


async def _open_items_of_group(
    session: AsyncSession, key: GroupKey, *, pending_only: bool
) -> list[GroupItem]:
    stmt = (
        select(
            WorkItem.id,
            WorkItem.opened_at,
            WorkItem.severity,
            WorkItem.headline,
            WorkItem.announced_at,
            Order.order_number,
            WorkItem.carrier,
            WorkItem.tracking_number,
        )
        .outerjoin(Order, Order.id == WorkItem.order_id)
        .where(WorkItem.status != RESOLVED, *_in_group(key))
        .order_by(WorkItem.opened_at, WorkItem.id)
    )
    if pending_only:
        stmt = stmt.where(WorkItem.announced_at.is_(None))
    return [
        GroupItem(
            item_id=row.id,
            opened_at=row.opened_at,
            severity=typing.cast(Any, row.severity),
            reason=row.headline,
            announced_at=row.announced_at,
            order_number=row.order_number,
            carrier=row.carrier,
            tracking_number=row.tracking_number,
        )
        for row in (await session.execute(stmt)).all()
    ]


async def _write_group_message(
    session: AsyncSession,
    key: GroupKey,
    decision: SendNow,
    *,
    now: datetime,
    policy: NotifierPolicy,
) -> None:
    """The message's outbox rows and its items' `announced_at`, in one transaction."""
    message = build_group_message(key, decision, console_base_url=policy.console_base_url)
    payload = message.to_payload()
    rows = [
        {
            "alert_id": None,
            "item_id": None,
            "group_key": key.key,
            "event": GROUP_EVENT,
            "channel": channel,
            "destination": destination,
            "idempotency_key": group_idempotency_key(key, decision.sequence, channel, destination),
            "payload": payload,
            "status": "pending",
            "attempts": 0,
            "rate_limited_attempts": 0,
            "next_attempt_at": now,
            "created_at": now,
        }
        for channel, destination in policy.destinations
    ]
    if rows:
        await session.execute(insert(_outbox), rows)
    new_ids = [item.item_id for item in decision.new]
    for start in range(0, len(new_ids), _CHUNK):
        await session.execute(
            update(WorkItem)
            .where(WorkItem.id.in_(new_ids[start : start + _CHUNK]))
            .values(announced_at=now)
            .execution_options(synchronize_session=False)
        )


async def _remember_send(
    session: AsyncSession,
    key: GroupKey,
    state_row: NotificationGroup | None,
    sequence: int,
    *,
    now: datetime,
) -> None:
    if state_row is None:
        state_row = NotificationGroup(group_key=key.key, fields=key.as_dict())
        session.add(state_row)
    state_row.sequence = sequence
    state_row.last_sent_at = now
    state_row.updated_at = now
    await session.flush()


# Escalation.


async def escalate_unacknowledged(
    session: AsyncSession, *, now: datetime, policy: NotifierPolicy
) -> int:
    """Open critical items nobody acknowledged in time: to the escalation route's team, and
    announced again (their group's next message names them as new)."""
    stmt = (
        select(WorkItem)
        .where(
            WorkItem.status == AlertStatus.OPEN.value,
            WorkItem.severity == "critical",
            WorkItem.escalated_at.is_(None),
            WorkItem.opened_at <= now - policy.escalate_after,
        )
        .order_by(WorkItem.id)
    )
    count = 0
    for item in (await session.execute(stmt)).scalars():
        await _escalate(session, item, policy.escalation_routes, now=now)
        count += 1
    await session.flush()
    return count


async def _escalate(
    session: AsyncSession, item: WorkItem, routes: Sequence[AlertRoute], *, now: datetime
) -> None:
    previous = item.team
    item.team = (
        route_alert(
            routes,
            rule=item.rule,
            carrier=item.carrier,
            severity=item.severity,
            default_team=previous or "",
        )
        or previous
    )
    item.escalated_at = now
    item.announced_at = None
    item.updated_at = now
    await audit_item(
        session, item, "item.escalated", "firstscan", {"from": previous, "to": item.team}
    )


# PagerDuty.


async def page(session: AsyncSession, *, now: datetime, policy: NotifierPolicy) -> int:
    """Triggers for items that page and were not paged yet; resolves for paged items that
    closed. Each event once, by its key; PagerDuty's dedup_key joins repeats of one item."""
    pages = (
        WorkItem.escalated_at.is_not(None)
        if policy.pagerduty_pages == "escalated"
        else WorkItem.severity == "critical"
    )
    to_trigger = (
        select(WorkItem, Order.order_number)
        .outerjoin(Order, Order.id == WorkItem.order_id)
        .where(WorkItem.status != RESOLVED, WorkItem.paged_at.is_(None), pages)
        .order_by(WorkItem.id)
    )
    count = 0
    for item, order_number in (await session.execute(to_trigger)).all():
        event = build_pagerduty_trigger(_pagerduty_item(item, order_number, policy))
        await _queue_page(session, item.id, "trigger", event, now=now)
        item.paged_at = now
        count += 1
    to_resolve = select(WorkItem).where(
        and_(WorkItem.status == RESOLVED, WorkItem.paged_at.is_not(None)),
        WorkItem.unpaged_at.is_(None),
    )
    for item in (await session.execute(to_resolve)).scalars():
        await _queue_page(session, item.id, "resolve", build_pagerduty_resolve(item.id), now=now)
        item.unpaged_at = now
        count += 1
    await session.flush()
    return count


def _pagerduty_item(item: WorkItem, order_number: str | None, policy: NotifierPolicy) -> Any:
    return PagerDutyItem(
        item_id=item.id,
        rule=item.rule,
        severity=typing.cast(Any, item.severity),
        summary=item.headline,
        opened_at=item.opened_at,
        url=_item_url(item, order_number, policy.console_base_url),
        team=item.team,
        order_number=order_number,
        carrier=item.carrier,
        tracking_number=item.tracking_number,
    )


def _item_url(item: WorkItem, order_number: str | None, console_base_url: str) -> str:
    """The order's console page (its findings, timeline and actions), or the board's rule."""
    base = console_base_url.rstrip("/")
    if order_number:
        return f"{base}/console/orders/{quote(order_number, safe='')}"
    return f"{base}/console/alerts?{urlencode({'rule': item.rule})}"


async def _queue_page(
    session: AsyncSession, item_id: int, action: str, event: dict[str, Any], *, now: datetime
) -> None:
    session.add(
        AlertNotification(
            alert_id=None,
            item_id=item_id,
            event=f"pagerduty-{action}",
            channel=PAGERDUTY_CHANNEL,
            destination=PAGERDUTY_DESTINATION,
            idempotency_key=f"{item_dedup_key(item_id)}-{action}",
            payload=event,
            status="pending",
            attempts=0,
            rate_limited_attempts=0,
            next_attempt_at=now,
            created_at=now,
        )
    )
