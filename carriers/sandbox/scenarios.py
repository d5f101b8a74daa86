"""Which story the sandbox plays for a tracking number, decided by the number's hash alone.

    scenario             share   what the carrier reports, forever the same for the number
    normal               80.0 %  label, acceptance in business hours, hub scans, delivered (2-6 d)
    never_inducted        6.0 %  the label, and nothing after it
    stalled               4.0 %  accepted, a few transit scans, then silence mid-transit
    exception             3.0 %  out for delivery, then a delivery exception; nothing after
    returned_to_sender    2.0 %  out for delivery, an exception, then returned to sender
    handoff               1.5 %  consolidator leg tendered to USPS; USPS accepts and delivers
    handoff_gap           1.5 %  consolidator leg tendered to USPS; USPS never scans it
    not_found             2.0 %  the carrier never heard of the number (TrackingNotFound)

Hand-offs exist only where the sandbox mints a USPS last-mile number (fedex, ups, dhl); for
other carriers their 3 % plays as normal (usps: 83 % normal). A USPS last-mile number plays the
USPS half of its hand-off whatever its hash says (see carriers.sandbox.numbering).
"""

from __future__ import annotations

import hashlib
from datetime import timedelta
from enum import StrEnum
from functools import lru_cache

from carriers.sandbox.numbering import LAST_MILE_MIDS, build_number, parse_last_mile_number


class Scenario(StrEnum):
    NORMAL = "normal"
    NEVER_INDUCTED = "never_inducted"
    STALLED = "stalled"
    EXCEPTION = "exception"
    RETURNED_TO_SENDER = "returned_to_sender"
    HANDOFF = "handoff"
    HANDOFF_GAP = "handoff_gap"
    NOT_FOUND = "not_found"


# Shares per 1,000 numbers, in the order the hash buckets are laid out.
SHARES_PER_MILLE: dict[Scenario, int] = {
    Scenario.NORMAL: 800,
    Scenario.NEVER_INDUCTED: 60,
    Scenario.STALLED: 40,
    Scenario.EXCEPTION: 30,
    Scenario.RETURNED_TO_SENDER: 20,
    Scenario.HANDOFF: 15,
    Scenario.HANDOFF_GAP: 15,
    Scenario.NOT_FOUND: 20,
}
HANDOFF_SCENARIOS = frozenset({Scenario.HANDOFF, Scenario.HANDOFF_GAP})

# First serial example_number tries, per carrier, so examples do not look like test data.
_EXAMPLE_SERIAL_START = {
    "usps": 3_804_117_000,
    "ups": 4_210_000,
    "fedex": 39_412_800_000,
    "dhl": 73_225_170_000,
}


class Dice:
    """A deterministic stream of numbers seeded by a string; the same seed rolls the same."""

    def __init__(self, seed: str) -> None:
        self._seed = seed
        self._rolls = 0

    def below(self, n: int) -> int:
        """Returns the next roll in [0, n)."""
        self._rolls += 1
        digest = hashlib.sha256(f"{self._seed}#{self._rolls}".encode()).digest()
        return int.from_bytes(digest[:8], "big") % n

    def minutes(self, low: int, high: int) -> timedelta:
        """Returns the next roll as a duration between `low` and `high` minutes inclusive."""
        return timedelta(minutes=low + self.below(high - low + 1))


def can_hand_off(carrier: str) -> bool:
    """Tells whether the sandbox plays hand-offs to USPS for this carrier."""
    return carrier in LAST_MILE_MIDS


def shares_for(carrier: str) -> dict[Scenario, int]:
    """Returns the per-mille share of each scenario for numbers of this carrier."""
    shares = dict(SHARES_PER_MILLE)
    if not can_hand_off(carrier):
        shares[Scenario.NORMAL] += shares.pop(Scenario.HANDOFF) + shares.pop(Scenario.HANDOFF_GAP)
    return shares


def scenario_for(carrier: str, tracking_number: str) -> Scenario:
    """Returns the scenario the sandbox plays for this number; the same number always gets one."""
    if carrier == "usps":
        leg = parse_last_mile_number(tracking_number)
        if leg is not None:
            return Scenario.HANDOFF_GAP if leg.gap else Scenario.HANDOFF
    digest = hashlib.sha256(f"scenario|{carrier}|{tracking_number}".encode()).digest()
    bucket = int.from_bytes(digest[:8], "big") % 1000
    for scenario, share in SHARES_PER_MILLE.items():
        if bucket < share:
            if scenario in HANDOFF_SCENARIOS and not can_hand_off(carrier):
                return Scenario.NORMAL
            return scenario
        bucket -= share
    raise AssertionError("shares add up to 1000")


@lru_cache(maxsize=1024)
def example_number(carrier: str, scenario: str, index: int = 0) -> str:
    """Returns a valid `carrier` number the sandbox plays as `scenario`; index picks another one."""
    wanted = Scenario(scenario)
    if carrier not in _EXAMPLE_SERIAL_START:
        raise ValueError(f"the sandbox mints no numbers for carrier {carrier!r}")
    if shares_for(carrier).get(wanted, 0) == 0:
        raise ValueError(f"{carrier} numbers never play {wanted}: only a consolidator hands off")
    if index < 0:
        raise ValueError("index must be >= 0")
    serial = _EXAMPLE_SERIAL_START[carrier]
    seen = 0
    while True:
        number = build_number(carrier, serial)
        if scenario_for(carrier, number) is wanted:
            if seen == index:
                return number
            seen += 1
        serial += 1
