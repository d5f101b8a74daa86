"""The midnight path: alerts the rules planned for a deadline open set-based when it passes, with
the same audit rows and work items as the per-order path, and never where the per-order path would
open nothing (news, stale legs, an alert already open, a person's closure)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import delete, func, select

from app.alerts.models import Alert, AlertNotification, PlannedAlert, WorkItem
from app.alerts.planned import PLAN_WINDOW, OpeningRaced
from app.alerts.service import AlertPolicy
from app.audit.models import AuditEntry
from app.reconciliation import service, sweep
from app.reconciliation.service import ReconciliationConfig
from app.settings import Settings
from app.shipments.models import Order
from app.wiring import build_alert_policy
from tests.factories import make_alert
from tests.integration.reconciliation.test_reconcile_orders import LABEL_AT, usps_label_only_order

# The label is printed Mon 7 Dec 2026 10:00 New York: the never-inducted deadline (2 business
# days) is Thu 10 Dec 00:00.
DEADLINE = datetime(2026, 12, 10, 5, 0, tzinfo=UTC)
JUST_AFTER = DEADLINE + timedelta(seconds=3)
POLICY = AlertPolicy(
    webhook_urls=("https://hooks.example.test/T000/B000/secret",),
    email_recipients=("ops@example.test",),
)
CONFIG = ReconciliationConfig(policy=POLICY)


async def label_judged_before_the_deadline(session, *, config=CONFIG, **order):
    """A USPS label with no scan, judged an hour after it was printed: nothing is wrong yet."""
    order_id, leg = await usps_label_only_order(
        session, polled_at=LABEL_AT + timedelta(hours=1), **order
    )
    verdicts = await service.reconcile_orders(
        session, order_ids=[order_id], now=LABEL_AT + timedelta(hours=1), config=config
    )
    assert verdicts[0].findings == []
    return order_id, leg


async def rows(session, model) -> list:
    return list((await session.execute(select(model).order_by(model.id))).scalars())


async def test_judging_an_order_plans_what_opens_at_its_next_deadline(session):
    order_id, leg = await label_judged_before_the_deadline(session)

    (plan,) = await rows(session, PlannedAlert)
    order = await session.get(Order, order_id)
    assert (plan.rule, plan.leg_id, plan.order_id, plan.subject_key) == (
        "never_inducted",
        leg.id,
        order_id,
        f"leg:{leg.id}",
    )
    assert plan.due_at == DEADLINE == order.reconcile_due_at
    # The staleness guard as of the deadline: label_created legs are polled every 6 h.
    assert DEADLINE - timedelta(days=1) < plan.fresh_since < DEADLINE - timedelta(hours=12)
    assert plan.team == "ops"


async def test_at_the_deadline_the_planned_alert_opens_with_its_audit_and_work_item(session):
    order_id, leg = await label_judged_before_the_deadline(session)
    leg.last_successful_poll_at = DEADLINE - timedelta(hours=1)
    await session.flush()

    opened = await service.open_planned_alerts(session, now=JUST_AFTER, config=CONFIG)

    (alert,) = await rows(session, Alert)
    assert [(o.alert_id, o.rule, o.order_id) for o in opened] == [
        (alert.id, "never_inducted", order_id)
    ]
    assert (alert.status, alert.rule, alert.severity, alert.leg_id, alert.team) == (
        "open",
        "never_inducted",
        "critical",
        leg.id,
        "ops",
    )
    assert alert.opened_at == alert.last_seen_at == JUST_AFTER
    assert not alert.auto_resolved
    assert "USPS" in alert.explanation
    assert alert.recommended_action
    (audit,) = [a for a in await rows(session, AuditEntry) if a.action == "alert.opened"]
    assert (audit.entity_id, audit.order_id, audit.actor) == (str(alert.id), order_id, "firstscan")
    assert audit.detail == {"rule": "never_inducted", "severity": "critical"}
    (item,) = await rows(session, WorkItem)
    assert alert.item_id == item.id
    assert (item.rule, item.severity, item.status, item.team, item.order_id) == (
        "never_inducted",
        "critical",
        "open",
        "ops",
        order_id,
    )
    assert (item.headline, item.next_step) == (alert.explanation, alert.recommended_action)
    assert item.opened_at == JUST_AFTER
    assert item.announced_at is None
    # Ops hear of the item in its group's message (app.alerts.notifier), not of the alert.
    assert await rows(session, AlertNotification) == []
    # The plan stays until the order is judged again; the open alert keeps it from reopening.
    assert await service.open_planned_alerts(session, now=JUST_AFTER, config=CONFIG) == []


async def test_the_sweep_after_the_planned_opening_refreshes_and_sends_nothing_twice(session):
    _order_id, leg = await label_judged_before_the_deadline(session)
    leg.last_successful_poll_at = DEADLINE - timedelta(hours=1)
    await session.flush()
    await service.open_planned_alerts(session, now=JUST_AFTER, config=CONFIG)

    verdicts = (
        await sweep.reconcile_due_orders(
            session, now=JUST_AFTER + timedelta(seconds=5), config=CONFIG
        )
    ).verdicts

    assert [f.rule for f in verdicts[0].findings] == ["never_inducted"]
    (alert,) = await rows(session, Alert)
    assert alert.status == "open"
    assert alert.last_seen_at == JUST_AFTER + timedelta(seconds=5)
    assert len(await rows(session, WorkItem)) == 1
    opened = [a for a in await rows(session, AuditEntry) if a.action == "alert.opened"]
    assert len(opened) == 1
    # Judging the order replaced its plan with the next deadline's.
    plans = await rows(session, PlannedAlert)
    assert "never_inducted" not in {p.rule for p in plans}
    assert all(p.due_at > JUST_AFTER for p in plans)


async def test_the_same_deadline_opens_the_same_alert_on_either_path(session):
    """A plan opened in SQL equals what judging the order at that moment opens."""
    planned_id, planned_leg = await label_judged_before_the_deadline(session)
    judged_id, judged_leg = await label_judged_before_the_deadline(session)
    for leg in (planned_leg, judged_leg):
        leg.last_successful_poll_at = DEADLINE - timedelta(hours=1)
    await session.flush()
    await service.reconcile_orders(session, order_ids=[judged_id], now=JUST_AFTER, config=CONFIG)

    await service.open_planned_alerts(session, now=JUST_AFTER, config=CONFIG)

    by_order = {a.order_id: a for a in await rows(session, Alert)}
    planned, direct = by_order[planned_id], by_order[judged_id]
    fields = ("rule", "severity", "status", "team", "carrier", "opened_at", "auto_resolved")
    assert [getattr(planned, f) for f in fields] == [getattr(direct, f) for f in fields]

    def without_number(alert: Alert) -> str:
        return alert.explanation.replace(alert.tracking_number or "", "#")

    assert without_number(planned) == without_number(direct)
    assert set(planned.evidence) == set(direct.evidence)
    items = {i.id: i for i in await rows(session, WorkItem)}
    item_fields = ("rule", "severity", "status", "team", "carrier", "opened_at")
    assert [getattr(items[planned.item_id], f) for f in item_fields] == [
        getattr(items[direct.item_id], f) for f in item_fields
    ]


async def test_news_before_the_deadline_cancels_the_plan(session):
    order_id, leg = await label_judged_before_the_deadline(session)
    leg.last_successful_poll_at = DEADLINE - timedelta(hours=1)
    # A poll brought an acceptance scan: recording queues the order for the rules at once.
    (await session.get(Order, order_id)).reconcile_due_at = DEADLINE - timedelta(hours=1)
    await session.flush()

    assert await service.open_planned_alerts(session, now=JUST_AFTER, config=CONFIG) == []
    assert await rows(session, Alert) == []


async def test_a_leg_the_carrier_has_not_answered_for_opens_nothing(session):
    await label_judged_before_the_deadline(session)  # last good poll: 7 Dec, now stale

    assert await service.open_planned_alerts(session, now=JUST_AFTER, config=CONFIG) == []
    assert await rows(session, Alert) == []
    assert len(await rows(session, PlannedAlert)) == 1  # left to the rules' own judgement


async def test_an_alert_already_open_for_the_same_problem_is_not_doubled(session):
    order_id, leg = await label_judged_before_the_deadline(session)
    leg.last_successful_poll_at = DEADLINE - timedelta(hours=1)
    await session.flush()
    await service.reconcile_orders(session, order_ids=[order_id], now=JUST_AFTER, config=CONFIG)
    # The plan made before the deadline is still there if another worker re-planned nothing.
    await label_plan_again(session, order_id)

    assert await service.open_planned_alerts(session, now=JUST_AFTER, config=CONFIG) == []
    assert len(await rows(session, Alert)) == 1
    assert len(await rows(session, WorkItem)) == 1


async def label_plan_again(session, order_id: int) -> None:
    (alert,) = await rows(session, Alert)
    await add_plan(session, order_id, leg_id=alert.leg_id, rule="never_inducted")


async def add_plan(session, order_id: int, *, leg_id: int, rule: str) -> None:
    """A plan for DEADLINE written by hand, the order still due then."""
    session.add(
        PlannedAlert(
            order_id=order_id,
            leg_id=leg_id,
            due_at=DEADLINE,
            fresh_since=None,
            subject_key=f"leg:{leg_id}",
            rule=rule,
            severity="info",
            explanation="x",
            recommended_action="y",
            evidence={},
        )
    )
    (await session.get(Order, order_id)).reconcile_due_at = DEADLINE
    await session.flush()


async def test_an_expiry_is_left_to_judging_which_also_stops_polling_the_leg(session):
    order_id, leg = await label_judged_before_the_deadline(session)
    await session.execute(delete(PlannedAlert))
    await add_plan(session, order_id, leg_id=leg.id, rule="expired")

    assert await service.open_planned_alerts(session, now=JUST_AFTER, config=CONFIG) == []
    assert await rows(session, Alert) == []


async def test_a_problem_a_person_closed_with_no_news_since_stays_closed(session):
    order_id, leg = await label_judged_before_the_deadline(session)
    leg.last_successful_poll_at = DEADLINE - timedelta(hours=1)
    closed = closed_alert(order_id, leg, auto=False, resolved_at=LABEL_AT + timedelta(hours=2))
    session.add(closed)
    await session.flush()

    assert await service.open_planned_alerts(session, now=JUST_AFTER, config=CONFIG) == []


async def test_a_problem_that_closed_itself_earlier_opens_again(session):
    order_id, leg = await label_judged_before_the_deadline(session)
    leg.last_successful_poll_at = DEADLINE - timedelta(hours=1)
    session.add(closed_alert(order_id, leg, auto=True, resolved_at=LABEL_AT + timedelta(hours=2)))
    await session.flush()

    opened = await service.open_planned_alerts(session, now=JUST_AFTER, config=CONFIG)

    assert [o.rule for o in opened] == ["never_inducted"]


def closed_alert(order_id: int, leg, *, auto: bool, resolved_at: datetime) -> Alert:
    return make_alert(
        status="resolved",
        subject_key=f"leg:{leg.id}",
        leg_id=leg.id,
        order_id=order_id,
        carrier="usps",
        tracking_number=leg.tracking_number,
        evidence={},
        opened_at=LABEL_AT,
        resolved_at=resolved_at,
        resolved_by="firstscan" if auto else "sam",
        outcome="carrier_found_it" if auto else "false_alarm",
        auto_resolved=auto,
    )


async def test_a_plan_whose_deadline_passed_long_ago_is_left_to_the_rules(session):
    _order_id, leg = await label_judged_before_the_deadline(session)
    leg.last_successful_poll_at = DEADLINE - timedelta(hours=1)
    await session.flush()
    late = DEADLINE + PLAN_WINDOW + timedelta(seconds=1)

    assert await service.open_planned_alerts(session, now=late, config=CONFIG) == []
    await sweep.reconcile_due_orders(session, now=late, config=CONFIG)

    (alert,) = await rows(session, Alert)
    assert alert.opened_at == late


async def test_the_customer_hears_once_when_a_planned_alert_opens(session, clock):
    settings = Settings(
        customer_notify=True, secret_key="planned-secret", public_base_url="https://shop.example"
    )
    config = ReconciliationConfig(policy=build_alert_policy(settings, clock=clock))
    _order_id, leg = await label_judged_before_the_deadline(
        session, config=config, customer_email="jamie.rivera@example.com"
    )
    leg.last_successful_poll_at = DEADLINE - timedelta(hours=1)
    await session.flush()

    count = select(func.count()).where(AlertNotification.channel == "customer_email")
    await service.open_planned_alerts(session, now=JUST_AFTER, config=config)
    assert (await session.execute(count)).scalar_one() == 1  # queued with the planned alert
    await sweep.reconcile_due_orders(session, now=JUST_AFTER, config=config)

    assert (await session.execute(count)).scalar_one() == 1


async def test_two_workers_opening_the_same_plans_at_once_open_each_alert_once(
    committing_sessionmaker,
):
    import asyncio

    async with committing_sessionmaker() as session:
        order_ids = []
        for _ in range(20):
            order_id, leg = await label_judged_before_the_deadline(session)
            leg.last_successful_poll_at = DEADLINE - timedelta(hours=1)
            order_ids.append(order_id)
        await session.commit()

    async def one_worker() -> int:
        async with committing_sessionmaker() as session:
            opened = await service.open_planned_alerts(session, now=JUST_AFTER, config=CONFIG)
            await session.commit()
            return len(opened)

    counts = await asyncio.gather(one_worker(), one_worker())

    assert sum(counts) == 20
    async with committing_sessionmaker() as session:
        alerts = await rows(session, Alert)
        assert sorted(a.order_id for a in alerts) == sorted(order_ids)
        audits = [a for a in await rows(session, AuditEntry) if a.action == "alert.opened"]
        assert len(audits) == 20
        items = [a.item_id for a in alerts]
        assert len(set(items)) == len(await rows(session, WorkItem)) == 20


async def test_the_worker_job_opens_a_midnight_of_plans_on_parallel_connections(
    committing_sessionmaker,
):
    import httpx

    from app.reconciliation import jobs
    from app.wiring import build_worker_context

    async with committing_sessionmaker() as session:
        for _ in range(30):
            _, leg = await label_judged_before_the_deadline(session)
            leg.last_successful_poll_at = DEADLINE - timedelta(hours=1)
        url = session.get_bind().url.render_as_string(hide_password=False)
        await session.commit()
    settings = Settings(database_url=url, alert_webhook_urls="https://hooks.example.test/T0/B0/x")
    async with httpx.AsyncClient() as http:
        context = build_worker_context(
            settings, sessionmaker=committing_sessionmaker, http=http, clock=lambda: JUST_AFTER
        )
        assert await jobs.open_planned_alerts(context) == 30
        assert await jobs.open_planned_alerts(context) == 0

    async with committing_sessionmaker() as session:
        alerts = await rows(session, Alert)
        assert len({a.subject_key for a in alerts}) == len(alerts) == 30
        items = {i.id for i in await rows(session, WorkItem)}
        assert sorted(a.item_id for a in alerts) == sorted(items)


@pytest.mark.parametrize(
    "empty_database_url", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)
@pytest.mark.parametrize(
    "config",
    [CONFIG, ReconciliationConfig(policy=AlertPolicy())],
    ids=["with destinations", "no destinations"],
)
async def test_an_alert_another_writer_opens_meanwhile_rolls_the_opening_back(
    committing_sessionmaker, config
):
    """The per-order path opens the same alert while the planned opening runs: the opening waits
    for it, skips that alert, and then writes nothing at all (the sweep judges those orders)."""
    import asyncio

    async with committing_sessionmaker() as session:
        first_id, first_leg = await label_judged_before_the_deadline(session, config=config)
        _, second_leg = await label_judged_before_the_deadline(session, config=config)
        for leg in (first_leg, second_leg):
            leg.last_successful_poll_at = DEADLINE - timedelta(hours=1)
        await session.commit()

    async with committing_sessionmaker() as other_writer:
        await service.reconcile_orders(
            other_writer, order_ids=[first_id], now=JUST_AFTER, config=config
        )
        await other_writer.flush()  # the alert is written, not yet committed
        async with committing_sessionmaker() as opener:
            opening = asyncio.create_task(
                service.open_planned_alerts(opener, now=JUST_AFTER, config=config)
            )
            await asyncio.sleep(0.5)
            assert not opening.done()  # waiting on the other writer's alert
            await other_writer.commit()
            with pytest.raises(OpeningRaced):
                await opening
            await opener.rollback()

    async with committing_sessionmaker() as session:
        (alert,) = await rows(session, Alert)  # the other writer's, and nothing from the opening
        assert alert.order_id == first_id
        opened = [a for a in await rows(session, AuditEntry) if a.action == "alert.opened"]
        assert [a.entity_id for a in opened] == [str(alert.id)]
        (item,) = await rows(session, WorkItem)  # the other writer's alert's, and no other
        assert alert.item_id == item.id
