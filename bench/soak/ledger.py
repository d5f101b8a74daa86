"""What the clients sent and what the API answered: the soak's side of every check."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import httpx

# What the README documents for a database outage: a problem document with Retry-After.
PROBLEM_JSON = "application/problem+json"


@dataclass
class Ledger:
    answers: Counter[tuple[str, int]] = field(default_factory=Counter)
    transport_errors: Counter[str] = field(default_factory=Counter)
    documented_503s: Counter[str] = field(default_factory=Counter)
    unexpected_5xx: list[str] = field(default_factory=list)
    # order number -> the tracking numbers sent with it (2xx from POST /v1/orders or an import)
    orders: dict[str, list[str]] = field(default_factory=dict)
    # (carrier, number) of every label acknowledged, for lookups and pushes
    labels: list[tuple[str, str]] = field(default_factory=list)
    import_surprises: list[str] = field(default_factory=list)
    lookups_missing: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    resolved: set[int] = field(default_factory=set)
    pushes: dict[str, int] = field(default_factory=dict)  # event code -> events stored
    client_failures: Counter[str] = field(default_factory=Counter)

    def record(self, kind: str, response: httpx.Response) -> None:
        self.answers[(kind, response.status_code)] += 1
        if response.status_code < 500:
            return
        documented = (
            response.status_code == 503
            and response.headers.get("content-type", "").startswith(PROBLEM_JSON)
            and "retry-after" in response.headers
        )
        if documented:
            self.documented_503s[kind] += 1
        else:
            self.unexpected_5xx.append(f"{kind} {response.status_code}: {response.text[:300]}")

    def requests_by_kind(self) -> Counter[str]:
        counts: Counter[str] = Counter()
        for (kind, _), n in self.answers.items():
            counts[kind] += n
        return counts

    def ok_by_kind(self) -> Counter[str]:
        counts: Counter[str] = Counter()
        for (kind, status), n in self.answers.items():
            if 200 <= status < 300:
                counts[kind] += n
        return counts
