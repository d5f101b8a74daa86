"""Carrier pushes: signature checks (pure) and the body they must carry.

A sender signs each delivery with the shared secret: `X-Firstscan-Signature: sha256=<hex
HMAC-SHA256 of "<timestamp>\n<delivery id>\n<carrier>\n<raw body>">`, with
`X-Firstscan-Timestamp: <unix seconds>` and a unique `X-Firstscan-Delivery: <id>`; <carrier> is
the code in the URL (`ups` in /v1/webhooks/ups). Signing the delivery id and the carrier as well
as the body means a captured push cannot be replayed under a new id (which would dodge the
replay check) or to another carrier's URL. Newlines separate the parts because no header value
and no carrier code can contain one, so no two deliveries sign the same text.

A bad signature is refused (401), so is a missing header and a delivery older or newer than the
allowed age (401); a delivery id seen before is 409. An accepted push goes to the inbox
(app/tracking/inbox.py) and is read by the worker like a carrier's own push.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime, timedelta
from typing import Annotated

from pydantic import AwareDatetime, Field

from app.input import FreeText, Name, StrictInput
from carriers.types import (
    Location,
    TrackingEvent,
    TrackingSnapshot,
    TrackingStatus,
    codes_name_scans,
)

SIGNATURE_PREFIX = "sha256="


def sign_delivery(
    secret: str, *, timestamp: int, delivery_id: str, carrier: str, body: bytes
) -> str:
    """The X-Firstscan-Signature value for this delivery; any change to a part changes it."""
    signed = f"{timestamp}\n{delivery_id}\n{carrier}\n".encode() + body
    digest = hmac.new(secret.encode(), signed, hashlib.sha256)
    return SIGNATURE_PREFIX + digest.hexdigest()


def check_delivery(
    secret: str,
    *,
    signature: str | None,
    timestamp: str | None,
    delivery_id: str | None,
    carrier: str,
    body: bytes,
    now: datetime,
    max_age: timedelta,
) -> str | None:
    """None when the delivery is authentic and fresh, else the reason to refuse it."""
    if not signature or not timestamp or not delivery_id:
        return "missing X-Firstscan-Signature, X-Firstscan-Timestamp or X-Firstscan-Delivery header"
    try:
        sent_at = int(timestamp)
    except ValueError:
        return "X-Firstscan-Timestamp must be unix seconds"
    expected = sign_delivery(
        secret, timestamp=sent_at, delivery_id=delivery_id, carrier=carrier, body=body
    )
    if not hmac.compare_digest(expected, signature.strip()):
        return "signature does not match"
    if abs(now.timestamp() - sent_at) > max_age.total_seconds():
        return "delivery is stale (timestamp outside the allowed window)"
    return None


PushedNumber = Annotated[str, Name(max_length=64)]
EventCode = Annotated[str, Name(max_length=64)]
EventDescription = Annotated[str, FreeText(max_length=1000)]


class PushedLocation(StrictInput):
    city: Annotated[str, FreeText(max_length=128)] | None = None
    state: Annotated[str, FreeText(max_length=64)] | None = None
    postal_code: Annotated[str, FreeText(max_length=16)] | None = None
    country: Annotated[str, FreeText(max_length=64)] | None = None


class PushedEvent(StrictInput):
    status: TrackingStatus
    code: EventCode
    description: EventDescription = ""
    occurred_at: AwareDatetime
    location: PushedLocation | None = None


class PushedTracking(StrictInput):
    """One push: the carrier's events for one number, in the normalized vocabulary."""

    tracking_number: PushedNumber
    status: TrackingStatus | None = Field(
        default=None, description="the current status; default: the newest event's"
    )
    events: list[PushedEvent] = Field(min_length=1, max_length=500)


def build_snapshot(carrier: str, tracking_number: str, push: PushedTracking) -> TrackingSnapshot:
    # Keyed as the carrier's own parser keys them, so a pushed scan meets its polled self.
    by_code = codes_name_scans(carrier)
    events = tuple(
        sorted(
            (
                TrackingEvent(
                    status=e.status,
                    occurred_at=e.occurred_at,
                    carrier_code=e.code,
                    description=e.description,
                    location=Location(**e.location.model_dump()) if e.location else None,
                    code_names_scan=by_code,
                )
                for e in push.events
            ),
            key=lambda e: e.occurred_at,
        )
    )
    return TrackingSnapshot(
        carrier=carrier,
        tracking_number=tracking_number,
        status=push.status or events[-1].status,
        events=events,
    )
