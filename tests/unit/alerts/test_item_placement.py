"""Which work item a newly opened finding joins (app.alerts.items.place), and the precedence
table it follows (app.kernel.precedence)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from app.alerts.items import Finding, headline_fields, headline_of, place
from app.kernel.precedence import PRECEDENCE, Effect, headline_rank, joins, related
from app.reconciliation.rules import SUPERSEDES

T0 = datetime(2026, 12, 4, 5, 0, tzinfo=UTC)


def finding(alert_id: int, rule: str, *, order_id: int | None = 1, severity: str = "warning"):
    return Finding(
        alert_id=alert_id,
        order_id=order_id,
        rule=rule,
        severity=severity,
        opened_at=T0 + timedelta(seconds=alert_id),
        content={"rule": rule, "headline": f"{rule} words", "next_step": f"do {rule}"},
    )


def test_the_rules_supersedes_come_from_the_one_table():
    dropped = {(e.greater, e.lesser) for e in PRECEDENCE if e.effect is Effect.DROPPED}
    assert {(g, lesser) for g, ls in SUPERSEDES.items() for lesser in ls} == dropped
    assert SUPERSEDES["never_inducted"] == frozenset({"not_found"})


@pytest.mark.parametrize(
    ("lesser", "greater"),
    [
        ("late", "never_inducted"),
        ("late", "handoff_gap"),
        ("late", "exception"),
        ("stalled", "handoff_gap"),
    ],
)
def test_the_issue_s_consequences_join_their_cause(lesser, greater):
    assert joins(lesser, greater)
    assert not joins(greater, lesser)
    assert headline_rank(greater) < headline_rank(lesser)


def test_unrelated_findings_do_not_join():
    assert not related("exception", "never_inducted")
    assert not related("claim_mismatch", "late")
    assert not related("handoff_gap", "handoff_gap")


def test_a_lone_finding_founds_its_own_item():
    assert place([finding(1, "exception")], {}) == [(None, [finding(1, "exception")])]


def test_a_consequence_opened_with_its_cause_joins_it_whatever_the_order():
    late, gap = finding(1, "late"), finding(2, "handoff_gap")
    assert place([late, gap], {}) == [(None, [gap, late])]


def test_a_consequence_joins_the_open_item_of_its_cause():
    open_items = {7: [finding(1, "handoff_gap")]}
    assert place([finding(2, "late")], open_items) == [(7, [finding(2, "late")])]


def test_a_cause_opened_later_joins_the_item_of_its_consequence():
    # `late` was due first (the promise passed before the hand-off gap's deadline).
    open_items = {7: [finding(1, "late")]}
    placed = place([finding(2, "handoff_gap")], open_items)
    assert placed == [(7, [finding(2, "handoff_gap")])]
    assert headline_of([*open_items[7], *placed[0][1]]).rule == "handoff_gap"


def test_an_unrelated_problem_on_the_same_order_opens_a_new_item():
    open_items = {7: [finding(1, "handoff_gap"), finding(2, "late")]}
    assert place([finding(3, "claim_mismatch")], open_items) == [
        (None, [finding(3, "claim_mismatch")])
    ]


def test_another_order_s_item_is_never_joined():
    open_items = {7: [finding(1, "handoff_gap", order_id=1)]}
    assert place([finding(2, "late", order_id=2)], open_items) == [
        (None, [finding(2, "late", order_id=2)])
    ]


def test_findings_about_no_order_are_each_their_own_item():
    outage = [finding(1, "carrier_unreachable", order_id=None), finding(2, "late", order_id=None)]
    assert place(outage, {}) == [(None, [outage[0]]), (None, [outage[1]])]


def test_a_finding_related_to_two_items_joins_the_oldest():
    open_items = {9: [finding(3, "exception")], 4: [finding(1, "stalled")]}
    assert place([finding(5, "late")], open_items) == [(4, [finding(5, "late")])]


def test_the_headline_is_the_most_specific_and_the_severity_the_highest():
    members = [
        finding(1, "late", severity="critical"),
        finding(2, "stalled"),
        finding(3, "handoff_gap"),
    ]
    fields = headline_fields(members)
    assert fields["rule"] == "handoff_gap"
    assert fields["headline"] == "handoff_gap words"
    assert fields["next_step"] == "do handoff_gap"
    assert fields["severity"] == "critical"
