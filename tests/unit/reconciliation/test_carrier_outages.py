from __future__ import annotations

from datetime import timedelta

import pytest

from app.kernel.findings import Severity
from app.reconciliation.facts import CarrierHealth
from app.reconciliation.rules import find_carrier_outages
from tests.unit.reconciliation.facts_builders import ny

SIX_HOURS = timedelta(hours=6)
NOW = ny(2026, 12, 17, 16)


def health(carrier="usps", *, failing_for=None, last_success_ago=None, error="HTTP 503"):
    return CarrierHealth(
        carrier=carrier,
        last_success_at=NOW - last_success_ago if last_success_ago is not None else None,
        failing_since=NOW - failing_for if failing_for is not None else None,
        last_error=error,
    )


@pytest.mark.parametrize(
    ("item", "down"),
    [
        pytest.param(health(failing_for=SIX_HOURS), True, id="failing for exactly the threshold"),
        pytest.param(health(failing_for=timedelta(hours=5, minutes=59)), False, id="not yet"),
        pytest.param(health(), False, id="healthy"),
        pytest.param(
            health(failing_for=timedelta(hours=8), last_success_ago=timedelta(hours=1)),
            False,
            id="answered again since it started failing",
        ),
        pytest.param(
            health(failing_for=timedelta(hours=8), last_success_ago=timedelta(hours=9)),
            True,
            id="last success before the failures began",
        ),
    ],
)
def test_a_carrier_is_reported_unreachable_only_after_the_threshold(item, down):
    findings = find_carrier_outages([item], now=NOW, threshold=SIX_HOURS)

    assert [f.rule for f in findings] == (["carrier_unreachable"] if down else [])


def test_an_outage_is_one_finding_per_carrier_dated_from_the_earliest_failure():
    findings = find_carrier_outages(
        [
            health("ups", failing_for=timedelta(hours=7)),
            health("UPS", failing_for=timedelta(hours=9)),
            health("fedex", failing_for=timedelta(hours=7)),
        ],
        now=NOW,
        threshold=SIX_HOURS,
    )

    assert [(f.carrier, f.leg_id) for f in findings] == [("fedex", None), ("ups", None)]
    assert "(9 h)" in findings[1].explanation


def test_the_outage_explanation_names_the_carrier_the_duration_and_the_last_error():
    item = health(
        "usps", failing_for=timedelta(hours=6, minutes=12), last_success_ago=timedelta(hours=7)
    )

    (finding,) = find_carrier_outages([item], now=NOW, threshold=SIX_HOURS)

    assert finding.severity is Severity.CRITICAL
    assert finding.explanation == (
        "firstscan has had no good answer from the USPS API since Thu 17 Dec 09:48 EST "
        "(6 h 12 min); last success: Thu 17 Dec 09:00 EST. Last error: HTTP 503. "
        "Alerts that depend on USPS scans are paused until it answers again."
    )
    assert finding.evidence["last_error"] == "HTTP 503"


def test_outages_require_an_aware_now():
    with pytest.raises(ValueError, match="timezone-aware"):
        find_carrier_outages([], now=NOW.replace(tzinfo=None), threshold=SIX_HOURS)
