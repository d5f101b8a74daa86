"""A deterministic carrier simulator for demos, tests and benches (FIRSTSCAN_CARRIER_MODE=sandbox).

Scenario shares are tabled in `carriers.sandbox.scenarios`, the journey's timing rules in
`carriers.sandbox.timeline`, and how a hand-off's USPS number encodes its leg in
`carriers.sandbox.numbering`.
"""

from carriers.sandbox.client import SANDBOX_RATE_LIMIT, SandboxCarrier
from carriers.sandbox.scenarios import (
    SHARES_PER_MILLE,
    Scenario,
    example_number,
    scenario_for,
    shares_for,
)
from carriers.sandbox.timeline import Scan, Timeline, derived_label_time, plan_timeline

__all__ = [
    "SANDBOX_RATE_LIMIT",
    "SHARES_PER_MILLE",
    "SandboxCarrier",
    "Scan",
    "Scenario",
    "Timeline",
    "derived_label_time",
    "example_number",
    "plan_timeline",
    "scenario_for",
    "shares_for",
]
