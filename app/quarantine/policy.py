"""When a member that was set aside is tried again (pure)."""

from __future__ import annotations

from datetime import timedelta

# A member is tried again when it changes; without a change, after 15 minutes, then twice as long
# each time up to six hours: a bug that a deploy fixes is retried the same day, and a member that
# keeps failing costs one attempt every few hours.
FIRST_RETRY = timedelta(minutes=15)
MAX_RETRY = timedelta(hours=6)


def retry_delay(failures: int) -> timedelta:
    """How long a member that has failed `failures` times waits before its next try."""
    doublings: int = min(max(0, failures - 1), 16)
    return min(MAX_RETRY, FIRST_RETRY * (1 << doublings))
