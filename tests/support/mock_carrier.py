"""Starts the mock carrier server on a free loopback port for a test or a bench run."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn

from mock_carriers import MockCarrierServer
from tests.support.waiting import wait_until

STARTUP_DEADLINE_SECONDS = 10.0


@contextmanager
def running_mock_carrier(server: MockCarrierServer | None = None) -> Iterator[str]:
    """Yields the server's base URL (http://127.0.0.1:PORT) while it serves in a thread."""
    app = server or MockCarrierServer()
    # IPPROTO_TCP spelled out: asyncio sets TCP_NODELAY only on sockets whose proto says TCP, and
    # without it every response's body waits ~40 ms behind its headers (Nagle + delayed ACK).
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, lifespan="on", log_level="warning", ws="none")
    uvicorn_server = uvicorn.Server(config)
    thread = threading.Thread(
        target=uvicorn_server.run, kwargs={"sockets": [sock]}, name="mock-carrier", daemon=True
    )
    thread.start()
    try:
        _wait_until_started(uvicorn_server, thread)
        yield f"http://127.0.0.1:{port}"
    finally:
        uvicorn_server.should_exit = True
        thread.join(timeout=STARTUP_DEADLINE_SECONDS)
        sock.close()


def _wait_until_started(server: uvicorn.Server, thread: threading.Thread) -> None:
    def started() -> bool:
        if not thread.is_alive():
            raise RuntimeError("the mock carrier server stopped before it started")
        return bool(server.started)

    wait_until(started, within=STARTUP_DEADLINE_SECONDS, what="the mock carrier server start")
