"""How long each rule waits before it speaks, per carrier and service, with overrides."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from types import MappingProxyType
from typing import Any, cast

ThresholdValue = int | timedelta
OverrideKey = tuple[str, str | None]


@dataclass(frozen=True, slots=True)
class RuleThresholds:
    """The waiting time of each rule. Defaults and the reason for each:

    - never_inducted_business_days = 2: a label printed today is normally scanned at pickup today or
      on the next business day; a second silent business day means the parcel was never handed over.
    - handoff_gap_business_days = 2: a consolidator tenders to USPS in bulk and USPS scans the
      sack on arrival, usually the same or next business day; two silent days means it is lost.
    - not_found_grace_business_days = 1: carriers take a few hours to a day to load a new number
      into tracking, so "not found" on the first day is normal.
    - stalled_business_days = 3: ground networks scan at every hub at least daily; three business
      days without a scan outlasts the longest linehaul leg between hubs.
    - expire_after = 30 days: a parcel with no news for a month is lost or delivered without a
      scan; polling it further costs API quota and tells no one anything new.
    - carrier_outage_after = 6 hours: short API outages are common and self-heal; six hours
      without one good answer blinds every alert for that carrier for most of a business day.
    """

    never_inducted_business_days: int = 2
    handoff_gap_business_days: int = 2
    not_found_grace_business_days: int = 1
    stalled_business_days: int = 3
    expire_after: timedelta = timedelta(days=30)
    carrier_outage_after: timedelta = timedelta(hours=6)

    def __post_init__(self) -> None:
        for item in dataclasses.fields(self):
            value = getattr(self, item.name)
            if item.type == "timedelta":
                if not isinstance(value, timedelta) or value <= timedelta(0):
                    raise ValueError(f"{item.name} must be a positive timedelta, got {value!r}")
            elif isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"{item.name} must be a whole number >= 0, got {value!r}")


@dataclass(frozen=True, slots=True)
class ThresholdTable:
    """Thresholds per (carrier, service); an override changes only the fields it names.

    Lookup layers, most specific last: `default`, then (carrier, None), then (carrier, service).
    """

    default: RuleThresholds = field(default_factory=RuleThresholds)
    overrides: Mapping[OverrideKey, Mapping[str, ThresholdValue]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        normalised = {
            _normalise_key(key): MappingProxyType(dict(changes))
            for key, changes in self.overrides.items()
        }
        for key, changes in normalised.items():
            # Fail at startup, not at the first poll of that carrier.
            _replace(self.default, _describe(key), changes)
        object.__setattr__(self, "overrides", MappingProxyType(normalised))

    def for_leg(self, carrier: str, service: str | None) -> RuleThresholds:
        """The thresholds that apply to one carrier service, most specific override winning."""
        result = self.default
        keys: list[OverrideKey] = [(carrier.lower(), None)]
        if service:
            keys.append((carrier.lower(), service.lower()))
        for key in keys:
            changes = self.overrides.get(key)
            if changes:
                result = _apply(result, changes)
        return result


# JSON spells durations in days or hours; everything else is a whole number of business days.
_JSON_FIELDS: Mapping[str, tuple[str, str]] = {
    "never_inducted_business_days": ("never_inducted_business_days", "business_days"),
    "handoff_gap_business_days": ("handoff_gap_business_days", "business_days"),
    "not_found_grace_business_days": ("not_found_grace_business_days", "business_days"),
    "stalled_business_days": ("stalled_business_days", "business_days"),
    "expire_after_days": ("expire_after", "days"),
    "carrier_outage_after_hours": ("carrier_outage_after", "hours"),
}
_DEFAULT_KEY = "*"


def build_threshold_table(document: Mapping[str, object]) -> ThresholdTable:
    """A ThresholdTable from decoded FIRSTSCAN_RULE_THRESHOLDS; raises ValueError naming the bad
    entry.

    Shape: {"usps": {"never_inducted_business_days": 3}, "fedex/ground_economy": {...},
    "*": {...}} where "*" changes the default for every carrier.
    """
    default = RuleThresholds()
    overrides: dict[OverrideKey, Mapping[str, ThresholdValue]] = {}
    for raw_key, raw_changes in document.items():
        changes = _parse_changes(raw_key, raw_changes)
        if raw_key == _DEFAULT_KEY:
            default = _replace(default, raw_key, changes)
            continue
        key = _parse_key(raw_key)
        if key in overrides:
            raise ValueError(f"threshold overrides name {raw_key!r} twice")
        overrides[key] = changes
    return ThresholdTable(default=default, overrides=overrides)


def _parse_key(raw_key: str) -> OverrideKey:
    carrier, _, service = raw_key.strip().lower().partition("/")
    if not carrier or "/" in service or (raw_key.count("/") == 1 and not service):
        raise ValueError(
            f"threshold override key {raw_key!r} must be 'carrier' or 'carrier/service'"
        )
    return carrier, service or None


def _parse_changes(raw_key: str, raw_changes: object) -> dict[str, ThresholdValue]:
    if not isinstance(raw_changes, dict) or not raw_changes:
        raise ValueError(f"threshold override {raw_key!r} must be a non-empty JSON object")
    changes: dict[str, ThresholdValue] = {}
    for name, value in raw_changes.items():
        if name not in _JSON_FIELDS:
            known = ", ".join(sorted(_JSON_FIELDS))
            raise ValueError(f"threshold override {raw_key!r}: unknown field {name!r} ({known})")
        attribute, unit = _JSON_FIELDS[name]
        changes[attribute] = _parse_value(raw_key, name, unit, value)
    return changes


def _parse_value(raw_key: str, name: str, unit: str, value: object) -> ThresholdValue:
    where = f"threshold override {raw_key!r}: {name}"
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{where} must be a number, got {value!r}")
    if unit == "business_days":
        if not isinstance(value, int) or value < 0:
            raise ValueError(f"{where} must be a whole number of business days >= 0, got {value}")
        return value
    if value <= 0:
        raise ValueError(f"{where} must be positive, got {value}")
    return timedelta(days=value) if unit == "days" else timedelta(hours=value)


def _replace(
    base: RuleThresholds, where: str, changes: Mapping[str, ThresholdValue]
) -> RuleThresholds:
    try:
        return _apply(base, changes)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"threshold override {where!r}: {exc}") from exc


def _apply(base: RuleThresholds, changes: Mapping[str, ThresholdValue]) -> RuleThresholds:
    # Field names and types are checked by RuleThresholds itself; Any only bridges the kwargs.
    return dataclasses.replace(base, **cast("dict[str, Any]", changes))


def _normalise_key(key: OverrideKey) -> OverrideKey:
    carrier, service = key
    return carrier.lower(), service.lower() if service else None


def _describe(key: OverrideKey) -> str:
    carrier, service = key
    return f"{carrier}/{service}" if service else carrier
