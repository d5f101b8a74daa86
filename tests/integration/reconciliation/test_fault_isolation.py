"""One order whose judgement raises is set aside; every other due order is still judged."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select, update

from app.alerts import service as alerts_service
from app.quarantine.models import QuarantinedMember
from app.reconciliation import rules, sweep
from app.shipments.models import Order
from tests.integration.reconciliation.test_reconcile_orders import (
    AFTER_DEADLINE,
    CONFIG,
    alerts,
    usps_label_only_order,
)


async def due_label_only_orders(session, count: int) -> list[int]:
    ids = []
    for _ in range(count):
        order_id, _ = await usps_label_only_order(session, polled_at=AFTER_DEADLINE)
        ids.append(order_id)
    return ids


async def quarantine(session) -> list[QuarantinedMember]:
    stmt = select(QuarantinedMember).execution_options(populate_existing=True)
    return list((await session.execute(stmt)).scalars())


async def make_first_due(session, order_id: int, **values) -> None:
    # The poison order is the oldest one waiting, as in the issue: it comes first in every claim.
    await session.execute(
        update(Order)
        .where(Order.id == order_id)
        .values(reconcile_due_at=AFTER_DEADLINE - timedelta(days=30), **values)
    )


async def test_an_order_promised_for_year_9999_is_set_aside_and_the_others_still_alert(session):
    poison, _ = await usps_label_only_order(session, polled_at=AFTER_DEADLINE)
    await make_first_due(session, poison, promised_delivery_on=date(9999, 12, 31))
    healthy = await due_label_only_orders(session, 10)

    outcome = await sweep.reconcile_due_orders(session, now=AFTER_DEADLINE, config=CONFIG)

    assert outcome.set_aside == [poison]
    opened = [a for a in await alerts(session) if a.rule == "never_inducted"]
    assert sorted(a.order_id for a in opened) == sorted(healthy)
    (entry,) = await quarantine(session)
    assert (entry.member_type, entry.member_id, entry.job, entry.order_id) == (
        "order",
        poison,
        "rules",
        poison,
    )
    assert entry.error_type == "OverflowError"
    order = await session.get(Order, poison)
    await session.refresh(order)
    assert order.reconcile_due_at == entry.retry_at > AFTER_DEADLINE


async def test_a_set_aside_order_is_not_claimed_again_until_its_retry_time(session):
    poison, _ = await usps_label_only_order(session, polled_at=AFTER_DEADLINE)
    await make_first_due(session, poison, promised_delivery_on=date(9999, 12, 31))
    await sweep.reconcile_due_orders(session, now=AFTER_DEADLINE, config=CONFIG)

    again = await sweep.reconcile_due_orders(
        session, now=AFTER_DEADLINE + timedelta(minutes=1), config=CONFIG
    )
    assert (again.verdicts, again.set_aside) == ([], [])

    (entry,) = await quarantine(session)
    later = await sweep.reconcile_due_orders(session, now=entry.retry_at, config=CONFIG)
    assert later.set_aside == [poison]
    (entry,) = await quarantine(session)
    assert entry.failures == 2


async def test_a_set_aside_order_that_changes_is_judged_again_and_released(session):
    poison, _ = await usps_label_only_order(session, polled_at=AFTER_DEADLINE)
    await make_first_due(session, poison, promised_delivery_on=date(9999, 12, 31))
    await sweep.reconcile_due_orders(session, now=AFTER_DEADLINE, config=CONFIG)
    fixed_at = AFTER_DEADLINE + timedelta(minutes=5)
    # What a writer does on a change: the new promise, and the order due for a look now.
    await session.execute(
        update(Order)
        .where(Order.id == poison)
        .values(promised_delivery_on=None, reconcile_due_at=fixed_at)
    )

    outcome = await sweep.reconcile_due_orders(session, now=fixed_at, config=CONFIG)

    assert [v.order_number for v in outcome.verdicts] == [
        (await session.get(Order, poison)).order_number
    ]
    assert await quarantine(session) == []
    assert [a.order_id for a in await alerts(session)] == [poison]


async def test_a_rule_that_raises_for_one_order_sets_aside_only_that_order(session, monkeypatch):
    healthy = await due_label_only_orders(session, 3)
    poison, _ = await usps_label_only_order(session, polled_at=AFTER_DEADLINE)
    poison_number = (await session.get(Order, poison)).order_number
    real = rules.find_with_priorities

    def raising_for_one(facts, **kwargs):
        if facts.order_number == poison_number:
            raise KeyError("a rule bug")
        return real(facts, **kwargs)

    monkeypatch.setattr(rules, "find_with_priorities", raising_for_one)

    outcome = await sweep.reconcile_due_orders(session, now=AFTER_DEADLINE, config=CONFIG)

    assert outcome.set_aside == [poison]
    assert sorted(a.order_id for a in await alerts(session)) == sorted(healthy)
    (entry,) = await quarantine(session)
    assert (entry.error_type, entry.error) == ("KeyError", "KeyError: 'a rule bug'")


async def test_an_alert_that_cannot_be_written_sets_aside_only_its_order(session, monkeypatch):
    """A failure in the write phase (after every order was judged) rolls back only that order."""
    healthy = await due_label_only_orders(session, 3)
    poison, poison_leg = await usps_label_only_order(session, polled_at=AFTER_DEADLINE)
    real = alerts_service.build_alert

    def raising_for_one(finding, **kwargs):
        if finding.leg_id == poison_leg.id:
            raise ValueError("cannot store this alert")
        return real(finding, **kwargs)

    monkeypatch.setattr(alerts_service, "build_alert", raising_for_one)

    outcome = await sweep.reconcile_due_orders(session, now=AFTER_DEADLINE, config=CONFIG)

    assert outcome.set_aside == [poison]
    assert sorted(a.order_id for a in await alerts(session)) == sorted(healthy)
    assert len(outcome.verdicts) == 3


async def test_a_database_outage_sets_nothing_aside(session, monkeypatch):
    from sqlalchemy.exc import OperationalError

    await due_label_only_orders(session, 2)

    def down(*args, **kwargs):
        raise OperationalError("SELECT 1", {}, Exception("server closed the connection"))

    monkeypatch.setattr(rules, "find_with_priorities", down)

    with pytest.raises(OperationalError):
        await sweep.reconcile_due_orders(session, now=AFTER_DEADLINE, config=CONFIG)
    assert await quarantine(session) == []


async def test_a_non_empty_quarantine_keeps_one_ops_alert_open_until_it_empties(session):
    from app.reconciliation import system_alerts

    poison, _ = await usps_label_only_order(session, polled_at=AFTER_DEADLINE)
    await make_first_due(session, poison, promised_delivery_on=date(9999, 12, 31))
    await sweep.reconcile_due_orders(session, now=AFTER_DEADLINE, config=CONFIG)
    number = (await session.get(Order, poison)).order_number

    await system_alerts.check_quarantine(session, now=AFTER_DEADLINE, policy=CONFIG.policy)
    await system_alerts.check_quarantine(
        session, now=AFTER_DEADLINE + timedelta(minutes=1), policy=CONFIG.policy
    )

    (alert,) = [a for a in await alerts(session) if a.rule == "quarantine"]
    assert (alert.status, alert.severity, alert.order_id, alert.subject_key) == (
        "open",
        "warning",
        None,
        "system:quarantine",
    )
    assert "set aside 1 order because" in alert.explanation
    assert f"order {number}: OverflowError" in alert.explanation
    fixed_at = AFTER_DEADLINE + timedelta(minutes=5)
    await session.execute(
        update(Order)
        .where(Order.id == poison)
        .values(promised_delivery_on=None, reconcile_due_at=fixed_at)
    )
    await sweep.reconcile_due_orders(session, now=fixed_at, config=CONFIG)

    await system_alerts.check_quarantine(session, now=fixed_at, policy=CONFIG.policy)

    await session.refresh(alert)
    assert (alert.status, alert.auto_resolved) == ("resolved", True)
