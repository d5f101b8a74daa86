import pytest

from mock_carriers import max_in_window
from tests.unit.mock_carriers.helpers import fetch_token, number, track, track_ok


@pytest.mark.parametrize(
    ("times", "expected"),
    [
        ([], 0),
        ([0.0], 1),
        ([0.0, 0.5, 0.99], 3),
        ([0.0, 1.0, 2.0], 1),  # a window is (t - 1 s, t]: exactly one second apart is two windows
        ([0.0, 0.1, 1.05, 1.06, 1.07], 4),  # (0.07, 1.07] holds the last four
        ([3.0, 0.2, 0.1, 0.3], 3),  # arrival order does not matter
    ],
)
def test_busiest_window_counts_requests_less_than_a_second_apart(times, expected):
    assert max_in_window(times) == expected


async def test_stats_count_requests_per_carrier_status_and_path(client):
    token = await fetch_token(client, "usps")
    await track(client, "usps", number("usps"), token)
    await track(client, "usps", number("usps", "not_found"), token)
    await track(client, "ups", number("ups"))  # no token: 401
    stats = (await client.get("/_mock/stats")).json()
    usps = stats["carriers"]["usps"]
    assert stats["total"] == 4
    assert usps["requests"] == 3
    assert usps["by_status"] == {"200": 2, "404": 1}
    assert usps["by_path"] == {
        "POST /usps/oauth2/v3/token": 1,
        "GET /usps/tracking/v3/tracking/{n}": 2,
    }
    assert stats["carriers"]["ups"]["by_status"] == {"401": 1}


async def test_stats_report_the_busiest_second_per_carrier(client, manual_time):
    for _ in range(3):
        await track(client, "dhl", number("dhl"))
        manual_time.advance(0.3)
    manual_time.advance(2.0)
    for _ in range(2):
        await track(client, "dhl", number("dhl"))
    stats = (await client.get("/_mock/stats")).json()
    assert stats["carriers"]["dhl"]["requests"] == 5
    assert stats["carriers"]["dhl"]["max_per_second"] == 3


async def test_control_requests_are_not_counted(client):
    await client.get("/_mock/stats")
    await client.post("/_mock/config", json={})
    assert (await client.get("/_mock/stats")).json() == {"total": 0, "carriers": {}}


async def test_reset_forgets_requests_and_runtime_settings(client):
    await track_ok(client, "fedex", number("fedex"))
    await client.post("/_mock/config", json={"throttle_next": 3})
    assert (await client.post("/_mock/reset")).json() == {"reset": True}
    assert (await client.get("/_mock/stats")).json()["total"] == 0
    assert (await client.get("/_mock/config")).json()["throttle_next"] == 0


async def test_the_log_keeps_each_request_for_direct_assertions(client, server):
    await track_ok(client, "dhl", number("dhl"))
    (recorded,) = server.log.requests("dhl")
    assert (recorded.method, recorded.path, recorded.status) == (
        "GET",
        "/dhl/track/shipments",
        200,
    )
