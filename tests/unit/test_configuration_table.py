"""The README's Configuration table documents every setting the code reads, and nothing else."""

from __future__ import annotations

import re
from pathlib import Path

from app.settings import ENV_PREFIX, Settings

README = Path(__file__).resolve().parents[2] / "README.md"
NAME = re.compile(r"`(FIRSTSCAN_[A-Z0-9_]+|_[A-Z0-9_]+)`")


def settings_read_by_the_code() -> set[str]:
    return {ENV_PREFIX + name.upper() for name in Settings.model_fields}


def documented_settings(known: set[str]) -> set[str]:
    """Every variable named in the table's first column; `_SUFFIX` continues the row's first name
    (`FIRSTSCAN_USPS_BASE_URL`, `_CLIENT_ID` is FIRSTSCAN_USPS_CLIENT_ID)."""
    text = README.read_text()
    section = text[text.index("## Configuration") :]
    section = section[: section.index("\n## ", 1)]
    documented: set[str] = set()
    for line in section.splitlines():
        if not line.startswith("| `"):
            continue
        names = NAME.findall(line.split("|")[1])
        for name in names:
            documented.add(_continued(names[0], name, known) if name.startswith("_") else name)
    return documented


def _continued(first: str, suffix: str, known: set[str]) -> str:
    parts = first.split("_")
    for cut in range(len(parts) - 1, 1, -1):
        candidate = "_".join(parts[:cut]) + suffix
        if candidate in known:
            return candidate
    return f"{first} ... {suffix}"


def test_every_setting_is_in_the_readme_configuration_table():
    known = settings_read_by_the_code()

    assert sorted(known - documented_settings(known)) == []


def test_the_configuration_table_names_no_setting_the_code_does_not_read():
    known = settings_read_by_the_code()

    assert sorted(documented_settings(known) - known) == []
