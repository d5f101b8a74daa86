"""Loads the benchmark world (bench.world) into PostgreSQL: 1 M active legs by default.

    python -m bench.generate [--legs 1000000] [--database firstscan_bench] [--workers 2]

Labels are modelled in worker processes, each COPYing its own chunk in one transaction, until
the active legs reach the target (it may overshoot by a chunk or two; the exact count is
printed). The database is a template: benchmarks clone it and never change it.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field

import psycopg

from bench import database
from bench.machine import print_machine
from bench.world import NOW, SWEEP_INTERVAL, LegState, OrderState, build_order_state
from carriers.types import TrackingEvent

CHUNK = 20_000
# Alerts resolved in the 90 days before NOW: about 11,000 a day, a third of the ~30,000 a day
# this world opens. A live system keeps them (console, audit, the "closed by a person" check)
# and find_latest_resolved reads among them whenever an alert opens.
RESOLVED_HISTORY = 1_000_000
GENERATOR_VERSION = "1"
ORDER_COLUMNS = (
    "id, order_number, order_key, promised_delivery_on, claimed_status, reconcile_due_at, "
    "created_at, updated_at"
)
SHIPMENT_COLUMNS = "id, order_id, service, label_created_at, created_at"
LEG_COLUMNS = (
    "id, shipment_id, sequence, carrier, tracking_number, service, source, handoff_from_leg_id, "
    "label_created_at, tracking_started_at, status, status_changed_at, last_event_at, "
    "accepted_at, handed_off_at, delivered_at, estimated_delivery_at, active, next_poll_at, "
    "last_polled_at, last_successful_poll_at, consecutive_failures, last_poll_day, "
    "alert_deadline_at, created_at, updated_at"
)
EVENT_COLUMNS = (
    "id, leg_id, status, carrier_code, description, location_city, location_state, "
    "location_postal_code, location_country, occurred_at, utc_offset_minutes, dedupe_key, "
    "source, recorded_at"
)
ALERT_COLUMNS = (
    "id, rule, severity, status, subject_key, leg_id, order_id, carrier, tracking_number, team, "
    "explanation, recommended_action, evidence, opened_at, last_seen_at, updated_at, auto_resolved"
)


@dataclass
class ChunkReport:
    labels: int = 0
    orders: int = 0
    active_legs: int = 0
    legs: int = 0
    events: int = 0
    alerts: int = 0
    due: int = 0
    statuses: Counter[str] = field(default_factory=Counter)

    def add(self, other: ChunkReport) -> None:
        for name in ("labels", "orders", "active_legs", "legs", "events", "alerts", "due"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.statuses.update(other.statuses)


def _order_row(order: OrderState) -> tuple[object, ...]:
    created = order.label.created_at
    number = order.order_number
    due = order.next_deadline
    return (order.order_id, number, number.replace("-", ""), order.promised_on, "shipped", due,
            created, order.judged_at)  # fmt: skip


def _leg_row(order: OrderState, leg: LegState) -> tuple[object, ...]:
    p = leg.progress
    return (
        leg.leg_id, order.order_id, leg.sequence, leg.carrier, leg.tracking_number, leg.service,
        "carrier" if leg.handoff_from else "shop", leg.handoff_from, leg.label_created_at,
        leg.tracking_started_at, p.status, p.status_changed_at, p.last_event_at, p.accepted_at,
        p.handed_off_at, p.delivered_at, p.estimated_delivery_at, leg.active, leg.next_poll_at,
        leg.polled_at, leg.polled_at, 0, leg.polled_at.date(), order.next_deadline,
        leg.tracking_started_at, leg.polled_at,
    )  # fmt: skip


def _event_row(leg: LegState, index: int, event: TrackingEvent) -> tuple[object, ...]:
    loc = event.location
    offset = event.occurred_at.utcoffset()
    minutes = int(offset.total_seconds() // 60) if offset else 0
    return (
        leg.leg_id * 32 + index, leg.leg_id, event.status.value, event.carrier_code,
        event.description, loc.city if loc else None, loc.state if loc else None,
        loc.postal_code if loc else None, loc.country if loc else None, event.occurred_at,
        minutes, event.dedupe_key, "poll", leg.polled_at,
    )  # fmt: skip


def _alert_rows(order: OrderState) -> Iterator[tuple[object, ...]]:
    for index, (finding, opened_at) in enumerate(order.findings):
        leg_id = finding.leg_id or 0
        yield (
            leg_id * 16 + index, finding.rule, finding.severity.value, "open", f"leg:{leg_id}",
            leg_id, order.order_id, finding.carrier, finding.tracking_number, "ops",
            finding.explanation, finding.recommended_action, json.dumps(dict(finding.evidence)),
            opened_at, order.judged_at, order.judged_at, False,
        )  # fmt: skip


def _copy_chunk(conn: psycopg.Connection, orders: list[OrderState]) -> ChunkReport:
    report = ChunkReport()
    with conn.cursor() as cur:
        with cur.copy(f"COPY orders ({ORDER_COLUMNS}) FROM STDIN") as copy:
            for order in orders:
                copy.write_row(_order_row(order))
        with cur.copy(f"COPY shipments ({SHIPMENT_COLUMNS}) FROM STDIN") as copy:
            for order in orders:
                service = order.legs[0].service
                copy.write_row((order.order_id, order.order_id, service, order.label.created_at,
                                order.label.created_at))  # fmt: skip
        with cur.copy(f"COPY legs ({LEG_COLUMNS}) FROM STDIN") as copy:
            for order in orders:
                for leg in order.legs:
                    copy.write_row(_leg_row(order, leg))
                    report.legs += 1
                    report.active_legs += leg.active
                    report.statuses[str(leg.progress.status) if leg.active else "inactive"] += 1
        with cur.copy(f"COPY tracking_events ({EVENT_COLUMNS}) FROM STDIN") as copy:
            for order in orders:
                for leg in order.legs:
                    for index, event in enumerate(leg.events):
                        copy.write_row(_event_row(leg, index, event))
                        report.events += 1
        with cur.copy(f"COPY alerts ({ALERT_COLUMNS}) FROM STDIN") as copy:
            for order in orders:
                for row in _alert_rows(order):
                    copy.write_row(row)
                    report.alerts += 1
    conn.commit()
    return report


_connection: psycopg.Connection | None = None


def _open_connection(url: str) -> None:
    global _connection
    _connection = psycopg.connect(url)


def load_chunk(start: int) -> ChunkReport:
    """Models labels start .. start+CHUNK-1 and COPYs the orders still active at NOW."""
    assert _connection is not None
    orders = [o for o in map(build_order_state, range(start, start + CHUNK)) if o is not None]
    report = _copy_chunk(_connection, orders)
    report.labels = CHUNK
    report.orders = len(orders)
    report.due = sum(1 for o in orders if o.next_deadline and o.next_deadline <= NOW)
    return report


def generate(name: str, *, target_legs: int, workers: int) -> ChunkReport:
    database.create(name)
    database.migrate(name)
    total = ChunkReport()
    url = database.database_url(name)
    with multiprocessing.Pool(workers, initializer=_open_connection, initargs=(url,)) as pool:
        for report in pool.imap(load_chunk, range(0, 50_000_000, CHUNK)):
            total.add(report)
            if total.active_legs >= target_legs:
                break
        pool.terminate()
    _finish(name, total)
    return total


HISTORY_SQL = """
INSERT INTO alerts (id, rule, severity, status, subject_key, leg_id, order_id, carrier,
    tracking_number, team, explanation, recommended_action, evidence, opened_at, last_seen_at,
    updated_at, resolved_at, resolved_by, outcome, resolution_note, auto_resolved)
SELECT 1000000000 + g, (ARRAY['late', 'never_inducted', 'stalled', 'exception'])[1 + g %% 4],
    'warning', 'resolved', 'leg:' || (500000000 + g), NULL, NULL, 'usps', NULL, 'ops',
    'A resolved alert from an order delivered since.', 'None.', '{}',
    %(now)s - (g %% 7776000) * interval '1 second' - interval '2 days',
    %(now)s - (g %% 7776000) * interval '1 second', %(now)s - (g %% 7776000) * interval '1 second',
    %(now)s - (g %% 7776000) * interval '1 second', 'firstscan', 'carrier_found_it',
    'The parcel moved.', true
FROM generate_series(1, %(count)s) AS g
"""


# Each unresolved alert of the world in a work item of its own, announced when it opened, as
# migration 0012 leaves a live system's alerts (the midnight's opening then finds open items on
# the due orders, as it would in production).
ITEMS_SQL = """
INSERT INTO work_items (id, order_id, rule, severity, status, carrier, tracking_number, team,
    headline, next_step, opened_at, updated_at, announced_at, acknowledged_at, acknowledged_by,
    escalated_at, paged_at, unpaged_at, auto_resolved)
SELECT id, order_id, rule, severity, status, carrier, tracking_number, team, explanation,
    recommended_action, opened_at, updated_at, opened_at, acknowledged_at, acknowledged_by,
    opened_at, opened_at, opened_at, auto_resolved
FROM alerts WHERE status != 'resolved' AND item_id IS NULL;
UPDATE alerts SET item_id = id WHERE status != 'resolved' AND item_id IS NULL;
"""


def add_resolved_history(name: str, count: int) -> None:
    """Resolved alerts of orders finished in the 90 days before NOW, as a live system keeps."""
    with psycopg.connect(database.database_url(name), autocommit=True) as conn:
        conn.execute(HISTORY_SQL, {"now": NOW, "count": count})  # type: ignore[arg-type]


def _finish(name: str, total: ChunkReport) -> None:
    """Adds alert history, moves id sequences past the loaded rows, analyzes, and records what
    was loaded."""
    add_resolved_history(name, RESOLVED_HISTORY)
    with psycopg.connect(database.database_url(name), autocommit=True) as conn:
        conn.execute(ITEMS_SQL)
        for table in ("orders", "shipments", "legs", "tracking_events", "alerts", "work_items"):
            conn.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"(SELECT coalesce(max(id), 0) + 1 FROM {table}))"
            )
        conn.execute("CREATE TABLE bench_meta (key text PRIMARY KEY, value text NOT NULL)")
        meta = {"version": GENERATOR_VERSION, "now": NOW.isoformat(), "labels": str(total.labels)}
        for key, value in meta.items():
            conn.execute("INSERT INTO bench_meta VALUES (%s, %s)", (key, value))
        conn.execute("VACUUM ANALYZE")


def is_generated(name: str) -> bool:
    """True when `name` holds a finished load of this generator version."""
    if not database.exists(name):
        return False
    with psycopg.connect(database.database_url(name)) as conn:
        if conn.execute("SELECT to_regclass('bench_meta')").fetchone() == (None,):
            return False
        row = conn.execute("SELECT value FROM bench_meta WHERE key = 'version'").fetchone()
    return row == (GENERATOR_VERSION,)


def count_rows(name: str) -> dict[str, int]:
    with psycopg.connect(database.database_url(name)) as conn:
        tables = ("orders", "legs", "tracking_events", "alerts")
        counts = {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in tables}  # type: ignore[index]
        active = conn.execute("SELECT count(*) FROM legs WHERE active").fetchone()
        counts["active legs"] = active[0] if active else 0
        due = conn.execute("SELECT count(*) FROM orders WHERE reconcile_due_at <= %s", (NOW,))
        counts["orders due at NOW"] = due.fetchone()[0]  # type: ignore[index]
    return counts


def status_mix(name: str) -> Counter[str]:
    with psycopg.connect(database.database_url(name)) as conn:
        rows = conn.execute("SELECT status, count(*) FROM legs WHERE active GROUP BY status")
        return Counter({str(status): count for status, count in rows})


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.generate", description=__doc__)
    parser.add_argument("--legs", type=int, default=1_000_000)
    parser.add_argument("--database", default="firstscan_bench")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args(argv)
    print_machine(f"generate {args.legs:,} active legs into {args.database}")
    started = time.perf_counter()
    total = generate(args.database, target_legs=args.legs, workers=args.workers)
    print(f"loaded in {time.perf_counter() - started:.1f} s (modelling, COPY and VACUUM ANALYZE)")
    print(f"world: {total.labels:,} labels over the 35 days before {NOW:%Y-%m-%d %H:%M:%S} UTC")
    for table, count in count_rows(args.database).items():
        print(f"  {table}: {count:,}")
    print(f"  (the sweep interval is the {SWEEP_INTERVAL.total_seconds():.0f} s before NOW)")
    mix = status_mix(args.database)
    active = sum(mix.values())
    for status, count in mix.most_common():
        print(f"  active legs {status:>18}: {count:>9,} {count / active:6.1%}")


if __name__ == "__main__":
    main()
