"""What every dispatcher must agree on about one destination (pure; the row is
alert_destinations): when its next message may go, how long a 429 pauses it, and its breaker.

    reserve: paused (429) -> wait until paused_until; breaker open -> wait until it may probe;
             half_open -> one probe message; otherwise slots from the GCRA schedule with a burst
    answer:  2xx -> breaker closed, failures reset
             429 -> paused until Retry-After (all workers); never a failure
             5xx, timeout, connection error, a refusal (4xx) -> one more consecutive failure
             our own refusal to send (unknown destination, bad payload) -> no verdict
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum

from app.alerts.backoff import MAX_RETRY_AFTER
from app.alerts.delivery import DeliveryResult, Outcome
from app.kernel import breaker as breakers
from app.kernel.breaker import Breaker, BreakerPolicy
from app.kernel.send_slots import Reservation, Spacing, plan_slots

# A destination's slots are counted in nothing else (no quotas): nothing to give back.
DestinationReservation = Reservation[None]


@dataclass(frozen=True, slots=True)
class DestinationLimits:
    spacing: Spacing
    breaker: BreakerPolicy = field(default_factory=BreakerPolicy)
    # Slots are reserved at most this far ahead, so a worker never holds many it may not use.
    horizon: timedelta = timedelta(seconds=2)

    @property
    def slot_tolerance(self) -> timedelta:
        """A send that wakes later than this after its slot is not sent: it would bunch with
        the next ones, sent on time. Half an interval keeps at least half a slot between any
        two sends beyond the burst."""
        return self.spacing.interval / 2


@dataclass(frozen=True, slots=True)
class DestinationState:
    next_slot_at: datetime | None = None
    paused_until: datetime | None = None
    breaker: Breaker = field(default_factory=Breaker)


class Verdict(StrEnum):
    SUCCESS = "success"
    FAILURE = "failure"
    RATE_LIMITED = "rate_limited"
    NONE = "none"  # the message, not the destination, was at fault


def judge_answer(result: DeliveryResult) -> Verdict:
    """What one answer says about its destination."""
    if result.outcome is Outcome.DELIVERED:
        return Verdict.SUCCESS
    if result.rate_limited:
        return Verdict.RATE_LIMITED
    if result.outcome is Outcome.RETRY or result.status_code is not None:
        return Verdict.FAILURE
    return Verdict.NONE


def plan_sends(
    state: DestinationState, *, wanted: int, limits: DestinationLimits, now: datetime
) -> tuple[DestinationReservation, DestinationState]:
    """Grants up to `wanted` send times, or says until when to wait, and the state after."""
    if state.paused_until is not None and now < state.paused_until:
        return DestinationReservation((), state.paused_until), state
    admitted, breaker = breakers.admits(state.breaker, now=now, policy=limits.breaker)
    if not admitted:
        return DestinationReservation((), breaker.open_until), state
    if breaker.state == "half_open":
        wanted = 1  # one probe message decides whether the destination is back
    plan = plan_slots(
        state.next_slot_at, wanted=wanted, spacing=limits.spacing, now=now, horizon=limits.horizon
    )
    after = DestinationState(plan.next_slot_at, None, breaker)
    return DestinationReservation(plan.send_at, plan.wait_until), after


def pause_until(
    paused_until: datetime | None,
    *,
    retry_after: timedelta | None,
    spacing: Spacing,
    now: datetime,
) -> datetime:
    """The end of a 429's pause: the receiver's Retry-After (bounded by MAX_RETRY_AFTER), or a
    burst's worth of intervals when it sent none; never earlier than a pause already running."""
    if retry_after is None:
        wait = spacing.interval * spacing.burst
    else:
        wait = min(max(retry_after, timedelta(0)), MAX_RETRY_AFTER)
    return max(paused_until or now, now + wait)


def after_verdict(
    state: DestinationState, verdict: Verdict, *, limits: DestinationLimits, now: datetime
) -> DestinationState:
    if verdict is Verdict.SUCCESS:
        return replace(state, breaker=breakers.after_success(state.breaker))
    if verdict is Verdict.FAILURE:
        failed = breakers.after_failure(state.breaker, now=now, policy=limits.breaker)
        return replace(state, breaker=failed)
    return state


def is_paused(state: DestinationState, *, now: datetime) -> bool:
    """No message goes now: a 429's pause runs, or the breaker waits out its cooldown."""
    if state.paused_until is not None and now < state.paused_until:
        return True
    return state.breaker.open_until is not None and now < state.breaker.open_until
