"""A Slack-style alert-webhook receiver on loopback that fails a share of deliveries and records
every delivery it gets, with its idempotency key, so the checks can tell a repeat (allowed:
delivery is at least once) from a true double (two keys for one group message)."""

from __future__ import annotations

import random
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

# firstscan-group-<group digest>-<message number>-<channel>-<destination digest>
# (app.alerts.group_message.group_idempotency_key)
_KEY = re.compile(r"^firstscan-group-(?P<group>[0-9a-f]+)-(?P<sequence>\d+)-(?P<channel>[a-z_]+)-")
# What a failing receiver answers: mostly "try later", sometimes a plain server error.
_FAILURES = ((503, {"Retry-After": "1"}), (500, {}), (503, {}))


@dataclass(frozen=True)
class Delivery:
    idempotency_key: str
    alert_id: str
    status: int

    @property
    def event(self) -> tuple[str, str] | None:
        """(group, message number) the key names; None when the key has another shape."""
        match = _KEY.match(self.idempotency_key)
        return (match["group"], match["sequence"]) if match else None


@dataclass
class AlertReceiver:
    failure_share: float
    seed: int = 12
    deliveries: list[Delivery] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _rng: random.Random = field(init=False)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)

    def answer(self, headers: Any) -> tuple[int, dict[str, str]]:
        with self._lock:
            failing = self._rng.random() < self.failure_share
            status, extra = self._rng.choice(_FAILURES) if failing else (200, {})
            self.deliveries.append(
                Delivery(
                    idempotency_key=headers.get("Idempotency-Key") or "",
                    alert_id=headers.get("X-Firstscan-Alert-Id") or "",
                    status=status,
                )
            )
        return status, extra

    def snapshot(self) -> list[Delivery]:
        with self._lock:
            return list(self.deliveries)


def _handler(receiver: AlertReceiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", "0")))
            status, extra = receiver.answer(self.headers)
            payload = b"ok" if status < 300 else b"no_service"
            self.send_response(status)
            for name, value in extra.items():
                self.send_header(name, value)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: Any) -> None:
            pass  # one line per delivery would drown the soak's own output

    return Handler


@contextmanager
def running_receiver(receiver: AlertReceiver) -> Iterator[str]:
    """Serves `receiver` on a free loopback port until the block ends; yields its URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(receiver))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/services/soak/alerts"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
