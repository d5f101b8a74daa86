"""Pacing sends to rate-limited destinations (webhooks) through their shared rows, so that N
dispatchers together send no more than the destination's rate, and a 429 pauses all of them."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.alerts import destination_state
from app.alerts.destinations import (
    DestinationLimits,
    DestinationReservation,
    pause_until,
    plan_sends,
)
from app.db import retry_on_conflict, session_scope
from app.kernel.send_slots import SlotSource

DestinationSlots = SlotSource[None]


class DestinationThrottle:
    """Hands out send slots per destination of the limited channels; others are not paced."""

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        limits: Mapping[str, DestinationLimits],
        *,
        clock: Callable[[], datetime],
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        block: int = 4,
    ) -> None:
        self._sessionmaker = sessionmaker
        self.limits = limits
        self.clock = clock
        self.sleep = sleep
        self._block = block

    def slots(self, channel: str, destination: str) -> DestinationSlots | None:
        """A pass's slot source for one destination; None for a channel that is not paced."""
        limits = self.limits.get(channel)
        if limits is None:
            return None
        return SlotSource(
            lambda wanted: self._reserve(channel, destination, wanted),
            block=self._block,
            clock=self.clock,
            tolerance=limits.slot_tolerance,
        )

    def tolerance(self, channel: str) -> timedelta:
        return self.limits[channel].slot_tolerance

    @retry_on_conflict
    async def _reserve(self, channel: str, destination: str, wanted: int) -> DestinationReservation:
        async with session_scope(self._sessionmaker) as session:
            row = await destination_state.lock_destination(
                session, destination, channel=channel, now=self.clock()
            )
            # Read after the lock wait: slots planned from a stale now would start in the past.
            now = self.clock()
            reservation, state = plan_sends(
                destination_state.state_of(row), wanted=wanted, limits=self.limits[channel], now=now
            )
            destination_state.store_state(row, state, now=now)
            return reservation

    @retry_on_conflict
    async def pause(
        self, channel: str, destination: str, *, retry_after: timedelta | None
    ) -> datetime:
        """Pauses the destination for every dispatcher at once; returns until when."""
        async with session_scope(self._sessionmaker) as session:
            now = self.clock()
            row = await destination_state.lock_destination(
                session, destination, channel=channel, now=now
            )
            row.paused_until = pause_until(
                row.paused_until,
                retry_after=retry_after,
                spacing=self.limits[channel].spacing,
                now=self.clock(),
            )
            row.updated_at = now
            return row.paused_until
