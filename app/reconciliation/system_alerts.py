"""Alerts about firstscan itself rather than a parcel: the quarantine is not empty, a carrier's
push channel has gone silent."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from app.alerts import repository as alerts_repository
from app.alerts import service as alerts_service
from app.kernel.calendar import CalendarTable
from app.kernel.findings import Finding
from app.quarantine import repository as quarantine_repository
from app.quarantine.models import QuarantinedMember
from app.reconciliation import rules
from app.reconciliation.facts import PushSilence, QuarantineSummary
from app.shipments import repository as shipments_repository
from app.tracking import push_channel
from carriers.registry import carrier_name

EXAMPLES = 3


@dataclass(frozen=True, slots=True)
class SetAsideMember:
    """One quarantined member as people see it (console, CLI)."""

    member: QuarantinedMember
    order_number: str | None
    description: str


async def list_set_aside(session: AsyncSession, *, limit: int = 200) -> list[SetAsideMember]:
    """Everything set aside, longest-failing first, with its order number when it has one."""
    members = await quarantine_repository.list_members(session, limit=limit)
    numbers = await shipments_repository.list_order_numbers(
        session, [m.order_id for m in members if m.order_id is not None]
    )
    return [
        SetAsideMember(
            member=m,
            order_number=numbers.get(m.order_id) if m.order_id is not None else None,
            description=describe_member(m, numbers),
        )
        for m in members
    ]


async def check_quarantine(
    session: AsyncSession, *, now: datetime, policy: alerts_service.AlertPolicy
) -> list[Finding]:
    """Keeps one `quarantine` alert open (refreshed with today's counts) while anything is set
    aside, and closes it by itself once the quarantine is empty."""
    summary = await load_quarantine_summary(session)
    findings = rules.find_quarantine(summary, now=now)
    nobody = alerts_service.FindingSubject(order_id=None, order_number=None, last_activity_at=now)
    for finding in findings:
        await alerts_service.record_finding(
            session, finding=finding, subject=nobody, policy=policy, now=now
        )
    if not findings:
        alert = await alerts_repository.find_unresolved_system_alert(session, "quarantine")
        if alert is not None:
            await alerts_service.auto_resolve(
                session, alert=alert, reason="Nothing is set aside any more.", now=now
            )
    await session.flush()
    return findings


async def check_push_channels(
    session: AsyncSession,
    *,
    now: datetime,
    policy: alerts_service.AlertPolicy,
    calendars: CalendarTable,
) -> list[Finding]:
    """One push_silent alert per carrier whose pushes stopped (push_channel.py decides when);
    closes those whose carrier pushes again."""
    channels = await push_channel.list_channels(session)
    silent = [
        PushSilence(c.carrier, c.silent_since, c.last_push_at)
        for c in channels
        if c.silent_since is not None
    ]
    findings = rules.find_push_silence(silent, now=now, calendars=calendars)
    no_order = alerts_service.FindingSubject(order_id=None, order_number=None, last_activity_at=now)
    for finding in findings:
        await alerts_service.record_finding(
            session, finding=finding, subject=no_order, policy=policy, now=now
        )
    still_silent = {item.carrier for item in silent}
    for alert in await alerts_repository.list_unresolved_for_carrier_subjects(
        session, "push_silent"
    ):
        if alert.carrier not in still_silent:
            name = carrier_name(alert.carrier or "")
            await alerts_service.auto_resolve(
                session, alert=alert, reason=f"{name} pushes again.", now=now
            )
    await session.flush()
    return findings


async def load_quarantine_summary(session: AsyncSession) -> QuarantineSummary:
    counts = await quarantine_repository.count_by_type(session)
    if not counts:
        return QuarantineSummary(counts={}, oldest_since=None)
    first = await quarantine_repository.list_members(session, limit=EXAMPLES)
    numbers = await shipments_repository.list_order_numbers(
        session, [m.order_id for m in first if m.order_id is not None]
    )
    return QuarantineSummary(
        counts=counts,
        oldest_since=await quarantine_repository.oldest_failed_at(session),
        examples=tuple(describe_member(m, numbers) for m in first),
    )


def describe_member(member: QuarantinedMember, order_numbers: dict[int, str]) -> str:
    """'order FS-1001: OverflowError: date value out of range' (what an operator can look up)."""
    order = order_numbers.get(member.order_id) if member.order_id is not None else None
    if member.member_type == "order":
        what = f"order {order or member.member_id}"
    elif member.member_type == "leg":
        what = f"leg {member.member_id}" + (f" of order {order}" if order else "")
    else:
        what = f"{member.member_type} {member.member_id}"
    return f"{what}: {member.error}"
