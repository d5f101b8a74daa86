"""UPS scans are keyed by status code, minute and place, no longer by their wording: the stored
UPS events get the new key, and a scan stored twice (pushed, then polled in other words) keeps
its first row.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-04 22:00:00.000000
"""

from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

from carriers.types import scan_key

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The carrier whose keys changed, written out: a later change to
# carriers.types.CODE_NAMED_SCAN_CARRIERS needs a migration of its own.
CARRIER = "ups"
LEGS_PER_BATCH = 500

legs = sa.table("legs", sa.column("id", sa.BigInteger), sa.column("carrier", sa.String))
events = sa.table(
    "tracking_events",
    sa.column("id", sa.BigInteger),
    sa.column("leg_id", sa.BigInteger),
    sa.column("carrier_code", sa.String),
    sa.column("description", sa.Text),
    sa.column("location_city", sa.String),
    sa.column("location_postal_code", sa.String),
    sa.column("occurred_at", sa.DateTime(timezone=True)),
    sa.column("dedupe_key", sa.String),
)


def ups_scan_key(row: sa.Row[tuple[object, ...]], *, worded: bool = False) -> str:
    """The key `TrackingEvent.dedupe_key` gives a UPS scan, from its stored columns; `worded`:
    the key before this revision, which hashed the description too."""
    at: datetime = row.occurred_at
    return scan_key(
        code=row.carrier_code,
        # SQLite hands the stored UTC time back without its offset.
        occurred_at=at.replace(tzinfo=UTC) if at.tzinfo is None else at,
        city=row.location_city,
        postal_code=row.location_postal_code,
        description=row.description if worded else None,
    )


def rekey_legs(
    connection: sa.Connection, leg_ids: Sequence[int], *, worded: bool = False
) -> tuple[int, int]:
    """Rewrites the keys of these legs' events; of rows that now share a key, keeps the first
    stored (lowest id). Returns (rows rekeyed, rows removed)."""
    rows = connection.execute(
        sa.select(events).where(events.c.leg_id.in_(leg_ids)).order_by(events.c.leg_id, events.c.id)
    ).all()
    kept: dict[int, set[str]] = defaultdict(set)
    removed: list[int] = []
    rekeyed: list[dict[str, object]] = []
    for row in rows:
        key = ups_scan_key(row, worded=worded)
        if key in kept[row.leg_id]:
            removed.append(row.id)
            continue
        kept[row.leg_id].add(key)
        if key != row.dedupe_key:
            rekeyed.append({"b_id": row.id, "b_key": key})
    # Doubles go first: a kept row may only take its new key once no other row holds it.
    if removed:
        connection.execute(sa.delete(events).where(events.c.id.in_(removed)))
    if rekeyed:
        connection.execute(
            sa.update(events)
            .where(events.c.id == sa.bindparam("b_id"))
            .values(dedupe_key=sa.bindparam("b_key")),
            rekeyed,
        )
    return len(rekeyed), len(removed)


def rekey_ups_events(*, worded: bool) -> None:
    """Every UPS leg's events, LEGS_PER_BATCH legs at a time (plain SQL: SQLite and PostgreSQL)."""
    connection = op.get_bind()
    last_id = 0
    while True:
        leg_ids = list(
            connection.execute(
                sa.select(legs.c.id)
                .where(legs.c.carrier == CARRIER, legs.c.id > last_id)
                .order_by(legs.c.id)
                .limit(LEGS_PER_BATCH)
            ).scalars()
        )
        if not leg_ids:
            return
        rekey_legs(connection, leg_ids, worded=worded)
        last_id = leg_ids[-1]


def upgrade() -> None:
    rekey_ups_events(worded=False)


def downgrade() -> None:
    # Back to the worded keys, from the stored description, so the older code finds every kept
    # scan under the key it computes. A double removed on upgrade is not brought back: it was
    # the same scan, and the older code stores the other wording again on its next poll.
    rekey_ups_events(worded=True)
