"""When a group of open work items gets a message, decided as Prometheus Alertmanager does it.

Items that share the grouping fields (by default team and rule) form one group and are announced
together, so a burst of a thousand parcels becomes one message instead of a thousand:

- group_wait: a new group's first message waits this long after its first pending item, so the
  rest of a burst joins it (and so does a group that has been quiet for longer than
  group_interval);
- group_interval: once a group has been sent, items that open later go out at most this often;
- repeat_interval: with nothing new, what is still open is sent again after this long;
- critical_at_once: a pending critical item skips both waits (a person should hear at once).

`decide_group` is pure: the group's state, its open items and `now` in, a decision out. The job
that calls it owns the clock, the database and the sending; it sleeps until `NotYet.due_at`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal
from urllib.parse import urlencode

from app.settings import GROUP_FIELDS, Settings

Severity = Literal["info", "warning", "critical"]
# Keys list their fields in GROUP_FIELDS order, so "rule,team" and "team,rule" name one group.
DEFAULT_GROUP_BY = ("team", "rule")


@dataclass(frozen=True, slots=True)
class GroupingPolicy:
    group_wait: timedelta = timedelta(seconds=30)
    group_interval: timedelta = timedelta(minutes=5)
    repeat_interval: timedelta = timedelta(hours=4)
    critical_at_once: bool = False

    def __post_init__(self) -> None:
        if self.group_wait < timedelta(0):
            raise ValueError("group_wait must not be negative")
        if self.group_interval <= timedelta(0) or self.repeat_interval <= timedelta(0):
            raise ValueError("group_interval and repeat_interval must be positive")

    @classmethod
    def from_settings(cls, settings: Settings) -> GroupingPolicy:
        return cls(
            group_wait=timedelta(seconds=settings.alert_group_wait_seconds),
            group_interval=timedelta(seconds=settings.alert_group_interval_seconds),
            repeat_interval=timedelta(seconds=settings.alert_repeat_interval_seconds),
            critical_at_once=settings.alert_critical_at_once,
        )


@dataclass(frozen=True, slots=True)
class GroupState:
    """What the group remembers between decisions: when it last sent, and how many times."""

    last_sent_at: datetime | None = None
    sequence: int = 0


@dataclass(frozen=True, slots=True)
class GroupItem:
    """One open work item as the grouping and the message see it; never customer contacts."""

    item_id: int
    opened_at: datetime
    severity: Severity
    reason: str
    announced_at: datetime | None = None
    order_number: str | None = None
    carrier: str | None = None
    tracking_number: str | None = None

    @property
    def pending(self) -> bool:
        """Not yet part of any sent message."""
        return self.announced_at is None


@dataclass(frozen=True, slots=True)
class SendNow:
    """Send message number `sequence`: `new` items were never announced, `still_open` were."""

    new: tuple[GroupItem, ...]
    still_open: tuple[GroupItem, ...]
    sequence: int

    @property
    def is_repeat(self) -> bool:
        return not self.new


@dataclass(frozen=True, slots=True)
class NotYet:
    """Nothing to send; decide again at `due_at` (None: not before another item opens)."""

    due_at: datetime | None


Decision = SendNow | NotYet


def decide_group(
    state: GroupState, items: Sequence[GroupItem], policy: GroupingPolicy, *, now: datetime
) -> Decision:
    """Sends when a window has passed and there is something to say; never for an empty group.

    A send carries every open item: the pending ones as new, the others as still open."""
    if not items:
        return NotYet(due_at=None)
    pending = [item for item in items if item.pending]
    due_at = _due_at(state, items, pending, policy)
    if now < due_at:
        return NotYet(due_at=due_at)
    return SendNow(
        new=_ordered(pending),
        still_open=_ordered(item for item in items if not item.pending),
        sequence=state.sequence + 1,
    )


def _due_at(
    state: GroupState,
    items: Sequence[GroupItem],
    pending: Sequence[GroupItem],
    policy: GroupingPolicy,
) -> datetime:
    # A group that lost its state (a new grouping, say) still knows when its items were announced.
    announced = [item.announced_at for item in items if item.announced_at is not None]
    last_sent_at = state.last_sent_at or max(announced, default=None)
    critical = [item.opened_at for item in pending if item.severity == "critical"]
    if policy.critical_at_once and critical:
        return min(critical)
    if not pending:
        assert last_sent_at is not None  # every open item was announced, so it was sent
        return last_sent_at + policy.repeat_interval
    # Pending items wait group_wait from the first of them even in a group sent before: after
    # a quiet spell a burst still becomes one message, not its first item alone, then the rest.
    gathered = min(item.opened_at for item in pending) + policy.group_wait
    if last_sent_at is None:
        return gathered
    return max(gathered, last_sent_at + policy.group_interval)


def _ordered(items: Iterable[GroupItem]) -> tuple[GroupItem, ...]:
    return tuple(sorted(items, key=lambda item: (item.opened_at, item.item_id)))


@dataclass(frozen=True, slots=True)
class GroupKey:
    """A group's identity: its fields in GROUP_FIELDS order, and a stable string for storage."""

    fields: tuple[tuple[str, str], ...]

    @property
    def key(self) -> str:
        # URL-encoded pairs are unambiguous whatever a team name holds ("a,b", "x=y").
        return urlencode(self.fields)

    def as_dict(self) -> dict[str, str]:
        return dict(self.fields)


def build_group_key(values: Mapping[str, str | None], group_by: Sequence[str]) -> GroupKey:
    """The key of the item described by `values` under `group_by`; a missing value is ""."""
    unknown = sorted(set(group_by) - set(GROUP_FIELDS))
    if unknown:
        raise ValueError(f"cannot group by {', '.join(unknown)}")
    return GroupKey(
        tuple((name, values.get(name) or "") for name in GROUP_FIELDS if name in group_by)
    )
