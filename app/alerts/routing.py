"""Which team works an alert: the first matching route wins, else the default team."""

from __future__ import annotations

from collections.abc import Sequence

from app.settings.overrides import AlertRoute


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
