from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import httpx
import pytest
import respx
from pydantic import SecretStr

from app.alerts.channels import build_channels
from app.alerts.delivery import NotificationView, Outcome
from app.alerts.pagerduty import (
    PAGERDUTY_DESTINATION,
    PAGERDUTY_EVENTS_URL,
    RATE_LIMITED_BACKOFF,
    PagerDutyChannel,
    PagerDutyItem,
    build_pagerduty_acknowledge,
    build_pagerduty_resolve,
    build_pagerduty_trigger,
    item_dedup_key,
)
from app.settings import Settings

KEY = "0123456789abcdef0123456789abcdef"
NOW = datetime(2026, 12, 17, 15, 0, tzinfo=UTC)
OPENED = datetime(2026, 12, 17, 6, 30, tzinfo=UTC)


def pd_item(**overrides) -> PagerDutyItem:
    fields = {
        "item_id": 42,
        "rule": "handoff_gap",
        "severity": "critical",
        "summary": "FedEx handed the parcel to USPS 3 days ago; USPS has no scan",
        "opened_at": OPENED,
        "url": "https://firstscan.example.test/console/items/42",
        "team": "usps-desk",
        "order_number": "FS-1001",
        "carrier": "usps",
        "tracking_number": "9400111899223197428490",
    }
    fields.update(overrides)
    return PagerDutyItem(**fields)


def notification(payload, **overrides) -> NotificationView:
    fields = {
        "id": 7,
        "alert_id": 42,
        "event": "opened",
        "channel": "pagerduty",
        "destination": PAGERDUTY_DESTINATION,
        "idempotency_key": "firstscan-item-42-trigger",
        "payload": payload,
    }
    fields.update(overrides)
    return NotificationView(**fields)


def test_trigger_is_an_events_v2_alert_without_the_routing_key():
    event = build_pagerduty_trigger(pd_item())

    assert event["event_action"] == "trigger"
    assert event["dedup_key"] == "firstscan-item-42"
    assert "routing_key" not in event
    payload = event["payload"]
    assert payload["summary"] == (
        "[handoff_gap] FS-1001: FedEx handed the parcel to USPS 3 days ago; USPS has no scan"
    )
    assert payload["severity"] == "critical"
    assert payload["source"] == "firstscan"
    assert payload["timestamp"] == "2026-12-17T06:30:00+00:00"
    assert (payload["component"], payload["group"], payload["class"]) == (
        "usps",
        "usps-desk",
        "handoff_gap",
    )
    assert payload["custom_details"]["tracking_number"] == "9400111899223197428490"
    assert event["links"] == [
        {
            "href": "https://firstscan.example.test/console/items/42",
            "text": "Open the item in the firstscan console",
        }
    ]
    json.dumps(event)  # plain JSON for the outbox


def test_trigger_without_an_order_names_the_parcel_and_leaves_out_empty_fields():
    event = build_pagerduty_trigger(pd_item(order_number=None, team=None, severity="warning"))

    assert event["payload"]["summary"].startswith("[handoff_gap] usps 9400111899223197428490: ")
    assert "group" not in event["payload"]
    assert "order_number" not in event["payload"]["custom_details"]
    assert event["payload"]["severity"] == "warning"


def test_trigger_summary_fits_pagerdutys_1024_characters():
    event = build_pagerduty_trigger(pd_item(summary="long\n" * 1000))

    assert len(event["payload"]["summary"]) == 1024
    assert "\n" not in event["payload"]["summary"]


def test_resolve_and_acknowledge_use_the_triggers_dedup_key():
    assert build_pagerduty_resolve(42) == {
        "event_action": "resolve",
        "dedup_key": "firstscan-item-42",
    }
    assert build_pagerduty_acknowledge(42)["dedup_key"] == item_dedup_key(42)
    assert item_dedup_key(42) != item_dedup_key(43)


@pytest.fixture
async def http():
    async with httpx.AsyncClient(timeout=5) as client:
        yield client


def channel(http) -> PagerDutyChannel:
    return PagerDutyChannel(http, SecretStr(KEY), clock=lambda: NOW)


async def test_channel_adds_the_routing_key_and_posts_to_the_events_api(http):
    with respx.mock(assert_all_called=True) as mock:
        route = mock.post(PAGERDUTY_EVENTS_URL).respond(
            202,
            json={
                "status": "success",
                "message": "Event processed",
                "dedup_key": "firstscan-item-42",
            },
        )
        result = await channel(http).send(notification(build_pagerduty_trigger(pd_item())))

    assert result.outcome is Outcome.DELIVERED
    body = json.loads(route.calls.last.request.content)
    assert body["routing_key"] == KEY
    assert body["dedup_key"] == "firstscan-item-42"


@pytest.mark.parametrize(
    ("status", "headers", "outcome", "retry_after"),
    [
        (429, {}, Outcome.RETRY, RATE_LIMITED_BACKOFF),
        (429, {"Retry-After": "30"}, Outcome.RETRY, timedelta(seconds=30)),
        (500, {}, Outcome.RETRY, None),
        (503, {"Retry-After": "5"}, Outcome.RETRY, timedelta(seconds=5)),
        (400, {}, Outcome.PERMANENT, None),
        (404, {}, Outcome.PERMANENT, None),
    ],
)
async def test_channel_maps_pagerdutys_answers(http, status, headers, outcome, retry_after):
    with respx.mock(assert_all_called=True) as mock:
        mock.post(PAGERDUTY_EVENTS_URL).respond(status, headers=headers, json={"status": "x"})
        result = await channel(http).send(notification(build_pagerduty_resolve(42)))

    assert (result.outcome, result.status_code, result.retry_after) == (
        outcome,
        status,
        retry_after,
    )


async def test_a_network_error_is_retried_and_never_names_the_key(http):
    with respx.mock(assert_all_called=True) as mock:
        mock.post(PAGERDUTY_EVENTS_URL).mock(side_effect=httpx.ConnectError(f"refused {KEY}"))
        result = await channel(http).send(notification(build_pagerduty_resolve(42)))

    assert result.outcome is Outcome.RETRY
    assert KEY not in (result.error or "")
    assert "<routing key>" in (result.error or "")


@pytest.mark.parametrize(
    ("payload", "where"),
    [
        ({"event_action": "page", "dedup_key": "k"}, "event_action"),
        ({"event_action": "trigger", "dedup_key": "k"}, "a trigger needs a payload"),
        ({"event_action": "resolve"}, "dedup_key"),
        (
            {
                "event_action": "trigger",
                "dedup_key": "k",
                "payload": {"summary": "s", "source": "x", "severity": "high"},
            },
            "payload.severity",
        ),
    ],
)
async def test_an_invalid_event_is_final_without_a_request(http, payload, where):
    with respx.mock(assert_all_called=False) as mock:
        route = mock.post(PAGERDUTY_EVENTS_URL)
        result = await channel(http).send(notification(payload))

    assert not route.called
    assert result.outcome is Outcome.PERMANENT
    assert where in (result.error or "")


async def test_an_invalid_events_url_is_final(http):
    broken = PagerDutyChannel(http, SecretStr(KEY), events_url="http://[::1")

    result = await broken.send(notification(build_pagerduty_resolve(42)))

    assert result.outcome is Outcome.PERMANENT
    assert "FIRSTSCAN_PAGERDUTY_EVENTS_URL" in (result.error or "")


def test_repr_never_shows_the_routing_key(http):
    assert KEY not in repr(channel(http))


async def test_build_channels_registers_pagerduty_only_with_a_routing_key(http):
    assert "pagerduty" not in build_channels(Settings(), http)

    channels = build_channels(
        Settings(pagerduty_routing_key=KEY, pagerduty_events_url="http://127.0.0.1:9/v2/enqueue"),
        http,
    )

    assert isinstance(channels["pagerduty"], PagerDutyChannel)
    assert "127.0.0.1:9" in repr(channels["pagerduty"])
