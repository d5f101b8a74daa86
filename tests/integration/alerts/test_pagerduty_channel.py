"""The PagerDuty channel against a local receiver that checks events as PagerDuty does."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import httpx
import pytest
from pydantic import SecretStr

from app.alerts.delivery import NotificationView, Outcome
from app.alerts.pagerduty import (
    PAGERDUTY_DESTINATION,
    RATE_LIMITED_BACKOFF,
    PagerDutyChannel,
    PagerDutyItem,
    build_pagerduty_resolve,
    build_pagerduty_trigger,
)
from tests.support.pagerduty_receiver import running_pagerduty_receiver

KEY = "fedcba9876543210fedcba9876543210"
OPENED = datetime(2026, 12, 17, 6, 30, tzinfo=UTC)


def trigger(item_id: int = 42, summary: str = "USPS has no scan 3 days after the hand-off"):
    item = PagerDutyItem(
        item_id=item_id,
        rule="handoff_gap",
        severity="critical",
        summary=summary,
        opened_at=OPENED,
        url=f"http://console.example.test/console/items/{item_id}",
        team="usps-desk",
        order_number="FS-1001",
        carrier="usps",
        tracking_number="9400111899223197428490",
    )
    return notification(build_pagerduty_trigger(item))


def notification(payload) -> NotificationView:
    return NotificationView(
        id=1,
        alert_id=42,
        event=payload["event_action"],
        channel="pagerduty",
        destination=PAGERDUTY_DESTINATION,
        idempotency_key=f"pd-{payload['dedup_key']}-{payload['event_action']}",
        payload=payload,
    )


@pytest.fixture
def receiver():
    with running_pagerduty_receiver() as receiver:
        yield receiver


@pytest.fixture
async def channel(receiver):
    async with httpx.AsyncClient(timeout=5) as http:
        yield PagerDutyChannel(http, SecretStr(KEY), events_url=receiver.url)


async def test_trigger_opens_one_alert_under_the_items_dedup_key(receiver, channel):
    result = await channel.send(trigger())

    assert result.outcome is Outcome.DELIVERED
    assert result.status_code == 202
    alert = receiver.open_alert("firstscan-item-42")
    assert alert is not None
    assert alert.status == "triggered"
    assert alert.summary.startswith("[handoff_gap] FS-1001: ")
    assert receiver.requests[0]["routing_key"] == KEY


async def test_a_repeated_trigger_joins_the_open_alert(receiver, channel):
    await channel.send(trigger())
    result = await channel.send(trigger())

    assert result.outcome is Outcome.DELIVERED
    assert len(receiver.alerts) == 1
    assert receiver.alerts[0].triggers == 2


async def test_resolve_closes_the_alert_and_a_later_trigger_opens_a_new_one(receiver, channel):
    await channel.send(trigger())

    result = await channel.send(notification(build_pagerduty_resolve(42)))

    assert result.outcome is Outcome.DELIVERED
    assert receiver.open_alert("firstscan-item-42") is None
    await channel.send(trigger())
    assert [a.status for a in receiver.alerts] == ["resolved", "triggered"]


async def test_rate_limited_event_is_retried_after_pagerdutys_backoff_then_delivered(
    receiver, channel
):
    receiver.throttle(1)

    first = await channel.send(trigger())
    second = await channel.send(trigger())

    assert first.outcome is Outcome.RETRY
    assert first.rate_limited
    assert first.retry_after == RATE_LIMITED_BACKOFF
    assert second.outcome is Outcome.DELIVERED
    assert receiver.answers == [429, 202]
    assert len(receiver.alerts) == 1


async def test_rate_limited_event_honours_a_retry_after_when_one_is_sent(receiver, channel):
    receiver.retry_after = "17"
    receiver.throttle(1)

    result = await channel.send(trigger())

    assert result.retry_after is not None
    assert result.retry_after.total_seconds() == 17


async def test_an_event_pagerduty_refuses_is_final_and_names_pagerdutys_error(receiver):
    async with httpx.AsyncClient(timeout=5) as http:
        short_key = PagerDutyChannel(http, SecretStr("too-short"), events_url=receiver.url)
        result = await short_key.send(trigger())

    assert result.outcome is Outcome.PERMANENT
    assert result.status_code == 400
    assert "Length of 'routing_key' is incorrect" in (result.error or "")
    assert "too-short" not in (result.error or "")
    assert receiver.alerts == []


async def test_the_routing_key_never_reaches_errors_or_logs(receiver, caplog):
    caplog.set_level(logging.DEBUG)
    receiver.throttle(1)
    async with httpx.AsyncClient(timeout=5) as http:
        channel = PagerDutyChannel(http, SecretStr(KEY), events_url=receiver.url)
        results = [await channel.send(trigger()), await channel.send(trigger())]
        unreachable = PagerDutyChannel(
            http, SecretStr(KEY), events_url="http://127.0.0.1:9/v2/enqueue"
        )
        results.append(await unreachable.send(trigger()))

    assert [r.outcome for r in results] == [Outcome.RETRY, Outcome.DELIVERED, Outcome.RETRY]
    assert caplog.records  # httpx logged the requests
    assert KEY not in caplog.text
    assert all(KEY not in (r.error or "") for r in results)
    assert KEY not in repr(channel)
