"""Keys verified recently, so that a request whose key was checked a moment ago costs no query.

An entry lives `KEY_CACHE_LIFETIME` by the app's clock, then the key is looked up again (and
its `last_used_at` written when due). A key revoked by another process (`firstscan keys
revoke`) is therefore refused at most that long after its revocation; every key unknown or
revoked is looked up every time (only valid keys are kept), and the cache holds at most
`MAX_KEYS` keys, so random keys cannot grow it.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from app.auth.service import Principal

KEY_CACHE_LIFETIME = timedelta(seconds=5)
MAX_KEYS = 1024


class KeyCache:
    """Key hash -> who holds it, until the entry is `lifetime` old."""

    def __init__(self, *, lifetime: timedelta = KEY_CACHE_LIFETIME, max_keys: int = MAX_KEYS):
        self.lifetime = lifetime
        self.max_keys = max_keys
        self._entries: dict[str, tuple[Principal, datetime]] = {}

    def get(self, key_hash: str, *, now: datetime) -> Principal | None:
        entry = self._entries.get(key_hash)
        if entry is None:
            return None
        principal, verified_at = entry
        # A clock that went back (tests, a corrected host clock) also ends the entry.
        if not verified_at <= now < verified_at + self.lifetime:
            del self._entries[key_hash]
            return None
        return principal

    def put(self, key_hash: str, principal: Principal, *, now: datetime) -> None:
        if len(self._entries) >= self.max_keys:
            self._entries.clear()
        self._entries[key_hash] = (principal, now)
