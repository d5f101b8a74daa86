from __future__ import annotations

import html
from collections.abc import Mapping
from datetime import datetime
from email.message import EmailMessage
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

# Block Kit limits (docs.slack.dev/reference/block-kit/blocks): a header's plain_text holds 150
# characters, a section's text 3000, each section field 2000.
HEADER_LIMIT = 150
SECTION_LIMIT = 3000
FIELD_LIMIT = 2000
# Slack shows the top-level `text` in notifications when blocks are present; keep it short.
FALLBACK_LIMIT = 300
SUBJECT_LIMIT = 200

SEVERITY_LABELS = {"info": "INFO", "warning": "WARNING", "critical": "CRITICAL"}
SEVERITY_EMOJI = {
    "info": ":information_source:",
    "warning": ":warning:",
    "critical": ":rotating_light:",
}


class AlertMessage(BaseModel):
    """The payload of an ops notification, as the alert service writes it into the outbox."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    alert_id: int
    event: Literal["opened", "escalated"]
    rule: str
    severity: Literal["info", "warning", "critical"]
    title: str
    explanation: str
    recommended_action: str
    order_number: str | None = None
    carrier: str | None = None
    carrier_name: str | None = None
    tracking_number: str | None = None
    team: str | None = None
    opened_at: datetime
    url: str

    @classmethod
    def from_payload(cls, payload: Mapping[str, Any]) -> AlertMessage:
        """Raises pydantic.ValidationError when a required key is missing or malformed."""
        return cls.model_validate(dict(payload))

    @property
    def headline(self) -> str:
        """One line: the title, prefixed when the alert was escalated."""
        title = one_line(self.title)
        return f"Escalated: {title}" if self.event == "escalated" else title

    def facts(self) -> list[tuple[str, str]]:
        """Label/value pairs worth a glance; absent values are left out."""
        carrier = self.carrier_name or self.carrier
        pairs = [
            ("Severity", SEVERITY_LABELS[self.severity].lower()),
            ("Rule", self.rule),
            ("Order", self.order_number),
            ("Carrier", carrier),
            ("Tracking number", self.tracking_number),
            ("Team", self.team),
        ]
        return [(label, value) for label, value in pairs if value]


def one_line(text: str) -> str:
    """Collapses all whitespace, newlines included, to single spaces."""
    return " ".join(text.split())


def truncate(text: str, limit: int) -> str:
    """Returns `text` cut to at most `limit` characters, marked with an ellipsis when cut."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def escape_mrkdwn(text: str) -> str:
    """Escapes Slack's control characters so user text cannot form links or mentions."""
    # docs.slack.dev formatting: &, < and > must be HTML entities unless used as markup.
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def build_slack_message(message: AlertMessage) -> dict[str, Any]:
    """A Slack incoming-webhook body: a plain fallback `text` plus header/section/context blocks,
    each within Block Kit's length limits; user text is escaped."""
    label = SEVERITY_LABELS[message.severity]
    fallback = truncate(f"[{label}] {message.headline}", FALLBACK_LIMIT)
    fields = [
        {"type": "mrkdwn", "text": truncate(f"*{name}*\n{escape_mrkdwn(value)}", FIELD_LIMIT)}
        for name, value in message.facts()
    ]
    opened = message.opened_at.isoformat()
    link = f"<{escape_mrkdwn(message.url)}|Open alert #{message.alert_id}>"
    blocks: list[dict[str, Any]] = [
        {
            "type": "header",
            "text": {
                "type": "plain_text",
                "text": truncate(
                    f"{SEVERITY_EMOJI[message.severity]} {message.headline}", HEADER_LIMIT
                ),
                "emoji": True,
            },
        },
        {"type": "section", "fields": fields},
        _mrkdwn_section("What happened", message.explanation),
        _mrkdwn_section("Recommended action", message.recommended_action),
        {
            "type": "context",
            "elements": [{"type": "mrkdwn", "text": f"Opened {opened} · {link}"}],
        },
    ]
    return {"text": escape_mrkdwn(fallback), "blocks": blocks}


def _mrkdwn_section(heading: str, body: str) -> dict[str, Any]:
    text = truncate(f"*{heading}*\n{escape_mrkdwn(body.strip())}", SECTION_LIMIT)
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def build_alert_email(message: AlertMessage) -> EmailMessage:
    """Subject plus a plain-text body and an HTML alternative with the same facts; the sender,
    recipient and identifying headers are the channel's to set."""
    label = SEVERITY_LABELS[message.severity]
    email = EmailMessage()
    email["Subject"] = truncate(f"[{label}] {message.headline}", SUBJECT_LIMIT)
    email.set_content(_alert_text(message))
    email.add_alternative(_alert_html(message), subtype="html")
    return email


def _alert_text(message: AlertMessage) -> str:
    facts = "\n".join(f"{label}: {value}" for label, value in message.facts())
    return (
        f"{message.headline}\n\n"
        f"What happened\n{message.explanation.strip()}\n\n"
        f"Recommended action\n{message.recommended_action.strip()}\n\n"
        f"{facts}\nOpened at: {message.opened_at.isoformat()}\n\n"
        f"Open the alert: {message.url}\n"
    )


def _alert_html(message: AlertMessage) -> str:
    esc = html.escape
    rows = "".join(
        f"<tr><th align='left'>{esc(label)}</th><td>{esc(value)}</td></tr>"
        for label, value in message.facts()
    )
    return (
        "<!DOCTYPE html><html><body>"
        f"<h2>{esc(message.headline)}</h2>"
        f"<h3>What happened</h3><p>{_paragraphs(message.explanation)}</p>"
        f"<h3>Recommended action</h3><p>{_paragraphs(message.recommended_action)}</p>"
        f"<table>{rows}<tr><th align='left'>Opened at</th>"
        f"<td>{esc(message.opened_at.isoformat())}</td></tr></table>"
        f'<p><a href="{esc(message.url, quote=True)}">Open alert #{message.alert_id}</a></p>'
        "</body></html>\n"
    )


def _paragraphs(text: str) -> str:
    return "<br>".join(html.escape(line) for line in text.strip().splitlines())


class CustomerNoticeMessage(BaseModel):
    """The payload of a customer email: written whole by the notice builder, sent as is."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    subject: str
    body: str

    @classmethod
    def from_payload(cls, payload: Mapping[str, Any]) -> CustomerNoticeMessage:
        return cls.model_validate(dict(payload))


def build_customer_email(message: CustomerNoticeMessage) -> EmailMessage:
    """A plain-text email to the customer; the channel adds sender and recipient."""
    email = EmailMessage()
    email["Subject"] = truncate(one_line(message.subject), SUBJECT_LIMIT)
    email.set_content(message.body)
    return email
