"""Reading the push inbox: each stored push is parsed by its carrier's own parser (the one its
polled answers go through, so one vocabulary and unknown codes stay `unknown`), and its events
are recorded as a poll's are (app/tracking/recording.py)."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from random import Random

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from app import metrics
from app.tracking import claims, inbox, recording
from app.tracking.claims import LegClaim
from app.tracking.judging import JudgingPolicy, judge_answer
from app.tracking.models import CarrierPush
from app.tracking.progress import LegProgress
from app.tracking.recording import LegOutcome
from app.tracking.webhooks import PushedTracking, build_snapshot
from carriers.errors import CarrierResponseInvalid
from carriers.fedex import push as fedex_push
from carriers.numbers import normalize_tracking_number
from carriers.protocol import TrackingFailure, TrackingResult
from carriers.types import TrackingSnapshot, TrackingStatus
from carriers.ups import push as ups_push
from carriers.usps import push as usps_push

logger = logging.getLogger("app.tracking.pushes")
WORKER_ID = "push"


class UnreadablePush(Exception):
    """The stored body is not a push its carrier's parser can read: trying again cannot help."""


@dataclass(frozen=True, slots=True)
class PushOutcome:
    numbers: int
    unknown_numbers: int
    events_stored: int


def decode_push(push_format: str, carrier: str, body: str) -> list[TrackingResult]:
    """The push's results, one per tracking number it names.

    Raises UnreadablePush for a body its carrier's parser refuses."""
    try:
        if push_format == inbox.UPS_TRACK_ALERT:
            return [ups_push.parse_push(body)]
        if push_format == inbox.USPS_SUBSCRIPTION:
            return [usps_push.parse_notification(body)]
        if push_format == inbox.FEDEX_AIV:
            return list(fedex_push.parse_push(body))
        if push_format == inbox.FIRSTSCAN:
            pushed = PushedTracking.model_validate_json(body)
            number = normalize_tracking_number(pushed.tracking_number)
            return [build_snapshot(carrier, number, pushed)]
    except (CarrierResponseInvalid, ValidationError) as error:
        raise UnreadablePush(str(error)) from error
    raise UnreadablePush(f"unknown push format {push_format!r}")


def hold_back_older_push(progress: LegProgress, snapshot: TrackingSnapshot) -> TrackingSnapshot:
    """A push whose events are all older than the leg's newest one adds its events but leaves
    the leg's status and estimate alone: carriers push out of order (FedEx says so), and unlike
    a poll's answer a push is not the whole history, so its last event is not the current one."""
    if progress.last_event_at is None or progress.status is None:
        return snapshot
    newest = max((e.occurred_at for e in snapshot.events), default=None)
    if newest is not None and newest >= progress.last_event_at:
        return snapshot
    return replace(snapshot, status=TrackingStatus(progress.status), estimated_delivery_at=None)


async def process_push(
    session: AsyncSession, push_id: int, *, now: datetime, policy: JudgingPolicy
) -> PushOutcome | None:
    """Records one pending push's events and marks it processed, in the caller's transaction;
    None when the push is no longer pending or another worker holds it.

    Raises UnreadablePush (the push stays pending: the caller records why)."""
    push = await inbox.lock_pending(session, push_id)
    if push is None:
        return None
    snapshots = _snapshots(push, decode_push(push.format, push.carrier, push.body))
    found = await _lock_legs(
        session, carrier=push.carrier, numbers=[s.tracking_number for s in snapshots]
    )
    outcomes = _judge(push.carrier, snapshots, found, now=now, policy=policy)
    recorded = await recording.record_outcomes(
        session, outcomes=outcomes, worker_id=WORKER_ID, now=now, source="webhook"
    )
    unknown = len({s.tracking_number for s in snapshots} - set(found))
    result = PushOutcome(len(snapshots), unknown, recorded.events_stored)
    await inbox.mark_processed(
        session,
        push,
        numbers=result.numbers,
        unknown_numbers=result.unknown_numbers,
        events_stored=result.events_stored,
        now=now,
    )
    await recording.count_calls(
        session, day=now.date(), carrier=push.carrier, tally=_push_tally(outcomes)
    )
    metrics.EVENTS_STORED.labels(push.carrier, "push").inc(result.events_stored)
    if unknown:
        metrics.PUSHED_UNKNOWN_NUMBERS.labels(push.carrier).inc(unknown)
    return result


def _judge(
    carrier: str,
    snapshots: Sequence[TrackingSnapshot],
    found: dict[str, LegClaim],
    *,
    now: datetime,
    policy: JudgingPolicy,
) -> list[LegOutcome]:
    """What each pushed snapshot does to its leg, judged as a poll's answer is; a number we do
    not track is skipped, an answer that cannot be judged is logged and left out."""
    outcomes = []
    for snapshot in snapshots:
        claim = found.get(snapshot.tracking_number)
        if claim is None:
            continue
        held = hold_back_older_push(claim.progress, snapshot)
        outcome = judge_answer(claim, held, now=now, policy=policy, rng=Random())
        if outcome.set_aside:
            logger.error(
                "pushed %s event for %s could not be judged: %s",
                carrier,
                snapshot.tracking_number,
                outcome.error,
            )
            continue
        outcomes.append(outcome)
        _count_codes(carrier, outcome.unknown_codes, outcome.dropped_events)
    return outcomes


def _push_tally(outcomes: Sequence[LegOutcome]) -> recording.CallTally:
    """One push read, under the state most of its legs were in; "untracked" when it was about
    no leg firstscan tracks (counted as the call report counts a call)."""
    states = Counter(o.claim.progress.status or "new" for o in outcomes)
    state = states.most_common(1)[0][0] if states else "untracked"
    return recording.CallTally(pushes=Counter({state: 1}))


def _snapshots(push: CarrierPush, results: Sequence[TrackingResult]) -> list[TrackingSnapshot]:
    """The push's snapshots under their normalized numbers; a number the carrier's answer
    says it cannot give (a per-number error in a FedEx push) is logged and left out."""
    snapshots = []
    for result in results:
        if isinstance(result, TrackingFailure):
            logger.warning(
                "push %s (%s) names %s without a result: %s",
                push.id,
                push.carrier,
                result.tracking_number,
                result.error,
            )
            continue
        number = normalize_tracking_number(result.tracking_number)
        snapshots.append(replace(result, tracking_number=number))
    return snapshots


async def _lock_legs(
    session: AsyncSession, *, carrier: str, numbers: Sequence[str]
) -> dict[str, LegClaim]:
    """The newest leg of each number we track, locked order by order in id order (the order
    every writer takes them in, docs/locking.md)."""
    unlocked = {}
    for number in dict.fromkeys(numbers):
        leg = await claims.find_newest_leg(session, carrier=carrier, tracking_number=number)
        if leg is not None:
            unlocked[number] = leg
    locked = {}
    for number in sorted(unlocked, key=lambda n: (unlocked[n].order_id, unlocked[n].id)):
        leg = await claims.lock_newest_leg(session, carrier=carrier, tracking_number=number)
        if leg is not None:
            locked[number] = leg
    return locked


def _count_codes(carrier: str, unknown_codes: Sequence[str], dropped: Sequence[str]) -> None:
    for code in unknown_codes:
        metrics.UNKNOWN_CODES.labels(carrier, code).inc()
    for reason in dropped:
        metrics.EVENTS_DROPPED.labels(carrier, reason).inc()
