"""The alert lifecycle: open (or refresh) from a finding, acknowledge, assign, resolve, and
auto-resolve when the parcel moves. Every transition is audited; opening writes the outbox."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app import metrics
from app.alerts import repository
from app.alerts.customer_notice import CustomerNoticePolicy, enqueue_customer_notice
from app.alerts.delivery import webhook_destination
from app.alerts.models import Alert, AlertNotification
from app.alerts.routing import route_alert
from app.alerts.schemas import AlertStatus, Outcome
from app.audit import repository as audit_repository
from app.errors import Conflict
from app.kernel.findings import Finding
from app.settings.overrides import AlertRoute
from carriers.registry import carrier_name

SEVERITY_RANK = {"info": 0, "warning": 1, "critical": 2}
# The outbox event of a newly opened alert; part of its messages' idempotency keys.
OPENED_EVENT = "opened"


@dataclass(frozen=True, slots=True)
class AlertPolicy:
    """How alerts are routed and where they are delivered; built once from settings."""

    default_team: str = "ops"
    routes: tuple[AlertRoute, ...] = ()
    webhook_urls: tuple[str, ...] = ()
    email_recipients: tuple[str, ...] = ()
    console_base_url: str = "http://127.0.0.1:8000"
    extra: dict[str, str] = field(default_factory=dict)
    customer_notice: CustomerNoticePolicy | None = None  # None: FIRSTSCAN_CUSTOMER_NOTIFY off


@dataclass(frozen=True, slots=True)
class FindingSubject:
    """What a finding is about, as stored on the alert."""

    order_id: int | None
    order_number: str | None
    last_activity_at: datetime | None  # newest scan or change; reopens a human-closed alert


def subject_key(finding: Finding, order_id: int | None) -> str:
    if finding.leg_id is not None:
        return f"leg:{finding.leg_id}"
    if order_id is not None:
        return f"order:{order_id}"
    if finding.carrier is None:
        return f"system:{finding.rule}"  # about firstscan itself (e.g. its quarantine)
    return f"carrier:{finding.carrier}"


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
    return await _open(session, key=key, finding=finding, subject=subject, policy=policy, now=now)


def closed_by_a_person_without_news(closed: Alert | None, subject: FindingSubject) -> bool:
    """A person closed this problem and nothing has happened since: do not reopen it."""
    if closed is None or closed.auto_resolved or closed.resolved_at is None:
        return False
    return subject.last_activity_at is None or subject.last_activity_at <= closed.resolved_at


def opening_order(order_id: int | None, leg_id: int | None, rule: str) -> tuple[object, ...]:
    """Where an alert goes among several opened in one transaction: by order, then leg (an
    order's own alerts after its legs'), then rule. Every writer that opens several inserts
    them in this order (the planned opening's SQL too), so two of them racing to open the same
    alerts wait for each other in one direction only (docs/locking.md)."""
    return (order_id or 0, leg_id is None, leg_id or 0, rule)


def build_alert(
    finding: Finding, *, key: str, order_id: int | None, policy: AlertPolicy, now: datetime
) -> Alert:
    """A new open alert for a finding, routed to its team (not yet added to the session)."""
    return Alert(
        rule=finding.rule,
        severity=finding.severity.value,
        status=AlertStatus.OPEN.value,
        subject_key=key,
        leg_id=finding.leg_id,
        order_id=order_id,
        carrier=finding.carrier,
        tracking_number=finding.tracking_number,
        team=route_alert(
            policy.routes,
            rule=finding.rule,
            carrier=finding.carrier,
            severity=finding.severity.value,
            default_team=policy.default_team,
        ),
        explanation=finding.explanation,
        recommended_action=finding.recommended_action,
        evidence=dict(finding.evidence),
        opened_at=now,
        last_seen_at=now,
        updated_at=now,
        auto_resolved=False,
    )


async def _open(
    session: AsyncSession,
    *,
    key: str,
    finding: Finding,
    subject: FindingSubject,
    policy: AlertPolicy,
    now: datetime,
) -> Alert | None:
    alert = build_alert(finding, key=key, order_id=subject.order_id, policy=policy, now=now)
    try:
        async with session.begin_nested():
            session.add(alert)
            await session.flush()
    except IntegrityError:
        # Another worker opened the same alert a moment ago: the unique index kept it single.
        return await repository.find_unresolved(session, subject_key=key, rule=finding.rule)
    await announce_opened(
        session, alert=alert, order_number=subject.order_number, policy=policy, now=now
    )
    await session.flush()
    return alert


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
        actor="firstscan",
        action="alert.opened",
        entity_type="alert",
        entity_id=str(alert.id),
        order_id=alert.order_id,
        detail={"rule": alert.rule, "severity": alert.severity},
    )
    metrics.ALERTS_OPENED.labels(alert.rule).inc()
    enqueue_notifications(
        session, alert=alert, event=OPENED_EVENT, order_number=order_number, policy=policy, now=now
    )
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
        order_number = await repository.find_order_number(session, alert.order_id)
        enqueue_notifications(
            session,
            alert=alert,
            event=f"escalated-{new}",
            order_number=order_number,
            policy=policy,
            now=now,
        )


def build_notification_payload(
    alert: Alert, *, event: str, order_number: str | None, policy: AlertPolicy
) -> dict[str, object]:
    """The message body every channel renders: plain data, no secrets."""
    carrier = carrier_name(alert.carrier) if alert.carrier else None
    subject = order_number or carrier or "firstscan"
    return {
        "alert_id": alert.id,
        "event": event,
        "rule": alert.rule,
        "severity": alert.severity,
        "title": f"[{alert.severity}] {alert.rule.replace('_', ' ')}: {subject}",
        "explanation": alert.explanation,
        "recommended_action": alert.recommended_action,
        "order_number": order_number,
        "carrier": alert.carrier,
        "carrier_name": carrier,
        "tracking_number": alert.tracking_number,
        "team": alert.team,
        "opened_at": alert.opened_at.isoformat(),
        "url": f"{policy.console_base_url.rstrip('/')}/console/alerts/{alert.id}",
    }


def notification_destinations(policy: AlertPolicy) -> list[tuple[str, str]]:
    """(channel, destination) of every ops message, webhooks by hash, never by URL."""
    return [("webhook", webhook_destination(url)) for url in policy.webhook_urls] + [
        ("email", address) for address in policy.email_recipients
    ]


def idempotency_key(alert_id: int | str, event: str, channel: str, destination: str) -> str:
    """The same key on every attempt of one message, so a receiver can drop a repeat."""
    digest = hashlib.sha256(destination.encode()).hexdigest()[:12]
    return f"firstscan-alert-{alert_id}-{event}-{channel}-{digest}"


def enqueue_notifications(
    session: AsyncSession,
    *,
    alert: Alert,
    event: str,
    order_number: str | None,
    policy: AlertPolicy,
    now: datetime,
) -> list[AlertNotification]:
    """Writes one outbox row per destination in the caller's transaction."""
    payload = build_notification_payload(
        alert, event=event, order_number=order_number, policy=policy
    )
    rows = []
    for channel, destination in notification_destinations(policy):
        row = AlertNotification(
            alert_id=alert.id,
            event=event,
            channel=channel,
            destination=destination,
            idempotency_key=idempotency_key(alert.id, event, channel, destination),
            payload=payload,
            status="pending",
            attempts=0,
            next_attempt_at=now,
            created_at=now,
        )
        session.add(row)
        rows.append(row)
    return rows


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
