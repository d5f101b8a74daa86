"""Firstscan-format pushes keyed as the carrier's own adapter keys them (webhooks.py)."""

import pytest

from app.tracking.webhooks import PushedTracking, build_snapshot


def keys_of(carrier: str) -> set[str]:
    at = "2024-04-23T01:29:01+00:00"
    push = PushedTracking.model_validate(
        {
            "tracking_number": "1Z204W4R0308071865",
            "events": [
                {"status": "accepted", "code": "OR", "description": words, "occurred_at": at,
                 "location": {"city": "Hickory", "state": "NC"}}
                for words in ("On the Way", "Origin Scan")
            ],
        }
    )  # fmt: skip
    return {
        event.dedupe_key for event in build_snapshot(carrier, push.tracking_number, push).events
    }


@pytest.mark.parametrize(("carrier", "scans"), [("ups", 1), ("dhl", 2), ("usps", 2), ("fedex", 2)])
def test_a_pushed_scan_worded_twice_is_one_scan_only_where_the_code_names_it(carrier, scans):
    assert len(keys_of(carrier)) == scans
