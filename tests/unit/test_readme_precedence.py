"""The README shows the one precedence table as the code has it, row for row."""

from __future__ import annotations

from pathlib import Path

from app.kernel.precedence import PRECEDENCE, Effect

README = Path(__file__).resolve().parents[2] / "README.md"


def test_the_readme_shows_every_row_of_the_precedence_table_and_no_other():
    rows = [
        line
        for line in README.read_text().splitlines()
        if line.startswith("| `") and ("| joins |" in line or "| dropped" in line)
    ]
    shown = {tuple(cell.strip().strip("`") for cell in row.split("|")[1:4]) for row in rows}
    expected = {
        (
            entry.lesser,
            entry.greater,
            "joins" if entry.effect is Effect.JOINS else "dropped (same leg)",
        )
        for entry in PRECEDENCE
    }
    assert shown == expected
    for entry in PRECEDENCE:
        assert entry.why in README.read_text()
