"""The key that signs console sessions and customer links (HMAC via itsdangerous)."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from datetime import datetime
from typing import Any

from itsdangerous import TimestampSigner
from pydantic import SecretStr

logger = logging.getLogger("app.signing")


def resolve_secret_key(configured: SecretStr | None) -> str:
    """The configured FIRSTSCAN_SECRET_KEY, or a random key for this process only (logged as a
    warning: sessions end on restart and links signed elsewhere do not open)."""
    if configured is not None and configured.get_secret_value():
        return configured.get_secret_value()
    logger.warning(
        "FIRSTSCAN_SECRET_KEY is not set: using a random key for this process; console sessions "
        "end when it restarts and signed /track links made by other processes will not open"
    )
    return secrets.token_urlsafe(32)


class ClockedTimestampSigner(TimestampSigner):
    """itsdangerous reads time.time(); this signer reads the injected clock, so expiry follows
    the same clock as the rest of the app (and tests can move it)."""

    def __init__(
        self, secret_key: Any, salt: Any = None, *, clock: Callable[[], datetime], **kwargs: Any
    ) -> None:
        super().__init__(secret_key, salt=salt, **kwargs)
        self._clock = clock

    def get_timestamp(self) -> int:
        return int(self._clock().timestamp())
