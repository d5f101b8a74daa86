"""Push subscriptions as state (`carrier_subscriptions`), for carriers that subscribe per
tracking number (UPS Track Alert: every leg; USPS: hand-off legs only): each such active leg gets
a row (`none`); the worker claims due rows a batch at a time (`pending`), asks the carrier, and
records `active` until the subscription's expiry (none for a long-lived one), or `failed` with
the next try. Active subscriptions are renewed before they expire while their leg is still
tracked; the others lapse to `expired`, a long-lived one as soon as its leg stops being
tracked."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, and_, exists, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app import db
from app.shipments.models import Leg
from app.tracking.models import CarrierState, CarrierSubscription

# Scopes: one tracking number (a leg), or a whole account (every leg of the carrier).
NUMBER, ACCOUNT = "number", "account"
# Which legs a carrier subscribes per number: all of them, or only hand-off legs (a
# consolidator's number, which the shop's account-wide subscription does not cover).
ALL_LEGS, HANDOFF_LEGS = "all", "handoff"
NONE, PENDING, ACTIVE, FAILED, EXPIRED = "none", "pending", "active", "failed", "expired"
STATES = (NONE, PENDING, ACTIVE, FAILED, EXPIRED)
# UPS subscriptions last 14 days: renewing 2 days early leaves room for a failed renewal.
RENEW_BEFORE = timedelta(days=2)
# A request whose worker died is asked again after this.
PENDING_TIMEOUT = timedelta(minutes=10)
FIRST_RETRY = timedelta(minutes=5)
LONGEST_RETRY = timedelta(hours=6)
# A subscription that began this soon after the label covers the leg's whole story: a parcel
# rarely meets the carrier within half an hour of its label (push_covers_history).
HISTORY_GRACE = timedelta(minutes=30)
# A new leg whose own subscription is on its way looks again this soon (the subscribe job runs
# every minute).
SUBSCRIPTION_WAIT = timedelta(minutes=5)


@dataclass(frozen=True, slots=True)
class ClaimedSubscription:
    id: int
    number: str
    leg_status: str | None = None  # the leg's status when claimed (the call report's state)


def _own_active() -> ColumnElement[bool]:
    return and_(
        CarrierSubscription.leg_id == Leg.id,
        CarrierSubscription.scope == NUMBER,
        CarrierSubscription.state == ACTIVE,
    )


def _account_active() -> ColumnElement[bool]:
    """An active account-wide row covers the legs the shop shipped under its own account: the
    first leg of a shipment. A hand-off number (`handoff_from_leg_id`) is the last-mile
    carrier's number under the consolidator's account or Mailer ID, whose pushes never reach us
    (ASSUMPTION, one place: the shop's own labels of a carrier all ship under the configured
    accounts)."""
    return and_(
        CarrierSubscription.carrier == Leg.carrier,
        CarrierSubscription.scope == ACCOUNT,
        CarrierSubscription.state == ACTIVE,
        Leg.handoff_from_leg_id.is_(None),
    )


def is_subscribed() -> ColumnElement[bool]:
    """The leg (`Leg` in the enclosing query) has an active push subscription."""
    return or_(exists().where(_own_active()), exists().where(_account_active()))


def covered_since() -> ColumnElement[datetime | None]:
    """Since when the leg's active subscription has covered it (its own row, else its
    account's): when it was asked for, or set up. A column of the enclosing query on `Leg`."""
    own = select(CarrierSubscription.requested_at).where(_own_active()).limit(1)
    account = select(func.min(CarrierSubscription.requested_at)).where(_account_active())
    return func.coalesce(own.scalar_subquery(), account.scalar_subquery())


def own_subscription_state() -> ColumnElement[str | None]:
    """The state of the leg's own (per-number) subscription row; empty when it has none."""
    own = select(CarrierSubscription.state).where(
        CarrierSubscription.leg_id == Leg.id, CarrierSubscription.scope == NUMBER
    )
    return own.limit(1).scalar_subquery()


def push_covers_history(label_created_at: datetime, since: datetime | None) -> bool:
    """Whether push has told, or will tell, everything that happened to the leg: its
    subscription began no later than HISTORY_GRACE after its label was created, before the
    parcel could have met the carrier. Then it needs no poll for its history (UPS Track Alert
    keeps none): its first poll is its first confirmation. A scan inside the grace that push
    missed is found by that confirmation, before any alert could rest on its absence."""
    return since is not None and since <= label_created_at + HISTORY_GRACE


def polled_only_to_confirm(
    *, pushed: bool, status: str | None, label_created_at: datetime, since: datetime | None
) -> bool:
    """A pushed leg (`is_pushed`) is polled only to confirm once it has been polled, or from
    the start when push covers its history; else its first poll fetches that history."""
    return pushed and (status is not None or push_covers_history(label_created_at, since))


def subscribes_leg(legs: str | None, *, handoff: bool) -> bool:
    """Whether the worker subscribes this leg by its number: its carrier subscribes `legs`
    (ALL_LEGS, HANDOFF_LEGS, None: none), and the leg is a hand-off number or not."""
    return legs == ALL_LEGS or (legs == HANDOFF_LEGS and handoff)


def waits_for_subscription(
    label_created_at: datetime, state: str | None, *, subscribes: bool, now: datetime
) -> datetime | None:
    """A new leg whose own subscription is on its way waits for it while push could still cover
    its history: until when its first poll is put off, or None to poll now. On its way: its row
    is `none` or `pending` (`state`), or it has no row yet and the worker subscribes it
    (`subscribes`, subscribes_leg: the worker makes the row within a minute)."""
    latest = label_created_at + HISTORY_GRACE
    on_its_way = state in (NONE, PENDING) or (state is None and subscribes)
    if not on_its_way or now >= latest:
        return None
    return min(now + SUBSCRIPTION_WAIT, latest)


def is_pushed() -> ColumnElement[bool]:
    """The leg is subscribed and its carrier's channel is not silent: it is polled only to
    confirm. A column of the enclosing query on `Leg`."""
    silent = exists().where(
        CarrierState.carrier == Leg.carrier, CarrierState.push_silent_since.is_not(None)
    )
    return and_(is_subscribed(), ~silent)


def retry_delay(attempts: int) -> timedelta:
    """Doubling from FIRST_RETRY, at most LONGEST_RETRY."""
    doubled: timedelta = FIRST_RETRY * (2 ** max(0, min(attempts - 1, 16)))
    return min(LONGEST_RETRY, doubled)


async def add_new_legs(
    session: AsyncSession, *, carrier: str, now: datetime, legs: str = ALL_LEGS
) -> int:
    """A `none` row for every active leg of `carrier` that has none yet, of all its legs or of
    its hand-off legs only (`legs`); returns how many."""
    if legs not in (ALL_LEGS, HANDOFF_LEGS):
        raise ValueError(f"legs must be {ALL_LEGS!r} or {HANDOFF_LEGS!r}")
    missing = (
        select(Leg.id, Leg.tracking_number)
        .outerjoin(
            CarrierSubscription,
            and_(CarrierSubscription.leg_id == Leg.id, CarrierSubscription.carrier == carrier),
        )
        .where(Leg.active, Leg.carrier == carrier, CarrierSubscription.id.is_(None))
        .order_by(Leg.id)
    )
    if legs == HANDOFF_LEGS:
        missing = missing.where(Leg.handoff_from_leg_id.is_not(None))
    rows = (await session.execute(missing)).all()
    if rows:
        await session.execute(
            insert(CarrierSubscription),
            [
                {
                    "carrier": carrier,
                    "scope": NUMBER,
                    "subject": number,
                    "leg_id": leg_id,
                    "state": NONE,
                    "attempts": 0,
                    "created_at": now,
                    "updated_at": now,
                }
                for leg_id, number in rows
            ],
        )
    return len(rows)


def _due(now: datetime) -> ColumnElement[bool]:
    return or_(
        CarrierSubscription.state.in_([NONE, EXPIRED]),
        and_(CarrierSubscription.state == FAILED, CarrierSubscription.next_attempt_at <= now),
        and_(
            CarrierSubscription.state == ACTIVE,
            CarrierSubscription.expires_at <= now + RENEW_BEFORE,
        ),
        and_(
            CarrierSubscription.state == PENDING,
            CarrierSubscription.requested_at < now - PENDING_TIMEOUT,
        ),
    )


async def any_due(session: AsyncSession, *, carrier: str, now: datetime) -> bool:
    """Whether `claim_due` would find a subscription of `carrier` to ask for now (not locked:
    a hint before taking a slot of the carrier's budget)."""
    stmt = (
        select(CarrierSubscription.id)
        .join(Leg, Leg.id == CarrierSubscription.leg_id)
        .where(CarrierSubscription.carrier == carrier, Leg.active, _due(now))
        .limit(1)
    )
    return (await session.execute(stmt)).first() is not None


async def claim_due(
    session: AsyncSession, *, carrier: str, now: datetime, limit: int
) -> list[ClaimedSubscription]:
    """Up to `limit` subscriptions of tracked legs to ask for now (new, failed and due, expiring
    or expired, pending too long), marked pending; rows other workers hold are skipped."""
    stmt = (
        select(CarrierSubscription.id, CarrierSubscription.subject, Leg.status)
        .join(Leg, Leg.id == CarrierSubscription.leg_id)
        .where(CarrierSubscription.carrier == carrier, Leg.active, _due(now))
        .order_by(CarrierSubscription.id)
        .limit(limit)
    )
    rows = (
        await session.execute(db.lock_rows(stmt, of=CarrierSubscription, skip_locked=True))
    ).all()
    if rows:
        await session.execute(
            update(CarrierSubscription)
            .where(CarrierSubscription.id.in_([row.id for row in rows]))
            .values(
                state=PENDING,
                requested_at=now,
                attempts=CarrierSubscription.attempts + 1,
                updated_at=now,
            )
        )
    return [ClaimedSubscription(row.id, row.subject, row.status) for row in rows]


async def record_answer(
    session: AsyncSession,
    claimed: Sequence[ClaimedSubscription],
    *,
    subscribed: Sequence[str],
    reference: str | None,
    expires_at: datetime | None,
    now: datetime,
) -> None:
    """Subscribed numbers become active until `expires_at` (None: until their leg stops being
    tracked); the rest failed for good (the carrier refused the number itself: asking again
    cannot help)."""
    active = [c.id for c in claimed if c.number in set(subscribed)]
    refused = [c.id for c in claimed if c.number not in set(subscribed)]
    if active:
        await session.execute(
            update(CarrierSubscription)
            .where(CarrierSubscription.id.in_(active), CarrierSubscription.state == PENDING)
            .values(
                state=ACTIVE,
                expires_at=expires_at,
                carrier_reference=reference,
                next_attempt_at=None,
                last_error=None,
                attempts=0,
                updated_at=now,
            )
        )
    if refused:
        await _fail(
            session, refused, error="the carrier refused the number", retry_at=None, now=now
        )


async def record_failure(
    session: AsyncSession,
    claimed: Sequence[ClaimedSubscription],
    *,
    error: str,
    retryable: bool,
    now: datetime,
) -> None:
    """The request failed as a whole: its subscriptions are tried again later (backing off),
    or never when the carrier refused the request as such."""
    ids = [c.id for c in claimed]
    attempts = dict(
        (
            await session.execute(
                select(CarrierSubscription.id, CarrierSubscription.attempts).where(
                    CarrierSubscription.id.in_(ids)
                )
            )
        ).all()
    )
    for attempt in sorted(set(attempts.values())):
        same = [i for i in ids if attempts.get(i) == attempt]
        retry_at = now + retry_delay(attempt) if retryable else None
        await _fail(session, same, error=error, retry_at=retry_at, now=now)


async def expire_lapsed(session: AsyncSession, *, now: datetime) -> int:
    """Active subscriptions past their expiry (their leg no longer tracked), and long-lived
    per-number ones (no expiry) whose leg is no longer tracked, become expired. The carrier is
    not asked to delete the latter: USPS drops a subscription after 30 days without activity,
    and a call would take quota from polls."""
    untracked = select(Leg.id).where(Leg.id == CarrierSubscription.leg_id, ~Leg.active)
    lapsed = or_(
        CarrierSubscription.expires_at <= now,
        and_(
            CarrierSubscription.expires_at.is_(None),
            CarrierSubscription.scope == NUMBER,
            untracked.exists(),
        ),
    )
    result = await session.execute(
        update(CarrierSubscription)
        .where(CarrierSubscription.state == ACTIVE, lapsed)
        .values(state=EXPIRED, updated_at=now)
    )
    return int(getattr(result, "rowcount", 0) or 0)


async def _fail(
    session: AsyncSession,
    ids: Sequence[int],
    *,
    error: str,
    retry_at: datetime | None,
    now: datetime,
) -> None:
    await session.execute(
        update(CarrierSubscription)
        .where(CarrierSubscription.id.in_(ids), CarrierSubscription.state == PENDING)
        .values(state=FAILED, last_error=error[:1000], next_attempt_at=retry_at, updated_at=now)
    )


async def sync_accounts(
    session: AsyncSession, *, carrier: str, accounts: Sequence[str], now: datetime
) -> tuple[int, int]:
    """The carrier's account-wide subscriptions become exactly `accounts`, each active (set up
    at the carrier: FedEx's portal, a USPS subscription by Mailer ID); an account no longer
    configured lapses to expired, and its carrier's legs go back to the polling cadence when
    none is left. Returns (activated, expired)."""
    rows = (
        await session.execute(
            select(CarrierSubscription).where(
                CarrierSubscription.carrier == carrier, CarrierSubscription.scope == ACCOUNT
            )
        )
    ).scalars()
    held = {row.subject: row for row in rows}
    activated = expired = 0
    for account in accounts:
        row = held.get(account)
        if row is None:
            session.add(
                CarrierSubscription(
                    carrier=carrier, scope=ACCOUNT, subject=account, leg_id=None, state=ACTIVE,
                    attempts=0, requested_at=now, created_at=now, updated_at=now,
                )
            )  # fmt: skip
            activated += 1
        elif row.state != ACTIVE:
            # Covered again from now on (covered_since): what happened meanwhile was not pushed.
            row.state, row.updated_at, row.last_error = ACTIVE, now, None
            row.requested_at = now
            activated += 1
    for subject, row in held.items():
        if subject not in accounts and row.state == ACTIVE:
            row.state, row.updated_at = EXPIRED, now
            expired += 1
    return activated, expired


async def count_by_state(session: AsyncSession) -> dict[tuple[str, str], int]:
    """Subscriptions by (carrier, state)."""
    stmt = select(CarrierSubscription.carrier, CarrierSubscription.state, func.count()).group_by(
        CarrierSubscription.carrier, CarrierSubscription.state
    )
    return {(str(c), str(s)): int(n) for c, s, n in (await session.execute(stmt)).all()}
