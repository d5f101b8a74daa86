import json

import httpx
import pytest

from mock_carriers import FaultConfig, MockCarrierServer
from mock_carriers.control import FaultUpdate
from tests.unit.mock_carriers.helpers import fetch_token, number, track, track_ok


async def test_a_throttle_burst_answers_429_with_retry_after_then_recovers(client):
    token = await fetch_token(client, "usps")
    await client.post("/_mock/config", json={"throttle_next": 2, "retry_after_seconds": 7})
    statuses = [(await track(client, "usps", number("usps"), token)) for _ in range(3)]
    assert [r.status_code for r in statuses] == [429, 429, 200]
    assert statuses[0].headers["Retry-After"] == "7"
    assert statuses[0].json()["error"]["code"] == "429"


@pytest.mark.parametrize(
    ("carrier", "error_path"),
    [("usps", ("error", "code")), ("ups", ("response", "errors")),
     ("fedex", ("errors",)), ("dhl", ("title",))],
)  # fmt: skip
async def test_server_errors_carry_each_carriers_error_body(client, carrier, error_path):
    await client.post("/_mock/config", json={"error_rate": 1.0})
    response = await track_ok(client, carrier, number(carrier))
    assert response.status_code == 500
    document = response.json()
    for key in error_path:
        document = document[key]
    assert document


async def test_token_endpoints_do_not_fail_with_the_tracking_faults(client):
    await client.post("/_mock/config", json={"error_rate": 1.0, "throttle_next": 5})
    assert await fetch_token(client, "fedex")
    config = (await client.get("/_mock/config")).json()
    assert config["throttle_next"] == 5


async def test_truncated_bodies_are_not_json(client):
    await client.post("/_mock/config", json={"malformed_rate": 1.0, "malformed_kind": "truncated"})
    response = await track_ok(client, "fedex", number("fedex"))
    assert response.status_code == 200
    with pytest.raises(json.JSONDecodeError):
        json.loads(response.content)


async def test_html_error_pages_come_as_text_html(client):
    await client.post("/_mock/config", json={"malformed_rate": 1.0, "malformed_kind": "html"})
    response = await track_ok(client, "dhl", number("dhl"))
    assert response.headers["content-type"].startswith("text/html")
    assert b"Bad Gateway" in response.content


async def test_error_answers_are_never_malformed(client):
    await client.post("/_mock/config", json={"malformed_rate": 1.0, "malformed_kind": "html"})
    response = await track_ok(client, "usps", number("usps", "not_found"))
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "404"


async def test_faults_can_target_some_carriers_only(client):
    await client.post("/_mock/config", json={"error_rate": 1.0, "carriers": ["ups"]})
    assert (await track_ok(client, "ups", number("ups"))).status_code == 500
    assert (await track_ok(client, "fedex", number("fedex"))).status_code == 200


async def test_fixed_latency_is_awaited_before_every_carrier_answer(client, manual_time):
    await client.post("/_mock/config", json={"latency_ms": 120})
    await track_ok(client, "fedex", number("fedex"))
    assert manual_time.slept == [0.12, 0.12]  # the token call and the tracking call


async def test_latency_range_stays_within_its_bounds(client, manual_time):
    await client.post("/_mock/config", json={"latency_ms": [50, 150]})
    for _ in range(10):
        await track_ok(client, "dhl", number("dhl"))
    assert len(manual_time.slept) == 10
    assert all(0.05 <= s <= 0.15 for s in manual_time.slept)
    assert len(set(manual_time.slept)) > 1


async def test_the_same_seed_meets_the_same_faults(manual_time):
    async def pattern(seed: int) -> list[int]:
        config = FaultConfig(error_rate=0.5)
        server = MockCarrierServer(faults=config, seed=seed, clock=manual_time.now)
        statuses = []
        for _ in range(20):
            response = await _dhl(server)
            statuses.append(response)
        return statuses

    first, again, other = await pattern(1), await pattern(1), await pattern(2)
    assert first == again
    assert first != other
    assert {500, 200} == set(first)


async def test_reseeding_restarts_the_fault_dice(client):
    await client.post("/_mock/config", json={"error_rate": 0.5, "seed": 3})
    first = [(await track_ok(client, "dhl", number("dhl"))).status_code for _ in range(12)]
    await client.post("/_mock/config", json={"seed": 3})
    again = [(await track_ok(client, "dhl", number("dhl"))).status_code for _ in range(12)]
    assert first == again


@pytest.mark.parametrize(
    "update",
    [{"error_rate": 2}, {"latency_ms": [300, 100]}, {"malformed_kind": "xml"}, {"nope": 1}],
)
async def test_invalid_config_updates_are_refused_and_change_nothing(client, update):
    before = (await client.get("/_mock/config")).json()
    response = await client.post("/_mock/config", json=update)
    assert response.status_code == 400
    assert (await client.get("/_mock/config")).json() == before


async def test_config_updates_keep_the_settings_they_do_not_name(client):
    await client.post("/_mock/config", json={"error_rate": 0.25})
    config = (await client.post("/_mock/config", json={"latency_ms": 10})).json()
    assert config["error_rate"] == 0.25
    assert config["latency_ms"] == [10.0, 10.0]


async def test_constructor_faults_come_back_after_a_reset(manual_time):
    server = MockCarrierServer(faults=FaultConfig(error_rate=1.0), clock=manual_time.now)
    server.configure(FaultUpdate(error_rate=0.0))
    assert await _dhl(server) == 200
    server.reset()
    assert await _dhl(server) == 500


async def _dhl(server: MockCarrierServer) -> int:
    transport = httpx.ASGITransport(app=server)
    async with httpx.AsyncClient(transport=transport, base_url="http://mock") as http:
        response = await track(http, "dhl", number("dhl"))
    return response.status_code
