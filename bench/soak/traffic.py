"""The clients: orders, CSV imports, lookups, people's alert actions and signed carrier pushes,
each a loop at a moderate pace (a few requests a second in all: the machine has two cores)."""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import count

import httpx

from app.tracking.webhooks import sign_delivery
from bench.soak.ledger import Ledger
from bench.soak.processes import WEBHOOK_SECRET
from carriers.sandbox.numbering import build_number

CARRIERS = ("usps", "ups", "fedex", "dhl")
# Serial ranges far from the sandbox's examples; each run starts at a random offset.
_SERIAL_BASE = {"usps": 5_000_000_000, "ups": 5_000_000, "fedex": 50_000_000_000, "dhl": 50_000}
RETRIES = 5
IMPORT_ROWS = 10
IMPORT_COLUMNS = "order_number,tracking_number,carrier,label_created_at,customer_postal_code"
TEAMS = ("ops", "usps-desk", "soak-desk")


@dataclass(frozen=True)
class Pace:
    """Seconds between two requests of each kind."""

    order: float = 1.0
    import_chunk: float = 15.0
    lookup: float = 0.5
    alert_action: float = 1.0
    push: float = 2.0


class Clients:
    def __init__(
        self,
        api: httpx.AsyncClient,
        mock: httpx.AsyncClient,
        ledger: Ledger,
        *,
        keys: dict[str, str],
    ) -> None:
        self.api = api
        self.mock = mock
        self.ledger = ledger
        self.keys = keys
        self.rng = random.Random(12)
        self.run = f"{int(time.time()) % 100_000:05d}"
        self._serials = {
            c: count(_SERIAL_BASE[c] + self.rng.randrange(2_000_000)) for c in CARRIERS
        }
        self._orders = count(1)
        self._events = count(1)

    def _auth(self, role: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[role]}"}

    async def send(
        self, kind: str, method: str, url: str, **options: object
    ) -> httpx.Response | None:
        """One request; the answer goes into the ledger, a dropped connection is counted."""
        try:
            response = await self.api.request(method, url, **options)  # type: ignore[arg-type]
        except httpx.TransportError:
            self.ledger.transport_errors[kind] += 1
            return None
        self.ledger.record(kind, response)
        return response

    async def send_until_answered(
        self, kind: str, method: str, url: str, **options: object
    ) -> httpx.Response | None:
        """An idempotent request, repeated after a 503 or a dropped connection, as the README
        tells a client to."""
        for _ in range(RETRIES):
            response = await self.send(kind, method, url, **options)
            if response is not None and response.status_code != 503:
                return response
            await asyncio.sleep(1)  # Retry-After says 5; a soak client is less patient
        return None

    async def _new_labels(self, how_many: int) -> list[tuple[str, str, datetime]]:
        """Fresh numbers whose label the mock carrier dates as the shop does: 6-160 h ago, so
        the deadlines of many problem parcels have passed and alerts open."""
        now = datetime.now(UTC)
        labels = []
        for _ in range(how_many):
            carrier = self.rng.choice(CARRIERS)
            number = build_number(carrier, next(self._serials[carrier]))
            label_at = now - timedelta(hours=self.rng.uniform(6, 160))
            labels.append((carrier, number, label_at.replace(microsecond=0)))
        shipments = [
            {"carrier": c, "tracking_number": n, "label_created_at": t.isoformat()}
            for c, n, t in labels
        ]
        (await self.mock.post("/_mock/shipments", json={"shipments": shipments})).raise_for_status()
        return labels

    async def post_order(self) -> None:
        labels = await self._new_labels(1 if self.rng.random() < 0.8 else 2)
        order_number = f"SOAK-{self.run}-{next(self._orders)}"
        body = {
            "order_number": order_number,
            "customer_email": "soak@example.com",
            "customer_postal_code": "97211",
            "promised_delivery_date": (labels[0][2] + timedelta(days=4)).date().isoformat(),
            "shipments": [
                {"tracking_number": n, "carrier": c, "label_created_at": t.isoformat()}
                for c, n, t in labels
            ],
        }
        response = await self.send_until_answered(
            "order", "POST", "/v1/orders", json=body, headers=self._auth("ingest")
        )
        if response is not None and response.is_success:
            self._acknowledge(order_number, labels)

    def _acknowledge(self, order_number: str, labels: list[tuple[str, str, datetime]]) -> None:
        self.ledger.orders.setdefault(order_number, []).extend(n for _, n, _ in labels)
        self.ledger.labels.extend((c, n) for c, n, _ in labels)

    async def post_import(self) -> None:
        """A CSV chunk of good rows, one of them in two out of three chunks bad (a number no
        carrier has): the good rows are stored, the bad one reported by its line."""
        labels = await self._new_labels(IMPORT_ROWS)
        numbers = [f"SOAK-{self.run}-{next(self._orders)}" for _ in labels]
        bad_line = self.rng.randrange(2, IMPORT_ROWS + 2) if self.rng.random() < 0.67 else None
        lines = [IMPORT_COLUMNS]
        for line, (order, (carrier, number, label_at)) in enumerate(
            zip(numbers, labels, strict=True), 2
        ):
            shown = "NOT-A-NUMBER" if line == bad_line else number
            lines.append(f"{order},{shown},{carrier},{label_at.isoformat()},97211")
        response = await self.send_until_answered(
            "import",
            "POST",
            "/v1/imports",
            content=("\n".join(lines) + "\n").encode(),
            headers=self._auth("ingest") | {"Content-Type": "text/csv"},
        )
        if response is None or not response.is_success:
            return
        report = response.json()
        rejected = {row["line"] for row in report["rejected"]}
        if rejected != ({bad_line} if bad_line else set()):
            self.ledger.import_surprises.append(
                f"rejected lines {sorted(rejected)}, bad {bad_line}"
            )
        for line, (order, label) in enumerate(zip(numbers, labels, strict=True), 2):
            if line not in rejected:
                self._acknowledge(order, [label])

    async def lookup(self) -> None:
        if not self.ledger.orders:
            return
        if self.rng.random() < 0.5:
            number = self.rng.choice(list(self.ledger.orders))
        else:
            number = self.rng.choice(self.ledger.labels)[1]
        response = await self.send(
            "lookup", "GET", f"/v1/lookup/{number}", headers=self._auth("admin")
        )
        if response is not None and response.status_code == 404:
            self.ledger.lookups_missing.append(number)

    async def alert_action(self) -> None:
        """Picks an unresolved alert and works it as a person would: a note, an
        acknowledgement, an assignment or a resolution."""
        listed = await self.send(
            "alert_list", "GET", "/v1/alerts", params={"limit": 50}, headers=self._auth("admin")
        )
        if listed is None or not listed.is_success or not listed.json()["items"]:
            return
        alert_id = self.rng.choice(listed.json()["items"])["id"]
        roll = self.rng.random()
        if roll < 0.4:
            note = f"soak note {self.run}-{next(self._events)}"
            if await self._act(alert_id, "notes", {"note": note}):
                self.ledger.notes.append(note)
        elif roll < 0.65:
            await self._act(alert_id, "acknowledge", None)
        elif roll < 0.85:
            await self._act(alert_id, "assign", {"team": self.rng.choice(TEAMS)})
        else:
            body = {"outcome": "false_alarm", "note": "soak: resolved by a person"}
            if await self._act(alert_id, "resolve", body):
                self.ledger.resolved.add(alert_id)

    async def _act(self, alert_id: int, action: str, body: dict[str, str] | None) -> bool:
        """POST /v1/alerts/{id}/{action}, once (a repeat could add a second note); True on 2xx."""
        kind = "alert_" + {"notes": "note", "acknowledge": "ack"}.get(action, action)
        url = f"/v1/alerts/{alert_id}/{action}"
        response = await self.send(kind, "POST", url, json=body, headers=self._auth("admin"))
        return response is not None and response.is_success

    async def push(self) -> None:
        """A signed carrier push of one new in-transit scan for a known label; a 503 is
        repeated under the same delivery id (a 409 then says the first one was stored)."""
        if not self.ledger.labels:
            return
        carrier, number = self.rng.choice(self.ledger.labels)
        code = f"SOAK{self.run}E{next(self._events)}"
        occurred = datetime.now(UTC) - timedelta(minutes=1)
        event = {
            "status": "in_transit",
            "code": code,
            "description": "soak push",
            "occurred_at": occurred.isoformat(),
        }
        body = json.dumps({"tracking_number": number, "events": [event]}).encode()
        delivery = f"soak-{code}"
        timestamp = int(time.time())
        signature = sign_delivery(
            WEBHOOK_SECRET, timestamp=timestamp, delivery_id=delivery, carrier=carrier, body=body
        )
        headers = {
            "Content-Type": "application/json",
            "X-Firstscan-Timestamp": str(timestamp),
            "X-Firstscan-Delivery": delivery,
            "X-Firstscan-Signature": signature,
        }
        response = await self.send_until_answered(
            "push", "POST", f"/v1/webhooks/{carrier}", content=body, headers=headers
        )
        if response is not None and response.is_success:
            # Stored in the inbox; the worker records its one new scan shortly.
            self.ledger.pushes[code] = 1


async def every(
    seconds: float, step: Callable[[], Awaitable[None]], *, until: float, failures: Counter[str]
) -> None:
    """Runs `step` every `seconds` (monotonic clock) until `until`; a step never overlaps itself.
    A step that raises (the soak's own bug, or the mock carrier gone) is counted and the loop
    goes on: the summary shows it."""
    next_at = time.monotonic()
    while next_at < until:
        try:
            await step()
        except Exception as exc:  # counted by type and shown in the summary
            failures[f"{getattr(step, '__name__', 'step')}: {type(exc).__name__}: {exc}"[:200]] += 1
        next_at += seconds
        await asyncio.sleep(max(0.0, next_at - time.monotonic()))


async def run_traffic(clients: Clients, pace: Pace, *, until: float) -> None:
    failures = clients.ledger.client_failures
    await asyncio.gather(
        every(pace.order, clients.post_order, until=until, failures=failures),
        every(pace.import_chunk, clients.post_import, until=until, failures=failures),
        every(pace.lookup, clients.lookup, until=until, failures=failures),
        every(pace.alert_action, clients.alert_action, until=until, failures=failures),
        every(pace.push, clients.push, until=until, failures=failures),
    )
