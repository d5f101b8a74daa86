"""Which team works an alert: the first matching route wins, else the default team."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class AlertRoute:
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


def route_alert(
    routes: Sequence[AlertRoute],
    *,
    rule: str,
    carrier: str | None,
    severity: str,
    default_team: str,
) -> str:
    """Returns the team of the first route that matches, or `default_team`."""
    for route in routes:
        if route.matches(rule=rule, carrier=carrier, severity=severity):
            return route.team
    return default_team


def parse_alert_routes(text: str | None) -> tuple[AlertRoute, ...]:
    """Parses FIRSTSCAN_ALERT_ROUTES; raises ValueError naming the bad entry."""
    if not text or not text.strip():
        return ()
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not valid JSON ({exc.msg})") from None
    if not isinstance(raw, list):
        raise ValueError("must be a JSON list of routes")
    routes = []
    for index, entry in enumerate(raw):
        if not isinstance(entry, dict) or not isinstance(entry.get("team"), str):
            raise ValueError(f"route {index} must be an object with a string 'team'")
        unknown = set(entry) - {"team", "rule", "carrier", "severity"}
        if unknown:
            raise ValueError(f"route {index} has unknown key(s): {', '.join(sorted(unknown))}")
        routes.append(
            AlertRoute(
                team=entry["team"],
                rule=entry.get("rule"),
                carrier=entry.get("carrier"),
                severity=entry.get("severity"),
            )
        )
    return tuple(routes)
