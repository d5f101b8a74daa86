"""One worker's polling pass: claim due legs, ask carriers within their limits, record answers.

Retries happen at one layer only, here, by rescheduling the leg (capped exponential backoff with
full jitter); adapters never retry. Carrier-wide limits and the breaker live in carrier_states.
"""

from __future__ import annotations

import asyncio
import logging
import time
import weakref
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from random import Random

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app import metrics
from app.db import retry_on_conflict, session_scope
from app.kernel import breaker as breakers
from app.kernel.breaker import BreakerPolicy
from app.kernel.clock import Clock
from app.kernel.send_slots import SlotSource
from app.tracking import carrier_state, claims, recording
from app.tracking.cadence import CadenceTable, polls_saved
from app.tracking.claims import LegClaim
from app.tracking.judging import (
    CarrierVerdict,
    JudgingPolicy,
    first_poll_put_off,
    judge_answer,
    judge_carrier,
)
from app.tracking.models import CarrierState
from app.tracking.rate import (
    CarrierLimits,
    QuotaWindows,
    Reservation,
    plan_reservation,
)
from app.tracking.setting_aside import record_isolated
from app.tracking.subscriptions import subscribes_leg
from carriers.errors import CarrierUnavailable
from carriers.protocol import CarrierClient, TrackingFailure, TrackingResult
from carriers.types import TrackingQuery, TrackingStatus

logger = logging.getLogger("app.tracking.poller")
Sleep = Callable[[float], Awaitable[None]]


# Clients that completed a call in this process (their token and connections exist); a Poller
# lives for one pass, the clients for the whole process.
_warm_clients: weakref.WeakSet[CarrierClient] = weakref.WeakSet()


@dataclass(frozen=True, slots=True)
class PollerSettings:
    judging: JudgingPolicy
    breaker: BreakerPolicy = field(default_factory=BreakerPolicy)
    claim_size: int = 200
    lease: timedelta = timedelta(minutes=2)
    concurrency: int = 32  # requests in flight per carrier in this worker
    pipelines: int = 2  # claim-poll-record loops per carrier in this worker
    horizon: timedelta = timedelta(seconds=2)
    slot_tolerance: timedelta = timedelta(milliseconds=50)  # later than this, a call is not sent
    # Carriers the worker subscribes per number: their new legs wait for it (first_poll_put_off).
    subscribing: Mapping[str, str] = field(default_factory=dict)  # carrier -> which legs


@dataclass
class CarrierPollReport:
    carrier: str
    legs: int = 0
    calls: int = 0
    events_stored: int = 0
    failures: int = 0
    takeovers: int = 0
    legs_added: int = 0
    set_aside: int = 0
    put_off: int = 0  # new legs whose first poll push made unneeded now (no call)
    waiting_until: datetime | None = None


class Poller:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        *,
        clients: Mapping[str, CarrierClient],
        limits: Mapping[str, CarrierLimits],
        settings: PollerSettings,
        worker_id: str,
        clock: Clock,
        sleep: Sleep = asyncio.sleep,
        rng: Random | None = None,
    ) -> None:
        self._sessionmaker = sessionmaker
        self._clients = clients
        self._limits = limits
        self._settings = settings
        self._worker_id = worker_id
        self._clock = clock
        self._sleep = sleep
        self._rng = rng or Random()

    async def poll_due(self) -> list[CarrierPollReport]:
        """Polls every due leg of every carrier until none is due or limits say wait."""
        return list(await asyncio.gather(*(self.poll_carrier(c) for c in self._clients)))

    async def poll_carrier(self, carrier: str) -> CarrierPollReport:
        report = CarrierPollReport(carrier)
        # A carrier with an hourly or daily quota gets one pipeline: two would each claim a
        # share of the due legs and split the scarce calls between them, the second pipeline's
        # lower-priority legs beside the first's overdue ones. Calls go out in claim order.
        limits = self._limits[carrier]
        rationed = limits.per_hour is not None or limits.per_day is not None
        pipelines = 1 if rationed else self._settings.pipelines
        # The worker's concurrency is shared by its pipelines; slots are handed out as calls
        # start (SlotSource), so a large claim never holds slots it cannot use in time.
        calls_each = max(1, self._settings.concurrency // pipelines)
        legs_each = self._settings.claim_size

        async def pipeline() -> None:
            in_flight = asyncio.Semaphore(calls_each)
            while True:
                claimed = await self._claim(carrier, limit=legs_each, report=report)
                if not claimed:
                    return
                due = await self._put_off_first_polls(carrier, claimed, report)
                if not due:
                    continue
                report.takeovers += sum(1 for c in due if c.taken_over_from)
                if not await self._poll_claims(
                    carrier, due, in_flight, report, calls_at_once=calls_each
                ):
                    return

        await asyncio.gather(*(pipeline() for _ in range(pipelines)))
        metrics.LEASE_TAKEOVERS.inc(report.takeovers)
        return report

    @retry_on_conflict
    async def _claim(
        self, carrier: str, *, limit: int, report: CarrierPollReport
    ) -> list[LegClaim]:
        """Leases the most urgent due legs; no more than the carrier's quotas can still serve
        (less the legs already leased, whose calls are on their way), so that legs the quota
        cannot cover stay unclaimed for whoever has room, in priority order."""
        async with session_scope(self._sessionmaker) as session:
            now = self._clock()
            room = await carrier_state.quota_room(
                session, carrier, limits=self._limits[carrier], now=now
            )
            if room is not None:
                leased = await claims.count_leased(session, carrier=carrier, now=now)
                limit = min(limit, room.calls - leased)
                if limit <= 0:
                    report.waiting_until = room.opens_at if room.calls == 0 else None
                    return []
            return await claims.claim_due_legs(
                session,
                carrier=carrier,
                worker_id=self._worker_id,
                now=now,
                lease=self._settings.lease,
                limit=limit,
            )

    @retry_on_conflict
    async def _put_off_first_polls(
        self, carrier: str, due: list[LegClaim], report: CarrierPollReport
    ) -> list[LegClaim]:
        """New legs whose first poll push makes unneeded now are rescheduled without a call
        (judging.first_poll_put_off); returns the legs to poll. A leg pushed from its label on
        counts the polls it saved: its history poll and what the polled cadence would have made
        of a label before its confirmation (as cadence.polls_saved estimates)."""
        now = self._clock()
        legs = self._settings.subscribing.get(carrier)
        later: dict[int, datetime] = {}
        saved = 0
        cadence = self._settings.judging.cadence
        for claim in due:
            subscribes = subscribes_leg(legs, handoff=claim.handoff)
            at = first_poll_put_off(
                claim, now=now, policy=self._settings.judging, subscribes=subscribes
            )
            if at is None:
                continue
            later[claim.id] = at
            if claim.pushed:  # else waiting for its subscription: nothing saved yet
                saved += 1 + polls_saved(
                    TrackingStatus.LABEL_CREATED,
                    now=now,
                    deadline=claim.alert_deadline_at,
                    until=at,
                    table=cadence,
                )
        if not later:
            return due
        async with session_scope(self._sessionmaker) as session:
            await claims.put_off_legs(session, later, worker_id=self._worker_id)
            if saved:
                await recording.count_calls(
                    session,
                    day=now.date(),
                    carrier=carrier,
                    tally=recording.CallTally(polls_saved=Counter({"new": saved})),
                )
        report.put_off += len(later)
        return [claim for claim in due if claim.id not in later]

    async def _poll_claims(
        self,
        carrier: str,
        due: list[LegClaim],
        in_flight: asyncio.Semaphore,
        report: CarrierPollReport,
        *,
        calls_at_once: int,
    ) -> bool:
        """Polls what the carrier's limits allow now; returns False when the rest must wait."""
        client = self._clients[carrier]
        size = max(1, client.batch_size)
        batches = [due[i : i + size] for i in range(0, len(due), size)]
        # A client without a token or connection yet calls once alone first: calls queued
        # behind its token fetch would reach the carrier together, over its rate.
        cold = client not in _warm_clients
        later = [leg.id for batch in batches[1:] for leg in batch] if cold else []
        batches = batches[:1] if cold else batches
        slots = SlotSource(
            lambda wanted: self._reserve(carrier, wanted),
            block=1 if cold else calls_at_once,
            clock=self._clock,
            tolerance=self._settings.slot_tolerance,
        )
        answers = await asyncio.gather(
            *(self._call(client, batch, slots, in_flight) for batch in batches)
        )
        sent = [(b, a) for b, a in zip(batches, answers, strict=True) if a is not None]
        missed = [leg.id for b, a in zip(batches, answers, strict=True) if a is None for leg in b]
        await self._release(missed + later)  # not sent: still due, for fresh slots
        await self._give_back(carrier, slots.unused())
        if slots.exhausted:
            report.waiting_until = slots.wait_until
        await self._record(carrier, [b for b, _ in sent], [a for _, a in sent], report)
        return not slots.exhausted

    @retry_on_conflict
    async def _release(self, leg_ids: list[int]) -> None:
        if leg_ids:
            async with session_scope(self._sessionmaker) as session:
                await claims.release_legs(session, leg_ids=leg_ids, worker_id=self._worker_id)

    @retry_on_conflict
    async def _give_back(self, carrier: str, unused: Counter[QuotaWindows]) -> None:
        """Slots reserved but never used stop counting against the carrier's quotas."""
        if not unused:
            return
        async with session_scope(self._sessionmaker) as session:
            await carrier_state.give_back_slots(session, carrier, unused, now=self._clock())

    @retry_on_conflict
    async def _reserve(self, carrier: str, wanted: int) -> Reservation:
        async with session_scope(self._sessionmaker) as session:
            state = await carrier_state.lock_carrier_state(session, carrier, now=self._clock())
            # Read after the lock wait: slots planned from a stale now would start in the past.
            now = self._clock()
            admitted, breaker = breakers.admits(
                carrier_state.breaker_of(state), now=now, policy=self._settings.breaker
            )
            if not admitted:
                metrics.BREAKER_OPEN.labels(carrier).set(1)
                return Reservation((), breaker.open_until)
            if breaker.state == "half_open":
                wanted = 1  # one probe call decides whether the carrier is back
            carrier_state.store_breaker(state, breaker)
            reservation, budget = plan_reservation(
                carrier_state.budget_of(state),
                wanted=wanted,
                limits=self._limits[carrier],
                now=now,
                horizon=self._settings.horizon,
            )
            carrier_state.store_budget(state, budget)
            state.updated_at = now
            return reservation

    async def _call(
        self,
        client: CarrierClient,
        batch: Sequence[LegClaim],
        slots: SlotSource[QuotaWindows],
        in_flight: asyncio.Semaphore,
    ) -> list[TrackingResult] | None:
        """The carrier's answers, or None when the call got no slot or missed it: not sent."""
        queries = [
            TrackingQuery(leg.tracking_number, leg.service, leg.label_created_at) for leg in batch
        ]
        async with in_flight:
            send_at = await slots.take()
            if send_at is None:
                return None
            delay = (send_at - self._clock()).total_seconds()
            if delay > 0:
                await self._sleep(delay)
            if self._clock() - send_at > self._settings.slot_tolerance:
                # A busy event loop woke us late; sending now would bunch with calls sent on
                # time in later slots, and the carrier would see more than its rate in a second.
                slots.not_sent(send_at)
                return None
            started = time.perf_counter()
            try:
                results = await client.fetch_tracking(queries)
            except Exception as exc:  # an adapter must not raise; if one does, it is an outage
                logger.exception("carrier %s raised out of fetch_tracking", client.code)
                error = CarrierUnavailable(
                    f"adapter error: {type(exc).__name__}", carrier=client.code
                )
                results = [TrackingFailure(q.tracking_number, error) for q in queries]
            _warm_clients.add(client)
            metrics.CALL_SECONDS.labels(client.code).observe(time.perf_counter() - started)
        metrics.CARRIER_CALLS.labels(client.code).inc()
        if len(results) != len(queries):
            error = CarrierUnavailable("adapter answered the wrong number of results")
            results = [TrackingFailure(q.tracking_number, error) for q in queries]
        return results

    @retry_on_conflict
    async def _record(
        self,
        carrier: str,
        batches: list[list[LegClaim]],
        answers: list[list[TrackingResult]],
        report: CarrierPollReport,
    ) -> None:
        if not batches:
            return
        now = self._clock()
        outcomes = [
            judge_answer(leg, result, now=now, policy=self._settings.judging, rng=self._rng)
            for batch, results in zip(batches, answers, strict=True)
            for leg, result in zip(batch, results, strict=True)
        ]
        verdicts = [judge_carrier(results, now=now) for results in answers]
        async with session_scope(self._sessionmaker) as session:
            isolated = await record_isolated(
                session, outcomes=outcomes, worker_id=self._worker_id, now=now
            )
            await self._update_carrier(session, carrier, verdicts, now)
            await recording.count_calls(
                session,
                day=now.date(),
                carrier=carrier,
                tally=_tally(batches, outcomes, now, self._settings.judging.cadence),
            )
        recorded = isolated.recorded
        _count(carrier, outcomes, recorded)
        metrics.QUARANTINED.labels("polling", "leg").inc(len(isolated.set_aside))
        report.set_aside += len(isolated.set_aside)
        report.legs += len(outcomes)
        report.calls += len(batches)
        report.events_stored += recorded.events_stored
        report.failures += sum(1 for o in outcomes if o.progress is None)
        report.legs_added += recorded.legs_added

    async def _update_carrier(
        self,
        session: AsyncSession,
        carrier: str,
        verdicts: Sequence[CarrierVerdict],
        now: datetime,
    ) -> None:
        """Folds each call's verdict, in order, into the carrier's shared health and breaker."""
        state = await carrier_state.lock_carrier_state(session, carrier, now=now)
        was_failing = state.failing_since is not None
        breaker = carrier_state.breaker_of(state)
        for verdict in verdicts:
            breaker = self._fold_verdict(state, breaker, verdict, now)
        carrier_state.store_breaker(state, breaker)
        if was_failing and state.failing_since is None:
            # The carrier is back: legs that backed off during the outage are due now, not
            # hours later, so detection catches up at once.
            await claims.reschedule_backed_off_legs(session, carrier=carrier, now=now)
        metrics.BREAKER_OPEN.labels(carrier).set(1 if breaker.state == "open" else 0)
        state.updated_at = now

    def _fold_verdict(
        self, state: CarrierState, breaker: breakers.Breaker, verdict: CarrierVerdict, now: datetime
    ) -> breakers.Breaker:
        if verdict.answered:
            breaker = breakers.after_success(breaker)
            state.last_success_at, state.failing_since = now, None
            state.last_error, state.last_error_kind = None, None
        elif verdict.auth_error is not None:
            # Bad credentials: stop asking until someone can have fixed them.
            breaker = breakers.Breaker(
                "open", breaker.failures + 1, now + self._settings.judging.auth_retry
            )
            _failing(state, now, verdict.auth_error.kind, verdict.auth_error.message)
        elif verdict.failure is not None:
            breaker = breakers.after_failure(breaker, now=now, policy=self._settings.breaker)
            _failing(state, now, verdict.failure.kind, verdict.failure.message)
        if verdict.rate_limited_until is not None:
            state.paused_until = max(state.paused_until or now, verdict.rate_limited_until)
        return breaker


def _failing(state: CarrierState, now: datetime, kind: str, message: str) -> None:
    state.failing_since = state.failing_since or now
    state.last_error_kind = kind
    state.last_error = message[:500]


def _tally(
    batches: Sequence[Sequence[LegClaim]],
    outcomes: Sequence[recording.LegOutcome],
    now: datetime,
    cadence: CadenceTable,
) -> recording.CallTally:
    legs = [leg for batch in batches for leg in batch]
    day = now.date()
    return recording.CallTally(
        calls=Counter(_call_status(batch) for batch in batches),
        leg_polls=Counter(leg.progress.status or "new" for leg in legs),
        new_legs=Counter(leg.progress.status or "new" for leg in legs if leg.last_poll_day != day),
        polls_saved=_polls_saved(outcomes, now, cadence),
    )


def _polls_saved(
    outcomes: Sequence[recording.LegOutcome], now: datetime, cadence: CadenceTable
) -> Counter[str]:
    """Per leg state, the polls pushed legs will not need before their next poll: what the
    polled cadence would make in between (cadence.polls_saved), counted when the poll is
    recorded. An estimate: a deadline or silent channel may yet pull the next poll in."""
    saved: Counter[str] = Counter()
    for outcome in outcomes:
        if not outcome.claim.pushed or outcome.progress is None or outcome.next_poll_at is None:
            continue
        state = outcome.progress.status
        saved[state or "new"] += polls_saved(
            TrackingStatus(state) if state else None,
            now=now,
            deadline=outcome.claim.alert_deadline_at,
            until=outcome.next_poll_at,
            table=cadence,
        )
    return +saved  # states with nothing saved add no row


def _call_status(batch: Sequence[LegClaim]) -> str:
    """A call is billed to the state most of its legs were in."""
    return Counter(leg.progress.status or "new" for leg in batch).most_common(1)[0][0]


def _count(
    carrier: str, outcomes: Sequence[recording.LegOutcome], recorded: recording.RecordedBatch
) -> None:
    for outcome in outcomes:
        for code in outcome.unknown_codes:
            metrics.UNKNOWN_CODES.labels(carrier, code[:32]).inc()
        for reason in outcome.dropped_events:
            metrics.EVENTS_DROPPED.labels(carrier, reason).inc()
        if outcome.progress is not None:
            metrics.POLLS.labels(carrier, "ok").inc()
        else:
            metrics.POLLS.labels(carrier, "failed").inc()
            kind = (outcome.error or "error").split(":", 1)[0]
            metrics.CARRIER_ERRORS.labels(carrier, kind).inc()
    metrics.EVENTS_STORED.labels(carrier, "poll").inc(recorded.events_stored)
    metrics.HANDOFF_LEGS.inc(recorded.legs_added)
