"""An order's file as plain rows: the order, its shipments and legs, every scan, the alerts open
and planned, the partner numbers. Read for the lookup and the customer status page, which are
refreshed while people wait, so no ORM object is built on the way.

The columns of each part are named once below, and two readers fetch the same tuples:
`fetch_by_key_pg` / `fetch_by_id_pg` in one statement and one round trip through an asyncpg pool
(each part an array of rows, decoded by asyncpg), and `fetch_by_key` / `fetch_by_id` through the
request's session with SQLAlchemy Core, a statement a part (SQLite, and tests, whose data live
in the test's own transaction). The golden tests run both on the same data. The customer
status reads the same file once the postal code is checked (`fetch_admitted*`): a short query
for the order's code first, then the file, on one pooled connection.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, literal, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession

from app.alerts.models import Alert, PlannedAlert
from app.shipments.models import Leg, Order, Shipment
from app.tracking.models import LegEvent, LegPartnerNumber

MAX_LOOKUP_MATCHES = 20
# Alerts still being worked; the same statuses as app.alerts.repository.UNRESOLVED_STATUSES.
UNRESOLVED = ("open", "acknowledged")

ORDER_COLUMNS = (
    "id", "order_number", "customer_email", "customer_postal_code", "promised_delivery_on",
    "claimed_status", "created_at", "updated_at",
)  # fmt: skip
SHIPMENT_COLUMNS = ("id", "service", "label_created_at")
LEG_COLUMNS = (
    "id", "shipment_id", "sequence", "carrier", "tracking_number", "service", "source",
    "handoff_from_leg_id", "status", "last_event_at", "last_polled_at",
    "last_successful_poll_at", "next_poll_at", "active", "label_created_at", "handed_off_at",
    "estimated_delivery_at",
)  # fmt: skip
EVENT_COLUMNS = (
    "leg_id", "occurred_at", "utc_offset_minutes", "status", "carrier_code", "description",
    "location_city", "location_state", "location_country",
)  # fmt: skip
ALERT_COLUMNS = (
    "id", "rule", "severity", "status", "carrier", "tracking_number", "opened_at",
    "explanation", "recommended_action", "subject_key", "leg_id", "story",
)  # fmt: skip
PLAN_COLUMNS = (
    "rule", "severity", "carrier", "tracking_number", "due_at", "explanation",
    "recommended_action", "subject_key",
)  # fmt: skip
PARTNER_COLUMNS = ("leg_id", "number", "partner_name", "first_seen_at")

# Column positions of each part's rows, by name.
ORD = {name: i for i, name in enumerate(ORDER_COLUMNS)}
SHP = {name: i for i, name in enumerate(SHIPMENT_COLUMNS)}
LEG = {name: i for i, name in enumerate(LEG_COLUMNS)}
EVT = {name: i for i, name in enumerate(EVENT_COLUMNS)}
ALR = {name: i for i, name in enumerate(ALERT_COLUMNS)}
PLN = {name: i for i, name in enumerate(PLAN_COLUMNS)}
PTN = {name: i for i, name in enumerate(PARTNER_COLUMNS)}

Row = tuple[Any, ...]


# Decides, from an order's postal code (None when no order matched), whether its file is read.
Admit = Callable[[str | None], bool]


@dataclass(frozen=True, slots=True)
class OrderFile:
    """One order's rows, each part in the order the answer lists it (columns as named above)."""

    order: Row
    matched_by: list[str]
    shipments: list[Row]  # by id
    legs: list[Row]  # by shipment, then sequence
    events: list[Row]  # newest first
    alerts: list[Row]  # unresolved, oldest first
    plans: list[Row]  # the plans for the order's next deadline that still hold, soonest first
    partner_numbers: list[Row]  # by leg, first seen first


# --- SQLAlchemy Core, a statement a part ---------------------------------------------------


def _story() -> ColumnElement[Any]:
    story: ColumnElement[Any] = Alert.evidence["story"].as_string().label("story")
    return story


def _columns(table: Any, names: Sequence[str]) -> list[Any]:
    return [_story() if name == "story" else table.c[name] for name in names]


async def find_matches(session: AsyncSession, key: str) -> dict[int, tuple[set[str], Any]]:
    """Order id -> (what matched, the newest time among the matches) for `key`."""
    parts = [
        select(Order.id, literal("order_number"), Order.created_at)
        .where(Order.order_key == key)
        .limit(MAX_LOOKUP_MATCHES),
        select(Shipment.order_id, literal("tracking_number"), Leg.label_created_at)
        .join(Leg, Leg.shipment_id == Shipment.id)
        .where(Leg.tracking_number == key)
        .limit(MAX_LOOKUP_MATCHES),
        select(Shipment.order_id, literal("partner_number"), Leg.label_created_at)
        .join(Leg, Leg.shipment_id == Shipment.id)
        .join(LegPartnerNumber, LegPartnerNumber.leg_id == Leg.id)
        .where(LegPartnerNumber.lookup_key == key)
        .limit(MAX_LOOKUP_MATCHES),
    ]
    found: dict[int, tuple[set[str], Any]] = {}
    for order_id, how, when in await session.execute(
        union_all(*(p.subquery().select() for p in parts))
    ):
        hows, newest = found.get(order_id, (set(), when))
        hows.add(how)
        found[order_id] = (hows, max(newest, when))
    return found


async def fetch_admitted(session: AsyncSession, key: str, admit: Admit) -> OrderFile | None:
    """The file of the order whose number, typed any way, is `key` (the oldest if two collide),
    if `admit` passes its postal code. `admit` runs once whether or not an order matched, and
    nothing else is read unless it passes: a miss and a refusal do the same work."""
    stmt = (
        select(Order.id, Order.customer_postal_code)
        .where(Order.order_key == key)
        .order_by(Order.id)
        .limit(1)
    )
    row = (await session.execute(stmt)).first()
    if not admit(row[1] if row else None) or row is None:
        return None
    return await fetch_by_id(session, row[0])


async def fetch_by_key(session: AsyncSession, key: str) -> list[OrderFile]:
    """The files of the orders `key` matches (order, tracking or partner number), newest first."""
    matches = await find_matches(session, key)
    order_ids = sorted(matches, key=lambda i: (matches[i][1], i), reverse=True)
    return await _fetch(session, order_ids, {i: sorted(matches[i][0]) for i in order_ids})


async def fetch_by_id(session: AsyncSession, order_id: int) -> OrderFile | None:
    files = await _fetch(session, [order_id], {order_id: []})
    return files[0] if files else None


async def _fetch(
    session: AsyncSession, order_ids: list[int], matched_by: dict[int, list[str]]
) -> list[OrderFile]:
    if not order_ids:
        return []
    orders = {
        row[0]: tuple(row)
        for row in await session.execute(
            select(*_columns(Order.__table__, ORDER_COLUMNS)).where(Order.id.in_(order_ids))
        )
    }
    shipments = await session.execute(
        select(Shipment.order_id, *_columns(Shipment.__table__, SHIPMENT_COLUMNS))
        .where(Shipment.order_id.in_(order_ids))
        .order_by(Shipment.id)
    )
    legs = await session.execute(
        select(Shipment.order_id, *_columns(Leg.__table__, LEG_COLUMNS))
        .join(Shipment, Shipment.id == Leg.shipment_id)
        .where(Shipment.order_id.in_(order_ids))
        .order_by(Shipment.id, Leg.sequence)
    )
    events = await session.execute(
        select(Shipment.order_id, *_columns(LegEvent.__table__, EVENT_COLUMNS))
        .join(Leg, Leg.id == LegEvent.leg_id)
        .join(Shipment, Shipment.id == Leg.shipment_id)
        .where(Shipment.order_id.in_(order_ids))
        .order_by(LegEvent.occurred_at.desc(), LegEvent.id.desc())
    )
    alerts = await session.execute(
        select(Alert.order_id, *_columns(Alert.__table__, ALERT_COLUMNS))
        .where(Alert.order_id.in_(order_ids), Alert.status.in_(UNRESOLVED))
        .order_by(Alert.opened_at, Alert.id)
    )
    plans = await session.execute(
        select(PlannedAlert.order_id, *_columns(PlannedAlert.__table__, PLAN_COLUMNS))
        .join(Order, Order.id == PlannedAlert.order_id)
        .where(PlannedAlert.order_id.in_(order_ids), Order.reconcile_due_at == PlannedAlert.due_at)
        .order_by(PlannedAlert.due_at, PlannedAlert.id)
    )
    partners = await session.execute(
        select(Shipment.order_id, *_columns(LegPartnerNumber.__table__, PARTNER_COLUMNS))
        .join(Leg, Leg.id == LegPartnerNumber.leg_id)
        .join(Shipment, Shipment.id == Leg.shipment_id)
        .where(Shipment.order_id.in_(order_ids))
        .order_by(LegPartnerNumber.leg_id, LegPartnerNumber.first_seen_at, LegPartnerNumber.id)
    )
    parts = [_by_order(rows) for rows in (shipments, legs, events, alerts, plans, partners)]
    return [
        OrderFile(orders[i], matched_by[i], *(part.get(i, []) for part in parts))
        for i in order_ids
        if i in orders
    ]


def _by_order(rows: Any) -> dict[int, list[Row]]:
    """Rows whose first column is the order id, grouped by it (the id dropped), in order."""
    grouped: dict[int, list[Row]] = {}
    for row in rows:
        grouped.setdefault(row[0], []).append(tuple(row[1:]))
    return grouped


# --- PostgreSQL, one statement through asyncpg ---------------------------------------------


def _row(alias: str, names: Sequence[str]) -> str:
    fields = [f"{alias}.evidence ->> 'story'" if n == "story" else f"{alias}.{n}" for n in names]
    return f"ROW({', '.join(fields)})"


# The same parts as _fetch, each an array of rows in the same order; `found` names the orders.
_FILES_SQL = f"""
SELECT f.matched_by, {", ".join(f"o.{name}" for name in ORDER_COLUMNS)},
    ARRAY(SELECT {_row("s", SHIPMENT_COLUMNS)} FROM shipments s
          WHERE s.order_id = o.id ORDER BY s.id) AS shipments,
    ARRAY(SELECT {_row("l", LEG_COLUMNS)} FROM shipments s JOIN legs l ON l.shipment_id = s.id
          WHERE s.order_id = o.id ORDER BY s.id, l.sequence) AS legs,
    ARRAY(SELECT {_row("e", EVENT_COLUMNS)} FROM shipments s JOIN legs l ON l.shipment_id = s.id
          JOIN tracking_events e ON e.leg_id = l.id
          WHERE s.order_id = o.id ORDER BY e.occurred_at DESC, e.id DESC) AS events,
    ARRAY(SELECT {_row("a", ALERT_COLUMNS)} FROM alerts a
          WHERE a.order_id = o.id AND a.status IN ({", ".join(f"'{s}'" for s in UNRESOLVED)})
          ORDER BY a.opened_at, a.id) AS alerts,
    ARRAY(SELECT {_row("p", PLAN_COLUMNS)} FROM planned_alerts p
          WHERE p.order_id = o.id AND p.due_at = o.reconcile_due_at
          ORDER BY p.due_at, p.id) AS plans,
    ARRAY(SELECT {_row("n", PARTNER_COLUMNS)} FROM shipments s JOIN legs l ON l.shipment_id = s.id
          JOIN partner_numbers n ON n.leg_id = l.id
          WHERE s.order_id = o.id ORDER BY n.leg_id, n.first_seen_at, n.id) AS partner_numbers
FROM found f JOIN orders o ON o.id = f.order_id
ORDER BY f.newest DESC, o.id DESC
"""
BY_KEY_SQL = f"""
WITH hits AS (
    (SELECT id AS order_id, 'order_number' AS how, created_at AS at FROM orders
     WHERE order_key = $1 LIMIT {MAX_LOOKUP_MATCHES})
    UNION ALL
    (SELECT s.order_id, 'tracking_number', l.label_created_at FROM legs l
     JOIN shipments s ON s.id = l.shipment_id WHERE l.tracking_number = $1
     LIMIT {MAX_LOOKUP_MATCHES})
    UNION ALL
    (SELECT s.order_id, 'partner_number', l.label_created_at FROM partner_numbers n
     JOIN legs l ON l.id = n.leg_id JOIN shipments s ON s.id = l.shipment_id
     WHERE n.lookup_key = $1 LIMIT {MAX_LOOKUP_MATCHES})
), found AS (
    SELECT order_id, array_agg(DISTINCT how ORDER BY how) AS matched_by, max(at) AS newest
    FROM hits GROUP BY order_id
)
{_FILES_SQL}"""
BY_ID_SQL = f"""
WITH found AS (SELECT CAST($1 AS bigint) AS order_id, CAST(ARRAY[] AS text[]) AS matched_by,
    CAST(NULL AS timestamptz) AS newest)
{_FILES_SQL}"""


ORDER_BY_KEY_SQL = """
SELECT id, customer_postal_code FROM orders WHERE order_key = $1 ORDER BY id LIMIT 1
"""


async def fetch_admitted_pg(pool: Any, key: str, admit: Admit) -> OrderFile | None:
    """As fetch_admitted, both statements on one connection of the asyncpg `pool`."""
    async with pool.acquire() as connection:
        row = await connection.fetchrow(ORDER_BY_KEY_SQL, key)
        if not admit(row[1] if row else None) or row is None:
            return None
        files = await connection.fetch(BY_ID_SQL, row[0])
    return _file(files[0]) if files else None


async def fetch_by_key_pg(pool: Any, key: str) -> list[OrderFile]:
    """As fetch_by_key, in one statement through the asyncpg `pool`."""
    return [_file(row) for row in await pool.fetch(BY_KEY_SQL, key)]


async def fetch_by_id_pg(pool: Any, order_id: int) -> OrderFile | None:
    rows = await pool.fetch(BY_ID_SQL, order_id)
    return _file(rows[0]) if rows else None


def _file(row: Any) -> OrderFile:
    width = len(ORDER_COLUMNS)
    return OrderFile(
        tuple(row[1 : 1 + width]),
        list(row[0]),
        *(list(row[name]) for name in _PARTS),
    )


_PARTS = ("shipments", "legs", "events", "alerts", "plans", "partner_numbers")


class OrderFileReader:
    """Reads order files through the app's asyncpg pool when it has one (PostgreSQL served by
    `firstscan serve`), else through the request's session."""

    def __init__(self, *, session: AsyncSession | None, pool: Any | None) -> None:
        if session is None and pool is None:
            raise ValueError("an order file reader needs a pool or a session")
        self.session = session
        self.pool = pool

    @property
    def _session(self) -> AsyncSession:
        if self.session is None:
            raise RuntimeError("this reader has no session")
        return self.session

    async def admitted(self, key: str, admit: Admit) -> OrderFile | None:
        if self.pool is not None:
            return await fetch_admitted_pg(self.pool, key, admit)
        return await fetch_admitted(self._session, key, admit)

    async def by_key(self, key: str) -> list[OrderFile]:
        if self.pool is not None:
            return await fetch_by_key_pg(self.pool, key)
        return await fetch_by_key(self._session, key)

    async def by_id(self, order_id: int) -> OrderFile | None:
        if self.pool is not None:
            return await fetch_by_id_pg(self.pool, order_id)
        return await fetch_by_id(self._session, order_id)
