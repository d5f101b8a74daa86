"""Signed, expiring links to a customer's status page: `/track/t/{token}` needs no postal code."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from datetime import datetime, timedelta

from itsdangerous import BadSignature

from app.signing import ClockedTimestampSigner

SALT = "firstscan.track-link"


class TrackLinks:
    """Signs an order number into a URL-safe token and reads it back while it is fresh."""

    def __init__(
        self, secret_key: str, *, max_age: timedelta, clock: Callable[[], datetime]
    ) -> None:
        self._signer = ClockedTimestampSigner(secret_key, SALT, clock=clock)
        self.max_age = max_age

    def sign(self, order_number: str) -> str:
        """A token that names the order, signed with HMAC and stamped with the current time."""
        encoded = base64.urlsafe_b64encode(order_number.encode()).decode().rstrip("=")
        return self._signer.sign(encoded).decode()

    def read(self, token: str) -> str | None:
        """The order number, or None when the token is forged, altered, malformed or expired."""
        try:
            encoded = self._signer.unsign(token, max_age=int(self.max_age.total_seconds()))
            padded = encoded + b"=" * (-len(encoded) % 4)
            return base64.urlsafe_b64decode(padded).decode()
        except (BadSignature, binascii.Error, UnicodeDecodeError, ValueError):
            return None

    def url(self, base_url: str, order_number: str) -> str:
        return f"{base_url.rstrip('/')}/track/t/{self.sign(order_number)}"
