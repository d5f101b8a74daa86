"""Each scheduling column has one writer (README, Development): a leg's place in the polling
queue is written by app/shipments/poll_schedule.py, an order's next look by the rules by
app/shipments/judging_schedule.py. Everything else asks them."""

from __future__ import annotations

import ast
from pathlib import Path

APP = Path(__file__).resolve().parents[2] / "app"
OWNERS = {
    "next_poll_at": "shipments/poll_schedule.py",
    "active": "shipments/poll_schedule.py",
    "alert_deadline_at": "shipments/poll_schedule.py",
    "reconcile_due_at": "shipments/judging_schedule.py",
}
# Where a leg's or an order's row is built (its constructor keywords) or read into a value.
TABLE_CLASSES = {"Leg", "Order"}


def writes_in(tree: ast.AST) -> list[tuple[str, int]]:
    found = []
    for node in ast.walk(tree):
        targets = []
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, ast.AugAssign | ast.AnnAssign):
            targets = [node.target]
        found += [(t.attr, node.lineno) for t in targets if isinstance(t, ast.Attribute)]
        if isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if name == "values" or name in TABLE_CLASSES:
                found += [(k.arg, node.lineno) for k in node.keywords if k.arg]
    return [(column, line) for column, line in found if column in OWNERS]


def test_the_scan_sees_a_write_where_there_is_one():
    tree = ast.parse("leg.next_poll_at = now\nupdate(Order).values(reconcile_due_at=now)\n")
    assert writes_in(tree) == [("next_poll_at", 1), ("reconcile_due_at", 2)]


def test_scheduling_columns_are_written_only_by_their_owner():
    strays = []
    for path in sorted(APP.rglob("*.py")):
        relative = str(path.relative_to(APP))
        strays += [
            f"{relative}:{line} writes {column} (owner: app/{OWNERS[column]})"
            for column, line in writes_in(ast.parse(path.read_text()))
            if OWNERS[column] != relative
        ]
    assert strays == []
