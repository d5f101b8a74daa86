"""One message for a group of work items: what it holds, and how Slack and email show it.

`build_group_message` turns a grouping decision into plain JSON data for the outbox (no customer
contacts: an item is named by its order number, or by carrier and tracking number); the channels
render that data with `build_group_slack_message` and `build_group_email`. However many items a
group holds, a message lists at most LISTED_ITEMS and counts the rest, so it stays inside Slack's
limits and readable by a person.
"""

from __future__ import annotations

import hashlib
import html
from collections.abc import Iterable, Mapping
from email.message import EmailMessage
from typing import Any, Literal
from urllib.parse import urlencode

from pydantic import BaseModel, ConfigDict

from app.alerts.grouping import GroupItem, GroupKey, SendNow
from app.alerts.messages import (
    FALLBACK_LIMIT,
    HEADER_LIMIT,
    SECTION_LIMIT,
    SEVERITY_EMOJI,
    SEVERITY_LABELS,
    SUBJECT_LIMIT,
    escape_mrkdwn,
    one_line,
    truncate,
)
from app.kernel.findings import SEVERITY_RANK

Severity = Literal["info", "warning", "critical"]
# The outbox `event` of a group message; the webhook and email channels render it as one.
GROUP_EVENT = "group"
LISTED_ITEMS = 10
REASON_LIMIT = 300
# docs.slack.dev/reference/block-kit/blocks: a message holds at most 50 blocks.
MAX_BLOCKS = 50


class GroupMessageItem(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    item_id: int
    severity: Severity
    reason: str
    new: bool
    order_number: str | None = None
    carrier: str | None = None
    tracking_number: str | None = None

    @property
    def subject(self) -> str:
        """The order number; without an order, the parcel by carrier and tracking number."""
        if self.order_number:
            return self.order_number
        parcel = " ".join(part for part in (self.carrier, self.tracking_number) if part)
        return parcel or f"item #{self.item_id}"


class GroupMessage(BaseModel):
    """The outbox payload of a group message: written by build_group_message, read by channels."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    group: dict[str, str]
    sequence: int
    new_count: int
    still_open_count: int
    severity: Severity
    items: tuple[GroupMessageItem, ...]
    url: str

    @classmethod
    def from_payload(cls, payload: Mapping[str, Any]) -> GroupMessage:
        """Raises pydantic.ValidationError when a required key is missing or malformed."""
        return cls.model_validate(dict(payload))

    def to_payload(self) -> dict[str, Any]:
        return self.model_dump(mode="json")

    @property
    def open_count(self) -> int:
        return self.new_count + self.still_open_count

    @property
    def group_label(self) -> str:
        return ", ".join(f"{name} {value or '(none)'}" for name, value in self.group.items())

    @property
    def headline(self) -> str:
        """One line: what is new (or that this repeats what is open), then the group."""
        if self.new_count:
            counts = f"{self.new_count} new, {self.open_count} open"
        else:
            counts = f"Still open: {self.open_count}"
        return one_line(f"{counts} · {self.group_label}")


def build_group_message(key: GroupKey, decision: SendNow, *, console_base_url: str) -> GroupMessage:
    """The payload for `decision`'s message: counts, the first LISTED_ITEMS items (new ones
    first, critical first, then oldest) and a console link filtered to exactly this group."""
    listed = _listed(decision.new, new=True) + _listed(decision.still_open, new=False)
    everything = (*decision.new, *decision.still_open)
    return GroupMessage(
        group=key.as_dict(),
        sequence=decision.sequence,
        new_count=len(decision.new),
        still_open_count=len(decision.still_open),
        severity=max(
            (i.severity for i in everything), key=SEVERITY_RANK.__getitem__, default="info"
        ),
        items=tuple(listed[:LISTED_ITEMS]),
        url=console_group_url(console_base_url, key),
    )


def group_idempotency_key(key: GroupKey, sequence: int, channel: str, destination: str) -> str:
    """One key per (group, message number, destination), at most 128 characters whatever the
    group's fields hold; unique as long as the group's sequence is kept with its state."""
    group = hashlib.sha256(key.key.encode()).hexdigest()[:16]
    where = hashlib.sha256(f"{channel}\n{destination}".encode()).hexdigest()[:8]
    return f"firstscan-group-{group}-{sequence}-{channel[:32]}-{where}"


def console_group_url(console_base_url: str, key: GroupKey) -> str:
    """The console's alert board filtered by every field of the group key."""
    return f"{console_base_url.rstrip('/')}/console/alerts?{urlencode(key.fields)}"


def _listed(items: Iterable[GroupItem], *, new: bool) -> list[GroupMessageItem]:
    ordered = sorted(items, key=lambda i: (-SEVERITY_RANK[i.severity], i.opened_at, i.item_id))
    return [
        GroupMessageItem(
            item_id=item.item_id,
            severity=item.severity,
            reason=truncate(one_line(item.reason), REASON_LIMIT),
            new=new,
            order_number=item.order_number,
            carrier=item.carrier,
            tracking_number=item.tracking_number,
        )
        for item in ordered[:LISTED_ITEMS]
    ]


def build_group_slack_message(message: GroupMessage) -> dict[str, Any]:
    """A Slack incoming-webhook body within Block Kit's limits: a header, the counts, one section
    per listed item and a context line with the console link; user text is escaped."""
    label = SEVERITY_LABELS[message.severity]
    header = f"{SEVERITY_EMOJI[message.severity]} {message.headline}"
    blocks: list[dict[str, Any]] = [
        {
            "type": "header",
            "text": {"type": "plain_text", "text": truncate(header, HEADER_LIMIT), "emoji": True},
        },
        _section(_summary(message)),
        *(_section(_item_line(item)) for item in message.items),
        {
            "type": "context",
            "elements": [{"type": "mrkdwn", "text": truncate(_footer(message), SECTION_LIMIT)}],
        },
    ]
    fallback = truncate(f"[{label}] {message.headline}", FALLBACK_LIMIT)
    return {"text": escape_mrkdwn(fallback), "blocks": blocks[:MAX_BLOCKS]}


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": truncate(text, SECTION_LIMIT)}}


def _summary(message: GroupMessage) -> str:
    fields = " · ".join(
        f"{escape_mrkdwn(name)} *{escape_mrkdwn(value) or '(none)'}*"
        for name, value in message.group.items()
    )
    return f"*{message.new_count}* new, *{message.still_open_count}* still open · {fields}"


def _item_line(item: GroupMessageItem) -> str:
    mark = "*NEW* " if item.new else ""
    severity = SEVERITY_LABELS[item.severity].lower()
    return f"{mark}*{escape_mrkdwn(item.subject)}* · {severity}\n{escape_mrkdwn(item.reason)}"


def _footer(message: GroupMessage) -> str:
    link = f"<{escape_mrkdwn(message.url)}|Open this group in the console>"
    return f"Showing {len(message.items)} of {message.open_count} · {link}"


def build_group_email(message: GroupMessage) -> EmailMessage:
    """Subject plus a plain-text body and an HTML alternative listing the same items."""
    email = EmailMessage()
    label = SEVERITY_LABELS[message.severity]
    email["Subject"] = truncate(f"[{label}] {message.headline}", SUBJECT_LIMIT)
    email.set_content(_group_text(message))
    email.add_alternative(_group_html(message), subtype="html")
    return email


def _group_text(message: GroupMessage) -> str:
    lines = [
        f"{'NEW ' if item.new else ''}{item.subject} ({item.severity}): {item.reason}"
        for item in message.items
    ]
    return (
        f"{message.headline}\n\n"
        + "\n".join(lines)
        + f"\n\nShowing {len(message.items)} of {message.open_count}."
        + f"\nOpen them in the console: {message.url}\n"
    )


def _group_html(message: GroupMessage) -> str:
    esc = html.escape
    rows = "".join(
        f"<tr><td>{'NEW' if item.new else ''}</td><td>{esc(item.subject)}</td>"
        f"<td>{esc(item.severity)}</td><td>{esc(item.reason)}</td></tr>"
        for item in message.items
    )
    return (
        "<!DOCTYPE html><html><body>"
        f"<h2>{esc(message.headline)}</h2>"
        f"<table>{rows}</table>"
        f"<p>Showing {len(message.items)} of {message.open_count}. "
        f'<a href="{esc(message.url, quote=True)}">Open them in the console</a></p>'
        "</body></html>\n"
    )
