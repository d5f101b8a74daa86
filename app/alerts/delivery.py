"""The contract between the outbox dispatcher and the channels that carry its messages.

A channel receives a `NotificationView` (a detached copy of an outbox row, so sending never holds
a database session) and answers with a `DeliveryResult`:

- delivered: the receiver accepted it;
- retry: a transient failure (5xx, timeout, connection error, 429 with Retry-After);
- permanent: retrying cannot help (4xx, unknown destination, invalid payload); the row goes dead.

A channel never raises for a failed delivery; an exception is a bug, and the dispatcher records
it as a retry so one broken message cannot stop the others.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from typing import Any, Protocol


def webhook_destination(url: str) -> str:
    """The outbox's name for a webhook: a hash, never the URL, which carries the token."""
    return "webhook:" + hashlib.sha256(url.encode()).hexdigest()[:16]


class Outcome(StrEnum):
    DELIVERED = "delivered"
    RETRY = "retry"
    PERMANENT = "permanent"


@dataclass(frozen=True, slots=True)
class DeliveryResult:
    outcome: Outcome
    status_code: int | None = None
    error: str | None = None
    retry_after: timedelta | None = None

    @property
    def rate_limited(self) -> bool:
        """The receiver said "too many" (429): wait for it, but the message is not at fault."""
        return self.outcome is Outcome.RETRY and self.status_code == 429

    @classmethod
    def delivered(cls, *, status_code: int | None = None) -> DeliveryResult:
        return cls(Outcome.DELIVERED, status_code=status_code)

    @classmethod
    def retry(
        cls, error: str, *, status_code: int | None = None, retry_after: timedelta | None = None
    ) -> DeliveryResult:
        return cls(Outcome.RETRY, status_code=status_code, error=error, retry_after=retry_after)

    @classmethod
    def permanent(cls, error: str, *, status_code: int | None = None) -> DeliveryResult:
        return cls(Outcome.PERMANENT, status_code=status_code, error=error)


@dataclass(frozen=True, slots=True)
class NotificationView:
    """What a channel needs of an outbox row; `attempts` counts the tries before this one."""

    id: int
    alert_id: int | None  # None: a message about an item or a group of items
    event: str
    channel: str
    destination: str
    idempotency_key: str
    payload: Mapping[str, Any]
    attempts: int = 0


class Channel(Protocol):
    """Carries one kind of notification (the outbox row's `channel`) to its destination."""

    async def send(self, notification: NotificationView) -> DeliveryResult: ...
