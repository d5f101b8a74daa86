from __future__ import annotations

import json
import smtplib
from datetime import UTC, datetime, timedelta

import httpx
import pytest
import respx

from app.alerts.channels import (
    EmailChannel,
    SmtpConfig,
    UnconfiguredChannel,
    WebhookChannel,
    build_channels,
    classify_smtp_error,
    classify_webhook_response,
    message_id,
    parse_retry_after,
    webhook_destination,
)
from app.alerts.delivery import NotificationView, Outcome
from app.settings import Settings
from tests.factories import alert_payload

URL = "https://hooks.slack.example/services/T000/B000/s3cr3tT0ken"
NOW = datetime(2026, 12, 17, 15, 0, tzinfo=UTC)


def notification(**overrides) -> NotificationView:
    fields = {
        "id": 7,
        "alert_id": 42,
        "event": "opened",
        "channel": "webhook",
        "destination": webhook_destination(URL),
        "idempotency_key": "firstscan-alert-42-opened-webhook-3f2a9c",
        "payload": alert_payload(),
    }
    fields.update(overrides)
    return NotificationView(**fields)


@pytest.fixture
async def http():
    async with httpx.AsyncClient(timeout=5) as client:
        yield client


def channel(http) -> WebhookChannel:
    return WebhookChannel(http, [URL], clock=lambda: NOW)


def test_webhook_destination_is_a_short_hash_that_never_contains_the_url():
    destination = webhook_destination(URL)

    assert destination.startswith("webhook:")
    assert len(destination) == len("webhook:") + 16
    assert "s3cr3t" not in destination
    assert destination == webhook_destination(URL)
    assert destination != webhook_destination(URL + "x")


async def test_webhook_posts_slack_json_with_the_idempotency_headers(http):
    with respx.mock(assert_all_called=True) as mock:
        route = mock.post(URL).respond(200, text="ok")
        result = await channel(http).send(notification())

    assert result.outcome is Outcome.DELIVERED
    assert result.status_code == 200
    request = route.calls.last.request
    assert request.headers["Idempotency-Key"] == "firstscan-alert-42-opened-webhook-3f2a9c"
    assert request.headers["X-Firstscan-Alert-Id"] == "42"
    assert request.headers["Content-Type"] == "application/json"
    body = json.loads(request.content)
    assert set(body) == {"text", "blocks"}
    assert "UPS reports no scan since" in request.content.decode()
    assert "s3cr3tT0ken" not in request.content.decode()


@pytest.mark.parametrize(
    ("status", "headers", "outcome", "retry_after"),
    [
        (204, {}, Outcome.DELIVERED, None),
        (429, {"Retry-After": "120"}, Outcome.RETRY, timedelta(seconds=120)),
        (
            503,
            {"Retry-After": "Thu, 17 Dec 2026 15:05:00 GMT"},
            Outcome.RETRY,
            timedelta(minutes=5),
        ),
        (500, {}, Outcome.RETRY, None),
        (408, {}, Outcome.RETRY, None),
        (400, {}, Outcome.PERMANENT, None),
        (404, {}, Outcome.PERMANENT, None),
        (410, {}, Outcome.PERMANENT, None),
        (301, {"Location": "https://elsewhere.example/"}, Outcome.PERMANENT, None),
    ],
)
async def test_webhook_maps_each_status_to_an_outcome(http, status, headers, outcome, retry_after):
    with respx.mock(assert_all_called=True) as mock:
        mock.post(URL).respond(status, headers=headers, text="channel_not_found")
        result = await channel(http).send(notification())

    assert result.outcome is outcome
    assert result.status_code == status
    assert result.retry_after == retry_after
    if outcome is not Outcome.DELIVERED:
        assert result.error == f"HTTP {status}: channel_not_found"


@pytest.mark.parametrize(
    "error",
    [
        httpx.ConnectTimeout("timed out"),
        httpx.ReadTimeout("timed out"),
        httpx.ConnectError(f"cannot reach {URL}"),
        httpx.RemoteProtocolError("peer closed connection"),
    ],
)
async def test_webhook_retries_network_failures_without_leaking_the_url(http, error):
    with respx.mock(assert_all_called=True) as mock:
        mock.post(URL).mock(side_effect=error)
        result = await channel(http).send(notification())

    assert result.outcome is Outcome.RETRY
    assert result.status_code is None
    assert "s3cr3tT0ken" not in result.error
    assert "/services/" not in result.error


async def test_webhook_scrubs_the_url_out_of_an_error_body(http):
    with respx.mock(assert_all_called=True) as mock:
        mock.post(URL).respond(400, text=f"invalid_payload for {URL}")
        result = await channel(http).send(notification())

    assert result.error == "HTTP 400: invalid_payload for <webhook>"


async def test_webhook_whose_url_left_the_configuration_is_refused_without_a_request(http):
    with respx.mock(assert_all_called=True):  # no route: any request would fail the test
        result = await WebhookChannel(http, ["https://hooks.example/other"]).send(notification())

    assert result.outcome is Outcome.PERMANENT
    assert result.error.startswith(f"webhook {webhook_destination(URL)} is no longer configured")


async def test_webhook_refuses_a_payload_it_cannot_render(http):
    with respx.mock(assert_all_called=True):
        result = await channel(http).send(notification(payload=alert_payload(title=None)))

    assert result.outcome is Outcome.PERMANENT
    assert result.error == "invalid alert payload: title: Input should be a valid string"


async def test_webhook_with_a_malformed_url_is_refused_without_echoing_it(http):
    bad = "http://[::1/s3cr3t"
    channel = WebhookChannel(http, [bad])

    result = await channel.send(notification(destination=webhook_destination(bad)))

    assert result.outcome is Outcome.PERMANENT
    assert result.error == f"webhook {webhook_destination(bad)} has an invalid URL"


def test_webhook_channel_repr_hides_the_urls(http):
    assert "s3cr3t" not in repr(channel(http))


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("30", timedelta(seconds=30)),
        (" 0 ", timedelta(0)),
        ("Thu, 17 Dec 2026 15:01:00 GMT", timedelta(minutes=1)),
        ("Thu, 17 Dec 2026 14:00:00 GMT", timedelta(0)),  # already past
        ("soon", None),
        ("-5", None),
        ("", None),
        (None, None),
    ],
)
def test_parse_retry_after_reads_seconds_and_http_dates(value, expected):
    assert parse_retry_after(value, now=NOW) == expected


def test_classify_keeps_only_an_excerpt_of_a_long_error_body():
    result = classify_webhook_response(500, None, "x" * 5000, now=NOW)

    assert len(result.error) < 250


def test_message_id_is_stable_and_well_formed():
    first = message_id("firstscan-alert-42-opened-email-ab12", "Firstscan <alerts@ops.example>")

    assert first == "<firstscan-alert-42-opened-email-ab12@ops.example>"
    assert first == message_id("firstscan-alert-42-opened-email-ab12", "alerts@ops.example")
    assert message_id("a b<c>", "nobody") == "<a-b-c-@firstscan.invalid>"


@pytest.mark.parametrize(
    ("error", "outcome"),
    [
        (smtplib.SMTPRecipientsRefused({"a@x": (550, b"no such user")}), Outcome.PERMANENT),
        (smtplib.SMTPRecipientsRefused({"a@x": (450, b"mailbox busy")}), Outcome.RETRY),
        (smtplib.SMTPDataError(554, b"content rejected"), Outcome.PERMANENT),
        (smtplib.SMTPDataError(451, b"try later"), Outcome.RETRY),
        (smtplib.SMTPAuthenticationError(535, b"bad credentials"), Outcome.RETRY),
        (smtplib.SMTPSenderRefused(553, b"sender refused", "firstscan@x"), Outcome.RETRY),
        (smtplib.SMTPNotSupportedError("STARTTLS extension not supported"), Outcome.RETRY),
        (smtplib.SMTPServerDisconnected("gone"), Outcome.RETRY),
        (ConnectionRefusedError(111, "Connection refused"), Outcome.RETRY),
        (TimeoutError("timed out"), Outcome.RETRY),
    ],
)
def test_smtp_failures_are_final_only_for_a_refused_recipient_or_message(error, outcome):
    result = classify_smtp_error(error)

    assert result.outcome is outcome
    assert result.error


def test_smtp_config_comes_from_settings_and_hides_the_password():
    settings = Settings(
        smtp_host="smtp.example",
        smtp_port=2525,
        smtp_username="firstscan",
        smtp_password="hunter2",
        smtp_from="alerts@ops.example",
        smtp_starttls=False,
    )

    config = SmtpConfig.from_settings(settings)

    assert config is not None
    assert (config.host, config.port, config.sender, config.starttls) == (
        "smtp.example",
        2525,
        "alerts@ops.example",
        False,
    )
    assert "hunter2" not in repr(config)
    assert SmtpConfig.from_settings(Settings()) is None


async def test_build_channels_turns_email_off_loudly_when_smtp_is_not_configured(http):
    channels = build_channels(Settings(alert_webhook_urls=URL), http)

    assert isinstance(channels["webhook"], WebhookChannel)
    assert isinstance(channels["email"], UnconfiguredChannel)
    result = await channels["email"].send(notification(channel="email", destination="a@x"))
    assert result.outcome is Outcome.PERMANENT
    assert result.error == "email not sent: FIRSTSCAN_SMTP_HOST is not set"


def test_build_channels_uses_smtp_when_configured(http):
    channels = build_channels(Settings(smtp_host="smtp.example"), http)

    assert isinstance(channels["email"], EmailChannel)
