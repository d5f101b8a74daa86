"""The seed story as ops works it: one work item for the parcel's problem.

The hand-off of test_seed_story.py (FedEx tenders to USPS on Tue 22 Dec 2026, USPS never scans;
handoff_gap opens at 00:00 EST on Mon 28 Dec), with a promise for Tue 29 Dec, broken at 00:00
on Wed 30 Dec: `late` is a consequence of the gap and joins its item. Resolving the item
resolves both findings; a later, unrelated problem on the same order opens a new item.
"""

from __future__ import annotations

from datetime import date, timedelta

import httpx
import pytest
from sqlalchemy import select

from app.alerts import service as alerts_service
from app.alerts.models import Alert, WorkItem
from app.alerts.opening import AlertPolicy, FindingSubject
from app.auth import service as auth_service
from app.auth.roles import Role
from app.kernel.findings import Finding, Severity
from app.main import create_app
from tests.factories import create_order
from tests.integration.workers.test_seed_story import (
    ALERT_OPENS_AT,
    CONSOLIDATOR_NUMBER,
    LABEL_AT,
    NEW_YORK,
    on_the_hour,
)

pytestmark = pytest.mark.slow

PROMISED = date(2026, 12, 29)
PROMISE_BROKEN_AT = ALERT_OPENS_AT + timedelta(days=2)  # 00:00 EST Wed 30 Dec


async def story_order(sessionmaker, mock_carrier) -> int:
    await mock_carrier.fix_shipments(
        [{"carrier": "fedex", "tracking_number": CONSOLIDATOR_NUMBER,
          "scenario": "handoff_gap", "label_created_at": LABEL_AT.isoformat()}]
    )  # fmt: skip
    async with sessionmaker() as session:
        order_id, _ = await create_order(
            session,
            now=LABEL_AT,
            label_at=LABEL_AT,
            shipments=[{"tracking_number": CONSOLIDATOR_NUMBER, "carrier": "fedex"}],
            promised_delivery_date=PROMISED,
        )
        await session.commit()
    return order_id


async def step_every(worker, hours: int, start, end) -> None:
    """Worker passes every few hours (the story's days are long), and one exactly at `end`."""
    at = start
    while at < end:
        await worker.step_to(at)
        at += timedelta(hours=hours)
    await worker.step_to(end)


async def ops_key(sessionmaker) -> str:
    async with sessionmaker() as session:
        _, raw = await auth_service.create_key(session, role=Role.OPS, name="ops", actor="tests")
        await session.commit()
    return raw


async def items_and_alerts(sessionmaker) -> tuple[list[WorkItem], list[Alert]]:
    async with sessionmaker() as session:
        items = list((await session.execute(select(WorkItem).order_by(WorkItem.id))).scalars())
        alerts = list((await session.execute(select(Alert).order_by(Alert.id))).scalars())
    return items, alerts


async def test_one_item_per_parcel_problem_from_the_gap_to_the_broken_promise(
    stepped_worker, committing_sessionmaker, mock_carrier, receiver
):
    sessionmaker = committing_sessionmaker
    worker = stepped_worker(on_the_hour(LABEL_AT), alert_webhook_urls=receiver.url)
    order_id = await story_order(sessionmaker, mock_carrier)

    await step_every(worker, 6, on_the_hour(LABEL_AT), ALERT_OPENS_AT)
    [item], [gap] = await items_and_alerts(sessionmaker)
    assert (item.rule, item.status, item.order_id) == ("handoff_gap", "open", order_id)
    assert (gap.rule, gap.item_id) == ("handoff_gap", item.id)
    assert item.next_step == gap.recommended_action

    await step_every(worker, 6, ALERT_OPENS_AT + timedelta(hours=1), PROMISE_BROKEN_AT)
    [item], alerts = await items_and_alerts(sessionmaker)
    assert sorted(a.rule for a in alerts) == ["handoff_gap", "late"]
    assert {a.item_id for a in alerts} == {item.id}, "late joins the gap's item"
    assert item.rule == "handoff_gap", "the headline stays the most specific finding"
    assert PROMISE_BROKEN_AT.astimezone(NEW_YORK).hour == 0

    app = create_app(
        worker.context.settings,
        engine=sessionmaker.kw["bind"],
        sessionmaker=sessionmaker,
        clock=worker.clock,
    )
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        headers = {"Authorization": f"Bearer {await ops_key(sessionmaker)}"}
        listed = (await client.get("/v1/items", headers=headers)).json()
        assert [(i["id"], i["rule"]) for i in listed["items"]] == [(item.id, "handoff_gap")]
        assert [f["rule"] for f in listed["items"][0]["findings"]] == ["handoff_gap", "late"]
        by_alert = (await client.get(f"/v1/alerts/{gap.id}", headers=headers)).json()
        assert by_alert["item_id"] == item.id
        resolved = await client.post(
            f"/v1/items/{item.id}/resolve",
            json={"outcome": "reshipped", "note": "sent a new parcel"},
            headers=headers,
        )
    assert resolved.status_code == 200, resolved.text
    assert resolved.json()["status"] == "resolved"
    [item], alerts = await items_and_alerts(sessionmaker)
    assert (item.status, item.outcome, item.auto_resolved) == ("resolved", "reshipped", False)
    assert {(a.status, a.outcome) for a in alerts} == {("resolved", "reshipped")}

    # Later, an unrelated problem on the same order: a new item, not the closed one.
    async with sessionmaker() as session:
        [leg_id] = (await session.execute(select(Alert.leg_id).where(Alert.rule == "late"))).one()
        exception = Finding(
            rule="exception",
            severity=Severity.WARNING,
            leg_id=leg_id,
            carrier="usps",
            tracking_number="9400100000000000000000",
            explanation="USPS reports the address is damaged.",
            recommended_action="Confirm the address with the customer.",
        )
        subject = FindingSubject(order_id, None, last_activity_at=None)
        await alerts_service.record_finding(
            session,
            finding=exception,
            subject=subject,
            policy=AlertPolicy(),
            now=PROMISE_BROKEN_AT + timedelta(days=1),
        )
        await session.commit()
    items, _ = await items_and_alerts(sessionmaker)
    assert [(i.rule, i.status) for i in items] == [
        ("handoff_gap", "resolved"),
        ("exception", "open"),
    ]
