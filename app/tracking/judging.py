"""What one carrier answer means for one leg and for the carrier (pure)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from random import Random

from app.quarantine.isolation import describe_error
from app.quarantine.policy import FIRST_RETRY
from app.tracking.cadence import CadenceTable, next_poll_at
from app.tracking.claims import LegClaim
from app.tracking.event_window import within_event_window
from app.tracking.progress import LegProgress, apply_not_found, apply_snapshot, retry_delay
from app.tracking.recording import LegOutcome
from app.tracking.subscriptions import polled_only_to_confirm, waits_for_subscription
from carriers.errors import (
    AdapterFault,
    CarrierAuthError,
    CarrierError,
    CarrierRateLimited,
    TrackingNumberError,
)
from carriers.protocol import TrackingFailure, TrackingResult
from carriers.types import TrackingSnapshot, TrackingStatus

logger = logging.getLogger("app.tracking.judging")
DEFAULT_RATE_LIMIT_WAIT = timedelta(minutes=1)


@dataclass(frozen=True, slots=True)
class JudgingPolicy:
    cadence: CadenceTable
    auth_retry: timedelta = timedelta(minutes=15)


def judge_answer(
    claim: LegClaim, result: TrackingResult, *, now: datetime, policy: JudgingPolicy, rng: Random
) -> LegOutcome:
    """Turns the carrier's answer into the leg's new state and schedule; never raises (a leg
    whose answer cannot be judged is set aside)."""
    try:
        if isinstance(result, TrackingSnapshot):
            return _judge_snapshot(claim, result, now=now, policy=policy)
        return _judge_failure(claim, result, now=now, policy=policy, rng=rng)
    except Exception as error:
        logger.error("judging the answer for leg %s raised; set aside", claim.id, exc_info=error)
        return set_aside_outcome(claim, describe_error(error), now=now)


def first_poll_put_off(
    claim: LegClaim, *, now: datetime, policy: JudgingPolicy, subscribes: bool
) -> datetime | None:
    """Until when a leg never polled can go without its first poll, or None to poll it now.
    Pushed from its label on, its first poll is its first confirmation (cadence.py); with its
    own subscription on its way (`subscribes`: its carrier subscribes per number here), it waits
    for it while push could still cover its history. No carrier call either way."""
    if claim.progress.status is not None:
        return None
    if polled_only_to_confirm(
        pushed=claim.pushed, status=None, label_created_at=claim.label_created_at,
        since=claim.covered_since,
    ):  # fmt: skip
        first = next_poll_at(
            None, now=now, deadline=claim.alert_deadline_at, table=policy.cadence,
            pushed_leg=claim.id,
        )  # fmt: skip
        return first if first is not None and first > now else None
    return waits_for_subscription(
        claim.label_created_at, claim.subscription_state, subscribes=subscribes, now=now
    )


def set_aside_outcome(claim: LegClaim, error: str, *, now: datetime) -> LegOutcome:
    """The leg keeps its state and is tried again later; the poller records it in the quarantine,
    which decides when (this first retry time is what it says for a first failure)."""
    return LegOutcome(claim, None, (), now + FIRST_RETRY, error[:500], set_aside=True)


def _judge_snapshot(
    claim: LegClaim, snapshot: TrackingSnapshot, *, now: datetime, policy: JudgingPolicy
) -> LegOutcome:
    snapshot, dropped = within_event_window(snapshot, now=now)
    progress = apply_snapshot(claim.progress, snapshot, now=now)
    return LegOutcome(
        claim=claim,
        progress=progress,
        events=snapshot.events,
        next_poll_at=_next_poll(claim, progress, now=now, policy=policy),
        error=None,
        handoff=snapshot.handoff,
        unknown_codes=snapshot.unknown_codes,
        dropped_events=dropped,
        partner_numbers=snapshot.partner_numbers,
    )


def _next_poll(
    claim: LegClaim, progress: LegProgress, *, now: datetime, policy: JudgingPolicy
) -> datetime | None:
    """When the leg is polled next, by its new state, its pending deadline and whether its
    carrier pushes it."""
    status = TrackingStatus(progress.status) if progress.status else None
    return next_poll_at(
        status,
        now=now,
        deadline=claim.alert_deadline_at,
        table=policy.cadence,
        pushed_leg=claim.id if claim.pushed else None,
    )


def _judge_failure(
    claim: LegClaim, failure: TrackingFailure, *, now: datetime, policy: JudgingPolicy, rng: Random
) -> LegOutcome:
    error = failure.error
    text = f"{error.kind}: {error.message}"[:500]
    if isinstance(error, AdapterFault):
        return set_aside_outcome(claim, text, now=now)
    if isinstance(error, TrackingNumberError):
        # An answer about the number, not an outage: the poll succeeded.
        progress = apply_not_found(claim.progress, now=now)
        due = _next_poll(claim, progress, now=now, policy=policy)
        return LegOutcome(claim, progress, (), due, text)
    if isinstance(error, CarrierRateLimited):
        wait = error.retry_after or DEFAULT_RATE_LIMIT_WAIT
        return LegOutcome(claim, None, (), now + wait, text)
    if isinstance(error, CarrierAuthError):
        return LegOutcome(claim, None, (), now + policy.auth_retry, text)
    interval = policy.cadence.interval(
        TrackingStatus(claim.progress.status) if claim.progress.status else None
    )
    delay = retry_delay(
        claim.consecutive_failures + 1,
        rng=rng,
        cap=max(interval or timedelta(hours=1), timedelta(minutes=5)),
    )
    return LegOutcome(claim, None, (), now + delay, text, counts_as_failure=True)


@dataclass(frozen=True, slots=True)
class CarrierVerdict:
    """What a batch of answers says about the carrier itself."""

    answered: bool  # the carrier answered at least one number
    rate_limited_until: datetime | None
    auth_error: CarrierError | None
    failure: CarrierError | None


def judge_carrier(results: Sequence[TrackingResult], *, now: datetime) -> CarrierVerdict:
    # An answer we could not read (AdapterFault) is still an answer: our bug, not an outage.
    answered = any(
        isinstance(r, TrackingSnapshot) or isinstance(r.error, TrackingNumberError | AdapterFault)
        for r in results
    )
    errors = [r.error for r in results if isinstance(r, TrackingFailure)]
    limited = [e for e in errors if isinstance(e, CarrierRateLimited)]
    wait = max(((e.retry_after or DEFAULT_RATE_LIMIT_WAIT) for e in limited), default=None)
    auth = next((e for e in errors if isinstance(e, CarrierAuthError)), None)
    other = next(
        (e for e in errors if e.retryable and not isinstance(e, CarrierRateLimited | AdapterFault)),
        None,
    )
    return CarrierVerdict(
        answered=answered,
        rate_limited_until=now + wait if wait is not None else None,
        auth_error=auth,
        failure=other,
    )
