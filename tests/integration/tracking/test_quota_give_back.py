"""The quota counts the calls firstscan made, not the slots it reserved (issue 13)."""

from __future__ import annotations

from datetime import timedelta
from random import Random

from app.tracking.models import CarrierState
from app.tracking.poller import Poller
from app.tracking.rate import CarrierLimits
from carriers.sandbox import SandboxCarrier
from tests.integration.tracking.test_poller import LABEL_AT, SETTINGS, session, ups_order

__all__ = ["session"]


class CountingSandbox(SandboxCarrier):
    def __init__(self, *, clock) -> None:
        super().__init__("ups", clock=clock)
        self.calls = 0

    async def fetch_tracking(self, queries):
        self.calls += 1
        return await super().fetch_tracking(queries)


async def test_the_quota_used_equals_the_calls_sent_after_a_pass_with_unused_slots(
    committing_sessionmaker, session, clock
):
    for index in range(3):
        await ups_order(committing_sessionmaker, "normal", index)
    clock.now = LABEL_AT + timedelta(days=2)
    client = CountingSandbox(clock=clock)
    limits = {"ups": CarrierLimits(per_second=1000, per_hour=1000, per_day=5000)}

    async def no_sleep(_: float) -> None:
        return None

    poller = Poller(
        committing_sessionmaker,
        clients={"ups": client},
        limits=limits,
        settings=SETTINGS,  # 32 calls at once: blocks of 16 slots for 3 legs
        worker_id="test-worker",
        clock=clock,
        sleep=no_sleep,
        rng=Random(7),
    )
    for _ in range(3):  # the first pass calls once alone (a cold client), the next the rest
        await poller.poll_due()

    state = await session.get(CarrierState, "ups", populate_existing=True)
    assert client.calls == 3
    assert (state.hour_used, state.day_used) == (3, 3)
