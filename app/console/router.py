from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Form, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from app.alerts import service as alerts_service
from app.alerts.schemas import AssignRequest, NoteRequest, ResolveRequest
from app.audit import repository as audit_repository
from app.auth import service as auth_service
from app.auth.roles import READ_ROLES
from app.console import service
from app.console.display import DONE_MESSAGES, PROBLEM_MESSAGES
from app.console.guards import (
    ActorDep,
    CheckedUserDep,
    ConsoleUser,
    SessionsDep,
    UserDep,
    render,
    safe_console_path,
    set_cookie,
)
from app.console.sessions import SESSION_COOKIE, SIGN_IN_COOKIE
from app.deps import NowDep, SessionDep
from app.errors import Conflict, NotFound, Unauthenticated
from app.orderfile import lookup
from app.orderfile.rows import OrderFileReader
from app.orderfile.schemas import LookupRead
from app.public.links import TrackLinks
from app.reconciliation import system_alerts
from app.settings import Settings

router = APIRouter(prefix="/console", include_in_schema=False)

AlertIdPath = Annotated[int, Path(ge=1)]
ReturnTo = Annotated[str, Form(max_length=300)]


def _page_context(request: Request, user: ConsoleUser | None) -> dict[str, Any]:
    done, problem = request.query_params.get("done"), request.query_params.get("problem")
    return {
        "user": user,
        "done": DONE_MESSAGES.get(done or ""),
        "problem": PROBLEM_MESSAGES.get(problem or ""),
    }


def _sign_in_page(
    request: Request, sessions: SessionsDep, *, error: str | None = None, status_code: int = 200
) -> HTMLResponse:
    cookie, token = sessions.issue_sign_in()
    context = {
        **_page_context(request, None),
        "error": error,
        "sign_in_token": token,
        "next": safe_console_path(request.query_params.get("next")),
    }
    response = render(request, "sign_in.html", context, status_code=status_code)
    set_cookie(request, response, SIGN_IN_COOKIE, cookie, max_age=3600, path="/console/sign-in")
    return response


@router.get("/sign-in", response_class=HTMLResponse)
async def sign_in_form(request: Request, sessions: SessionsDep) -> HTMLResponse:
    return _sign_in_page(request, sessions)


@router.post("/sign-in", response_class=HTMLResponse)
async def sign_in(
    request: Request,
    session: SessionDep,
    sessions: SessionsDep,
    now: NowDep,
    api_key: Annotated[str, Form(max_length=200)] = "",
    csrf_token: Annotated[str, Form(max_length=200)] = "",
    next_path: Annotated[str, Form(alias="next", max_length=300)] = "",
) -> Response:
    if not sessions.sign_in_ok(request.cookies.get(SIGN_IN_COOKIE), csrf_token):
        return _sign_in_page(
            request, sessions, error="The form expired; try again.", status_code=403
        )
    try:
        principal = await auth_service.authenticate(session, raw_key=api_key.strip(), now=now)
    except Unauthenticated:
        error = "That key is not valid or has been revoked."
        return _sign_in_page(request, sessions, error=error, status_code=401)
    if principal.role not in READ_ROLES:
        error = f"A key of role '{principal.role.value}' cannot use the console."
        return _sign_in_page(request, sessions, error=error, status_code=403)
    key = await service.get_key_hash(session, key_id=principal.key_id)
    await audit_repository.record(
        session,
        actor=principal.actor,
        action="console.signed_in",
        entity_type="api_key",
        entity_id=str(principal.key_id),
    )
    target = safe_console_path(next_path) or "/console"
    response = RedirectResponse(target, status_code=303)
    cookie = sessions.issue(key_id=principal.key_id, key_hash=key)
    max_age = int(sessions.max_age.total_seconds())
    set_cookie(request, response, SESSION_COOKIE, cookie, max_age=max_age, path="/console")
    response.delete_cookie(SIGN_IN_COOKIE, path="/console/sign-in")
    return response


@router.post("/sign-out")
async def sign_out(_: CheckedUserDep) -> Response:
    response = RedirectResponse("/console/sign-in?done=signed_out", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/console")
    return response


@router.get("", response_class=HTMLResponse)
async def home(request: Request, user: UserDep, session: SessionDep, now: NowDep) -> Response:
    board = await service.load_board(session, filters=service.BoardFilters(), now=now)
    context = {**_page_context(request, user), "board": board, "query": ""}
    return render(request, "home.html", context)


@router.get("/search", response_class=HTMLResponse)
async def search(
    request: Request,
    user: UserDep,
    session: SessionDep,
    q: Annotated[str, Query(max_length=100)] = "",
) -> Response:
    if not q.strip():
        return RedirectResponse("/console", status_code=303)
    context = {**_page_context(request, user), "query": q}
    try:
        reader = OrderFileReader(session=session, pool=None)
        found = LookupRead.model_validate_json(await lookup.lookup_number(reader, number=q))
    except NotFound:
        return render(request, "search.html", {**context, "result": None}, status_code=404)
    if len(found.orders) == 1:
        return RedirectResponse(_order_url(found.orders[0].order_number), status_code=303)
    return render(request, "search.html", {**context, "result": found})


def _order_url(order_number: str) -> str:
    return f"/console/orders/{quote(order_number, safe='')}"


@router.get("/orders/{order_number}", response_class=HTMLResponse)
async def order_page(
    order_number: Annotated[str, Path(max_length=64)],
    request: Request,
    user: UserDep,
    session: SessionDep,
    now: NowDep,
) -> Response:
    context = {**_page_context(request, user), "query": order_number, "now": now}
    try:
        page = await service.load_order_page(session, order_number=order_number, now=now)
    except NotFound:
        return render(request, "search.html", {**context, "result": None}, status_code=404)
    settings: Settings = request.app.state.settings
    links: TrackLinks = request.app.state.track_links
    context |= {
        "page": page,
        "track_link": links.url(settings.public_base_url, page.order.order_number),
        "link_days": settings.track_link_days,
        "customer_notify": settings.customer_notify,
    }
    return render(request, "order.html", context)


@router.get("/alerts", response_class=HTMLResponse)
async def alert_board(
    request: Request,
    user: UserDep,
    session: SessionDep,
    now: NowDep,
    rule: Annotated[str, Query(max_length=32)] = "",
    carrier: Annotated[str, Query(max_length=32)] = "",
    team: Annotated[str, Query(max_length=64)] = "",
    severity: Annotated[str, Query(pattern="^(|info|warning|critical)$")] = "",
    status: Annotated[str, Query(pattern="^(|open|acknowledged|resolved)$")] = "",
    min_age_hours: Annotated[str, Query(max_length=8)] = "",
) -> Response:
    age = float(min_age_hours) if min_age_hours.replace(".", "", 1).isdigit() else None
    filters = service.BoardFilters(
        rule=rule or None,
        carrier=carrier or None,
        team=team or None,
        severity=severity or None,
        status=status or None,
        min_age_hours=age,
    )
    board = await service.load_board(session, filters=filters, now=now)
    context = {**_page_context(request, user), "board": board, "filters": filters, "now": now}
    return render(request, "board.html", context)


@router.get("/set-aside", response_class=HTMLResponse)
async def set_aside_page(
    request: Request, user: UserDep, session: SessionDep, now: NowDep
) -> Response:
    members = await system_alerts.list_set_aside(session)
    destinations = await service.list_troubled_destinations(session, now=now)
    context = {
        **_page_context(request, user),
        "members": members,
        "destinations": destinations,
        "query": "",
    }
    return render(request, "set_aside.html", context)


@router.get("/alerts/{alert_id}", response_class=HTMLResponse)
async def alert_page(
    alert_id: AlertIdPath, request: Request, user: UserDep, session: SessionDep, now: NowDep
) -> Response:
    try:
        alert, order_number = await service.load_alert(session, alert_id=alert_id)
    except NotFound:
        context = {**_page_context(request, user), "query": f"alert #{alert_id}", "result": None}
        return render(request, "search.html", context, status_code=404)
    if order_number is not None:
        url = _order_url(order_number) + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"{url}#alert-{alert.id}", status_code=303)
    context = {**_page_context(request, user), "alert": alert, "now": now}
    return render(request, "alert.html", context)


def _back(alert_id: int, return_to: str, outcome: str) -> RedirectResponse:
    target = safe_console_path(return_to) or f"/console/alerts/{alert_id}"
    key = "done" if outcome in DONE_MESSAGES else "problem"
    return RedirectResponse(f"{target}?{key}={outcome}#alert-{alert_id}", status_code=303)


async def _act(
    alert_id: int, return_to: str, done: str, action: Callable[[], Awaitable[object]]
) -> RedirectResponse:
    """Runs one alert service call and goes back to the page the form was on (POST-redirect-GET),
    saying what happened."""
    try:
        await action()
    except ValidationError:
        return _back(alert_id, return_to, "invalid")
    except Conflict:
        return _back(alert_id, return_to, "conflict")
    except NotFound:
        return _back(alert_id, return_to, "missing")
    return _back(alert_id, return_to, done)


@router.post("/alerts/{alert_id}/acknowledge")
async def acknowledge(
    alert_id: AlertIdPath,
    user: ActorDep,
    session: SessionDep,
    now: NowDep,
    return_to: ReturnTo = "",
) -> Response:
    actor = user.principal.actor

    async def action() -> object:
        return await alerts_service.acknowledge(session, alert_id=alert_id, actor=actor, now=now)

    return await _act(alert_id, return_to, "acknowledged", action)


@router.post("/alerts/{alert_id}/resolve")
async def resolve(
    alert_id: AlertIdPath,
    user: ActorDep,
    session: SessionDep,
    now: NowDep,
    outcome: Annotated[str, Form(max_length=32)] = "",
    note: Annotated[str, Form(max_length=4000)] = "",
    return_to: ReturnTo = "",
) -> Response:
    async def action() -> object:
        body = ResolveRequest.model_validate({"outcome": outcome, "note": note.strip() or None})
        return await alerts_service.resolve(
            session,
            alert_id=alert_id,
            outcome=body.outcome,
            note=body.note,
            actor=user.principal.actor,
            now=now,
        )

    return await _act(alert_id, return_to, "resolved", action)


@router.post("/alerts/{alert_id}/assign")
async def assign(
    alert_id: AlertIdPath,
    user: ActorDep,
    session: SessionDep,
    now: NowDep,
    team: Annotated[str, Form(max_length=64)] = "",
    return_to: ReturnTo = "",
) -> Response:
    async def action() -> object:
        body = AssignRequest.model_validate({"team": team})
        return await alerts_service.assign(
            session, alert_id=alert_id, team=body.team, actor=user.principal.actor, now=now
        )

    return await _act(alert_id, return_to, "assigned", action)


@router.post("/alerts/{alert_id}/notes")
async def add_note(
    alert_id: AlertIdPath,
    user: CheckedUserDep,
    session: SessionDep,
    now: NowDep,
    note: Annotated[str, Form(max_length=4000)] = "",
    return_to: ReturnTo = "",
) -> Response:
    # Agents may add notes: a note records what the customer said and changes no alert's state.
    async def action() -> object:
        body = NoteRequest.model_validate({"note": note})
        return await alerts_service.add_note(
            session, alert_id=alert_id, note=body.note, actor=user.principal.actor, now=now
        )

    return await _act(alert_id, return_to, "noted", action)
