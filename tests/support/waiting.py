"""Waiting for something to happen in another thread: check, then wait a little, with a deadline."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

CHECK_EVERY_SECONDS = 0.02


def wait_until(condition: Callable[[], bool], *, within: float, what: str) -> None:
    """Returns once `condition()` holds; raises TimeoutError naming `what` after `within` s."""
    deadline = time.monotonic() + within
    pause = threading.Event()  # never set: wait() is a bounded pause between checks
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} did not happen within {within} s")
        pause.wait(CHECK_EVERY_SECONDS)
