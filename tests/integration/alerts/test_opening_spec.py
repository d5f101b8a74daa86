"""The two ways of opening an alert follow one specification (app/alerts/opening.py): the same
findings opened on the per-order path and planned, then opened set-based at their deadline,
write the same alert, audit and outbox rows, field by field but for the alerts' ids."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from app.alerts import planned
from app.alerts import service as alerts_service
from app.alerts.models import Alert, AlertNotification, WorkItem
from app.alerts.opening import AlertPolicy, FindingSubject
from app.alerts.routing import AlertRoute
from app.audit.models import AuditEntry
from app.kernel.findings import Finding, Severity
from app.settings import Settings
from app.shipments.models import Order
from app.wiring import build_alert_policy
from tests.factories import create_order, make_alert, usps_number

LABEL_AT = datetime(2026, 12, 7, 15, 0, tzinfo=UTC)
DUE_AT = datetime(2026, 12, 10, 5, 0, tzinfo=UTC)
NOW = DUE_AT + timedelta(seconds=3)
RULES = ("never_inducted", "not_found", "stalled", "late", "exception", "handoff_gap")
# Text that JSON must carry intact through either path: quotes, braces, backslashes, accents.
WORDS = st.text(st.sampled_from('ab "{}\\\n:,é'), min_size=1, max_size=12)
# What happened to the same problem before: nothing, an alert still open, or one closed by
# itself or by a person, before or after the leg's newest scan.
HISTORIES = ("none", "open", "auto_closed", "closed_before_news", "closed_after_news")


@st.composite
def cases(draw: st.DrawFn) -> dict[str, Any]:
    # One order with a leg per finding: related findings then share a work item.
    one_order = draw(st.booleans())
    findings = draw(
        st.lists(
            st.fixed_dictionaries(
                {
                    "rule": st.sampled_from(RULES),
                    "severity": st.sampled_from(list(Severity)),
                    "about_leg": st.booleans(),
                    "explanation": WORDS,
                    "recommended_action": WORDS,
                    "evidence": st.dictionaries(WORDS, WORDS, max_size=2),
                    "history": st.sampled_from(HISTORIES),
                    "scanned": st.booleans(),
                    "fresh": st.sampled_from([None, True, False]),
                }
            ),
            min_size=1,
            max_size=3,
            unique_by=(lambda spec: spec["rule"]) if one_order else None,
        )
    )
    return {
        "one_order": one_order,
        "findings": findings,
        "webhooks": draw(st.integers(0, 2)),
        "emails": draw(st.integers(0, 2)),
        "routed": draw(st.booleans()),
        "customer_notice": draw(st.booleans()),
    }


def policy_for(case: dict[str, Any]) -> AlertPolicy:
    settings = Settings(
        customer_notify=case["customer_notice"],
        secret_key="spec-secret",
        public_base_url="https://shop.example",
    )
    base = build_alert_policy(settings, clock=lambda: NOW)
    return AlertPolicy(
        routes=(AlertRoute(team="carriers", rule="stalled"),) if case["routed"] else (),
        webhook_urls=tuple(
            f"https://hooks.example.test/{i}/secret" for i in range(case["webhooks"])
        ),
        email_recipients=tuple(f"ops{i}@example.test" for i in range(case["emails"])),
        console_base_url="https://console.example/",
        customer_notice=base.customer_notice,
    )


async def setting(session, case: dict[str, Any]) -> list[tuple[Finding, FindingSubject, Any]]:
    """One order per finding, or one order with a leg per finding; each finding's history
    stored; returns (finding, subject, fresh_since)."""
    made = []
    shared = None
    if case["one_order"]:
        shared = await create_order(
            session,
            now=LABEL_AT,
            label_at=LABEL_AT,
            shipments=[
                {"tracking_number": usps_number(), "carrier": "usps"} for _ in case["findings"]
            ],
        )
    for index, spec in enumerate(case["findings"]):
        if shared is not None:
            order_id, leg = shared[0], shared[1][index]
        else:
            order_id, (leg,) = await create_order(
                session,
                now=LABEL_AT,
                label_at=LABEL_AT,
                shipments=[{"tracking_number": usps_number(), "carrier": "usps"}],
            )
        order = await session.get(Order, order_id)
        leg.last_event_at = LABEL_AT + timedelta(days=1) if spec["scanned"] else None
        leg.last_successful_poll_at = DUE_AT - timedelta(hours=1)
        finding = Finding(
            rule=spec["rule"],
            severity=spec["severity"],
            leg_id=leg.id if spec["about_leg"] else None,
            carrier="usps" if spec["about_leg"] else None,
            tracking_number=leg.tracking_number if spec["about_leg"] else None,
            explanation=spec["explanation"],
            recommended_action=spec["recommended_action"],
            evidence=spec["evidence"],
        )
        # What the sweep calls news for a person's closure, stated here independently.
        activity = leg.last_event_at if spec["about_leg"] else order.updated_at
        subject = FindingSubject(order_id, order.order_number, last_activity_at=activity)
        key = alerts_service.subject_key(finding, order_id)
        add_history(session, spec["history"], finding, key, order_id, activity)
        # Only a leg's findings rest on a carrier's silence (reconciliation.service._plans).
        fresh = spec["fresh"] if spec["about_leg"] else None
        fresh_since = {None: None, True: DUE_AT - timedelta(hours=2), False: DUE_AT}[fresh]
        made.append((finding, subject, fresh_since))
    await session.flush()
    return made


def add_history(session, history, finding, key, order_id, activity) -> None:
    if history == "none":
        return
    at = {
        "open": LABEL_AT,
        "auto_closed": LABEL_AT,
        "closed_before_news": (activity or LABEL_AT) - timedelta(minutes=1),
        "closed_after_news": (activity or LABEL_AT) + timedelta(minutes=1),
    }[history]
    fields: dict[str, Any] = {"subject_key": key, "rule": finding.rule, "order_id": order_id}
    if history != "open":
        fields |= {
            "status": "resolved",
            "resolved_at": at,
            "auto_resolved": history == "auto_closed",
        }
    session.add(make_alert(leg_id=finding.leg_id, evidence={}, **fields))


async def written(session) -> dict[str, Any]:
    """Everything the opening at NOW wrote, with each alert's id named by its subject and rule."""
    alerts = list(
        (await session.execute(select(Alert).where(Alert.opened_at == NOW).order_by(Alert.id)))
        .scalars()
        .all()
    )
    names = {a.id: f"{a.subject_key}/{a.rule}" for a in alerts}

    def named(text: str) -> str:
        for alert_id, name in names.items():
            text = text.replace(f"/alerts/{alert_id}", f"/alerts/{name}")
            text = text.replace(f"-alert-{alert_id}-", f"-alert-{name}-")
        return names.get(int(text), text) if text.isdigit() else text

    audit = (
        await session.execute(select(AuditEntry).where(AuditEntry.action == "alert.opened"))
    ).scalars()
    outbox = (
        await session.execute(
            select(AlertNotification).where(AlertNotification.alert_id.in_(list(names)))
        )
    ).scalars()
    assert all(a.item_id is not None for a in alerts), "every opened alert is worked in an item"
    members: dict[int, list[str]] = {}
    for a in alerts:
        members.setdefault(a.item_id, []).append(names[a.id])
    work_items = (
        await session.execute(select(WorkItem).where(WorkItem.id.in_(list(members))))
    ).scalars()
    item_audit = (
        await session.execute(select(AuditEntry).where(AuditEntry.entity_type == "item"))
    ).scalars()
    return {
        "alerts": {names[a.id]: columns(a, leave=("id", "item_id")) for a in alerts},
        # Each item named by its findings: the same findings are worked the same way either way.
        "items": {tuple(sorted(members[i.id])): columns(i, leave=("id",)) for i in work_items},
        "item_audit": sorted(
            (
                e.action,
                tuple(sorted(names[a] for a in e.detail["alerts"])),
                tuple(sorted(members.get(int(e.entity_id), []))),
            )
            for e in item_audit
        ),
        "audit": {
            named(e.entity_id): columns(e, leave=("id", "entity_id"))
            for e in audit
            if e.entity_id.isdigit() and int(e.entity_id) in names
        },
        "outbox": {
            (names[m.alert_id], m.channel, m.destination): (
                named(m.idempotency_key),
                {k: named(str(v)) if k in ("alert_id", "url") else v for k, v in m.payload.items()},
                columns(m, leave=("id", "alert_id", "idempotency_key", "payload")),
            )
            for m in outbox
        },
    }


def columns(row, *, leave: tuple[str, ...]) -> dict[str, Any]:
    return {c.key: getattr(row, c.key) for c in row.__table__.columns if c.key not in leave}


async def per_order(session, made, policy) -> dict[str, Any]:
    """The sweep's way: each fresh finding recorded as judging its order now records it."""
    open_alerts = list(
        (await session.execute(select(Alert).where(Alert.status != "resolved"))).scalars()
    )
    fresh = [(f, s) for f, s, since in made if since != DUE_AT]
    await alerts_service.record_findings(
        session, findings=fresh, open_alerts=open_alerts, policy=policy, now=NOW
    )
    await session.flush()
    return await written(session)


async def set_based(session, made, policy) -> dict[str, Any]:
    """The midnight's way: planned before the deadline, opened in one statement after it."""
    plans = [planned.Plan(f, s, due_at=DUE_AT, fresh_since=since) for f, s, since in made]
    order_ids = [s.order_id for _, s, _ in made if s.order_id is not None]
    await planned.replace_plans(session, order_ids=order_ids, plans=plans, policy=policy)
    for order_id in order_ids:
        (await session.get(Order, order_id)).reconcile_due_at = DUE_AT
    await session.flush()
    await planned.open_due_plans(session, now=NOW, policy=policy)
    return await written(session)


@pytest.mark.parametrize(
    "empty_database_url", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)
@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(case=cases())
async def test_the_same_findings_open_the_same_rows_either_way(committing_sessionmaker, case):
    policy = policy_for(case)
    async with committing_sessionmaker() as session:
        made = await setting(session, case)
        first = await session.begin_nested()
        by_order = await per_order(session, made, policy)
        await first.rollback()
        second = await session.begin_nested()
        by_plan = await set_based(session, made, policy)
        await second.rollback()
        await session.rollback()

    assert by_plan["alerts"] == by_order["alerts"]
    assert by_plan["audit"] == by_order["audit"]
    assert by_plan["outbox"] == by_order["outbox"]
    assert by_plan["items"] == by_order["items"]
    assert by_plan["item_audit"] == by_order["item_audit"]
