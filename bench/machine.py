"""What the figures were measured on: every benchmark prints this first."""

from __future__ import annotations

import os
import platform
import subprocess
from datetime import UTC, datetime
from pathlib import Path


def cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def load_averages() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f}"


def git_commit() -> str:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True
        )
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return out.stdout.strip()


def describe_machine() -> str:
    """One line: date, commit, cores, CPU model, load averages, Python."""
    return (
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, commit {git_commit()}, "
        f"nproc {os.cpu_count()}, CPU {cpu_model()}, load {load_averages()} (1/5/15 min), "
        f"Python {platform.python_version()}"
    )


def print_machine(title: str) -> None:
    print(f"== {title}")
    print(f"machine: {describe_machine()}")
