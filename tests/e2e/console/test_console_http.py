from __future__ import annotations

import httpx
import pytest
from fastapi.routing import APIRoute
from sqlalchemy import select

from app.alerts.models import Alert
from app.audit.models import AuditEntry
from app.auth import service as auth_service
from app.auth.models import ApiKey
from app.console import router as console_router
from tests.e2e.console.conftest import csrf_of, sign_in

# (method, route, a concrete URL of it)
PROTECTED = [
    ("GET", "/console", "/console"),
    ("GET", "/console/search", "/console/search?q=FS-2001"),
    ("GET", "/console/orders/{order_number}", "/console/orders/FS-2001"),
    ("GET", "/console/alerts", "/console/alerts"),
    ("GET", "/console/alerts/{alert_id}", "/console/alerts/1"),
    ("GET", "/console/set-aside", "/console/set-aside"),
    ("POST", "/console/sign-out", "/console/sign-out"),
    ("POST", "/console/alerts/{alert_id}/acknowledge", "/console/alerts/1/acknowledge"),
    ("POST", "/console/alerts/{alert_id}/resolve", "/console/alerts/1/resolve"),
    ("POST", "/console/alerts/{alert_id}/assign", "/console/alerts/1/assign"),
    ("POST", "/console/alerts/{alert_id}/notes", "/console/alerts/1/notes"),
]
OPEN = {("GET", "/console/sign-in"), ("POST", "/console/sign-in")}


def test_the_list_of_protected_routes_covers_every_console_route():
    console = {
        (method, route.path)
        for route in console_router.router.routes
        if isinstance(route, APIRoute)
        for method in route.methods
    }

    assert console - OPEN == {(method, route) for method, route, _ in PROTECTED}


@pytest.mark.parametrize(("method", "route", "path"), PROTECTED)
async def test_every_console_route_redirects_to_sign_in_without_a_session(
    client, method, route, path
):
    response = await client.request(method, path, data={} if method == "POST" else None)

    assert response.status_code == 303
    assert response.headers["location"].startswith("/console/sign-in")


async def test_a_page_asked_for_without_a_session_is_shown_after_sign_in(
    client, auth, api_keys, story
):
    first = await client.get("/console/orders/FS-2001")
    assert first.headers["location"] == "/console/sign-in?next=%2Fconsole%2Forders%2FFS-2001"

    form = await client.get(first.headers["location"])
    signed_in = await client.post(
        "/console/sign-in",
        data={
            "api_key": api_keys["agent"],
            "csrf_token": csrf_of(form),
            "next": "/console/orders/FS-2001",
        },
    )

    assert signed_in.headers["location"] == "/console/orders/FS-2001"


async def test_the_session_cookie_is_httponly_lax_and_scoped_to_the_console(client, api_keys):
    response = await sign_in(client, api_keys["ops"])

    assert response.status_code == 303
    cookie = next(
        c for c in response.headers.get_list("set-cookie") if c.startswith("firstscan_console=")
    )
    flags = {part.strip().lower() for part in cookie.split(";")[1:]}
    assert {"httponly", "samesite=lax", "path=/console"} <= flags
    assert "secure" not in flags  # plain http: a Secure cookie would never come back
    assert api_keys["ops"] not in cookie


async def test_the_session_cookie_is_secure_over_https(app, api_keys):
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="https://testserver") as client:
        response = await sign_in(client, api_keys["ops"])

    cookie = next(
        c for c in response.headers.get_list("set-cookie") if c.startswith("firstscan_console=")
    )
    assert "secure" in {part.strip().lower() for part in cookie.split(";")}


async def test_sign_in_without_its_form_token_is_refused(client, api_keys):
    response = await client.post("/console/sign-in", data={"api_key": api_keys["ops"]})

    assert response.status_code == 403
    assert "firstscan_console=" not in response.headers.get("set-cookie", "")


@pytest.mark.parametrize(("role", "status"), [("ingest", 403), (None, 401)])
async def test_only_agent_ops_and_admin_keys_may_sign_in(client, api_keys, role, status):
    response = await sign_in(client, api_keys[role] if role else "fsk_not-a-key")

    assert response.status_code == status
    assert "firstscan_console=" not in response.headers.get("set-cookie", "")


async def test_an_action_without_the_csrf_token_is_refused_and_changes_nothing(
    client, api_keys, story, session
):
    *_, alert = story
    await sign_in(client, api_keys["ops"])

    missing = await client.post(f"/console/alerts/{alert.id}/acknowledge", data={})
    forged = await client.post(f"/console/alerts/{alert.id}/acknowledge", data={"csrf_token": "x"})

    assert missing.status_code == forged.status_code == 403
    await session.refresh(alert)
    assert alert.status == "open"


async def test_a_revoked_keys_session_stops_working_at_once(client, api_keys, session, clock):
    await sign_in(client, api_keys["ops"])
    assert (await client.get("/console")).status_code == 200
    key = (await session.execute(select(ApiKey).where(ApiKey.name == "test-ops"))).scalar_one()

    await auth_service.revoke_key(session, key_id=key.id, actor="tests", now=clock.now)
    await session.commit()

    response = await client.get("/console")
    assert response.status_code == 303
    assert response.headers["location"].startswith("/console/sign-in")


async def test_signing_out_ends_the_session_in_the_browser(client, api_keys):
    await sign_in(client, api_keys["agent"])
    home = await client.get("/console")

    out = await client.post("/console/sign-out", data={"csrf_token": csrf_of(home)})

    assert out.headers["location"] == "/console/sign-in?done=signed_out"
    assert (await client.get("/console")).status_code == 303


@pytest.mark.parametrize("typed", ["fs-2001", "FS 2001"])
async def test_search_takes_the_order_number_typed_any_way(client, api_keys, story, typed):
    await sign_in(client, api_keys["agent"])

    response = await client.get("/console/search", params={"q": typed})

    assert response.headers["location"] == "/console/orders/FS-2001"


async def test_search_takes_a_tracking_number_with_spaces_and_lower_case(client, api_keys, story):
    _, _, usps_leg, _ = story
    spaced = " ".join(usps_leg.tracking_number[i : i + 4] for i in range(0, 22, 4)).lower()
    await sign_in(client, api_keys["agent"])

    response = await client.get("/console/search", params={"q": spaced})

    assert response.headers["location"] == "/console/orders/FS-2001"


async def test_an_unknown_number_says_what_was_searched(client, api_keys):
    await sign_in(client, api_keys["agent"])

    response = await client.get("/console/search", params={"q": "NOPE-42"})

    assert response.status_code == 404
    assert "No order or tracking number matches “NOPE-42”" in response.text


async def test_the_order_page_shows_the_file_an_agent_needs(client, api_keys, story):
    _, _, usps_leg, alert = story
    await sign_in(client, api_keys["agent"])

    page = (await client.get("/console/orders/FS-2001")).text

    assert "ja***@example.com" in page
    assert "jamie.rivera" not in page
    usps_grouped = " ".join(usps_leg.tracking_number[i : i + 4] for i in range(0, 22, 4))
    assert f'handed to <strong>USPS</strong> as <span class="number">{usps_grouped}</span>' in page
    assert "FedEx</strong>" in page or "FedEx Ground Economy" in page
    assert "USPS has the electronic label but has never scanned the parcel" in page
    assert alert.explanation in page
    assert alert.recommended_action in page
    assert "The carrier has not received your parcel yet." in page  # what the customer sees
    assert "/track/t/" in page


async def test_an_agent_sees_the_alert_and_may_add_a_note_but_not_act(
    client, api_keys, story, session
):
    *_, alert = story
    await sign_in(client, api_keys["agent"])
    page = await client.get("/console/orders/FS-2001")

    acted = await client.post(
        f"/console/alerts/{alert.id}/acknowledge", data={"csrf_token": csrf_of(page)}
    )
    noted = await client.post(
        f"/console/alerts/{alert.id}/notes",
        data={
            "csrf_token": csrf_of(page),
            "note": "Customer called, waiting",
            "return_to": "/console/orders/FS-2001",
        },
    )

    assert ">Acknowledge</button>" not in page.text
    assert ">Add note</button>" in page.text
    assert acted.status_code == 403
    assert noted.headers["location"] == f"/console/orders/FS-2001?done=noted#alert-{alert.id}"
    after = await client.get(noted.headers["location"])
    assert "Note added." in after.text
    assert "Customer called, waiting" in after.text
    assert "test-agent (key #" in after.text


async def test_ops_acknowledge_resolve_and_assign_and_each_lands_in_the_audit_log(
    client, api_keys, story, session
):
    order_id, *_, alert = story
    await sign_in(client, api_keys["ops"])
    page = await client.get("/console/orders/FS-2001")
    token, back = csrf_of(page), "/console/orders/FS-2001"

    await client.post(
        f"/console/alerts/{alert.id}/assign",
        data={"csrf_token": token, "team": "claims", "return_to": back},
    )
    await client.post(
        f"/console/alerts/{alert.id}/acknowledge", data={"csrf_token": token, "return_to": back}
    )
    resolved = await client.post(
        f"/console/alerts/{alert.id}/resolve",
        data={"csrf_token": token, "outcome": "reshipped", "note": "new label", "return_to": back},
    )
    again = await client.post(
        f"/console/alerts/{alert.id}/resolve",
        data={"csrf_token": token, "outcome": "refunded", "return_to": back},
    )

    assert resolved.headers["location"].endswith(f"?done=resolved#alert-{alert.id}")
    assert "problem=conflict" in again.headers["location"]
    actions = (
        await session.execute(
            select(AuditEntry.entity_type, AuditEntry.action)
            .where(AuditEntry.order_id == order_id)
            .order_by(AuditEntry.id)
        )
    ).all()
    by_alert = [action for kind, action in actions if kind == "alert"]
    assert by_alert[-3:] == ["alert.assigned", "alert.acknowledged", "alert.resolved"]
    # Its work item follows: acknowledged with it, closed when its last finding was resolved.
    by_item = [action for kind, action in actions if kind == "item"]
    assert by_item[-2:] == ["item.acknowledged", "item.resolved"]
    stored = (await session.execute(select(Alert).where(Alert.id == alert.id))).scalar_one()
    await session.refresh(stored)
    assert (stored.status, stored.outcome, stored.team) == ("resolved", "reshipped", "claims")
    shown = (await client.get("/console/orders/FS-2001")).text
    assert "resolved the handoff gap alert: reshipped" in shown
    assert "assigned the handoff gap alert to team claims" in shown


async def test_an_invalid_outcome_or_team_changes_nothing(client, api_keys, story, session):
    *_, alert = story
    await sign_in(client, api_keys["ops"])
    token = csrf_of(await client.get("/console"))

    bad_outcome = await client.post(
        f"/console/alerts/{alert.id}/resolve", data={"csrf_token": token, "outcome": "lost"}
    )
    bad_team = await client.post(
        f"/console/alerts/{alert.id}/assign", data={"csrf_token": token, "team": "a b"}
    )

    assert "problem=invalid" in bad_outcome.headers["location"]
    assert "problem=invalid" in bad_team.headers["location"]
    await session.refresh(alert)
    assert (alert.status, alert.team) == ("open", "ops")


async def test_the_board_lists_open_alerts_oldest_first_with_filters_and_counts(
    client, api_keys, story, session, clock
):
    from datetime import timedelta

    from tests.factories import make_alert, save_alert

    older = make_alert(
        rule="late", carrier="ups", opened_at=clock.now - timedelta(days=3), team="claims"
    )
    await save_alert(session, older)
    await session.commit()
    await sign_in(client, api_keys["agent"])

    board = (await client.get("/console/alerts")).text
    late_only = (await client.get("/console/alerts", params={"rule": "late"})).text
    old_only = (await client.get("/console/alerts", params={"min_age_hours": "48"})).text

    assert board.index("3 d 0 h") < board.index("1 d 0 h")
    assert "2 unresolved parcel problems match" in board
    assert "handoff gap (1)" in board
    assert "1 unresolved parcel problem match" in late_only
    assert "handoff gap</a>" not in late_only
    assert "1 unresolved parcel problem match" in old_only


async def test_an_alert_link_from_a_notification_opens_its_order(client, api_keys, story):
    *_, alert = story
    await sign_in(client, api_keys["agent"])

    response = await client.get(f"/console/alerts/{alert.id}")

    assert response.headers["location"] == f"/console/orders/FS-2001#alert-{alert.id}"


async def test_the_order_page_shows_that_the_customer_was_emailed(
    client, api_keys, story, session, clock
):
    from tests.factories import make_notification

    *_, alert = story
    session.add(
        make_notification(
            alert,
            channel="customer_email",
            event="customer_notice",
            destination="jamie.rivera@example.com",
            payload={"subject": "Order FS-2001: an update on your parcel", "body": "..."},
            status="delivered",
            delivered_at=clock.now,
        )
    )
    await session.commit()
    await sign_in(client, api_keys["agent"])

    page = (await client.get("/console/orders/FS-2001")).text

    assert "“Order FS-2001: an update on your parcel” to ja***@example.com:" in page
    assert "<strong>sent</strong>" in page
    assert "No email has been sent" not in page


async def test_the_order_page_says_which_alert_opens_next_if_nothing_changes(
    client, api_keys, session
):
    from datetime import timedelta

    from app.reconciliation import service
    from app.reconciliation.service import ReconciliationConfig
    from tests.factories import LABEL_AT, create_order, usps_number

    number = usps_number()
    order_id, _ = await create_order(
        session,
        now=LABEL_AT,
        label_at=LABEL_AT,
        order_number="FS-3002",
        shipments=[{"tracking_number": number, "carrier": "usps", "label_created_at": ""}],
    )
    await service.reconcile_orders(
        session,
        order_ids=[order_id],
        now=LABEL_AT + timedelta(hours=1),
        config=ReconciliationConfig(),
    )
    await session.commit()
    await sign_in(client, api_keys["agent"])

    page = (await client.get("/console/orders/FS-3002")).text

    section = page[page.index('id="upcoming-heading"') :]
    assert "a critical never inducted alert opens on USPS" in section
    assert "unless a scan arrives first" in section
    assert "No alert is planned" not in section
