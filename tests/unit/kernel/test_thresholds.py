from __future__ import annotations

from datetime import timedelta

import pytest

from app.kernel.thresholds import RuleThresholds, ThresholdTable
from app.settings.overrides import parse_threshold_overrides


def test_defaults_match_the_documented_values():
    defaults = RuleThresholds()

    assert defaults.never_inducted_business_days == 2
    assert defaults.handoff_gap_business_days == 2
    assert defaults.not_found_grace_business_days == 1
    assert defaults.stalled_business_days == 3
    assert defaults.expire_after == timedelta(days=30)
    assert defaults.carrier_outage_after == timedelta(hours=6)


def test_the_most_specific_override_wins_and_the_rest_are_inherited():
    table = ThresholdTable(
        overrides={
            ("fedex", None): {"never_inducted_business_days": 3, "stalled_business_days": 4},
            ("fedex", "ground_economy"): {"never_inducted_business_days": 5},
        }
    )

    economy = table.for_leg("FedEx", "Ground_Economy")
    ground = table.for_leg("fedex", "ground")
    usps = table.for_leg("usps", "ground_economy")

    assert (economy.never_inducted_business_days, economy.stalled_business_days) == (5, 4)
    assert (ground.never_inducted_business_days, ground.stalled_business_days) == (3, 4)
    assert usps == RuleThresholds()


def test_a_table_rejects_an_override_of_an_unknown_field():
    with pytest.raises(ValueError, match="'usps'"):
        ThresholdTable(overrides={("usps", None): {"never_inducted_days": 3}})


@pytest.mark.parametrize(
    "kwargs",
    [
        pytest.param({"stalled_business_days": -1}, id="negative days"),
        pytest.param({"stalled_business_days": True}, id="a bool is not a count"),
        pytest.param({"expire_after": 30}, id="a bare int is not a duration"),
        pytest.param({"carrier_outage_after": timedelta(0)}, id="zero duration"),
    ],
)
def test_rule_thresholds_reject_values_of_the_wrong_kind(kwargs):
    with pytest.raises(ValueError, match=next(iter(kwargs))):
        RuleThresholds(**kwargs)


def test_configuration_json_sets_defaults_carriers_and_services():
    table = parse_threshold_overrides(
        """{
            "*": {"stalled_business_days": 4, "carrier_outage_after_hours": 2},
            "usps": {"never_inducted_business_days": 3},
            "fedex/ground_economy": {"handoff_gap_business_days": 1, "expire_after_days": 45}
        }"""
    )

    assert table.default.stalled_business_days == 4
    assert table.default.carrier_outage_after == timedelta(hours=2)
    assert table.for_leg("usps", None).never_inducted_business_days == 3
    assert table.for_leg("usps", None).stalled_business_days == 4
    economy = table.for_leg("fedex", "ground_economy")
    assert economy.handoff_gap_business_days == 1
    assert economy.expire_after == timedelta(days=45)
    assert table.for_leg("fedex", "home_delivery").expire_after == timedelta(days=30)


@pytest.mark.parametrize("text", ["", "  \n", "{}"])
def test_blank_or_empty_configuration_keeps_the_defaults(text):
    assert parse_threshold_overrides(text) == ThresholdTable()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param("{usps: 3}", "not valid JSON", id="not JSON"),
        pytest.param("[1, 2]", "JSON object", id="an array"),
        pytest.param('{"usps": 3}', "non-empty JSON object", id="a bare number"),
        pytest.param('{"usps": {}}', "non-empty JSON object", id="an empty override"),
        pytest.param(
            '{"usps": {"never_inducted": 3}}', "unknown field 'never_inducted'", id="field"
        ),
        pytest.param('{"usps": {"stalled_business_days": -2}}', ">= 0", id="negative"),
        pytest.param('{"usps": {"stalled_business_days": 1.5}}', "whole number", id="fraction"),
        pytest.param('{"usps": {"stalled_business_days": true}}', "must be a number", id="bool"),
        pytest.param('{"usps": {"expire_after_days": "30"}}', "must be a number", id="string"),
        pytest.param('{"usps": {"carrier_outage_after_hours": 0}}', "positive", id="zero hours"),
        pytest.param('{"fedex/": {"stalled_business_days": 2}}', "carrier/service", id="slash"),
        pytest.param(
            '{"a/b/c": {"stalled_business_days": 2}}', "carrier/service", id="two slashes"
        ),
        pytest.param('{"/x": {"stalled_business_days": 2}}', "carrier/service", id="no carrier"),
        pytest.param(
            '{"USPS": {"stalled_business_days": 2}, "usps": {"stalled_business_days": 3}}',
            "twice",
            id="same carrier twice",
        ),
    ],
)
def test_bad_configuration_is_rejected_with_a_message_naming_the_problem(text, message):
    with pytest.raises(ValueError, match=message):
        parse_threshold_overrides(text)
