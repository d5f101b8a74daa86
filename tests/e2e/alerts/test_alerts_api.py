from __future__ import annotations

from datetime import timedelta

import pytest

from app.alerts.models import Alert
from tests.factories import create_order


async def seed_alerts(session, clock, count: int = 3) -> list[Alert]:
    order_id, (leg,) = await create_order(session, now=clock.now, order_number="ALR-1")
    alerts = []
    for index in range(count):
        alert = Alert(
            rule=("never_inducted", "stalled", "late")[index % 3],
            severity=("critical", "warning", "warning")[index % 3],
            status="open",
            subject_key=f"leg:{leg.id}" if index == 0 else f"order:{order_id}:{index}",
            leg_id=leg.id,
            order_id=order_id,
            carrier=("usps", "ups", "fedex")[index % 3],
            tracking_number=leg.tracking_number,
            team="ops",
            explanation=f"explanation {index}",
            recommended_action=f"action {index}",
            evidence={},
            opened_at=clock.now - timedelta(hours=10 - index),
            last_seen_at=clock.now,
            updated_at=clock.now,
            auto_resolved=False,
        )
        session.add(alert)
        alerts.append(alert)
    await session.commit()
    return alerts


async def test_the_list_carries_what_ops_need_oldest_first(client, auth, session, clock):
    seeded = await seed_alerts(session, clock)

    response = await client.get("/v1/alerts", headers=auth("agent"))

    assert response.status_code == 200
    page = response.json()
    assert page["total"] == 3
    assert [a["id"] for a in page["items"]] == [a.id for a in seeded]
    first = page["items"][0]
    for key in (
        "id",
        "rule",
        "severity",
        "status",
        "order_number",
        "carrier",
        "tracking_number",
        "opened_at",
        "explanation",
        "recommended_action",
    ):
        assert first[key] is not None, key
    assert first["order_number"] == "ALR-1"


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("rule=stalled", [1]),
        ("carrier=fedex", [2]),
        ("min_age_hours=9.5", [0]),
        ("max_age_hours=8.5", [2]),
        ("order=newest", [2, 1, 0]),
        ("team=nobody", []),
    ],
)
async def test_filters_narrow_the_list(client, auth, session, clock, query, expected):
    seeded = await seed_alerts(session, clock)

    response = await client.get(f"/v1/alerts?{query}", headers=auth("ops"))

    assert [a["id"] for a in response.json()["items"]] == [seeded[i].id for i in expected]


async def test_pages_follow_the_cursor_without_gaps_or_repeats(client, auth, session, clock):
    seeded = await seed_alerts(session, clock)
    seen: list[int] = []
    url = "/v1/alerts?limit=2"

    while url:
        page = (await client.get(url, headers=auth("agent"))).json()
        seen += [a["id"] for a in page["items"]]
        url = f"/v1/alerts?limit=2&cursor={page['next_cursor']}" if page["next_cursor"] else ""

    assert seen == [a.id for a in seeded]


async def test_a_bad_cursor_is_422(client, auth):
    response = await client.get("/v1/alerts?cursor=garbage!", headers=auth("agent"))

    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "cursor"


async def test_acknowledge_then_resolve_records_who_and_when(client, auth, session, clock):
    (alert,) = await seed_alerts(session, clock, count=1)

    acked = await client.post(f"/v1/alerts/{alert.id}/acknowledge", headers=auth("ops"))
    resolved = await client.post(
        f"/v1/alerts/{alert.id}/resolve",
        json={"outcome": "reshipped", "note": "new label 1Z…"},
        headers=auth("ops"),
    )

    assert acked.status_code == 200
    assert acked.json()["status"] == "acknowledged"
    assert acked.json()["acknowledged_by"].startswith("test-ops")
    body = resolved.json()
    assert (body["status"], body["outcome"], body["resolution_note"]) == (
        "resolved",
        "reshipped",
        "new label 1Z…",
    )
    assert [h["action"] for h in body["history"]] == ["alert.acknowledged", "alert.resolved"]


async def test_resolving_twice_is_a_conflict(client, auth, session, clock):
    (alert,) = await seed_alerts(session, clock, count=1)
    body = {"outcome": "false_alarm"}
    await client.post(f"/v1/alerts/{alert.id}/resolve", json=body, headers=auth("ops"))

    again = await client.post(f"/v1/alerts/{alert.id}/resolve", json=body, headers=auth("ops"))

    assert again.status_code == 409


async def test_an_unknown_outcome_is_422_naming_the_field(client, auth, session, clock):
    (alert,) = await seed_alerts(session, clock, count=1)

    response = await client.post(
        f"/v1/alerts/{alert.id}/resolve", json={"outcome": "shrug"}, headers=auth("ops")
    )

    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "outcome"


async def test_assign_moves_the_alert_to_another_team(client, auth, session, clock):
    (alert,) = await seed_alerts(session, clock, count=1)

    response = await client.post(
        f"/v1/alerts/{alert.id}/assign", json={"team": "usps-desk"}, headers=auth("admin")
    )

    assert response.json()["team"] == "usps-desk"
    assert response.json()["history"][-1]["detail"]["to"] == "usps-desk"


@pytest.mark.parametrize("action", ["acknowledge", "resolve", "assign"])
async def test_agents_read_but_cannot_act(client, auth, session, clock, action):
    (alert,) = await seed_alerts(session, clock, count=1)
    body = {"resolve": {"outcome": "other"}, "assign": {"team": "x"}}

    response = await client.post(
        f"/v1/alerts/{alert.id}/{action}", json=body.get(action), headers=auth("agent")
    )

    assert response.status_code == 403
    assert (await client.get(f"/v1/alerts/{alert.id}", headers=auth("agent"))).status_code == 200


async def test_an_unknown_alert_is_404(client, auth):
    assert (await client.get("/v1/alerts/999999", headers=auth("agent"))).status_code == 404


async def test_the_summary_counts_by_rule_and_carrier(client, auth, session, clock):
    await seed_alerts(session, clock)

    summary = (await client.get("/v1/alerts/summary", headers=auth("agent"))).json()

    assert summary["total"] == 3
    assert {c["key"]: c["count"] for c in summary["by_rule"]} == {
        "never_inducted": 1,
        "stalled": 1,
        "late": 1,
    }
    assert {"rule": "stalled", "carrier": "ups", "count": 1} in summary["by_rule_and_carrier"]


async def test_agents_may_add_a_note_which_lands_in_the_history(client, auth, session, clock):
    (alert,) = await seed_alerts(session, clock, count=1)

    response = await client.post(
        f"/v1/alerts/{alert.id}/notes",
        json={"note": "customer says the porch camera shows nothing"},
        headers=auth("agent"),
    )

    assert response.status_code == 200
    assert response.json()["status"] == "open"
    assert response.json()["history"][-1]["detail"]["note"].startswith("customer says")
