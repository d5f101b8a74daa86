from __future__ import annotations

import pytest

from app.alerts.routing import route_alert
from app.settings.overrides import AlertRoute, parse_alert_routes

ROUTES = parse_alert_routes(
    '[{"rule": "handoff_gap", "carrier": "usps", "team": "usps-desk"},'
    ' {"severity": "critical", "team": "escalations"},'
    ' {"carrier": "dhl", "team": "dhl-desk"}]'
)


@pytest.mark.parametrize(
    ("rule", "carrier", "severity", "team"),
    [
        ("handoff_gap", "usps", "critical", "usps-desk"),
        ("handoff_gap", "fedex", "critical", "escalations"),
        ("stalled", "dhl", "warning", "dhl-desk"),
        ("never_inducted", "dhl", "critical", "escalations"),
        ("late", "ups", "warning", "ops"),
    ],
)
def test_the_first_matching_route_wins_else_the_default_team(rule, carrier, severity, team):
    assert (
        route_alert(ROUTES, rule=rule, carrier=carrier, severity=severity, default_team="ops")
        == team
    )


def test_routes_parse_into_their_fields():
    assert ROUTES[0] == AlertRoute(team="usps-desk", rule="handoff_gap", carrier="usps")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{}", "JSON list"),
        ('[{"rule": "late"}]', "route 0 must be an object with a string 'team'"),
        ('[{"team": "a", "colour": "red"}]', "route 0 has unknown key"),
        ("[", "not valid JSON"),
    ],
)
def test_bad_routes_are_refused_naming_the_entry(text, message):
    with pytest.raises(ValueError, match=message):
        parse_alert_routes(text)


def test_no_routes_configured_means_an_empty_table():
    assert parse_alert_routes(None) == ()
    assert parse_alert_routes("  ") == ()
