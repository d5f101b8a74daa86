"""Running a request again when its transaction lost a lock race (a deadlock, a serialization
failure, SQLite busy): the request dependency rolls back and says so (`mark_conflict`), and
`ReplayOnConflict` throws that answer away and replays the request from its first byte, up to
`db.CONFLICT_ATTEMPTS` tries in all. Nothing has been sent at that point: the request's
transaction commits before its response starts (`app.deps.SessionDep`). After the last try the
client gets 503 with Retry-After, never a 500.

A handler's side effects outside its transaction run again on a replay; there are none that
matter (metrics counters aside), because messages go out through the outbox, after the commit.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, MutableMapping
from dataclasses import dataclass
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app import db
from app.errors import ServiceError

# The scope key under which each try carries its _Try.
_TRY_KEY = "firstscan.try"
RETRY_AFTER_SECONDS = 1
_ROUTING_KEYS = frozenset({"route", "endpoint", "path_params"})


class TransactionConflict(ServiceError):
    status = 503
    slug = "transaction-conflict"
    title = "Busy, try again"

    def __init__(self) -> None:
        super().__init__(
            "Another change to the same records got in the way; nothing was stored. "
            "Send the request again.",
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        )


@dataclass
class _Try:
    conflicted: bool = False


def mark_conflict(scope: MutableMapping[str, Any]) -> None:
    """Tells ReplayOnConflict that this try's answer is to be thrown away and the request run
    again (outside it, nothing happens and the 503 goes out)."""
    current = scope.get(_TRY_KEY)
    if isinstance(current, _Try):
        current.conflicted = True


class ReplayOnConflict:
    """Replays a request whose transaction lost a lock race, while nothing has been sent."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        attempts: int = db.CONFLICT_ATTEMPTS,
        pause: Callable[[int], float] = db.conflict_pause,
    ) -> None:
        self.app = app
        self.attempts = attempts
        self.pause = pause

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        body = _RecordedBody(receive)
        for attempt in range(1, self.attempts + 1):
            current = _Try()
            answer = _HeldAnswer(send, current, last=attempt == self.attempts)
            # A fresh copy each try: routing writes into the scope. What routing found is copied
            # back, so that the error handler outside names the route (not the raw path).
            attempt_scope = {**scope, _TRY_KEY: current}
            try:
                await self.app(attempt_scope, body.replay(), answer.send)
            finally:
                for key in _ROUTING_KEYS & attempt_scope.keys():
                    scope[key] = attempt_scope[key]
            if not answer.dropped:
                return
            await asyncio.sleep(self.pause(attempt))


class _RecordedBody:
    """The request's body messages as the app read them, so that a later try reads them again
    (and then whatever the client has not sent yet)."""

    def __init__(self, receive: Receive) -> None:
        self._receive = receive
        self._messages: list[Message] = []

    def replay(self) -> Receive:
        position = 0

        async def receive() -> Message:
            nonlocal position
            if position < len(self._messages):
                position += 1
                return self._messages[position - 1]
            message = await self._receive()
            if message["type"] == "http.request":
                self._messages.append(message)
                position += 1
            return message

        return receive


class _HeldAnswer:
    """Passes the app's response on, unless the try conflicted and another try follows: then the
    response is dropped whole."""

    def __init__(self, send: Send, current: _Try, *, last: bool) -> None:
        self._send = send
        self._try = current
        self._last = last
        self.dropped = False

    async def send(self, message: Message) -> None:
        if message["type"] == "http.response.start" and self._try.conflicted and not self._last:
            self.dropped = True
        if not self.dropped:
            await self._send(message)
