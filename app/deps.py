from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from typing import Annotated

from fastapi import Depends, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.ext.asyncio import AsyncSession

from app import db, replay
from app.auth import service as auth_service
from app.auth.cache import KeyCache
from app.auth.roles import ACT_ROLES, INGEST_ROLES, READ_ROLES, Role
from app.auth.service import Principal
from app.errors import Forbidden, Unauthenticated
from app.kernel.clock import Clock
from app.settings import Settings


# Dependencies that only read app.state are `async def`: FastAPI runs a plain `def` dependency
# in its thread pool, a thread hop (and a GIL handover under load) per request for nothing.
async def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """One transaction per request: committed when the handler succeeds, else rolled back. A
    transaction that lost a lock race is 503, and app.replay runs the request again."""
    session: AsyncSession = request.app.state.sessionmaker()
    used = True
    try:
        yield session
        # A request the key cache answered may never touch its session (the lookup under
        # `firstscan serve`): nothing to commit or close, and each costs a greenlet switch.
        used = _used(session)
        if used:
            await session.commit()
    except BaseException as error:
        await session.rollback()
        if isinstance(error, Exception) and db.is_transient_conflict(error):
            replay.mark_conflict(request.scope)
            raise replay.TransactionConflict() from error
        raise
    finally:
        if used:
            await session.close()


def _used(session: AsyncSession) -> bool:
    """Whether the session began a transaction, holds changes or loaded anything."""
    return bool(
        session.in_transaction()
        or session.new
        or session.dirty
        or session.deleted
        or session.identity_map
    )


async def get_now(request: Request) -> datetime:
    clock: Clock = request.app.state.clock
    return clock()


SettingsDep = Annotated[Settings, Depends(get_settings)]
# scope="function": commit before the response leaves, so a client never sees success for a
# transaction that then fails, nor reads (after a redirect) before our write is visible.
SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]
NowDep = Annotated[datetime, Depends(get_now)]

_bearer = HTTPBearer(auto_error=False, description="An API key: `Authorization: Bearer fsk_…`")


class RoleGuard:
    """Admits a request whose API key has one of `roles`: 401 without a valid key, 403 if the
    key's role does not fit. A key verified within the key cache's lifetime costs no query
    (app.auth.cache: a revoked key is refused at most that long after its revocation)."""

    def __init__(self, roles: frozenset[Role], purpose: str) -> None:
        self.roles = roles
        self.purpose = purpose

    async def __call__(
        self,
        request: Request,
        session: SessionDep,
        now: NowDep,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)],
    ) -> Principal:
        if credentials is None or not credentials.credentials.strip():
            raise Unauthenticated("Send an API key as 'Authorization: Bearer <key>'.")
        key_hash = auth_service.hash_key(credentials.credentials.strip())
        cache: KeyCache = request.app.state.key_cache
        principal = cache.get(key_hash, now=now)
        if principal is None:
            principal = await auth_service.authenticate_hash(session, key_hash=key_hash, now=now)
            cache.put(key_hash, principal, now=now)
        if principal.role not in self.roles:
            allowed = ", ".join(sorted(r.value for r in self.roles))
            raise Forbidden(
                f"The '{principal.role.value}' role cannot {self.purpose}; it needs one of: "
                f"{allowed}."
            )
        return principal


IngestPrincipal = Annotated[Principal, Depends(RoleGuard(INGEST_ROLES, "send orders"))]
ReaderPrincipal = Annotated[Principal, Depends(RoleGuard(READ_ROLES, "read orders"))]
AlertReaderPrincipal = Annotated[Principal, Depends(RoleGuard(READ_ROLES, "read alerts"))]
ActorPrincipal = Annotated[Principal, Depends(RoleGuard(ACT_ROLES, "act on alerts"))]
# A note changes no alert's state: agents add what they learned, ops act on it.
NoterPrincipal = Annotated[Principal, Depends(RoleGuard(READ_ROLES, "add notes"))]
