"""Recording a sweep's findings in bulk: the same outcome as `service.record_finding` one by one
(open or refresh, a person's closure respected, audit and outbox in the same transaction), with a
handful of statements per batch instead of several round trips per finding."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.alerts import repository, service
from app.alerts.models import Alert
from app.alerts.service import AlertPolicy, FindingSubject, subject_key
from app.kernel.findings import Finding

Keyed = tuple[str, Finding, FindingSubject]


async def record_findings(
    session: AsyncSession,
    *,
    findings: Sequence[tuple[Finding, FindingSubject]],
    open_alerts: Sequence[Alert],
    policy: AlertPolicy,
    now: datetime,
) -> list[Alert | None]:
    """One result per finding, in order; `open_alerts` must hold every unresolved alert of the
    findings' subjects (the sweep loads them with its orders)."""
    known = {(a.subject_key, a.rule): a for a in open_alerts}
    keyed: list[Keyed] = [(subject_key(f, s.order_id), f, s) for f, s in findings]
    results: dict[int, Alert | None] = {}
    new: list[int] = []
    for index, (key, finding, _) in enumerate(keyed):
        alert = known.get((key, finding.rule))
        if alert is None:
            new.append(index)
            continue
        await service.refresh_alert(session, alert=alert, finding=finding, policy=policy, now=now)
        results[index] = alert
    closed = await repository.latest_resolved_by_subject(
        session, [(keyed[i][0], keyed[i][1].rule) for i in new]
    )
    to_open = []
    for index in new:
        key, finding, subject = keyed[index]
        if service.closed_by_a_person_without_news(closed.get((key, finding.rule)), subject):
            results[index] = None
        else:
            to_open.append(index)
    to_open.sort(key=lambda i: _opening_order(keyed[i]))
    opened = await _open_many(session, [keyed[i] for i in to_open], policy=policy, now=now)
    results.update(zip(to_open, opened, strict=True))
    return [results[i] for i in range(len(keyed))]


def _opening_order(item: Keyed) -> tuple[object, ...]:
    _, finding, subject = item
    return service.opening_order(subject.order_id, finding.leg_id, finding.rule)


async def _open_many(
    session: AsyncSession, items: Sequence[Keyed], *, policy: AlertPolicy, now: datetime
) -> list[Alert | None]:
    if not items:
        return []
    alerts = [
        service.build_alert(f, key=k, order_id=s.order_id, policy=policy, now=now)
        for k, f, s in items
    ]
    try:
        async with session.begin_nested():
            session.add_all(alerts)
            await session.flush()
    except IntegrityError:
        # Another worker opened one of these a moment ago: fall back to one at a time, where
        # the unique index settles each race on its own.
        return [
            await service.record_finding(session, finding=f, subject=s, policy=policy, now=now)
            for _, f, s in items
        ]
    for alert, (_, _, subject) in zip(alerts, items, strict=True):
        await service.announce_opened(
            session, alert=alert, order_number=subject.order_number, policy=policy, now=now
        )
    await session.flush()
    return list(alerts)
