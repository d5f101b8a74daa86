from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass

from mock_carriers.responses import JSONValue

WINDOW_SECONDS = 1.0


@dataclass(frozen=True, slots=True)
class RecordedRequest:
    carrier: str
    method: str
    path: str
    at: float  # monotonic seconds when the request arrived
    status: int


class RequestLog:
    """Every carrier request the mock answered, for counts and rate-limit assertions."""

    def __init__(self) -> None:
        self._requests: list[RecordedRequest] = []

    def record(self, request: RecordedRequest) -> None:
        self._requests.append(request)

    def clear(self) -> None:
        self._requests.clear()

    def requests(self, carrier: str | None = None) -> list[RecordedRequest]:
        """Returns the recorded requests, oldest first, optionally for one carrier."""
        return [r for r in self._requests if carrier is None or r.carrier == carrier]

    def summary(self) -> JSONValue:
        """Returns counts per carrier, per status and per path, and the busiest 1-second window."""
        by_carrier: dict[str, list[RecordedRequest]] = defaultdict(list)
        for request in self._requests:
            by_carrier[request.carrier].append(request)
        return {
            "total": len(self._requests),
            "carriers": {
                carrier: {
                    "requests": len(requests),
                    "by_status": dict(Counter(str(r.status) for r in requests)),
                    "by_path": dict(Counter(f"{r.method} {r.path}" for r in requests)),
                    "max_per_second": max_in_window([r.at for r in requests]),
                }
                for carrier, requests in sorted(by_carrier.items())
            },
        }


def max_in_window(times: list[float], window: float = WINDOW_SECONDS) -> int:
    """Returns the most arrival times found in any half-open window (t - window, t]."""
    ordered = sorted(times)
    best, start = 0, 0
    for end, arrived in enumerate(ordered):
        while ordered[start] <= arrived - window:
            start += 1
        best = max(best, end - start + 1)
    return best
