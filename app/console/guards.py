"""Who may see and do what in the console: the session, CSRF and role checks, and the pages that
answer when a check fails (a redirect to sign-in, or a 403 page)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from app.auth.roles import ACT_ROLES
from app.auth.service import Principal
from app.console import display, service
from app.console.sessions import SESSION_COOKIE, ConsoleSessions
from app.deps import SessionDep
from app.tracking.explain import describe_status
from carriers.registry import carrier_name

templates = Jinja2Templates(directory=Path(__file__).parent / "templates")


def when(at: datetime | None) -> str:
    """'Thu 17 Dec 2026, 15:00 UTC'; the console shows our own times in UTC."""
    return at.astimezone(UTC).strftime("%a %d %b %Y, %H:%M UTC") if at else "-"


def upper_first(text: str) -> str:
    """Capitalizes the first letter only: 'fedex' stays 'FedEx' inside the sentence."""
    return text[:1].upper() + text[1:]


templates.env.filters.update(
    upper_first=upper_first,
    mask_email=display.mask_email,
    scan_time=display.scan_time,
    group_number=display.group_number,
    service_words=display.service_words,
    age_words=display.age_words,
    label=display.label,
    audit_words=display.audit_words,
    audit_note=display.audit_note,
    carrier_name=carrier_name,
    when=when,
)
templates.env.globals.update(
    explain=lambda carrier, status: describe_status(carrier_name(carrier), status),
    outcomes=display.OUTCOME_LABELS,
)


class SignInRequired(Exception):
    """No session, or one whose key was revoked: the answer is a redirect to sign-in."""


class CsrfRefused(Exception):
    """A form came without the token of this session."""


class ConsoleForbidden(Exception):
    """The session's role may not do this (agents read; ops and admins act on alerts)."""


@dataclass(frozen=True, slots=True)
class ConsoleUser:
    principal: Principal
    nonce: str
    csrf_token: str

    @property
    def can_act(self) -> bool:
        return self.principal.role in ACT_ROLES


async def get_sessions(request: Request) -> ConsoleSessions:
    sessions: ConsoleSessions = request.app.state.console_sessions
    return sessions


SessionsDep = Annotated[ConsoleSessions, Depends(get_sessions)]


async def current_user(request: Request, session: SessionDep, sessions: SessionsDep) -> ConsoleUser:
    claim = sessions.read(request.cookies.get(SESSION_COOKIE))
    principal = (
        await service.find_session_principal(session, claim=claim, sessions=sessions)
        if claim
        else None
    )
    if claim is None or principal is None:
        raise SignInRequired()
    return ConsoleUser(principal, claim.nonce, sessions.csrf_token(claim.nonce))


UserDep = Annotated[ConsoleUser, Depends(current_user)]


async def checked_form(request: Request, user: UserDep, sessions: SessionsDep) -> ConsoleUser:
    """The session user of a POST whose form carries this session's CSRF token."""
    form = await request.form()
    if not sessions.csrf_ok(user.nonce, form.get("csrf_token")):
        raise CsrfRefused()
    return user


CheckedUserDep = Annotated[ConsoleUser, Depends(checked_form)]


async def alert_actor(user: CheckedUserDep) -> ConsoleUser:
    if not user.can_act:
        raise ConsoleForbidden()
    return user


ActorDep = Annotated[ConsoleUser, Depends(alert_actor)]


def render(
    request: Request, name: str, context: dict[str, Any], *, status_code: int = 200
) -> HTMLResponse:
    # Pages show customer data: never cached, never framed by another site.
    headers = {"Cache-Control": "no-store", "X-Frame-Options": "DENY"}
    return templates.TemplateResponse(
        request, name, context, status_code=status_code, headers=headers
    )


def set_cookie(
    request: Request, response: Response, name: str, value: str, *, max_age: int, path: str
) -> None:
    """HttpOnly, SameSite=Lax, and Secure whenever the request came over HTTPS."""
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path=path,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
    )


def safe_console_path(path: str | None) -> str | None:
    """`path` if it is a page of this console (no other host, no scheme), else None."""
    if not path or not path.startswith("/console") or path.startswith("//"):
        return None
    if any(c in path for c in "\\\r\n") or "://" in path:
        return None
    return path


async def redirect_to_sign_in(request: Request, exc: Exception) -> Response:
    target = "/console/sign-in"
    if request.method == "GET" and safe_console_path(request.url.path):
        path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        target += f"?next={quote(path, safe='')}"
    response = RedirectResponse(target, status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/console")
    return response


async def refuse_csrf(request: Request, exc: Exception) -> Response:
    message = "This form is out of date or did not come from this console. Go back, reload the "
    return render(
        request,
        "message.html",
        {"user": None, "title": "Form refused", "message": message + "page and try again."},
        status_code=403,
    )


async def refuse_role(request: Request, exc: Exception) -> Response:
    return render(
        request,
        "message.html",
        {
            "user": None,
            "title": "Not allowed",
            "message": "Your key's role can read alerts but not act on them; ask ops.",
        },
        status_code=403,
    )


def unavailable_page(request: Request) -> Response:
    """What an agent sees while the database is away (app.database_outage adds Retry-After)."""
    message = (
        "The console cannot reach its database right now. Wait a moment and reload; if you sent "
        "a form, check whether it took effect before sending it again."
    )
    context = {"user": None, "title": "Temporarily unavailable", "message": message}
    return render(request, "message.html", context, status_code=503)


EXCEPTION_HANDLERS = {
    SignInRequired: redirect_to_sign_in,
    CsrfRefused: refuse_csrf,
    ConsoleForbidden: refuse_role,
}
