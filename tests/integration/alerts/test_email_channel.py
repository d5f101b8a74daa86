from __future__ import annotations

import shutil
import socket
import ssl
import subprocess
from collections.abc import Iterator
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from app.alerts.channels import EmailChannel, SmtpConfig
from app.alerts.delivery import NotificationView, Outcome
from app.alerts.dispatch import DispatchReport, dispatch_due_notifications
from tests.factories import OPENED_AT, alert_payload
from tests.integration.alerts.conftest import load_attempts, load_notifications, seed_notifications

KEY = "firstscan-alert-42-opened-email-ops-example"


class Inbox:
    """An aiosmtpd handler that keeps every accepted message and refuses listed recipients."""

    def __init__(self) -> None:
        self.messages: list[tuple[list[str], EmailMessage]] = []
        self.refused: set[str] = set()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options) -> str:  # noqa: N802
        if address in self.refused:
            return "550 5.1.1 no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802
        message = message_from_bytes(envelope.content, policy=policy.default)
        self.messages.append((list(envelope.rcpt_tos), message))
        return "250 Message accepted for delivery"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_smtp(inbox: Inbox, **kwargs: Any) -> Controller:
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port(), **kwargs)
    controller.start()
    return controller


@pytest.fixture
def inbox() -> Iterator[tuple[Inbox, int]]:
    inbox = Inbox()
    controller = start_smtp(inbox)
    yield inbox, controller.port
    controller.stop()


def notification(**overrides: Any) -> NotificationView:
    fields: dict[str, Any] = {
        "id": 1,
        "alert_id": 42,
        "event": "opened",
        "channel": "email",
        "destination": "ops@example.com",
        "idempotency_key": KEY,
        "payload": alert_payload(),
    }
    fields.update(overrides)
    return NotificationView(**fields)


def plain_config(port: int) -> SmtpConfig:
    return SmtpConfig(
        host="127.0.0.1", port=port, sender="alerts@firstscan.example", starttls=False
    )


async def test_email_reaches_the_smtp_server_with_the_idempotency_headers(inbox):
    server, port = inbox

    result = await EmailChannel(plain_config(port)).send(notification())

    assert result.outcome is Outcome.DELIVERED
    [(recipients, message)] = server.messages
    assert recipients == ["ops@example.com"]
    assert message["X-Firstscan-Idempotency-Key"] == KEY
    assert message["X-Firstscan-Alert-Id"] == "42"
    assert message["Message-ID"] == f"<{KEY}@firstscan.example>"
    assert message["From"] == "alerts@firstscan.example"
    assert message["To"] == "ops@example.com"
    assert message["Subject"] == "[CRITICAL] Label announced 30 h ago, UPS has no scan"
    assert message["Date"]
    assert message.get_content_type() == "multipart/alternative"
    assert "Ask the warehouse" in message.get_body(("plain",)).get_content()
    assert "Ask the warehouse" in message.get_body(("html",)).get_content()


async def test_a_resent_email_carries_the_same_message_id(inbox):
    server, port = inbox
    channel = EmailChannel(plain_config(port))

    await channel.send(notification())
    await channel.send(notification())

    first, second = (message for _, message in server.messages)
    assert first["Message-ID"] == second["Message-ID"]
    assert first["X-Firstscan-Idempotency-Key"] == second["X-Firstscan-Idempotency-Key"]


async def test_a_refused_recipient_is_a_permanent_failure(inbox):
    server, port = inbox
    server.refused.add("gone@example.com")

    result = await EmailChannel(plain_config(port)).send(
        notification(destination="gone@example.com")
    )

    assert result.outcome is Outcome.PERMANENT
    assert result.status_code == 550
    assert result.error == "recipient refused: 550 5.1.1 no such mailbox"
    assert server.messages == []


async def test_an_unreachable_smtp_server_is_retried():
    result = await EmailChannel(plain_config(free_port())).send(notification())

    assert result.outcome is Outcome.RETRY
    assert result.error.startswith("ConnectionRefusedError")


async def test_another_email_kind_needs_only_its_own_renderer(inbox):
    server, port = inbox

    def render_notice(notification: NotificationView) -> EmailMessage:
        email = EmailMessage()
        email["Subject"] = notification.payload["subject"]
        email.set_content(notification.payload["body"])
        return email

    channel = EmailChannel(plain_config(port), render=render_notice)
    result = await channel.send(
        notification(
            channel="customer_email",
            destination="jamie@example.com",
            payload={"subject": "Your parcel is delayed", "body": "We are on it."},
        )
    )

    assert result.outcome is Outcome.DELIVERED
    [(recipients, message)] = server.messages
    assert recipients == ["jamie@example.com"]
    assert message["Subject"] == "Your parcel is delayed"
    assert message.get_content().strip() == "We are on it."
    assert message["X-Firstscan-Idempotency-Key"] == KEY


async def test_dispatch_delivers_an_email_notification_from_the_outbox(inbox, sessionmaker):
    server, port = inbox
    [notification_id] = await seed_notifications(
        sessionmaker, 1, now=OPENED_AT, channel="email", destination="ops@example.com"
    )

    report = await dispatch_due_notifications(
        sessionmaker,
        channels={"email": EmailChannel(plain_config(port))},
        worker_id="worker-a",
        now=OPENED_AT,
    )

    assert report == DispatchReport(claimed=1, delivered=1)
    [row] = await load_notifications(sessionmaker, [notification_id])
    assert row.status == "delivered"
    [(recipients, message)] = server.messages
    assert recipients == ["ops@example.com"]
    assert message["X-Firstscan-Idempotency-Key"] == row.idempotency_key
    [attempt] = await load_attempts(sessionmaker, [notification_id])
    assert attempt.succeeded


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1, made with the openssl command."""
    if shutil.which("openssl") is None:
        pytest.skip("the openssl command is needed to make a test certificate")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
         "-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return cert, key


@pytest.fixture
def tls_inbox(certificate) -> Iterator[tuple[Inbox, int]]:
    cert, key = certificate
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_context.load_cert_chain(cert, key)
    inbox = Inbox()
    controller = start_smtp(inbox, tls_context=server_context, require_starttls=True)
    yield inbox, controller.port
    controller.stop()


async def test_email_goes_over_starttls_when_configured(tls_inbox, certificate):
    server, port = tls_inbox
    client_context = ssl.create_default_context(cafile=str(certificate[0]))
    config = SmtpConfig(host="127.0.0.1", port=port, starttls=True, tls_context=client_context)

    result = await EmailChannel(config).send(notification())

    assert result.outcome is Outcome.DELIVERED
    [(_, message)] = server.messages
    assert message["X-Firstscan-Idempotency-Key"] == KEY


async def test_email_is_never_sent_in_clear_to_a_server_that_requires_starttls(tls_inbox):
    server, port = tls_inbox

    result = await EmailChannel(plain_config(port)).send(notification())

    assert result.outcome is Outcome.RETRY
    assert server.messages == []


async def test_an_untrusted_certificate_stops_the_send(tls_inbox):
    server, port = tls_inbox
    config = SmtpConfig(host="127.0.0.1", port=port, starttls=True)  # system CAs only

    result = await EmailChannel(config).send(notification())

    assert result.outcome is Outcome.RETRY
    assert "SSLCertVerificationError" in result.error
    assert server.messages == []
