"""The alert lifecycle: open (or refresh) from a finding, acknowledge, assign, resolve, and
auto-resolve when the parcel moves. Every transition is audited; opening writes the outbox.
What an opening checks and writes is specified in `app.alerts.opening`; this is its per-order
path (`planned.py` holds the set-based one)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app import metrics
from app.alerts import items, opening, repository
from app.alerts.customer_notice import enqueue_customer_notice
from app.alerts.models import Alert
from app.alerts.opening import PYTHON, AlertPolicy, FindingSubject, subject_key
from app.alerts.schemas import AlertStatus, Outcome
from app.audit import repository as audit_repository
from app.errors import Conflict
from app.kernel.findings import SEVERITY_RANK, Finding

# Importers of these names from here predate `app.alerts.opening`.
__all__ = ["AlertPolicy", "FindingSubject", "subject_key"]

Keyed = tuple[str, Finding, FindingSubject]


async def record_finding(
    session: AsyncSession,
    *,
    finding: Finding,
    subject: FindingSubject,
    policy: AlertPolicy,
    now: datetime,
) -> Alert | None:
    """Opens an alert for a new finding or refreshes the open one; returns None when a person
    already closed this very problem and nothing has happened since."""
    key = subject_key(finding, subject.order_id)
    alert = await repository.find_unresolved(session, subject_key=key, rule=finding.rule)
    if alert is not None:
        await refresh_alert(session, alert=alert, finding=finding, policy=policy, now=now)
        return alert
    closed = await repository.find_latest_resolved(session, subject_key=key, rule=finding.rule)
    if closed_by_a_person_without_news(closed, subject):
        return None
    alert = build_alert(finding, order_id=subject.order_id, policy=policy, now=now)
    return await open_alert(
        session, alert=alert, order_number=subject.order_number, policy=policy, now=now
    )


async def record_findings(
    session: AsyncSession,
    *,
    findings: Sequence[tuple[Finding, FindingSubject]],
    open_alerts: Sequence[Alert],
    policy: AlertPolicy,
    now: datetime,
) -> list[Alert | None]:
    """`record_finding` for a sweep's batch, with a handful of statements instead of several
    round trips per finding. One result per finding, in order; `open_alerts` must hold every
    unresolved alert of the findings' subjects (the sweep loads them with its orders)."""
    known = {(a.subject_key, a.rule): a for a in open_alerts}
    keyed: list[Keyed] = [(subject_key(f, s.order_id), f, s) for f, s in findings]
    results: dict[int, Alert | None] = {}
    new: list[int] = []
    for index, (key, finding, _) in enumerate(keyed):
        alert = known.get((key, finding.rule))
        if alert is None:
            new.append(index)
            continue
        await refresh_alert(session, alert=alert, finding=finding, policy=policy, now=now)
        results[index] = alert
    closed = await repository.latest_resolved_by_subject(
        session, [(keyed[i][0], keyed[i][1].rule) for i in new]
    )
    to_open = []
    for index in new:
        key, finding, subject = keyed[index]
        if closed_by_a_person_without_news(closed.get((key, finding.rule)), subject):
            results[index] = None
        else:
            to_open.append(index)
    to_open.sort(key=lambda i: _opening_order(keyed[i]))
    opened = await _open_many(session, [keyed[i] for i in to_open], policy=policy, now=now)
    results.update(zip(to_open, opened, strict=True))
    return [results[i] for i in range(len(keyed))]


def _opening_order(item: Keyed) -> tuple[object, ...]:
    _, finding, subject = item
    return opening.opening_order(subject.order_id, finding.leg_id, finding.rule)


def closed_by_a_person_without_news(closed: Alert | None, subject: FindingSubject) -> bool:
    """A person closed this problem and nothing has happened since: do not reopen it."""
    return closed is not None and bool(
        opening.closed_by_a_person_without_news(
            PYTHON,
            auto_resolved=closed.auto_resolved,
            resolved_at=closed.resolved_at,
            last_activity_at=subject.last_activity_at,
        )
    )


def build_alert(
    finding: Finding, *, order_id: int | None, policy: AlertPolicy, now: datetime
) -> Alert:
    """A new open alert for a finding, routed to its team (not yet added to the session)."""
    return build_opened_alert(
        opening.alert_content(finding, order_id=order_id, policy=policy), now=now
    )


def build_opened_alert(content: Mapping[str, Any], *, now: datetime) -> Alert:
    """A new open alert of the given `opening.ALERT_CONTENT_COLUMNS` (not yet added)."""
    return Alert(**content, **opening.opened_state(PYTHON, now))


async def open_alert(
    session: AsyncSession,
    *,
    alert: Alert,
    order_number: str | None,
    policy: AlertPolicy,
    now: datetime,
) -> Alert | None:
    """Writes a new alert with its audit entry and messages; when another worker opened the
    same one a moment ago, returns that one (the unique index kept it single)."""
    try:
        async with session.begin_nested():
            session.add(alert)
            await session.flush()
    except IntegrityError:
        return await repository.find_unresolved(
            session, subject_key=alert.subject_key, rule=alert.rule
        )
    await items.attach(session, [items.Finding.of(alert)], now=now)
    await announce_opened(session, alert=alert, order_number=order_number, policy=policy, now=now)
    await session.flush()
    return alert


async def _open_many(
    session: AsyncSession, keyed: Sequence[Keyed], *, policy: AlertPolicy, now: datetime
) -> list[Alert | None]:
    if not keyed:
        return []
    alerts = [build_alert(f, order_id=s.order_id, policy=policy, now=now) for _, f, s in keyed]
    try:
        async with session.begin_nested():
            session.add_all(alerts)
            await session.flush()
    except IntegrityError:
        # Another worker opened one of these a moment ago: fall back to one at a time, where
        # the unique index settles each race on its own.
        return [
            await record_finding(session, finding=f, subject=s, policy=policy, now=now)
            for _, f, s in keyed
        ]
    await items.attach(session, [items.Finding.of(alert) for alert in alerts], now=now)
    for alert, (_, _, subject) in zip(alerts, keyed, strict=True):
        await announce_opened(
            session, alert=alert, order_number=subject.order_number, policy=policy, now=now
        )
    await session.flush()
    return list(alerts)


async def announce_opened(
    session: AsyncSession,
    *,
    alert: Alert,
    order_number: str | None,
    policy: AlertPolicy,
    now: datetime,
) -> None:
    """Audits a newly opened alert and queues its messages, in the caller's transaction."""
    await audit_repository.record(
        session,
        **opening.opened_audit(
            PYTHON,
            alert_id=alert.id,
            order_id=alert.order_id,
            rule=alert.rule,
            severity=alert.severity,
            now=now,
        ),
    )
    metrics.ALERTS_OPENED.labels(alert.rule).inc()
    if policy.customer_notice is not None:
        await enqueue_customer_notice(session, alert=alert, policy=policy.customer_notice, now=now)


async def refresh_alert(
    session: AsyncSession, *, alert: Alert, finding: Finding, policy: AlertPolicy, now: datetime
) -> None:
    alert.last_seen_at = now
    alert.explanation = finding.explanation
    alert.recommended_action = finding.recommended_action
    alert.evidence = dict(finding.evidence)
    new, old = finding.severity.value, alert.severity
    if SEVERITY_RANK.get(new, 0) > SEVERITY_RANK.get(old, 0):
        alert.severity = new
        alert.updated_at = now
        await _audit(session, alert, "alert.escalated", "firstscan", {"from": old, "to": new})
        # Ops hear of it again: its item's group names it as new in its next message.
        await items.after_findings_changed(session, alert.item_id, now=now, closed_by=None)
        await items.announce_again(session, alert.item_id, now=now)


async def acknowledge(session: AsyncSession, *, alert_id: int, actor: str, now: datetime) -> Alert:
    """open -> acknowledged; acknowledging twice is harmless, a resolved alert cannot be."""
    alert = await repository.lock_alert(session, alert_id)
    if alert.status == AlertStatus.RESOLVED:
        raise Conflict(f"Alert {alert_id} is already resolved.")
    if alert.status == AlertStatus.OPEN:
        alert.status = AlertStatus.ACKNOWLEDGED.value
        alert.acknowledged_at = now
        alert.acknowledged_by = actor
        alert.updated_at = now
        await _audit(session, alert, "alert.acknowledged", actor, {})
        # A person looking at one finding of a problem is looking at the problem.
        await items.acknowledge(session, alert.item_id, actor=actor, now=now)
    return alert


async def resolve(
    session: AsyncSession,
    *,
    alert_id: int,
    outcome: Outcome,
    note: str | None,
    actor: str,
    now: datetime,
) -> Alert:
    """open or acknowledged -> resolved with an outcome and an optional note."""
    alert = await repository.lock_alert(session, alert_id)
    if alert.status == AlertStatus.RESOLVED:
        raise Conflict(f"Alert {alert_id} is already resolved ({alert.outcome}).")
    _close(alert, outcome=outcome.value, note=note, actor=actor, now=now, auto=False)
    await _audit(session, alert, "alert.resolved", actor, {"outcome": outcome.value, "note": note})
    closure = items.Closure(outcome=outcome.value, note=note, actor=actor, auto=False)
    await items.after_findings_changed(session, alert.item_id, now=now, closed_by=closure)
    return alert


async def assign(
    session: AsyncSession, *, alert_id: int, team: str, actor: str, now: datetime
) -> Alert:
    alert = await repository.lock_alert(session, alert_id)
    if alert.status == AlertStatus.RESOLVED:
        raise Conflict(f"Alert {alert_id} is resolved; reassigning it would change nothing.")
    if alert.team != team:
        previous = alert.team
        alert.team = team
        alert.updated_at = now
        await _audit(session, alert, "alert.assigned", actor, {"from": previous, "to": team})
    return alert


async def add_note(
    session: AsyncSession, *, alert_id: int, note: str, actor: str, now: datetime
) -> Alert:
    alert = await repository.lock_alert(session, alert_id)
    alert.updated_at = now
    await _audit(session, alert, "alert.note", actor, {"note": note})
    return alert


async def auto_resolve(session: AsyncSession, *, alert: Alert, reason: str, now: datetime) -> None:
    """Closes an alert whose problem went away on its own (the parcel moved)."""
    if alert.status == AlertStatus.RESOLVED:
        return
    _close(
        alert,
        outcome=Outcome.CARRIER_FOUND_IT.value,
        note=reason,
        actor="firstscan",
        now=now,
        auto=True,
    )
    await _audit(session, alert, "alert.auto_resolved", "firstscan", {"reason": reason})
    await items.after_findings_changed(session, alert.item_id, now=now, closed_by=None)


def _close(
    alert: Alert, *, outcome: str, note: str | None, actor: str, now: datetime, auto: bool
) -> None:
    alert.status = AlertStatus.RESOLVED.value
    alert.outcome = outcome
    alert.resolution_note = note
    alert.resolved_at = now
    alert.resolved_by = actor
    alert.auto_resolved = auto
    alert.updated_at = now


async def _audit(
    session: AsyncSession, alert: Alert, action: str, actor: str, detail: dict[str, object]
) -> None:
    await audit_repository.record(
        session,
        actor=actor,
        action=action,
        entity_type="alert",
        entity_id=str(alert.id),
        order_id=alert.order_id,
        detail={"rule": alert.rule, **detail},
    )
    await session.flush()
