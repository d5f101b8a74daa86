"""The settings given as JSON text: each is decoded and checked once, when the settings are read,
into the typed value the code uses. A mistake is a ValueError naming the entry."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from app.kernel.calendar import CalendarTable, build_calendar_table, default_calendars
from app.kernel.thresholds import ThresholdTable, build_threshold_table

# Per carrier, the published limits to replace: a key present with null removes that quota.
CarrierLimitOverrides = Mapping[str, Mapping[str, float | None]]

_LIMIT_KEYS = frozenset({"per_second", "per_hour", "per_day"})
_ROUTE_KEYS = frozenset({"team", "rule", "carrier", "severity"})


@dataclass(frozen=True, slots=True)
class AlertRoute:
    """One entry of FIRSTSCAN_ALERT_ROUTES: alerts matching every field given go to `team`."""

    team: str
    rule: str | None = None
    carrier: str | None = None
    severity: str | None = None

    def matches(self, *, rule: str, carrier: str | None, severity: str) -> bool:
        return (
            (self.rule is None or self.rule == rule)
            and (self.carrier is None or self.carrier == carrier)
            and (self.severity is None or self.severity == severity)
        )


def decode_json_setting(
    text: str | None, *, shape: type[dict[Any, Any]] | type[list[Any]], example: str
) -> Any:
    """The decoded document, None for blank text; ValueError when it is not JSON of `shape`."""
    if not text or not text.strip():
        return None
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not valid JSON ({exc.msg})") from None
    if not isinstance(document, shape):
        kind = "object" if shape is dict else "list"
        raise ValueError(f"must be a JSON {kind} like {example}")
    return document


def parse_alert_routes(text: str | None) -> tuple[AlertRoute, ...]:
    """FIRSTSCAN_ALERT_ROUTES, in order: the first route that matches an alert wins."""
    document = decode_json_setting(text, shape=list, example='[{"rule": "late", "team": "cs"}]')
    routes = []
    for index, entry in enumerate(document or ()):
        if not isinstance(entry, dict) or not isinstance(entry.get("team"), str):
            raise ValueError(f"route {index} must be an object with a string 'team'")
        unknown = set(entry) - _ROUTE_KEYS
        if unknown:
            raise ValueError(f"route {index} has unknown key(s): {', '.join(sorted(unknown))}")
        routes.append(AlertRoute(**entry))
    return tuple(routes)


def parse_summary_recipients(text: str | None) -> dict[str, tuple[str, ...]]:
    """FIRSTSCAN_DAILY_SUMMARY_TO: per team, the addresses its daily summary goes to."""
    document = decode_json_setting(text, shape=dict, example='{"ops": ["ops@example.com"]}')
    recipients: dict[str, tuple[str, ...]] = {}
    for team, addresses in (document or {}).items():
        if not isinstance(addresses, list) or not addresses:
            raise ValueError(f"{team}: give a non-empty list of email addresses")
        for address in addresses:
            if not isinstance(address, str) or "@" not in address or "\n" in address:
                raise ValueError(f"{team}: {address!r} is not an email address")
        recipients[team] = tuple(a.strip() for a in addresses)
    return recipients


def parse_carrier_limits(text: str | None) -> CarrierLimitOverrides:
    """FIRSTSCAN_CARRIER_LIMITS: per carrier, the published limits it replaces."""
    document = decode_json_setting(text, shape=dict, example='{"dhl": {"per_day": 250}}')
    for carrier, limits in (document or {}).items():
        if not isinstance(limits, dict) or not set(limits) <= _LIMIT_KEYS:
            raise ValueError(f"{carrier}: use only the keys per_second, per_hour, per_day")
        for key, value in limits.items():
            if value is not None and (not isinstance(value, int | float) or value <= 0):
                raise ValueError(f"{carrier}.{key} must be a positive number or null")
    return document or {}


def parse_threshold_overrides(text: str | None) -> ThresholdTable:
    """FIRSTSCAN_RULE_THRESHOLDS over the default thresholds."""
    document = decode_json_setting(
        text, shape=dict, example='{"usps": {"never_inducted_business_days": 3}}'
    )
    return build_threshold_table(document) if document else ThresholdTable()


def parse_calendar_overrides(text: str | None) -> CalendarTable:
    """FIRSTSCAN_CARRIER_CALENDARS over the default carrier calendars."""
    document = decode_json_setting(text, shape=dict, example='{"ups": {"pickup_cutoff": "18:00"}}')
    return build_calendar_table(document) if document else default_calendars()
