from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import timedelta
from functools import partial

from app import metrics
from app.db import session_scope
from app.quarantine.isolation import describe_error, is_outage
from app.tracking import (
    claims,
    inbox,
    push_channel,
    pushes,
    repository,
    subscribing,
    subscriptions,
    ups_push_auth,
)
from app.tracking.cadence import CADENCE
from app.tracking.judging import JudgingPolicy
from app.tracking.poller import CarrierPollReport, Poller, PollerSettings
from app.wiring import ScheduledJob, WorkerContext
from carriers.types import SubscriptionAnswer
from carriers.ups import UpsClient
from carriers.ups import subscribe as track_alert
from carriers.usps import UspsClient

logger = logging.getLogger("app.tracking.jobs")


def build_poller(context: WorkerContext) -> Poller:
    settings = context.settings
    return Poller(
        context.sessionmaker,
        clients=context.clients,
        limits=context.limits,
        settings=PollerSettings(
            judging=JudgingPolicy(cadence=CADENCE),
            claim_size=settings.poll_claim_size,
            lease=timedelta(seconds=settings.lease_seconds),
            concurrency=settings.poll_concurrency,
            subscribing=subscribing_carriers(context),
        ),
        worker_id=context.worker_id,
        clock=context.clock,
    )


async def poll_due_legs(context: WorkerContext) -> list[CarrierPollReport]:
    """Polls every due leg; logs one line per carrier that did anything."""
    reports = await build_poller(context).poll_due()
    for report in reports:
        if report.legs or report.waiting_until:
            logger.info(
                "polled %s: %d legs, %d calls, %d new events, %d failed, %d legs added%s",
                report.carrier,
                report.legs,
                report.calls,
                report.events_stored,
                report.failures,
                report.legs_added,
                f", waiting until {report.waiting_until:%H:%M:%S}" if report.waiting_until else "",
            )
    async with session_scope(context.sessionmaker) as session:
        now = context.clock()
        oldest = await claims.oldest_due_at(session, now=now)
        metrics.DUE_LAG.set((now - oldest).total_seconds() if oldest else 0)
    return reports


# A pushed delivery's id is kept to refuse its replay, which its signed timestamp allows only
# within the webhook window of when it was sent: at most twice the longest window (2 x 1 h) after
# it arrived. A day is well beyond that, and keeps the table to about a day of pushes.
DELIVERY_MEMORY = timedelta(days=1)
FORGET_BATCH = 10_000


async def forget_old_webhook_deliveries(context: WorkerContext) -> int:
    """Deletes delivery ids too old to be replayed, a bounded batch a run."""
    async with session_scope(context.sessionmaker) as session:
        forgotten = await repository.forget_webhook_deliveries(
            session, received_before=context.clock() - DELIVERY_MEMORY, limit=FORGET_BATCH
        )
    if forgotten:
        logger.info("forgot %d webhook delivery ids older than %s", forgotten, DELIVERY_MEMORY)
    return forgotten


# Pushes read per batch; a run goes on while batches come back full, up to PUSH_ROUNDS.
PUSH_BATCH = 200
PUSH_ROUNDS = 10


async def process_carrier_pushes(context: WorkerContext) -> int:
    """Reads pending pushes from the inbox, one transaction each; returns how many it
    processed. A push that raises is retried later (or failed), never holds up the others."""
    processed = 0
    for _ in range(PUSH_ROUNDS):
        async with session_scope(context.sessionmaker) as session:
            ids = await inbox.list_pending_ids(session, limit=PUSH_BATCH)
        for push_id in ids:
            processed += await _process_one_push(context, push_id)
        async with session_scope(context.sessionmaker) as session:
            await push_channel.note_pushes_received(session, push_ids=ids, now=context.clock())
        if len(ids) < PUSH_BATCH:
            break
    if processed:
        logger.info("processed %d carrier pushes", processed)
    return processed


async def _process_one_push(context: WorkerContext, push_id: int) -> int:
    policy = JudgingPolicy(cadence=CADENCE)
    try:
        async with session_scope(context.sessionmaker) as session:
            outcome = await pushes.process_push(
                session, push_id, now=context.clock(), policy=policy
            )
        return 0 if outcome is None else 1
    except pushes.UnreadablePush as error:
        final, text = True, f"unreadable push: {error}"
    except Exception as error:
        if is_outage(error):
            raise
        logger.error("processing push %s raised", push_id, exc_info=error)
        final, text = False, describe_error(error)
    async with session_scope(context.sessionmaker) as session:
        status = await inbox.record_failure(
            session, push_id, error=text, now=context.clock(), final=final
        )
    logger.warning("push %s not processed (%s): %s", push_id, status, text[:200])
    return 0


# Processed pushes are kept a week for looking into what a carrier sent (their events are in
# tracking_events for good); failed ones a month, for someone to read why.
PROCESSED_PUSH_MEMORY = timedelta(days=7)
FAILED_PUSH_MEMORY = timedelta(days=30)


async def forget_old_pushes(context: WorkerContext) -> int:
    """Deletes processed and failed pushes past their keeping time, a bounded batch a run."""
    now = context.clock()
    async with session_scope(context.sessionmaker) as session:
        forgotten = await inbox.forget_pushes(
            session,
            status=inbox.PROCESSED,
            processed_before=now - PROCESSED_PUSH_MEMORY,
            limit=FORGET_BATCH,
        )
        forgotten += await inbox.forget_pushes(
            session,
            status=inbox.FAILED,
            processed_before=now - FAILED_PUSH_MEMORY,
            limit=FORGET_BATCH,
        )
    if forgotten:
        logger.info("forgot %d old carrier pushes", forgotten)
    return forgotten


def number_subscribers(context: WorkerContext) -> list[subscribing.NumberSubscriber]:
    """The carriers whose legs the worker subscribes per tracking number, as configured: none
    without the public listener URL. UPS Track Alert (every UPS leg, 100 numbers a call) when
    UPS is live and its push client (v2) or credential (v1) is set, v2 winning; USPS
    Subscriptions - Tracking (hand-off legs only, one number a call) when USPS is live, its
    push secret is set and FIRSTSCAN_USPS_PUSH_HANDOFF_NUMBERS is on."""
    settings = context.settings
    if settings.push_listener_base_url is None:
        return []
    listener = settings.push_listener_base_url.rstrip("/") + "/v1/push/"
    found = []
    ups = context.clients.get("ups")
    ups_auth = ups_push_auth.configured_auth(settings)
    if isinstance(ups, UpsClient) and ups_auth is not None:
        subscribe_ups = partial(ups.subscribe, destination=_ups_destination(ups_auth, listener))
        found.append(
            subscribing.NumberSubscriber(
                "ups", track_alert.MAX_NUMBERS, track_alert.LIFETIME, subscriptions.ALL_LEGS,
                subscribe_ups,
            )
        )  # fmt: skip
    usps = context.clients.get("usps")
    secret = settings.usps_push_secret
    if settings.usps_push_handoff_numbers and isinstance(usps, UspsClient) and secret:
        subscribe_usps = partial(
            _subscribe_one, usps, listener_url=listener + "usps", secret=secret.get_secret_value()
        )
        found.append(
            subscribing.NumberSubscriber(
                "usps", 1, None, subscriptions.HANDOFF_LEGS, subscribe_usps
            )
        )
    return found


def _ups_destination(
    auth: ups_push_auth.UpsPushAuth, listener: str
) -> track_alert.Destination | None:
    """v1's destination, or None in v2 mode: there the webhook URL (`<base>/v1/push/ups`) and
    its token URL are registered in UPS's portal, not named in the request."""
    if auth.client is not None or auth.credential is None:
        return None
    return track_alert.Destination(listener + "ups", auth.credential)


def subscribing_carriers(context: WorkerContext) -> dict[str, str]:
    """The carriers the worker subscribes per number, each with which of its legs
    (subscriptions.ALL_LEGS or HANDOFF_LEGS): such a new leg waits for its subscription before
    its first poll even before the worker made its row (poller)."""
    return {s.carrier: s.legs for s in number_subscribers(context)}


async def _subscribe_one(
    client: UspsClient, numbers: Sequence[str], *, listener_url: str, secret: str
) -> SubscriptionAnswer:
    [number] = numbers  # USPS subscribes one number a request
    return await client.subscribe(number, listener_url=listener_url, secret=secret)


async def subscribe_legs(context: WorkerContext) -> dict[str, int]:
    """Subscribes due legs of each carrier that subscribes per number (number_subscribers),
    each call within the carrier's budget the polls share; returns the numbers asked for per
    carrier. Never touches ingest: legs are picked up after they are stored."""
    asked = {}
    for subscriber in number_subscribers(context):
        report = await subscribing.subscribe_due_legs(
            context.sessionmaker,
            subscriber,
            limits=context.limits[subscriber.carrier],
            clock=context.clock,
        )
        asked[subscriber.carrier] = report.asked
        if report.calls or report.held_for_polls:
            logger.info(
                "%s push subscriptions: %d numbers in %d calls (%d failed)%s",
                subscriber.carrier,
                report.asked,
                report.calls,
                report.failed_calls,
                ", held for urgent polls" if report.held_for_polls else "",
            )
    return asked


async def sync_account_subscriptions(context: WorkerContext) -> dict[str, tuple[int, int]]:
    """Keeps the account-wide push subscriptions (FedEx accounts, USPS Mailer IDs) equal to the
    configuration: a carrier's accounts count only with its push secret (its pushes are refused
    without it). Returns (activated, expired) per carrier that changed."""
    settings = context.settings
    configured = {
        "fedex": settings.fedex_push_accounts if settings.fedex_push_security_token else (),
        "usps": settings.usps_push_mailer_ids if settings.usps_push_secret else (),
    }
    changed = {}
    async with session_scope(context.sessionmaker) as session:
        for carrier, accounts in configured.items():
            counts = await subscriptions.sync_accounts(
                session, carrier=carrier, accounts=accounts, now=context.clock()
            )
            if any(counts):
                changed[carrier] = counts
                logger.info("%s account subscriptions: %d active, %d expired", carrier, *counts)
    return changed


async def watch_push_channels(context: WorkerContext) -> list[tuple[str, str]]:
    """Marks a carrier's push channel silent when its pushes stopped (its subscribed legs are
    then polled on the cadence again) and no longer silent when they resume; returns the
    changes as (carrier, change)."""
    silence = timedelta(minutes=context.settings.push_silence_minutes)
    async with session_scope(context.sessionmaker) as session:
        channels = await push_channel.list_channels(session)
    changes = []
    for channel in channels:
        now = context.clock()
        change = push_channel.judge_channel(channel, now=now, silence=silence)
        if change is not None:
            async with session_scope(context.sessionmaker) as session:
                await push_channel.mark_channel(session, channel.carrier, change, now=now)
            changes.append((channel.carrier, change))
            logger.warning("%s push channel: %s", channel.carrier, change)
        if change == push_channel.SILENT or (channel.silent_since and change is None):
            async with session_scope(context.sessionmaker) as session:
                await push_channel.fall_back_to_polling(session, carrier=channel.carrier, now=now)
    return changes


JOBS = (
    ScheduledJob(poll_due_legs, every_seconds=lambda s: s.poll_interval_seconds),
    ScheduledJob(process_carrier_pushes, every_seconds=lambda s: s.poll_interval_seconds),
    ScheduledJob(forget_old_webhook_deliveries, every_seconds=lambda s: 600.0),
    ScheduledJob(forget_old_pushes, every_seconds=lambda s: 600.0),
    ScheduledJob(subscribe_legs, every_seconds=lambda s: 60.0),
    ScheduledJob(sync_account_subscriptions, every_seconds=lambda s: 60.0),
    ScheduledJob(watch_push_channels, every_seconds=lambda s: 60.0),
)
