"""Turning settings into the running parts: carrier clients, limits, rules configuration, alert
policy and channels. main.py (the API) and scheduler.py (the worker) both build from here."""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.alerts import opening
from app.alerts.channels import build_channels
from app.alerts.customer_notice import CustomerNoticePolicy
from app.alerts.delivery import Channel
from app.alerts.destinations import DestinationLimits
from app.alerts.grouping import GroupingPolicy
from app.alerts.notifier import NotifierPolicy
from app.alerts.service import AlertPolicy
from app.db import utcnow
from app.kernel.calendar import BusinessCalendar
from app.kernel.clock import Clock
from app.kernel.send_slots import Spacing
from app.public.links import TrackLinks
from app.public.wording import write_notice_email
from app.reconciliation import rules
from app.reconciliation.service import ReconciliationConfig
from app.settings import Settings
from app.shipments.context import FirstAlertDeadline
from app.tracking.cadence import CADENCE
from app.tracking.rate import CarrierLimits, resolve_limits
from carriers.protocol import CarrierClient
from carriers.registry import (
    CARRIER_CODES,
    CarrierConfig,
    CarrierCredentials,
    build_carrier_clients,
)


def build_carrier_config(settings: Settings) -> CarrierConfig:
    def secret(value: object) -> str | None:
        get = getattr(value, "get_secret_value", None)
        return get() if callable(get) else None

    return CarrierConfig(
        mode=settings.carrier_mode,
        credentials={
            "usps": CarrierCredentials(
                settings.usps_base_url, settings.usps_client_id, secret(settings.usps_client_secret)
            ),
            "ups": CarrierCredentials(
                settings.ups_base_url, settings.ups_client_id, secret(settings.ups_client_secret)
            ),
            "fedex": CarrierCredentials(
                settings.fedex_base_url,
                settings.fedex_client_id,
                secret(settings.fedex_client_secret),
            ),
            "dhl": CarrierCredentials(settings.dhl_base_url, api_key=secret(settings.dhl_api_key)),
        },
    )


def build_limits(
    settings: Settings, clients: Mapping[str, CarrierClient]
) -> dict[str, CarrierLimits]:
    overrides = settings.carrier_limits
    return {
        code: resolve_limits(
            client.default_rate_limit, overrides.get(code, {}), safety=settings.rate_safety
        )
        for code, client in clients.items()
    }


PAGERDUTY_EVENTS_PER_SECOND = 1.5


def build_destination_limits(settings: Settings) -> dict[str, DestinationLimits]:
    """The channels whose destinations are paced, by outbox channel: each webhook gets the
    configured rate; PagerDuty's Events API takes about 120 events a minute per integration key
    (we keep to 1.5 a second, with a burst of 5). Email goes through one SMTP relay and is not
    paced here."""
    spacing = Spacing(settings.webhook_rate_per_second, burst=settings.webhook_burst)
    return {
        "webhook": DestinationLimits(spacing),
        "pagerduty": DestinationLimits(Spacing(PAGERDUTY_EVENTS_PER_SECOND, burst=5)),
    }


def build_customer_notice_policy(
    settings: Settings, *, clock: Clock = utcnow
) -> CustomerNoticePolicy | None:
    """None unless FIRSTSCAN_CUSTOMER_NOTIFY is on (settings then guarantee a secret key)."""
    if not settings.customer_notify or settings.secret_key is None:
        return None
    valid_for = timedelta(days=settings.track_link_days)
    links = TrackLinks(settings.secret_key.get_secret_value(), max_age=valid_for, clock=clock)
    return CustomerNoticePolicy(
        link_for=partial(links.url, settings.public_base_url),
        link_valid_for=valid_for,
        write=partial(write_notice_email, calendar=BusinessCalendar()),
    )


def build_alert_policy(settings: Settings, *, clock: Clock = utcnow) -> AlertPolicy:
    return AlertPolicy(
        default_team=settings.default_team,
        routes=settings.alert_routes,
        webhook_urls=tuple(settings.webhook_urls),
        email_recipients=tuple(settings.alert_email_recipients),
        console_base_url=settings.public_base_url,
        customer_notice=build_customer_notice_policy(settings, clock=clock),
    )


def build_notifier_policy(settings: Settings) -> NotifierPolicy:
    """How work items are announced: grouping, escalation, PagerDuty, the daily summary."""
    return NotifierPolicy(
        destinations=tuple(
            opening.notification_destinations(build_alert_policy(settings, clock=utcnow))
        ),
        console_base_url=settings.public_base_url,
        grouping=GroupingPolicy.from_settings(settings),
        group_by=settings.alert_group_by,
        escalate_after=timedelta(minutes=settings.escalate_after_minutes),
        escalation_routes=settings.escalation_routes,
        pagerduty=settings.pagerduty_routing_key is not None,
        pagerduty_pages=settings.pagerduty_pages,
        summary_recipients=settings.daily_summary_to,
        summary_hour=settings.daily_summary_hour,
    )


def build_reconciliation_config(
    settings: Settings, *, clock: Clock = utcnow
) -> ReconciliationConfig:
    return ReconciliationConfig(
        thresholds=settings.rule_thresholds,
        calendars=settings.carrier_calendars,
        cadence=CADENCE,
        policy=build_alert_policy(settings, clock=clock),
    )


def build_first_alert_deadline(settings: Settings) -> FirstAlertDeadline:
    """What ingest stores as a new leg's poll priority: its never_inducted deadline, from the
    configured thresholds and carrier calendars."""
    thresholds, calendars = settings.rule_thresholds, settings.carrier_calendars

    def estimate(carrier: str, service: str | None, label_created_at: datetime) -> datetime:
        return rules.first_alert_deadline(
            carrier, service, label_created_at, thresholds=thresholds, calendars=calendars
        )

    return estimate


def build_http_client(settings: Settings) -> httpx.AsyncClient:
    """The one HTTP client of a process: pooled connections shared by every carrier."""
    connections = max(64, settings.poll_concurrency * len(CARRIER_CODES))
    return httpx.AsyncClient(
        timeout=httpx.Timeout(settings.carrier_timeout_seconds),
        limits=httpx.Limits(max_connections=connections),
        headers={"User-Agent": "firstscan/0.1"},
    )


def build_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


@dataclass(frozen=True, slots=True)
class WorkerContext:
    """Everything a worker job needs; built once when the worker starts."""

    settings: Settings
    sessionmaker: async_sessionmaker[AsyncSession]
    http: httpx.AsyncClient
    clients: Mapping[str, CarrierClient]
    limits: Mapping[str, CarrierLimits]
    reconciliation: ReconciliationConfig
    channels: Mapping[str, Channel]
    destination_limits: Mapping[str, DestinationLimits]
    notifier: NotifierPolicy
    worker_id: str
    clock: Clock


def build_worker_context(
    settings: Settings,
    *,
    sessionmaker: async_sessionmaker[AsyncSession],
    http: httpx.AsyncClient,
    clock: Clock,
) -> WorkerContext:
    clients = build_carrier_clients(build_carrier_config(settings), http=http, clock=clock)
    return WorkerContext(
        settings=settings,
        sessionmaker=sessionmaker,
        http=http,
        clients=clients,
        limits=build_limits(settings, clients),
        reconciliation=build_reconciliation_config(settings, clock=clock),
        channels=build_channels(settings, http),
        destination_limits=build_destination_limits(settings),
        notifier=build_notifier_policy(settings),
        worker_id=build_worker_id(),
        clock=clock,
    )


@dataclass(frozen=True, slots=True)
class ScheduledJob:
    """A worker job and its trigger, declared beside the job in each domain's JOBS."""

    run: Callable[[WorkerContext], Awaitable[object]]
    every_seconds: Callable[[Settings], float]
