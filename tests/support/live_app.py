"""The app under uvicorn on a loopback port, in a thread, and a raw HTTP/1.1 connection to it:
for what only a real server shows (kept-alive connections, chunked uploads, proxy headers)."""

from __future__ import annotations

import contextlib
import http.client
import socket
import threading
from collections.abc import Iterator
from typing import Any

import uvicorn

from tests.support.waiting import wait_until


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextlib.contextmanager
def serve_in_thread(app: Any, **config: Any) -> Iterator[int]:
    """Serves `app` on 127.0.0.1 until the block ends; yields the port."""
    port = free_port()
    options: dict[str, Any] = {"host": "127.0.0.1", "port": port, "log_level": "warning"}
    server = uvicorn.Server(uvicorn.Config(app, **{**options, **config}))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_until(lambda: server.started or not thread.is_alive(), within=20, what="uvicorn's start")
    if not server.started:
        raise RuntimeError("the app did not start under uvicorn")
    try:
        yield port
    finally:
        server.should_exit = True
        thread.join(timeout=20)


class RawConnection:
    """One TCP connection; each `exchange` sends bytes as given and reads one whole response."""

    def __init__(self, port: int) -> None:
        self.socket = socket.create_connection(("127.0.0.1", port), timeout=30)

    def exchange(self, request: bytes) -> tuple[int, http.client.HTTPMessage, bytes]:
        self.socket.sendall(request)
        return self.read_response()

    def read_response(self) -> tuple[int, http.client.HTTPMessage, bytes]:
        response = http.client.HTTPResponse(self.socket)
        response.begin()
        return response.status, response.headers, response.read()

    def close(self) -> None:
        self.socket.close()


def get_request(target: str, **headers: str) -> bytes:
    lines = [
        f"GET {target} HTTP/1.1",
        "Host: 127.0.0.1",
        *(f"{k}: {v}" for k, v in headers.items()),
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def post_chunked(
    port: int, target: str, *, chunk: bytes, chunks: int, headers: dict[str, str]
) -> tuple[int, http.client.HTTPMessage, bytes]:
    """POSTs `chunks` copies of `chunk` with Transfer-Encoding: chunked (no Content-Length) and
    returns the response, which may come before the whole body was sent: a sender thread
    writes while this one reads, and stops writing once the server has answered or closed."""
    connection = RawConnection(port)
    lines = [f"POST {target} HTTP/1.1", "Host: 127.0.0.1", "Transfer-Encoding: chunked"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    answered = threading.Event()

    def send_body() -> None:
        framed = f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n"
        try:
            connection.socket.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
            for _ in range(chunks):
                if answered.is_set():
                    return
                connection.socket.sendall(framed)
            connection.socket.sendall(b"0\r\n\r\n")
        except OSError:  # the server answered and closed the connection mid-upload
            return

    sender = threading.Thread(target=send_body, daemon=True)
    sender.start()
    try:
        return connection.read_response()
    finally:
        answered.set()
        sender.join(timeout=30)
        connection.close()
