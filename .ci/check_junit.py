"""Fails unless the PostgreSQL tests (and, once they exist, the browser tests) really ran."""

import re
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

POSTGRES_ID = re.compile(r"[\[-]postgres[\]-]")

report = ET.parse(sys.argv[1])
ran: dict[str, int] = {"postgres": 0, "browser": 0}
skipped: dict[str, list[str]] = {"postgres": [], "browser": []}
for case in report.iter("testcase"):
    name = f"{case.get('classname')}::{case.get('name')}"
    for kind in ran:
        if kind == "postgres":
            tagged = bool(POSTGRES_ID.search(name))
        else:
            tagged = ".browser." in f".{case.get('classname')}."
        if not tagged:
            continue
        if case.find("skipped") is not None:
            skipped[kind].append(name)
        elif case.find("failure") is None and case.find("error") is None:
            ran[kind] += 1

print(f"PostgreSQL tests passed: {ran['postgres']}; browser tests passed: {ran['browser']}")
if ran["postgres"] == 0:
    sys.exit("FAILED: no PostgreSQL test ran")
if Path("tests/browser").is_dir() and ran["browser"] == 0:
    sys.exit("FAILED: no browser test ran")
for kind, names in skipped.items():
    if names:
        sys.exit(f"FAILED: {len(names)} {kind} test(s) were skipped, e.g. {names[0]}")
