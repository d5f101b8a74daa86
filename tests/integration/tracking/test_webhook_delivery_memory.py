"""Pushed delivery ids are kept to refuse replays, and only as long as a replay is possible."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from app.errors import Conflict
from app.settings import Settings
from app.tracking import repository, service
from app.tracking.jobs import DELIVERY_MEMORY
from app.tracking.models import WebhookDelivery

NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)


def test_delivery_ids_outlive_every_window_a_replay_could_use():
    # A replay's signed timestamp must be within the window of its arrival and of the original's
    # sending: it can come at most two windows after the original arrived.
    longest_window = max(
        m.le for m in Settings.model_fields["webhook_max_age_seconds"].metadata if hasattr(m, "le")
    )
    assert 2 * timedelta(seconds=longest_window) < DELIVERY_MEMORY


async def test_old_delivery_ids_are_forgotten_oldest_first_and_recent_ones_kept(session):
    ages = [timedelta(days=3), timedelta(days=2), timedelta(hours=25), timedelta(hours=1)]
    for index, age in enumerate(ages):
        session.add(WebhookDelivery(carrier="ups", delivery_id=f"d{index}", received_at=NOW - age))
    await session.flush()
    cutoff = NOW - DELIVERY_MEMORY

    assert await repository.forget_webhook_deliveries(session, received_before=cutoff, limit=2) == 2
    assert await repository.forget_webhook_deliveries(session, received_before=cutoff, limit=9) == 1
    assert await repository.forget_webhook_deliveries(session, received_before=cutoff, limit=9) == 0

    kept = (await session.execute(select(WebhookDelivery.delivery_id))).scalars().all()
    assert kept == ["d3"]


async def test_a_recent_delivery_is_still_refused_as_a_replay_after_the_clean_up(session):
    session.add(WebhookDelivery(carrier="ups", delivery_id="recent", received_at=NOW))
    await session.flush()
    await repository.forget_webhook_deliveries(
        session, received_before=NOW - DELIVERY_MEMORY, limit=100
    )

    with pytest.raises(Conflict):
        await service.accept_push(session, carrier="ups", delivery_id="recent", body="{}", now=NOW)
