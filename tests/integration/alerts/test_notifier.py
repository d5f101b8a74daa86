"""The notifier on a fixed clock: grouping windows end to end, escalation of an unacknowledged
critical item, PagerDuty triggers and resolves by the item's dedup_key (delivered to a local
receiver that behaves like PagerDuty), and the daily summary email."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
from pydantic import SecretStr
from sqlalchemy import select

from app.alerts import item_actions
from app.alerts import service as alerts_service
from app.alerts.daily_summary import build_summary_email
from app.alerts.dispatch import dispatch_due_notifications
from app.alerts.group_message import GroupMessage
from app.alerts.grouping import GroupingPolicy
from app.alerts.models import AlertNotification, WorkItem
from app.alerts.notifier import NotifierPolicy, notify
from app.alerts.opening import AlertPolicy, FindingSubject
from app.alerts.pagerduty import PagerDutyChannel
from app.alerts.schemas import Outcome
from app.kernel.findings import Finding, Severity
from app.settings.overrides import AlertRoute
from tests.factories import create_order
from tests.support.pagerduty_receiver import running_pagerduty_receiver

T0 = datetime(2026, 12, 14, 5, 0, tzinfo=UTC)  # Monday 00:00 New York: a deadline
WEBHOOK = ("webhook", "webhook:0123456789abcdef")
POLICY = NotifierPolicy(
    destinations=(WEBHOOK,),
    grouping=GroupingPolicy(group_wait=timedelta(seconds=30), group_interval=timedelta(minutes=5)),
    escalate_after=timedelta(minutes=30),
    escalation_routes=(AlertRoute(team="duty-manager", severity="critical"),),
)


async def open_finding(session, rule: str, *, severity=Severity.CRITICAL, now=T0, **order):
    order_id, (leg,) = await create_order(
        session, now=now, label_at=now - timedelta(days=3), **order
    )
    finding = Finding(
        rule=rule,
        severity=severity,
        leg_id=leg.id,
        carrier=leg.carrier,
        tracking_number=leg.tracking_number,
        explanation=f"{rule} on {leg.tracking_number}.",
        recommended_action="Act.",
    )
    alert = await alerts_service.record_finding(
        session,
        finding=finding,
        subject=FindingSubject(order_id, None, None),
        policy=AlertPolicy(),
        now=now,
    )
    assert alert is not None
    return alert


async def rows(session, **where) -> list[AlertNotification]:
    stmt = select(AlertNotification).filter_by(**where).order_by(AlertNotification.id)
    return list((await session.execute(stmt)).scalars())


async def test_a_burst_is_one_message_after_group_wait_and_later_items_wait_group_interval(
    session,
):
    for _ in range(5):
        await open_finding(session, "never_inducted")
    await open_finding(session, "never_inducted", now=T0 + timedelta(seconds=20))

    for seconds in (0, 10, 29):
        await notify(session, now=T0 + timedelta(seconds=seconds), policy=POLICY)
    assert await rows(session) == []
    await notify(session, now=T0 + timedelta(seconds=30), policy=POLICY)
    [first] = await rows(session)
    message = GroupMessage.from_payload(first.payload)
    assert (message.new_count, message.still_open_count, message.sequence) == (6, 0, 1)
    assert message.url.endswith("/console/alerts?team=ops&rule=never_inducted")

    late = T0 + timedelta(minutes=1)
    await open_finding(session, "never_inducted", now=late)
    await notify(session, now=T0 + timedelta(minutes=5, seconds=29), policy=POLICY)
    assert len(await rows(session)) == 1, "within group_interval of the last message"
    await notify(session, now=T0 + timedelta(minutes=5, seconds=30), policy=POLICY)
    second = GroupMessage.from_payload((await rows(session))[-1].payload)
    assert (second.new_count, second.still_open_count, second.sequence) == (1, 6, 2)


async def test_an_unacknowledged_critical_item_escalates_once_to_its_second_route(session):
    alert = await open_finding(session, "handoff_gap")
    warning = await open_finding(session, "exception", severity=Severity.WARNING)
    acknowledged = await open_finding(session, "never_inducted")
    await item_actions.acknowledge(
        session, item_id=acknowledged.item_id, actor="riley", now=T0 + timedelta(minutes=10)
    )
    await notify(session, now=T0 + timedelta(minutes=1), policy=POLICY)

    report = await notify(session, now=T0 + timedelta(minutes=29, seconds=59), policy=POLICY)
    assert report.escalated == 0
    report = await notify(session, now=T0 + timedelta(minutes=30), policy=POLICY)
    assert report.escalated == 1
    escalated = await session.get(WorkItem, alert.item_id)
    assert (escalated.team, escalated.escalated_at) == ("duty-manager", T0 + timedelta(minutes=30))
    assert (await session.get(WorkItem, warning.item_id)).escalated_at is None
    assert (await session.get(WorkItem, acknowledged.item_id)).escalated_at is None
    # Announced again, to the escalation team's group, after its group_wait.
    await notify(session, now=T0 + timedelta(minutes=30, seconds=30), policy=POLICY)
    last = GroupMessage.from_payload((await rows(session))[-1].payload)
    assert last.group == {"team": "duty-manager", "rule": "handoff_gap"}
    assert [item.item_id for item in last.items] == [alert.item_id]
    report = await notify(session, now=T0 + timedelta(hours=2), policy=POLICY)
    assert report.escalated == 0, "once"


async def test_pagerduty_triggers_once_per_item_and_resolves_when_the_item_closes(
    committing_sessionmaker,
):
    policy = NotifierPolicy(destinations=(), pagerduty=True, pagerduty_pages="critical")
    async with committing_sessionmaker() as session:
        critical = await open_finding(session, "never_inducted")
        await open_finding(session, "exception", severity=Severity.WARNING)
        # A consequence joins the critical item: still one PagerDuty alert for the parcel.
        late = Finding(
            rule="late",
            severity=Severity.CRITICAL,
            leg_id=critical.leg_id,
            carrier=critical.carrier,
            tracking_number=critical.tracking_number,
            explanation="Late.",
            recommended_action="Tell the customer.",
        )
        joined = await alerts_service.record_finding(
            session,
            finding=late,
            subject=FindingSubject(critical.order_id, None, None),
            policy=AlertPolicy(),
            now=T0,
        )
        assert joined is not None
        assert joined.item_id == critical.item_id

        await notify(session, now=T0, policy=policy)
        await notify(session, now=T0 + timedelta(minutes=1), policy=policy)
        await item_actions.resolve(
            session,
            item_id=critical.item_id,
            outcome=Outcome.RESHIPPED,
            note=None,
            actor="riley",
            now=T0 + timedelta(hours=1),
        )
        await notify(session, now=T0 + timedelta(hours=1), policy=policy)
        await notify(session, now=T0 + timedelta(hours=2), policy=policy)
        events = await rows(session, channel="pagerduty")
        await session.commit()

    dedup = f"firstscan-item-{critical.item_id}"
    assert [(e.event, e.payload["dedup_key"]) for e in events] == [
        ("pagerduty-trigger", dedup),
        ("pagerduty-resolve", dedup),
    ]
    assert "routing_key" not in str([e.payload for e in events])
    with running_pagerduty_receiver() as receiver:
        async with httpx.AsyncClient(timeout=5, trust_env=False) as http:
            channel = PagerDutyChannel(
                http, SecretStr("R0UTINGKEY0000000000000000000000"), events_url=receiver.url
            )
            for _ in range(2):  # the trigger, then the resolve
                await dispatch_due_notifications(
                    committing_sessionmaker,
                    channels={"pagerduty": channel},
                    worker_id="w",
                    now=T0 + timedelta(hours=3),
                    concurrency=1,
                )
        assert [r["event_action"] for r in receiver.requests] == ["trigger", "resolve"]
        assert receiver.open_alert(dedup) is None, "resolved"


async def test_the_daily_summary_goes_once_a_day_per_team_and_address(session):
    policy = NotifierPolicy(
        summary_recipients={"ops": ("ops@example.test", "lead@example.test")}, summary_hour=7
    )
    closed = await open_finding(session, "handoff_gap", now=T0 - timedelta(days=2))
    await item_actions.resolve(
        session,
        item_id=closed.item_id,
        outcome=Outcome.FALSE_ALARM,
        note=None,
        actor="riley",
        now=T0 - timedelta(days=1),  # Sunday 13 December, UTC
    )
    await open_finding(session, "never_inducted", order_number="FS-OLDEST")
    await open_finding(session, "exception", severity=Severity.WARNING, now=T0 + timedelta(hours=1))

    morning = T0.replace(hour=6, minute=59)
    assert (await notify(session, now=morning, policy=policy)).summaries == 0
    assert (await notify(session, now=T0.replace(hour=7), policy=policy)).summaries == 2
    assert (await notify(session, now=T0.replace(hour=9), policy=policy)).summaries == 0
    summaries = await rows(session, event="summary")
    assert sorted(s.destination for s in summaries) == ["lead@example.test", "ops@example.test"]
    payload = summaries[0].payload
    assert payload["open_count"] == 2
    assert payload["by_rule"] == {"never_inducted": 1, "exception": 1}
    assert payload["oldest"][0]["subject"] == "FS-OLDEST"
    assert payload["closed_yesterday"] == {"false_alarm": 1}
    email = build_summary_email(payload).as_string()
    assert "Open problems for ops: 2" in email
    assert "jamie@example.com" not in email  # the factory's customer email stays out
    tomorrow = T0.replace(hour=7) + timedelta(days=1)
    assert (await notify(session, now=tomorrow, policy=policy)).summaries == 2
