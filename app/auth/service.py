from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from app.audit import repository as audit_repository
from app.auth import repository
from app.auth.models import ApiKey
from app.auth.roles import Role
from app.errors import Unauthenticated

KEY_PREFIX = "fsk_"
# last_used_at is a hint for people, not an audit trail: write it at most this often.
LAST_USED_RESOLUTION = timedelta(minutes=5)


@dataclass(frozen=True, slots=True)
class Principal:
    key_id: int
    name: str
    role: Role

    @property
    def actor(self) -> str:
        return f"{self.name} (key #{self.key_id})"


def hash_key(raw_key: str) -> str:
    # Keys carry 256 random bits, so a plain SHA-256 cannot be brute-forced; no slow KDF needed.
    return hashlib.sha256(raw_key.encode()).hexdigest()


async def create_key(
    session: AsyncSession, *, role: Role, name: str, actor: str
) -> tuple[ApiKey, str]:
    """Returns the stored key and the raw key, which exists nowhere else afterwards."""
    raw_key = KEY_PREFIX + secrets.token_urlsafe(32)
    key = ApiKey(name=name, role=role.value, prefix=raw_key[:12], key_hash=hash_key(raw_key))
    session.add(key)
    await session.flush()
    await audit_repository.record(
        session,
        actor=actor,
        action="api_key.created",
        entity_type="api_key",
        entity_id=str(key.id),
        detail={"name": name, "role": role.value, "prefix": key.prefix},
    )
    return key, raw_key


async def revoke_key(session: AsyncSession, *, key_id: int, actor: str, now: datetime) -> ApiKey:
    key = await repository.get_key(session, key_id)
    if key.revoked_at is None:
        key.revoked_at = now
        await audit_repository.record(
            session,
            actor=actor,
            action="api_key.revoked",
            entity_type="api_key",
            entity_id=str(key.id),
            detail={"name": key.name},
        )
    return key


async def authenticate(session: AsyncSession, *, raw_key: str, now: datetime) -> Principal:
    """Returns who holds the key; a missing, unknown or revoked key is Unauthenticated."""
    return await authenticate_hash(session, key_hash=hash_key(raw_key), now=now)


async def authenticate_hash(session: AsyncSession, *, key_hash: str, now: datetime) -> Principal:
    """As authenticate, for a key already hashed."""
    key = await repository.find_active_key_by_hash(session, key_hash)
    if key is None:
        raise Unauthenticated("The API key is not valid or has been revoked.")
    if key.last_used_at is None or now - key.last_used_at > LAST_USED_RESOLUTION:
        await repository.touch_key(session, key.id, used_at=now)
    return Principal(key_id=key.id, name=key.name, role=Role(key.role))
