"""Which finding explains which: the rules' one precedence table.

Some findings are consequences of a more specific one about the same parcel. The table says, for
each such pair, what becomes of the lesser finding:

- `DROPPED`: it is not raised at all while the greater one is, on the same leg (it would say the
  same thing less precisely: an unknown number that was never scanned is a never-inducted label).
- `JOINS`: it is raised (its own alert, audit and evidence stay), but it joins the greater one's
  work item instead of opening its own: a person works one parcel's problem once.

The rules apply `DROPPED` (`superseded_on_the_same_leg`); alerts apply `JOINS` when they open
(`app.alerts.items`). The headline of a work item is its most specific finding (`headline_rank`).
README's "Work items" section shows this table.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum


class Effect(StrEnum):
    DROPPED = "dropped"  # not raised while the greater finding is, on the same leg
    JOINS = "joins"  # raised, but worked in the greater finding's item (same order)


@dataclass(frozen=True, slots=True)
class Precedence:
    lesser: str
    greater: str
    effect: Effect
    why: str


PRECEDENCE: tuple[Precedence, ...] = (
    Precedence(
        "not_found",
        "never_inducted",
        Effect.DROPPED,
        "an unknown number that was never scanned is a label that never entered the network",
    ),
    Precedence(
        "stalled",
        "handoff_gap",
        Effect.JOINS,
        "the leg handed the parcel on to a known next leg, which carries the story",
    ),
    Precedence("late", "never_inducted", Effect.JOINS, "late because it never entered the network"),
    Precedence(
        "late", "handoff_gap", Effect.JOINS, "late because the next carrier never scanned it"
    ),
    Precedence("late", "not_found", Effect.JOINS, "late because the carrier does not know it"),
    Precedence("late", "exception", Effect.JOINS, "late because of the carrier's exception"),
    Precedence("late", "returned_to_sender", Effect.JOINS, "late because it is on its way back"),
    Precedence("late", "stalled", Effect.JOINS, "late because it stopped moving"),
    Precedence(
        "late",
        "delivery_attempted",
        Effect.JOINS,
        "late because the carrier could not deliver it",
    ),
)


def superseded_on_the_same_leg(
    table: Iterable[Precedence] = PRECEDENCE,
) -> Mapping[str, frozenset[str]]:
    """greater rule -> the rules it drops on the same leg (the rules' `SUPERSEDES`)."""
    dropped: dict[str, set[str]] = {}
    for entry in table:
        if entry.effect is Effect.DROPPED:
            dropped.setdefault(entry.greater, set()).add(entry.lesser)
    return {greater: frozenset(lesser) for greater, lesser in dropped.items()}


_JOINS = frozenset(
    (entry.lesser, entry.greater) for entry in PRECEDENCE if entry.effect is Effect.JOINS
)


def joins(lesser: str, greater: str) -> bool:
    """A `lesser` finding is worked in the item of a `greater` one on the same order."""
    return (lesser, greater) in _JOINS


def related(rule: str, other: str) -> bool:
    """Either finding joins the other's item."""
    return joins(rule, other) or joins(other, rule)


def _rank(rule: str) -> int:
    # How many rules this one gives way to: 0 for a cause, more for a consequence of several.
    return sum(1 for lesser, _ in _JOINS if lesser == rule)


@functools.cache
def headline_rank(rule: str) -> tuple[int, str]:
    """Sorts an item's findings most specific first (ties by name, so the choice is stable).
    Cached: a midnight sorts tens of thousands of findings by it."""
    return _rank(rule), rule
