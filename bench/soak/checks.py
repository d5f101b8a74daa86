"""The soak's verdict: what the clients were told, what the receiver got and what the database
holds, compared; and the resident memory of the API and the worker after warm-up."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

import psycopg

from bench import database
from bench.soak.ledger import Ledger
from bench.soak.receiver import Delivery

MAX_RSS_GROWTH = 0.10


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str


@dataclass(frozen=True)
class RssSample:
    seconds: float
    api_kib: int
    worker_kib: int


def _rows(conn: psycopg.Connection, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    return conn.execute(sql, params).fetchall()


def check_clients(ledger: Ledger) -> Check:
    """The soak's own clients ran without raising (else the traffic was not what it claims)."""
    shown = "; ".join(list(ledger.client_failures)[:3])
    total = sum(ledger.client_failures.values())
    return Check("soak clients ran without error", total == 0, f"{total} {shown}".strip())


def check_answers(ledger: Ledger) -> Check:
    shown = "; ".join(ledger.unexpected_5xx[:3])
    return Check(
        "5xx other than documented 503s",
        not ledger.unexpected_5xx,
        f"{len(ledger.unexpected_5xx)} {shown}".strip(),
    )


def check_orders(conn: psycopg.Connection, ledger: Ledger) -> Check:
    """Every order answered 2xx is stored once, with each of its labels once."""
    stored = Counter(
        (order, number)
        for order, number in _rows(
            conn,
            "SELECT o.order_number, l.tracking_number FROM orders o "
            "JOIN shipments s ON s.order_id = o.id JOIN legs l ON l.shipment_id = s.id "
            "WHERE l.source = 'shop' AND o.order_number = ANY(%s)",
            list(ledger.orders),
        )
    )
    orders = Counter(
        n
        for (n,) in _rows(
            conn,
            "SELECT order_number FROM orders WHERE order_number = ANY(%s)",
            list(ledger.orders),
        )
    )
    expected = {(o, n) for o, numbers in ledger.orders.items() for n in numbers}
    lost = len(expected - set(stored)) + len(set(ledger.orders) - set(orders))
    doubled = sum(1 for n in stored.values() if n > 1) + sum(1 for n in orders.values() if n > 1)
    detail = f"{len(ledger.orders)} orders, {len(expected)} labels acknowledged; "
    detail += f"{lost} lost, {doubled} doubled"
    if ledger.import_surprises:
        detail += f"; import reports not as expected: {ledger.import_surprises[:3]}"
    if ledger.lookups_missing:
        detail += f"; lookups of acknowledged numbers 404: {ledger.lookups_missing[:3]}"
    ok = not (lost or doubled or ledger.import_surprises or ledger.lookups_missing)
    return Check("orders and labels: none lost or doubled", ok, detail)


def check_pushes(conn: psycopg.Connection, ledger: Ledger) -> Check:
    stored = dict(
        _rows(
            conn,
            "SELECT carrier_code, count(*) FROM tracking_events WHERE carrier_code = ANY(%s) "
            "GROUP BY carrier_code",
            list(ledger.pushes),
        )
    )
    lost = sum(1 for code, n in ledger.pushes.items() if stored.get(code, 0) < n)
    doubled = sum(1 for code, n in ledger.pushes.items() if stored.get(code, 0) > n)
    detail = f"{len(ledger.pushes)} pushes acknowledged, {lost} lost, {doubled} doubled"
    return Check("pushed events: none lost or doubled", not (lost or doubled), detail)


def check_people(conn: psycopg.Connection, ledger: Ledger) -> Check:
    """Each note answered 2xx is in the audit log once; each alert a person resolved is
    resolved, with one resolution in the audit log."""
    notes = Counter(
        n
        for (n,) in _rows(conn, "SELECT detail->>'note' FROM audit_log WHERE action = 'alert.note'")
    )
    lost_notes = sum(1 for note in ledger.notes if notes[note] == 0)
    doubled_notes = sum(1 for note in ledger.notes if notes[note] > 1)
    resolutions = Counter(
        int(i)
        for (i,) in _rows(conn, "SELECT entity_id FROM audit_log WHERE action = 'alert.resolved'")
    )
    statuses = dict(
        _rows(conn, "SELECT id, status FROM alerts WHERE id = ANY(%s)", list(ledger.resolved))
    )
    unresolved = sum(1 for i in ledger.resolved if statuses.get(i) != "resolved")
    doubled_resolutions = sum(1 for n in resolutions.values() if n > 1)
    bad = lost_notes + doubled_notes + unresolved + doubled_resolutions
    return Check(
        "people's actions audited once",
        bad == 0,
        f"{len(ledger.notes)} notes ({lost_notes} lost, {doubled_notes} doubled), "
        f"{len(ledger.resolved)} resolutions ({unresolved} not resolved, "
        f"{doubled_resolutions} audited twice)",
    )


def check_outbox(conn: psycopg.Connection) -> tuple[Check, dict[str, int]]:
    """Every alert audited as opened once and worked in an item; every message delivered or
    still pending, never dead; every delivered one has its successful attempt on record."""
    figures = dict(_rows(conn, "SELECT status, count(*) FROM alert_notifications GROUP BY status"))
    [(alerts, unaudited, twice, unqueued, without_attempt)] = _rows(
        conn,
        """
        SELECT (SELECT count(*) FROM alerts),
          (SELECT count(*) FROM alerts a WHERE NOT EXISTS (SELECT 1 FROM audit_log e
             WHERE e.action = 'alert.opened' AND e.entity_id = a.id::text)),
          (SELECT count(*) FROM (SELECT entity_id FROM audit_log WHERE action = 'alert.opened'
             GROUP BY entity_id HAVING count(*) > 1) t),
          (SELECT count(*) FROM alerts a WHERE a.item_id IS NULL),
          (SELECT count(*) FROM alert_notifications n WHERE n.status = 'delivered' AND NOT EXISTS
             (SELECT 1 FROM alert_delivery_attempts d WHERE d.notification_id = n.id
              AND d.succeeded))""",
    )
    figures |= {"alerts": alerts}
    dead = figures.get("dead", 0)
    bad = unaudited + twice + unqueued + without_attempt + dead
    detail = (
        f"{alerts} alerts: {unaudited} without their opening in the audit log, {twice} "
        f"opened twice, {unqueued} without a work item; messages "
        f"{figures.get('delivered', 0)} delivered, {figures.get('pending', 0)} pending, "
        f"{dead} dead, {without_attempt} delivered without a successful attempt"
    )
    return Check("outbox and audit consistent", bad == 0, detail), figures


def check_receiver(conn: psycopg.Connection, deliveries: list[Delivery]) -> Check:
    """Every message the outbox marks delivered reached the receiver (2xx) at least once; the
    receiver never accepted two different keys for one group message, nor a key the outbox does
    not hold. Repeats of one key (at-least-once delivery) are counted, not failed."""
    outbox = dict(
        _rows(
            conn,
            "SELECT idempotency_key, status FROM alert_notifications WHERE channel = 'webhook'",
        )
    )
    accepted = Counter(d.idempotency_key for d in deliveries if 200 <= d.status < 300)
    lost = sum(1 for key, status in outbox.items() if status == "delivered" and not accepted[key])
    unknown = sum(1 for key in accepted if key not in outbox)
    repeats = sum(n - 1 for n in accepted.values() if n > 1)
    keys_per_event: dict[tuple[str, str] | None, set[str]] = {}
    for d in deliveries:
        if 200 <= d.status < 300:
            keys_per_event.setdefault(d.event, set()).add(d.idempotency_key)
    doubles = sum(1 for event, keys in keys_per_event.items() if event is None or len(keys) > 1)
    failed = sum(1 for d in deliveries if not 200 <= d.status < 300)
    detail = (
        f"{len(deliveries)} deliveries ({failed} refused by the receiver), "
        f"{len(accepted)} keys accepted; {lost} delivered but never received, {unknown} "
        f"unknown keys, {doubles} true doubles, {repeats} repeats of a key"
    )
    return Check("alert messages exactly once by key", not (lost or unknown or doubles), detail)


def rss_growth(samples: list[RssSample], warmup_seconds: float) -> tuple[RssSample, RssSample]:
    """The first sample at or after warm-up, and the last."""
    after = [s for s in samples if s.seconds >= warmup_seconds] or samples
    return after[0], samples[-1]


def check_rss(samples: list[RssSample], warmup_seconds: float) -> list[Check]:
    start, end = rss_growth(samples, warmup_seconds)
    checks = []
    for name, first, last in (
        ("API", start.api_kib, end.api_kib),
        ("worker", start.worker_kib, end.worker_kib),
    ):
        growth = (last - first) / first
        checks.append(
            Check(
                f"{name} RSS growth < {MAX_RSS_GROWTH:.0%}",
                growth < MAX_RSS_GROWTH,
                f"{first / 1024:.1f} MiB at {start.seconds / 60:.1f} min -> "
                f"{last / 1024:.1f} MiB at {end.seconds / 60:.1f} min: {growth:+.1%}",
            )
        )
    return checks


def run_checks(
    name: str,
    ledger: Ledger,
    deliveries: list[Delivery],
    samples: list[RssSample],
    *,
    warmup_seconds: float,
) -> tuple[list[Check], dict[str, int]]:
    with psycopg.connect(database.database_url(name)) as conn:
        outbox, figures = check_outbox(conn)
        checks = [
            check_clients(ledger),
            check_answers(ledger),
            check_orders(conn, ledger),
            check_pushes(conn, ledger),
            check_people(conn, ledger),
            outbox,
            check_receiver(conn, deliveries),
        ]
    return checks + check_rss(samples, warmup_seconds), figures
