"""`/v1/items`: one work item per parcel problem, over HTTP: lists by every grouping key with
cursor pages, one item with its findings, and what a person does with it (roles, conflicts,
bad input as problem documents)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from app.alerts.models import Alert
from tests.factories import create_order, make_alert, save_alert


async def seed_items(session, clock) -> dict[str, Alert]:
    """Three parcels: a hand-off gap with its late consequence (one item), an exception on a
    UPS parcel, a never-inducted label for another team."""
    made = {}
    for name, rule, severity, carrier, team, hours in (
        ("gap", "handoff_gap", "critical", "usps", "ops", 30),
        ("late", "late", "warning", "usps", "ops", 20),
        ("exception", "exception", "warning", "ups", "ops", 10),
        ("never", "never_inducted", "critical", "fedex", "fedex-desk", 5),
    ):
        if name != "late":
            order_id, (leg,) = await create_order(session, now=clock.now)
        alert = make_alert(
            rule=rule,
            severity=severity,
            carrier=carrier,
            team=team,
            order_id=order_id,
            leg_id=leg.id,
            subject_key=f"leg:{leg.id}",
            evidence={},
            auto_resolved=False,
            opened_at=clock.now - timedelta(hours=hours),
        )
        made[name] = await save_alert(session, alert)
    await session.commit()
    return made


async def test_the_list_shows_one_item_per_parcel_problem_filtered_by_every_grouping_key(
    client, auth, session, clock
):
    made = await seed_items(session, clock)

    listed = (await client.get("/v1/items", headers=auth("agent"))).json()
    critical = (await client.get("/v1/items?severity=critical", headers=auth("agent"))).json()
    by_team = (await client.get("/v1/items?team=fedex-desk", headers=auth("agent"))).json()
    ups = (await client.get("/v1/items?carrier=ups&rule=exception", headers=auth("agent"))).json()

    assert listed["total"] == 3
    assert [i["rule"] for i in listed["items"]] == ["handoff_gap", "exception", "never_inducted"]
    gap = listed["items"][0]
    assert [f["alert_id"] for f in gap["findings"]] == [made["gap"].id, made["late"].id]
    assert gap["severity"] == "critical"
    assert [i["rule"] for i in critical["items"]] == ["handoff_gap", "never_inducted"]
    assert [i["team"] for i in by_team["items"]] == ["fedex-desk"]
    assert [i["carrier"] for i in ups["items"]] == ["ups"]
    alert = (await client.get(f"/v1/alerts/{made['late'].id}", headers=auth("agent"))).json()
    assert alert["item_id"] == gap["id"]


async def test_cursor_pages_walk_every_item_once(client, auth, session, clock):
    await seed_items(session, clock)

    first = (await client.get("/v1/items?limit=2", headers=auth("agent"))).json()
    second = (
        await client.get(f"/v1/items?limit=2&cursor={first['next_cursor']}", headers=auth("agent"))
    ).json()

    ids = [i["id"] for i in first["items"]] + [i["id"] for i in second["items"]]
    assert len(ids) == len(set(ids)) == 3
    assert second["next_cursor"] is None
    bad = await client.get("/v1/items?cursor=nonsense", headers=auth("agent"))
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"] == "cursor"


async def test_working_an_item_acts_on_its_findings_and_is_audited(client, auth, session, clock):
    made = await seed_items(session, clock)
    item_id = made["gap"].item_id

    acknowledged = await client.post(f"/v1/items/{item_id}/acknowledge", headers=auth("ops"))
    assigned = await client.post(
        f"/v1/items/{item_id}/assign",
        json={"team": "usps-desk", "assignee": "riley"},
        headers=auth("ops"),
    )
    noted = await client.post(
        f"/v1/items/{item_id}/notes", json={"note": "USPS opened a trace"}, headers=auth("agent")
    )
    resolved = await client.post(
        f"/v1/items/{item_id}/resolve", json={"outcome": "carrier_claim"}, headers=auth("ops")
    )
    again = await client.post(
        f"/v1/items/{item_id}/resolve", json={"outcome": "reshipped"}, headers=auth("ops")
    )

    assert [r.status_code for r in (acknowledged, assigned, noted, resolved)] == [200] * 4
    body = resolved.json()
    assert (body["status"], body["outcome"], body["team"], body["assignee"]) == (
        "resolved",
        "carrier_claim",
        "usps-desk",
        "riley",
    )
    assert sorted(h["action"] for h in body["history"]) == [
        "item.acknowledged",
        "item.assigned",
        "item.joined",
        "item.note",
        "item.opened",
        "item.resolved",
    ]
    assert again.status_code == 409
    session.expire_all()
    findings = (
        await session.execute(select(Alert).where(Alert.item_id == item_id).order_by(Alert.id))
    ).scalars()
    assert [(a.status, a.outcome, a.team, a.acknowledged_by is not None) for a in findings] == [
        ("resolved", "carrier_claim", "usps-desk", True),
        ("resolved", "carrier_claim", "usps-desk", True),
    ]


async def test_bad_requests_are_problem_documents_never_500(client, auth, session, clock):
    made = await seed_items(session, clock)
    item_id = made["exception"].item_id

    missing = await client.get("/v1/items/999999", headers=auth("agent"))
    neither = await client.post(f"/v1/items/{item_id}/assign", json={}, headers=auth("ops"))
    bad_name = await client.post(
        f"/v1/items/{item_id}/assign", json={"assignee": "riley\u202e"}, headers=auth("ops")
    )
    agent_acts = await client.post(f"/v1/items/{item_id}/acknowledge", headers=auth("agent"))
    bad_outcome = await client.post(
        f"/v1/items/{item_id}/resolve", json={"outcome": "lost"}, headers=auth("ops")
    )

    assert missing.status_code == 404
    assert (neither.status_code, neither.json()["errors"][0]["field"]) == (422, "team")
    assert (bad_name.status_code, bad_name.json()["errors"][0]["field"]) == (422, "assignee")
    assert agent_acts.status_code == 403
    assert (bad_outcome.status_code, bad_outcome.json()["errors"][0]["field"]) == (422, "outcome")
    for response in (missing, neither, bad_name, agent_acts, bad_outcome):
        assert response.headers["content-type"] == "application/problem+json"
