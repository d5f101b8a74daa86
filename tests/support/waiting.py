"""Waiting for something to happen in another thread: check, then wait a little, with a deadline."""

from __future__ import annotations

import asyncio
import inspect
import threading
import time
from collections.abc import Awaitable, Callable

CHECK_EVERY_SECONDS = 0.02


def wait_until(condition: Callable[[], bool], *, within: float, what: str) -> None:
    """Returns once `condition()` holds; raises TimeoutError naming `what` after `within` s."""
    deadline = time.monotonic() + within
    pause = threading.Event()  # never set: wait() is a bounded pause between checks
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} did not happen within {within} s")
        pause.wait(CHECK_EVERY_SECONDS)


async def wait_until_async(
    condition: Callable[[], bool | Awaitable[bool]], *, within: float, what: str
) -> None:
    """As wait_until, for a test on the event loop (the loop runs between checks); `condition`
    may be a coroutine function, e.g. one that reads the database."""
    deadline = time.monotonic() + within
    while not await _holds(condition):
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} did not happen within {within} s")
        await asyncio.sleep(CHECK_EVERY_SECONDS)


async def _holds(condition: Callable[[], bool | Awaitable[bool]]) -> bool:
    result = condition()
    return await result if inspect.isawaitable(result) else result
