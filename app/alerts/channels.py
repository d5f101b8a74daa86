from __future__ import annotations

import asyncio
import re
import smtplib
import ssl
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import formatdate
from typing import Any

import httpx
from pydantic import SecretStr, ValidationError

from app.alerts.daily_summary import SUMMARY_EVENT, build_summary_email
from app.alerts.delivery import (
    Channel,
    DeliveryResult,
    NotificationView,
    Outcome,
    webhook_destination,
)
from app.alerts.group_message import (
    GROUP_EVENT,
    GroupMessage,
    build_group_email,
    build_group_slack_message,
)
from app.alerts.http_answers import ERROR_EXCERPT, classify_webhook_response
from app.alerts.messages import (
    AlertMessage,
    CustomerNoticeMessage,
    build_alert_email,
    build_customer_email,
    build_slack_message,
    one_line,
)
from app.alerts.pagerduty import PagerDutyChannel
from app.db import utcnow
from app.settings import Settings
from carriers.retry_after import parse_retry_after

__all__ = [
    "Channel",
    "DeliveryResult",
    "EmailChannel",
    "EmailRenderer",
    "NotificationView",
    "Outcome",
    "PagerDutyChannel",
    "SmtpConfig",
    "UnconfiguredChannel",
    "WebhookChannel",
    "build_channels",
    "build_webhook_body",
    "classify_webhook_response",
    "parse_retry_after",
    "render_alert_email",
    "render_customer_email",
    "webhook_destination",
]


def _scrub(text: str, url: str) -> str:
    """Removes the webhook URL and its path (the token) from an error message."""
    path = httpx.URL(url).raw_path.decode("ascii", "replace")
    text = text.replace(url, "<webhook>")
    return text.replace(path, "/<token>") if len(path) > 1 else text


class WebhookChannel:
    """Posts Slack-compatible incoming-webhook JSON; the destination names the URL by its hash."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        urls: Sequence[str],
        *,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._http = http
        self._urls = {webhook_destination(url): url for url in urls}
        self._clock = clock

    def __repr__(self) -> str:
        return f"WebhookChannel(urls={len(self._urls)})"  # never the URLs themselves

    async def send(self, notification: NotificationView) -> DeliveryResult:
        url = self._urls.get(notification.destination)
        if url is None:
            return DeliveryResult.permanent(
                f"webhook {notification.destination} is no longer configured "
                "(not among FIRSTSCAN_ALERT_WEBHOOK_URLS); not sent"
            )
        try:
            body = build_webhook_body(notification)
        except ValidationError as exc:
            return DeliveryResult.permanent(f"invalid alert payload: {_summarize(exc)}")
        headers = {"Idempotency-Key": notification.idempotency_key}
        if notification.alert_id is not None:
            headers["X-Firstscan-Alert-Id"] = str(notification.alert_id)
        try:
            response = await self._http.post(url, json=body, headers=headers)
        except httpx.TimeoutException as exc:
            return DeliveryResult.retry(f"timed out ({type(exc).__name__})")
        except httpx.TransportError as exc:
            return DeliveryResult.retry(_scrub(f"{type(exc).__name__}: {exc}", url))
        except httpx.InvalidURL:
            return DeliveryResult.permanent(
                f"webhook {notification.destination} has an invalid URL"
            )
        result = classify_webhook_response(
            response.status_code,
            response.headers.get("Retry-After"),
            response.text,
            now=self._clock(),
        )
        return result if result.error is None else _replace_error(result, _scrub(result.error, url))


def _replace_error(result: DeliveryResult, error: str) -> DeliveryResult:
    return DeliveryResult(result.outcome, result.status_code, error, result.retry_after)


def _summarize(exc: ValidationError) -> str:
    errors = exc.errors()
    text = "; ".join(
        f"{'.'.join(str(part) for part in error['loc']) or 'payload'}: {error['msg']}"
        for error in errors[:3]
    )
    return text + (f" (+{len(errors) - 3} more)" if len(errors) > 3 else "")


@dataclass(frozen=True, slots=True)
class SmtpConfig:
    host: str
    port: int = 587
    sender: str = "firstscan@localhost"
    username: str | None = None
    password: SecretStr | None = None
    starttls: bool = True
    timeout: timedelta = timedelta(seconds=20)
    # Tests pass a context that trusts their own CA; production uses the system's.
    tls_context: ssl.SSLContext | None = field(default=None, repr=False, compare=False)

    @classmethod
    def from_settings(cls, settings: Settings) -> SmtpConfig | None:
        """None when FIRSTSCAN_SMTP_HOST is unset."""
        if not settings.smtp_host:
            return None
        return cls(
            host=settings.smtp_host,
            port=settings.smtp_port,
            sender=settings.smtp_from,
            username=settings.smtp_username,
            password=settings.smtp_password,
            starttls=settings.smtp_starttls,
            timeout=timedelta(seconds=settings.smtp_timeout_seconds),
        )


# Turns an outbox row into a message with Subject and body; the channel adds the envelope headers.
EmailRenderer = Callable[[NotificationView], EmailMessage]


def build_webhook_body(notification: NotificationView) -> dict[str, Any]:
    """Slack JSON for a "webhook" row: a group's message, or one alert's."""
    if notification.event == GROUP_EVENT:
        return build_group_slack_message(GroupMessage.from_payload(notification.payload))
    return build_slack_message(AlertMessage.from_payload(notification.payload))


def render_alert_email(notification: NotificationView) -> EmailMessage:
    """The ops email for an "email" outbox row: a group's message, a team's daily summary, or
    one alert's."""
    if notification.event == GROUP_EVENT:
        return build_group_email(GroupMessage.from_payload(notification.payload))
    if notification.event == SUMMARY_EVENT:
        return build_summary_email(notification.payload)
    return build_alert_email(AlertMessage.from_payload(notification.payload))


def render_customer_email(notification: NotificationView) -> EmailMessage:
    """The customer's email for a "customer_email" outbox row."""
    return build_customer_email(CustomerNoticeMessage.from_payload(notification.payload))


def message_id(idempotency_key: str, sender: str) -> str:
    """A Message-ID that is the same on every retry, so mail clients thread repeats together."""
    local = re.sub(r"[^A-Za-z0-9._-]", "-", idempotency_key).strip(".") or "firstscan"
    _, at, domain = sender.rpartition("@")
    domain = re.sub(r"[^A-Za-z0-9.-]", "", domain).strip(".") if at else ""
    domain = domain or "firstscan.invalid"
    return f"<{local}@{domain}>"


class EmailChannel:
    """Sends one email per outbox row over SMTP (STARTTLS when configured)."""

    def __init__(
        self,
        config: SmtpConfig,
        *,
        render: EmailRenderer = render_alert_email,
        customer_facing: bool = False,
    ) -> None:
        self._config = config
        self._render = render
        # A customer's mailbox gets no internal identifiers beyond the idempotency key.
        self._internal_headers = not customer_facing

    async def send(self, notification: NotificationView) -> DeliveryResult:
        try:
            message = self._render(notification)
        except ValidationError as exc:
            return DeliveryResult.permanent(f"invalid alert payload: {_summarize(exc)}")
        message["From"] = self._config.sender
        message["To"] = notification.destination
        message["Date"] = formatdate(usegmt=True)
        message["Message-ID"] = message_id(notification.idempotency_key, self._config.sender)
        message["X-Firstscan-Idempotency-Key"] = notification.idempotency_key
        if self._internal_headers and notification.alert_id is not None:
            message["X-Firstscan-Alert-Id"] = str(notification.alert_id)
        try:
            # smtplib is blocking; a thread keeps the event loop free and avoids a dependency.
            await asyncio.to_thread(_deliver_over_smtp, self._config, message)
        except (smtplib.SMTPException, OSError) as exc:
            return classify_smtp_error(exc)
        return DeliveryResult.delivered()


def _deliver_over_smtp(config: SmtpConfig, message: EmailMessage) -> None:
    timeout = config.timeout.total_seconds()
    with smtplib.SMTP(config.host, config.port, timeout=timeout) as smtp:
        if config.starttls:
            # Never fall back to plain text: a server without STARTTLS raises and we retry.
            smtp.starttls(context=config.tls_context or ssl.create_default_context())
        if config.username:
            password = config.password.get_secret_value() if config.password else ""
            smtp.login(config.username, password)
        smtp.send_message(message)


def classify_smtp_error(exc: smtplib.SMTPException | OSError) -> DeliveryResult:
    """A 5xx about the recipient or the message is final; everything else (4xx, login, sender,
    STARTTLS, network) is worth retrying, since fixing the configuration fixes it."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        code, reply = next(iter(exc.recipients.values()), (0, b""))
        return _by_smtp_code(code, f"recipient refused: {code} {_reply(reply)}")
    if isinstance(exc, smtplib.SMTPDataError):
        return _by_smtp_code(exc.smtp_code, f"message refused: {exc.smtp_code} {_reply(exc)}")
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        return DeliveryResult.retry(f"SMTP login refused: {exc.smtp_code} (check SMTP username)")
    if isinstance(exc, smtplib.SMTPNotSupportedError):
        return DeliveryResult.retry(f"SMTP server does not support it: {one_line(str(exc))}")
    if isinstance(exc, smtplib.SMTPResponseException):
        return DeliveryResult.retry(f"SMTP {exc.smtp_code}: {_reply(exc)}")
    return DeliveryResult.retry(f"{type(exc).__name__}: {one_line(str(exc))[:ERROR_EXCERPT]}")


def _by_smtp_code(code: int, error: str) -> DeliveryResult:
    if 500 <= code < 600:
        return DeliveryResult.permanent(error, status_code=code)
    return DeliveryResult.retry(error, status_code=code)


def _reply(source: bytes | smtplib.SMTPResponseException) -> str:
    raw = source.smtp_error if isinstance(source, smtplib.SMTPResponseException) else source
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
    return one_line(text)[:ERROR_EXCERPT]


class UnconfiguredChannel:
    """Stands in for a channel the configuration turned off: its rows go dead, saying why."""

    def __init__(self, reason: str) -> None:
        self._reason = reason

    async def send(self, notification: NotificationView) -> DeliveryResult:
        return DeliveryResult.permanent(f"{notification.channel} not sent: {self._reason}")


def build_channels(settings: Settings, http: httpx.AsyncClient) -> dict[str, Channel]:
    """Every channel (ops webhooks and email, customer email, and PagerDuty when its routing key
    is set), keyed by the outbox `channel`."""
    smtp = SmtpConfig.from_settings(settings)
    email: Channel = (
        EmailChannel(smtp) if smtp else UnconfiguredChannel("FIRSTSCAN_SMTP_HOST is not set")
    )
    customer: Channel = (
        EmailChannel(smtp, render=render_customer_email, customer_facing=True)
        if smtp
        else UnconfiguredChannel("FIRSTSCAN_SMTP_HOST is not set")
    )
    channels: dict[str, Channel] = {
        "webhook": WebhookChannel(http, settings.webhook_urls),
        "email": email,
        "customer_email": customer,
    }
    if settings.pagerduty_routing_key is not None:
        channels["pagerduty"] = PagerDutyChannel(
            http, settings.pagerduty_routing_key, events_url=settings.pagerduty_events_url
        )
    return channels
