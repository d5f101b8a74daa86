from __future__ import annotations

import itertools
import random
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from app.alerts.grouping import (
    DEFAULT_GROUP_BY,
    GroupingPolicy,
    GroupItem,
    GroupState,
    NotYet,
    SendNow,
    build_group_key,
    decide_group,
)
from app.settings import Settings

T0 = datetime(2026, 12, 17, 0, 0, tzinfo=UTC)
POLICY = GroupingPolicy()  # 30 s wait, 5 min interval, 4 h repeat
AT_ONCE = GroupingPolicy(critical_at_once=True)


def s(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def item(item_id: int, opened: float, announced: float | None = None, severity="warning"):
    return GroupItem(
        item_id=item_id,
        opened_at=s(opened),
        severity=severity,
        reason=f"reason {item_id}",
        announced_at=None if announced is None else s(announced),
        order_number=f"FS-{item_id}",
    )


NEVER_SENT = GroupState()


def sent_at(seconds: float, sequence: int = 1) -> GroupState:
    return GroupState(last_sent_at=s(seconds), sequence=sequence)


# (name, state, items, policy, now, expected): expected is ("send", new ids, still-open ids,
# sequence) or ("wait", due seconds or None).
CASES = [
    ("nothing open, never sent", NEVER_SENT, [], POLICY, 0, ("wait", None)),
    ("nothing open after a send", sent_at(0), [], POLICY, 10**6, ("wait", None)),
    ("first item waits group_wait", NEVER_SENT, [item(1, 0)], POLICY, 29, ("wait", 30)),
    ("first item goes at group_wait", NEVER_SENT, [item(1, 0)], POLICY, 30, ("send", [1], [], 1)),
    (
        "a burst inside group_wait is one message",
        NEVER_SENT,
        [item(3, 20), item(1, 0), item(2, 5)],
        POLICY,
        30,
        ("send", [1, 2, 3], [], 1),
    ),
    (
        "the wait counts from the first pending item, not the latest",
        NEVER_SENT,
        [item(1, 0), item(2, 29)],
        POLICY,
        30,
        ("send", [1, 2], [], 1),
    ),
    (
        "an addition inside group_interval waits",
        sent_at(30),
        [item(1, 0, announced=30), item(2, 40)],
        POLICY,
        329,
        ("wait", 330),
    ),
    (
        "an addition goes at group_interval with the open ones",
        sent_at(30),
        [item(1, 0, announced=30), item(2, 40), item(3, 300)],
        POLICY,
        330,
        ("send", [2, 3], [1], 2),
    ),
    (
        "an addition long after the last send still waits group_wait for its burst",
        sent_at(30),
        [item(1, 0, announced=30), item(2, 10_000)],
        POLICY,
        10_029,
        ("wait", 10_030),
    ),
    (
        "a burst into a group quiet for long goes out as one message",
        sent_at(30),
        [item(1, 0, announced=30), item(2, 10_000), item(3, 10_020)],
        POLICY,
        10_030,
        ("send", [2, 3], [1], 2),
    ),
    (
        "a group emptied and reopened waits group_wait again",
        sent_at(30, sequence=3),
        [item(9, 86_400)],
        POLICY,
        86_400,
        ("wait", 86_430),
    ),
    (
        "nothing new waits for repeat_interval",
        sent_at(30, sequence=4),
        [item(1, 0, announced=30)],
        POLICY,
        330,
        ("wait", 30 + 4 * 3600),
    ),
    (
        "nothing new repeats what is open after repeat_interval",
        sent_at(30, sequence=4),
        [item(1, 0, announced=30), item(2, 10, announced=30)],
        POLICY,
        30 + 4 * 3600,
        ("send", [], [1, 2], 5),
    ),
    (
        "a critical item waits group_wait by default",
        NEVER_SENT,
        [item(1, 0, severity="critical")],
        POLICY,
        1,
        ("wait", 30),
    ),
    (
        "critical_at_once skips group_wait",
        NEVER_SENT,
        [item(1, 0, severity="critical")],
        AT_ONCE,
        0,
        ("send", [1], [], 1),
    ),
    (
        "critical_at_once skips group_interval too",
        sent_at(30),
        [item(1, 0, announced=30), item(2, 60, severity="critical")],
        AT_ONCE,
        60,
        ("send", [2], [1], 2),
    ),
    (
        "critical_at_once leaves warnings to the windows",
        NEVER_SENT,
        [item(1, 0)],
        AT_ONCE,
        1,
        ("wait", 30),
    ),
    (
        "a group without state repeats from its items' announcement",
        NEVER_SENT,
        [item(1, 0, announced=100)],
        POLICY,
        101,
        ("wait", 100 + 4 * 3600),
    ),
    (
        "a group without state sends additions after group_interval",
        NEVER_SENT,
        [item(1, 0, announced=100), item(2, 150)],
        POLICY,
        400,
        ("send", [2], [1], 1),
    ),
]


@pytest.mark.parametrize(
    ("state", "items", "policy", "now", "expected"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_decide_group(state, items, policy, now, expected):
    decision = decide_group(state, items, policy, now=s(now))

    if expected[0] == "wait":
        assert isinstance(decision, NotYet)
        assert decision.due_at == (None if expected[1] is None else s(expected[1]))
    else:
        assert isinstance(decision, SendNow)
        assert [i.item_id for i in decision.new] == expected[1]
        assert [i.item_id for i in decision.still_open] == expected[2]
        assert decision.sequence == expected[3]
        assert decision.is_repeat == (not expected[1])


def test_a_storm_over_an_hour_sends_at_most_one_message_per_group_interval():
    """An item opens every 5 s for an hour; the job decides every 5 s and sends when told."""
    state, open_items, sent = NEVER_SENT, [], []
    for second in range(0, 3600, 5):
        open_items.append(item(second, second))
        decision = decide_group(state, open_items, POLICY, now=s(second))
        if isinstance(decision, SendNow):
            sent.append(second)
            open_items = announce(open_items, second)
            state = GroupState(last_sent_at=s(second), sequence=decision.sequence)

    assert sent == list(range(30, 3600, 300))
    assert {i.item_id for i in open_items if not i.pending} == set(range(0, sent[-1] + 1, 5))
    assert state.sequence == len(sent)


def announce(items: list[GroupItem], second: int) -> list[GroupItem]:
    return [replace(i, announced_at=s(second)) if i.pending else i for i in items]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_irregular_arrivals_are_announced_within_wait_plus_interval_and_sends_are_spaced(seed):
    """Bursts and quiet spells over two hours, decided every 5 s on a fixed clock."""
    rng = random.Random(seed)
    opened = sorted(
        {rng.choice([rng.randrange(0, 7200, 5), rng.randrange(0, 600, 5)]) for _ in range(300)}
    )
    state, open_items, announced_at, sent = NEVER_SENT, [], {}, []
    for second in range(0, 7200 + 600, 5):
        open_items += [item(i, i) for i in opened if i == second]
        decision = decide_group(state, open_items, POLICY, now=s(second))
        if isinstance(decision, SendNow):
            assert decision.new  # no repeats within two hours of a 4 h repeat_interval
            sent.append(second)
            announced_at.update((i.item_id, second) for i in decision.new)
            open_items = announce(open_items, second)
            state = GroupState(last_sent_at=s(second), sequence=decision.sequence)

    assert set(announced_at) == set(opened)
    assert all(b - a >= 300 for a, b in itertools.pairwise(sent))
    assert max(announced_at[i] - i for i in opened) <= 30 + 300


def test_policy_rejects_windows_that_cannot_work():
    with pytest.raises(ValueError, match="group_interval"):
        GroupingPolicy(group_interval=timedelta(0))
    with pytest.raises(ValueError, match="group_wait"):
        GroupingPolicy(group_wait=timedelta(seconds=-1))


def test_policy_comes_from_settings():
    settings = Settings(
        alert_group_wait_seconds=10,
        alert_group_interval_seconds=60,
        alert_repeat_interval_seconds=600,
        alert_critical_at_once=True,
    )

    assert GroupingPolicy.from_settings(settings) == GroupingPolicy(
        group_wait=timedelta(seconds=10),
        group_interval=timedelta(minutes=1),
        repeat_interval=timedelta(minutes=10),
        critical_at_once=True,
    )


def test_group_key_is_stable_whatever_the_order_of_group_by():
    values = {"team": "ops", "rule": "late", "carrier": "ups", "severity": "warning"}

    key = build_group_key(values, ("rule", "team"))

    assert key == build_group_key(values, DEFAULT_GROUP_BY)
    assert key.key == "team=ops&rule=late"
    assert key.as_dict() == {"team": "ops", "rule": "late"}


def test_group_key_escapes_values_so_two_groups_never_share_a_key():
    one = build_group_key({"team": "a&rule=b", "rule": "c"}, DEFAULT_GROUP_BY)
    other = build_group_key({"team": "a", "rule": "b&rule=c"}, DEFAULT_GROUP_BY)

    assert one.key != other.key


def test_group_key_writes_a_missing_value_as_empty():
    key = build_group_key({"team": "ops", "carrier": None}, ("team", "carrier"))

    assert key.as_dict() == {"team": "ops", "carrier": ""}


def test_group_key_refuses_an_unknown_field():
    with pytest.raises(ValueError, match="postal_code"):
        build_group_key({"team": "ops"}, ("team", "postal_code"))
