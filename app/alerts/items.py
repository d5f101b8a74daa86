"""Work items: one per parcel problem, the unit ops acknowledge, assign, resolve and hear of.

Alerts stay the unit the rules, the audit and the openings work with; every alert opens into an
item in the transaction that opens it (`attach`, called by both ways of opening). A finding that
is a consequence of another unresolved finding of the same order joins that one's item
(`app.kernel.precedence`); otherwise it founds its own. An item's headline (rule, severity,
team, explanation, next step) is its most specific unresolved finding's, its severity the
highest; it closes on its own when all of its findings are gone, and a person who resolves it
resolves them all.
"""

from __future__ import annotations

import typing
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Integer,
    RowMapping,
    Table,
    any_,
    func,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from app import db
from app.alerts.models import Alert, WorkItem
from app.alerts.opening import PYTHON, SQL, Terms
from app.alerts.schemas import AlertStatus
from app.audit import repository as audit_repository
from app.errors import NotFound
from app.kernel.findings import SEVERITY_RANK
from app.kernel.precedence import headline_rank, related
from app.shipments.models import Order

ACTOR = "firstscan"
# An item's headline columns and the alert column each is copied from (its headline finding's).
HEADLINE_OF_ALERT = {
    "rule": "rule",
    "carrier": "carrier",
    "tracking_number": "tracking_number",
    "team": "team",
    "headline": "explanation",
    "next_step": "recommended_action",
}
# Orders per query when looking up the open items of a midnight's orders.
_CHUNK = 5000

_items = typing.cast(Table, WorkItem.__table__)
_alerts = typing.cast(Table, Alert.__table__)


@dataclass(frozen=True, slots=True)
class Finding:
    """An unresolved alert as items see it (`content`: its headline columns and wording)."""

    alert_id: int
    order_id: int | None
    rule: str
    severity: str
    opened_at: datetime
    content: Mapping[str, Any] = field(default_factory=dict, hash=False, compare=False)

    @classmethod
    def of(cls, alert: Alert) -> Finding:
        return cls(
            alert_id=alert.id,
            order_id=alert.order_id,
            rule=alert.rule,
            severity=alert.severity,
            opened_at=alert.opened_at,
            content={item: getattr(alert, of) for item, of in HEADLINE_OF_ALERT.items()},
        )


@dataclass(slots=True)
class _Placed:
    """An item as placement builds it: an existing one (`item_id`) or one to found."""

    item_id: int | None
    rules: set[str]
    members: list[Finding] = field(default_factory=list)


def place(
    new: Sequence[Finding], open_items: Mapping[int, Sequence[Finding]]
) -> list[tuple[int | None, list[Finding]]]:
    """Where each new finding is worked: (an existing item's id, the findings joining it) or
    (None, the findings founding a new item). Pure. `open_items`: each unresolved item's
    unresolved findings. Causes are placed before their consequences, so a `late` opened in the
    same pass as its `handoff_gap` joins it; a finding related to several items joins the
    oldest. An order's finding never joins another order's item; a finding about no order
    (a carrier, firstscan itself) is always its own item."""
    by_order: dict[int, list[_Placed]] = {}
    for item_id in sorted(open_items):
        members = open_items[item_id]
        if members and members[0].order_id is not None:
            placed = _Placed(item_id, {m.rule for m in members})
            by_order.setdefault(members[0].order_id, []).append(placed)
    founded: list[_Placed] = []
    for finding in sorted(new, key=lambda f: (headline_rank(f.rule), f.alert_id)):
        candidates = by_order.get(finding.order_id, []) if finding.order_id is not None else []
        home = next((p for p in candidates if any(related(finding.rule, r) for r in p.rules)), None)
        if home is None:
            home = _Placed(None, set())
            founded.append(home)
            if finding.order_id is not None:
                by_order.setdefault(finding.order_id, []).append(home)
        home.rules.add(finding.rule)
        home.members.append(finding)
    joined = [p for places in by_order.values() for p in places if p.item_id and p.members]
    return [(p.item_id, p.members) for p in joined] + [(None, p.members) for p in founded]


def headline_of(findings: Iterable[Finding]) -> Finding:
    """The most specific finding (the earliest of equals)."""
    return min(findings, key=lambda f: (headline_rank(f.rule), f.opened_at, f.alert_id))


def highest_severity(findings: Iterable[Finding]) -> str:
    return max((f.severity for f in findings), key=lambda s: SEVERITY_RANK.get(s, 0))


def headline_fields(findings: Sequence[Finding]) -> dict[str, Any]:
    """What an item shows of its findings: the headline's columns and the highest severity."""
    head = headline_of(findings)
    return {**head.content, "severity": highest_severity(findings)}


@dataclass(frozen=True, slots=True)
class Decision:
    """Where findings opening now will be worked, before anything is written: groups founding
    new items, groups joining open ones, and the open items whose headline they change."""

    founding: list[list[Finding]]
    joining: list[tuple[int, list[Finding]]]
    reheaded: list[dict[str, Any]]  # rows for an UPDATE of work_items by id

    def item_of(self, new_ids: Sequence[int]) -> dict[int, int]:
        """Each alert's item (alert id to item id), with the founded items' ids in `founding`'s
        order."""
        item_of: dict[int, int] = {}
        for item_id, members in [*zip(new_ids, self.founding, strict=True), *self.joining]:
            item_of.update((m.alert_id, item_id) for m in members)
        return item_of

    def audit(self, new_ids: Sequence[int], *, now: datetime) -> list[dict[str, Any]]:
        """The audit entries of the items opened and joined (`audit_of_opening` in SQL)."""
        return [
            *(
                _audit_row("item.opened", item_id, members, now=now)
                for item_id, members in zip(new_ids, self.founding, strict=True)
            ),
            *(
                _audit_row("item.joined", item_id, members, now=now)
                for item_id, members in self.joining
            ),
        ]


async def attach(session: AsyncSession, opened: Sequence[Finding], *, now: datetime) -> None:
    """Puts newly opened alerts into items, in the transaction that opened them: joins an open
    item of the same order where the precedence table says so, else founds one. Audited."""
    decision = await decide(session, opened, now=now)
    new_ids = await _found_items(session, decision.founding, now=now)
    await rehead(session, decision.reheaded)
    await _set_alert_items(session, list(decision.item_of(new_ids).items()))
    await record_audit(session, decision.audit(new_ids, now=now))


async def decide(session: AsyncSession, opened: Sequence[Finding], *, now: datetime) -> Decision:
    """Where findings opening now will be worked (reads the open items of their orders); the
    alerts need not be written yet, so the midnight inserts each alert with its item at once
    (`app.alerts.planned`)."""
    if not opened:
        return Decision([], [], [])
    open_items = await _open_items_of_orders(
        session, {f.order_id for f in opened if f.order_id is not None}
    )
    placements = place(opened, open_items)
    founding = [members for item_id, members in placements if item_id is None]
    joining = [(item_id, members) for item_id, members in placements if item_id is not None]
    reheaded = []
    for item_id, members in joining:
        fields = headline_fields([*open_items[item_id], *members])
        if fields != headline_fields(open_items[item_id]):  # mostly a consequence: no change
            reheaded.append({"id": item_id, **fields, "updated_at": now})
    return Decision(founding, joining, reheaded)


async def rehead(session: AsyncSession, reheaded: Sequence[dict[str, Any]]) -> None:
    if not reheaded:
        return
    if session.get_bind().dialect.name == "postgresql":
        # One statement: a midnight re-heads thousands of items.
        await db.update_arrays(session, _items, reheaded)
    else:
        await session.execute(update(WorkItem), list(reheaded))


async def record_audit(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> None:
    if session.get_bind().dialect.name == "postgresql":
        await audit_repository.record_many(session, rows)
        return
    for row in rows:
        await audit_repository.record(session, **row)


def _audit_row(action: str, item_id: int, members: Sequence[Finding], *, now: datetime) -> Any:
    return {
        "occurred_at": now,
        "actor": ACTOR,
        "action": action,
        "entity_type": "item",
        "entity_id": str(item_id),
        "order_id": members[0].order_id,
        "detail": {"alerts": [m.alert_id for m in members], "rules": [m.rule for m in members]},
    }


def founded_state(t: Terms, now: datetime) -> dict[str, Any]:
    """The columns of a new item besides its headline (`app.alerts.opening`'s terms)."""
    return {
        "status": t.constant(AlertStatus.OPEN.value),
        "opened_at": t.constant(now),
        "updated_at": t.constant(now),
        "auto_resolved": t.constant(False),
    }


def audit_of_opening(
    *, item_id: Any, alert_id: Any, order_id: Any, rule: Any, founded: Any, now: datetime
) -> dict[str, Any]:
    """`_audit_row` as SQL, over the alerts that opened grouped by their item (`founded`: the
    item is new)."""
    return {
        "occurred_at": SQL.constant(now),
        "actor": SQL.constant(ACTOR),
        "action": SQL.choose(founded, "item.opened", "item.joined"),
        "entity_type": SQL.constant("item"),
        "entity_id": SQL.text(item_id),
        "order_id": func.min(order_id),
        "detail": func.json_build_object(
            "alerts",
            func.json_agg(aggregate_order_by(alert_id, alert_id)),
            "rules",
            func.json_agg(aggregate_order_by(rule, alert_id)),
        ),
    }


async def _open_items_of_orders(
    session: AsyncSession, order_ids: set[int]
) -> dict[int, list[Finding]]:
    """Each unresolved item of these orders with its unresolved findings (plain rows: a
    midnight reads thousands)."""
    found: dict[int, list[Finding]] = {}
    ids = sorted(order_ids)
    columns = [getattr(Alert, of).label(item) for item, of in HEADLINE_OF_ALERT.items()]
    if session.get_bind().dialect.name == "postgresql":
        # One array, one statement: an IN list of thousands of parameters costs more to bind
        # than the query takes.
        chunks: list[Any] = [Alert.order_id == any_(db.array_param(ids, Integer()))]
    else:
        chunks = [Alert.order_id.in_(ids[i : i + _CHUNK]) for i in range(0, len(ids), _CHUNK)]
    for of_orders in chunks if ids else []:
        stmt = (
            select(
                Alert.id,
                Alert.order_id,
                Alert.severity,
                Alert.opened_at,
                Alert.item_id,
                *columns,
            )
            .join(WorkItem, WorkItem.id == Alert.item_id)
            .where(
                of_orders,
                Alert.status != AlertStatus.RESOLVED.value,
                WorkItem.status != AlertStatus.RESOLVED.value,
            )
            .order_by(Alert.item_id, Alert.id)
        )
        for row in (await session.execute(stmt)).mappings():
            found.setdefault(row["item_id"], []).append(_finding_of_row(row))
    return found


def _finding_of_row(row: RowMapping) -> Finding:
    return Finding(
        alert_id=row["id"],
        order_id=row["order_id"],
        rule=row["rule"],
        severity=row["severity"],
        opened_at=row["opened_at"],
        content={item: row[item] for item in HEADLINE_OF_ALERT},
    )


async def _found_items(
    session: AsyncSession, founding: Sequence[Sequence[Finding]], *, now: datetime
) -> list[int]:
    """Inserts one item per group of findings; their ids, in order."""
    rows = [
        {**headline_fields(members), "order_id": members[0].order_id, **founded_state(PYTHON, now)}
        for members in founding
    ]
    if not rows:
        return []
    if session.get_bind().dialect.name == "postgresql":
        # One statement whatever the count: a midnight founds tens of thousands.
        return await db.insert_arrays(session, _items, rows, returning_ids=True)
    items = [WorkItem(**row) for row in rows]
    session.add_all(items)
    await session.flush()
    return [item.id for item in items]


async def _set_alert_items(session: AsyncSession, assignments: Sequence[tuple[int, int]]) -> None:
    if not assignments:
        return
    if session.get_bind().dialect.name == "postgresql":
        rows = [{"id": alert_id, "item_id": item_id} for alert_id, item_id in assignments]
        await db.update_arrays(session, _alerts, rows)
    else:
        for alert_id, item_id in assignments:
            await session.execute(update(Alert).where(Alert.id == alert_id).values(item_id=item_id))
    # The session's copies of these alerts (the per-order path holds them) learn their item.
    item_of = dict(assignments)
    for cached in list(session.identity_map.values()):
        if isinstance(cached, Alert) and cached.id in item_of:
            set_committed_value(cached, "item_id", item_of[cached.id])


# After opening: the item's headline follows its findings.


async def unresolved_findings(session: AsyncSession, item_id: int) -> list[Finding]:
    stmt = (
        select(Alert)
        .where(Alert.item_id == item_id, Alert.status != AlertStatus.RESOLVED.value)
        .order_by(Alert.id)
    )
    return [Finding.of(alert) for alert in (await session.execute(stmt)).scalars()]


async def lock_item(session: AsyncSession, item_id: int) -> WorkItem:
    """The item read afresh under a lock, after its order's (docs/locking.md: order, alerts)."""
    found = (
        await session.execute(select(WorkItem.order_id).where(WorkItem.id == item_id))
    ).one_or_none()
    if found is None:
        raise NotFound(f"No work item with id {item_id}.")
    if found.order_id is not None:
        await session.execute(db.lock_rows(select(Order.id).where(Order.id == found.order_id)))
    stmt = db.lock_rows(select(WorkItem).where(WorkItem.id == item_id))
    return (await session.execute(stmt.execution_options(populate_existing=True))).scalar_one()


async def after_findings_changed(
    session: AsyncSession, item_id: int | None, *, now: datetime, closed_by: Closure | None
) -> None:
    """A finding of the item was resolved or changed: the headline follows; when none is left
    the item closes, the way its last finding did (`closed_by`)."""
    if item_id is None:
        return
    item = await session.get(WorkItem, item_id)
    if item is None or item.status == AlertStatus.RESOLVED.value:
        return
    findings = await unresolved_findings(session, item_id)
    if findings:
        for name, value in headline_fields(findings).items():
            setattr(item, name, value)
        item.updated_at = now
        return
    closure = closed_by or Closure(outcome="carrier_found_it", note=None, actor=ACTOR, auto=True)
    close(item, closure, now=now)
    action = "item.auto_resolved" if closure.auto else "item.resolved"
    await audit_item(
        session, item, action, closure.actor, {"outcome": closure.outcome, "note": closure.note}
    )


@dataclass(frozen=True, slots=True)
class Closure:
    outcome: str
    note: str | None
    actor: str
    auto: bool


def close(item: WorkItem, closure: Closure, *, now: datetime) -> None:
    item.status = AlertStatus.RESOLVED.value
    item.outcome = closure.outcome
    item.resolution_note = closure.note
    item.resolved_at = now
    item.resolved_by = closure.actor
    item.auto_resolved = closure.auto
    item.updated_at = now


async def acknowledge(
    session: AsyncSession, item_id: int | None, *, actor: str, now: datetime
) -> None:
    """open -> acknowledged (an acknowledged or resolved item stays as it is)."""
    if item_id is None:
        return
    item = await session.get(WorkItem, item_id)
    if item is None or item.status != AlertStatus.OPEN.value:
        return
    item.status = AlertStatus.ACKNOWLEDGED.value
    item.acknowledged_at = now
    item.acknowledged_by = actor
    item.updated_at = now
    await audit_item(session, item, "item.acknowledged", actor, {})


async def audit_item(
    session: AsyncSession, item: WorkItem, action: str, actor: str, detail: dict[str, object]
) -> None:
    """An audit entry about a work item (its rule, then `detail`), in the caller's transaction."""
    await audit_repository.record(
        session,
        actor=actor,
        action=action,
        entity_type="item",
        entity_id=str(item.id),
        order_id=item.order_id,
        detail={"rule": item.rule, **detail},
    )


async def announce_again(session: AsyncSession, item_id: int | None, *, now: datetime) -> None:
    """The item's group names it as new in its next message (its severity rose)."""
    if item_id is None:
        return
    await session.execute(
        update(WorkItem)
        .where(WorkItem.id == item_id, WorkItem.status != AlertStatus.RESOLVED.value)
        .values(announced_at=None, updated_at=now)
        .execution_options(synchronize_session=False)
    )
