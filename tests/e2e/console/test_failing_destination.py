"""A webhook that keeps failing opens its destination's breaker: its messages wait, uncounted,
instead of being retried in a loop, and ops see it on the console and in /metrics, by hash."""

from __future__ import annotations

from datetime import timedelta

from app.alerts import destination_state
from app.alerts.delivery import DeliveryResult, webhook_destination
from app.alerts.destinations import DestinationLimits
from app.kernel.breaker import BreakerPolicy
from app.kernel.send_slots import Spacing
from tests.e2e.console.conftest import sign_in

URL = "https://hooks.example.test/services/T0/B0/s3cretToken"
DESTINATION = webhook_destination(URL)
LIMITS = {"webhook": DestinationLimits(Spacing(1), breaker=BreakerPolicy(failure_threshold=3))}


async def test_a_destination_that_keeps_failing_is_shown_paused_by_its_hash(
    client, api_keys, session, clock
):
    failure = DeliveryResult.retry("HTTP 503: no_service", status_code=503)
    answers = [destination_state.Answer("webhook", DESTINATION, failure)] * 3
    await destination_state.record_answers(session, answers, limits=LIMITS, now=clock.now)
    await session.commit()
    await sign_in(client, api_keys["agent"])

    page = await client.get("/console/set-aside")
    scraped = await client.get("/metrics")

    assert "1 paused or failing" in page.text
    assert DESTINATION in page.text
    assert "failing (breaker open)" in page.text
    assert "HTTP 503: no_service" in page.text
    labels = f'channel="webhook",destination="{DESTINATION}"'
    assert f"firstscan_destination_paused{{{labels}}} 1.0" in scraped.text
    assert f"firstscan_destination_consecutive_failures{{{labels}}} 3.0" in scraped.text
    assert f"firstscan_destination_breaker_open{{{labels}}} 1.0" in scraped.text
    for text in (page.text, scraped.text):
        assert "s3cretToken" not in text
    row = await destination_state.lock_destination(
        session, DESTINATION, channel="webhook", now=clock.now
    )
    assert row.breaker_open_until == clock.now + timedelta(minutes=1)


async def test_healthy_destinations_are_not_listed(client, api_keys):
    await sign_in(client, api_keys["agent"])

    page = await client.get("/console/set-aside")

    assert "Every alert destination takes messages" in page.text
