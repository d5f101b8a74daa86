"""Console sessions: a signed cookie naming the API key, checked against the key on every request.

The cookie holds the key's id, a fingerprint of its stored hash (never the key) and a random
nonce, signed with HMAC (itsdangerous) and stamped with its issue time. Each request loads the
key: a revoked, deleted or replaced key ends every session made with it at once. Signing out
deletes the cookie; to end every session of a key, revoke the key. CSRF tokens are an HMAC of the
session nonce, so a form from another site cannot carry one.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from itsdangerous import BadSignature, URLSafeTimedSerializer

from app.signing import ClockedTimestampSigner

SESSION_COOKIE = "firstscan_console"
SIGN_IN_COOKIE = "firstscan_sign_in"
SIGN_IN_MAX_AGE = timedelta(hours=1)


@dataclass(frozen=True, slots=True)
class SessionClaim:
    key_id: int
    fingerprint: str
    nonce: str


class ConsoleSessions:
    """Issues and reads session cookies and CSRF tokens with one secret key."""

    def __init__(
        self, secret_key: str, *, max_age: timedelta, clock: Callable[[], datetime]
    ) -> None:
        self._secret = secret_key.encode()
        self.max_age = max_age
        self._cookies = URLSafeTimedSerializer(
            secret_key,
            salt="firstscan.console-session",
            signer=ClockedTimestampSigner,
            signer_kwargs={"clock": clock},
        )

    def _mac(self, purpose: str, value: str) -> str:
        return hmac.new(self._secret, f"{purpose}|{value}".encode(), hashlib.sha256).hexdigest()

    def fingerprint(self, key_hash: str) -> str:
        """Binds a session to the stored key: a new key under the same id does not match."""
        return self._mac("key", key_hash)[:32]

    def issue(self, *, key_id: int, key_hash: str) -> str:
        """A fresh cookie value for the key, with a new nonce (and so new CSRF tokens)."""
        payload = {"k": key_id, "f": self.fingerprint(key_hash), "n": secrets.token_urlsafe(16)}
        return self._cookies.dumps(payload)

    def read(self, cookie: str | None) -> SessionClaim | None:
        """The claim of an authentic, unexpired cookie; None otherwise."""
        if not cookie:
            return None
        try:
            data = self._cookies.loads(cookie, max_age=int(self.max_age.total_seconds()))
            return SessionClaim(key_id=int(data["k"]), fingerprint=str(data["f"]), nonce=data["n"])
        except (BadSignature, KeyError, TypeError, ValueError):
            return None

    def key_matches(self, claim: SessionClaim, key_hash: str) -> bool:
        return hmac.compare_digest(claim.fingerprint, self.fingerprint(key_hash))

    def csrf_token(self, nonce: str) -> str:
        return self._mac("csrf", nonce)

    def csrf_ok(self, nonce: str, token: object) -> bool:
        """True only for the token issued for this nonce (constant-time)."""
        return isinstance(token, str) and hmac.compare_digest(self.csrf_token(nonce), token)

    def issue_sign_in(self) -> tuple[str, str]:
        """(cookie value, form token) for the sign-in form, which has no session yet."""
        nonce = secrets.token_urlsafe(16)
        return self._cookies.dumps({"sign_in": nonce}), self._mac("sign-in", nonce)

    def sign_in_ok(self, cookie: str | None, token: object) -> bool:
        try:
            data = self._cookies.loads(cookie or "", max_age=int(SIGN_IN_MAX_AGE.total_seconds()))
            nonce = str(data["sign_in"])
        except (BadSignature, KeyError, TypeError, ValueError):
            return False
        return isinstance(token, str) and hmac.compare_digest(self._mac("sign-in", nonce), token)
