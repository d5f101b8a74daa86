"""What the console's pages show, gathered from the domains' own services and repositories. No
rules live here: the order file comes from the lookup service, what the customer sees from the
public service, alert changes go through the alert service."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from app.alerts import destination_state, item_repository
from app.alerts import repository as alerts_repository
from app.alerts.destinations import is_paused
from app.alerts.item_repository import ItemFilters
from app.alerts.models import Alert, AlertNotification, WorkItem
from app.alerts.repository import UNRESOLVED_STATUSES
from app.audit import repository as audit_repository
from app.audit.models import AuditEntry
from app.auth import repository as auth_repository
from app.auth.roles import READ_ROLES, Role
from app.auth.service import Principal
from app.console.sessions import ConsoleSessions, SessionClaim
from app.errors import NotFound
from app.kernel.findings import SEVERITY_RANK
from app.orderfile import lookup
from app.orderfile.rows import OrderFileReader
from app.orderfile.schemas import OrderDetailRead
from app.public import service as public_service
from app.public.schemas import PublicStatus
from app.shipments import repository as shipments_repository

BOARD_LIMIT = 200


async def find_session_principal(
    session: AsyncSession, *, claim: SessionClaim, sessions: ConsoleSessions
) -> Principal | None:
    """Who holds a console session, re-checked against the key: None once it is revoked."""
    key = await auth_repository.find_key(session, claim.key_id)
    if key is None or key.revoked_at is not None or not sessions.key_matches(claim, key.key_hash):
        return None
    role = Role(key.role)
    return Principal(key_id=key.id, name=key.name, role=role) if role in READ_ROLES else None


async def get_key_hash(session: AsyncSession, *, key_id: int) -> str:
    """The stored hash of a key, which a new session is bound to."""
    key = await auth_repository.find_key(session, key_id)
    if key is None:
        raise NotFound(f"No API key with id {key_id}.")
    return key.key_hash


@dataclass(frozen=True, slots=True)
class OrderPage:
    order: OrderDetailRead
    alerts: list[Alert]
    customer_view: PublicStatus
    notices: list[AlertNotification]
    audit: list[AuditEntry]

    @property
    def open_alerts(self) -> list[Alert]:
        return [a for a in self.alerts if a.status in UNRESOLVED_STATUSES]

    @property
    def closed_alerts(self) -> list[Alert]:
        return [a for a in self.alerts if a.status not in UNRESOLVED_STATUSES]

    @property
    def main_problem(self) -> Alert | None:
        """The open alert an agent deals with first: the most severe, then the oldest."""
        return min(
            self.open_alerts,
            key=lambda a: (-SEVERITY_RANK.get(a.severity, 0), a.opened_at),
            default=None,
        )


async def load_order_page(session: AsyncSession, *, order_number: str, now: datetime) -> OrderPage:
    """The whole file of one order, as an agent needs it before answering the customer."""
    found = await shipments_repository.find_order_by_number(session, order_number)
    if found is None:
        raise NotFound(f"No order with number '{order_number}'.")
    file = await OrderFileReader(session=session, pool=None).by_id(found.id)
    if file is None:
        raise NotFound(f"No order with number '{order_number}'.")
    orders = await shipments_repository.list_orders_with_legs(session, [found.id])
    (detail,) = await lookup.build_order_details(session, orders, {found.id: set()})
    return OrderPage(
        order=detail,
        alerts=await alerts_repository.list_alerts_for_order(session, found.id),
        customer_view=public_service.build_status(
            file, now=now, calendar=public_service.DEFAULT_CALENDAR
        ),
        notices=await alerts_repository.list_customer_notices_for_order(session, found.id),
        audit=await audit_repository.list_for_order(session, found.id),
    )


@dataclass(frozen=True, slots=True)
class BoardFilters:
    """The board filters by every key ops messages are grouped by."""

    rule: str | None = None
    carrier: str | None = None
    team: str | None = None
    severity: str | None = None
    status: str | None = None  # open, acknowledged or resolved; open and acknowledged when None
    min_age_hours: float | None = None


@dataclass(frozen=True, slots=True)
class BoardRow:
    item: WorkItem
    order_number: str | None
    findings: list[Alert]  # unresolved first, most specific first

    @property
    def headline_alert(self) -> Alert | None:
        return self.findings[0] if self.findings else None

    @property
    def also(self) -> list[str]:
        """The rules of its other unresolved findings."""
        return [a.rule for a in self.findings[1:] if a.status != "resolved"]


@dataclass(frozen=True, slots=True)
class Board:
    rows: list[BoardRow]
    total: int
    by_rule: list[tuple[str, int]] = field(default_factory=list)
    by_carrier: list[tuple[str, int]] = field(default_factory=list)
    by_team: list[tuple[str, int]] = field(default_factory=list)
    by_severity: list[tuple[str, int]] = field(default_factory=list)


async def load_board(session: AsyncSession, *, filters: BoardFilters, now: datetime) -> Board:
    """Work items matching the filters, oldest first, with counts over all unresolved ones."""
    hours = filters.min_age_hours
    rows, total = await item_repository.list_items(
        session,
        filters=ItemFilters(
            statuses=(filters.status,) if filters.status else UNRESOLVED_STATUSES,
            rule=filters.rule,
            carrier=filters.carrier,
            team=filters.team,
            severity=filters.severity,
            opened_before=now - timedelta(hours=hours) if hours is not None else None,
        ),
        limit=BOARD_LIMIT,
        after=None,
        newest_first=filters.status == "resolved",  # what closed lately comes first
    )
    findings = await item_repository.findings_of(session, [item.id for item, _ in rows])

    async def counts(column: str) -> list[tuple[str, int]]:
        pairs = await item_repository.count_items_by(
            session, statuses=UNRESOLVED_STATUSES, column=column
        )
        return [(key or "-", n) for key, n in pairs]

    return Board(
        rows=[BoardRow(item, number, findings.get(item.id, [])) for item, number in rows],
        total=total,
        by_rule=await counts("rule"),
        by_carrier=await counts("carrier"),
        by_team=await counts("team"),
        by_severity=await counts("severity"),
    )


async def load_alert(session: AsyncSession, *, alert_id: int) -> tuple[Alert, str | None]:
    """An alert and the number of its order, if it concerns one."""
    alert = await alerts_repository.get_alert(session, alert_id)
    return alert, await alerts_repository.find_order_number(session, alert.order_id)


@dataclass(frozen=True, slots=True)
class TroubledDestination:
    """An alert destination that is paused or failing, named by its hash (never its URL)."""

    channel: str
    destination: str
    paused: bool
    waits_until: datetime | None
    consecutive_failures: int
    breaker_state: str
    rate_limited: int
    failing_since: datetime | None
    last_error: str | None


async def list_troubled_destinations(
    session: AsyncSession, *, now: datetime
) -> list[TroubledDestination]:
    """Destinations whose messages wait now (429 pause, open breaker) or whose last sends
    failed; the healthy ones are left out."""
    troubled = []
    for row in await destination_state.list_destinations(session):
        state = destination_state.state_of(row)
        paused = is_paused(state, now=now)
        if not paused and row.breaker_failures == 0:
            continue
        waits = [t for t in (row.paused_until, row.breaker_open_until) if t and t > now]
        troubled.append(
            TroubledDestination(
                channel=row.channel,
                destination=row.destination,
                paused=paused,
                waits_until=max(waits) if waits else None,
                consecutive_failures=row.breaker_failures,
                breaker_state=row.breaker_state,
                rate_limited=row.rate_limited,
                failing_since=row.failing_since,
                last_error=row.last_error,
            )
        )
    return troubled
