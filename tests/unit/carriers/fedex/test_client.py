import json
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from urllib.parse import parse_qs

import httpx
import pytest
import respx

from carriers.errors import (
    CarrierAuthError,
    CarrierRateLimited,
    CarrierResponseInvalid,
    CarrierUnavailable,
    TrackingNotFound,
)
from carriers.fedex import FedexClient
from carriers.protocol import CarrierClient, TrackingFailure, TrackingResult
from carriers.types import TrackingQuery, TrackingSnapshot, TrackingStatus
from tests.unit.carriers.fedex.payloads import load, load_text

BASE = "https://apis.fedex.com"
TOKEN_URL = f"{BASE}/oauth/token"
TRACK_URL = f"{BASE}/track/v1/trackingnumbers"


def token_answer(value: str) -> httpx.Response:
    body = load("oauth_token.json")
    body["access_token"] = value
    return httpx.Response(200, json=body)


def track_answer_for(numbers: list[str]) -> dict[str, object]:
    """A documented in-transit result, repeated once per number asked."""
    template = load("track_in_transit.json")["output"]["completeTrackResults"][0]
    results = [dict(template, trackingNumber=number) for number in numbers]
    return {"transactionId": "t-1", "output": {"completeTrackResults": results}}


def echo_track(request: httpx.Request) -> httpx.Response:
    asked = json.loads(request.content)["trackingInfo"]
    numbers = [item["trackingNumberInfo"]["trackingNumber"] for item in asked]
    return httpx.Response(200, json=track_answer_for(numbers))


def queries(*numbers: str) -> list[TrackingQuery]:
    return [TrackingQuery(tracking_number=number) for number in numbers]


def failures(results: list[TrackingResult]) -> list[TrackingFailure]:
    assert all(isinstance(result, TrackingFailure) for result in results), results
    return [result for result in results if isinstance(result, TrackingFailure)]


@pytest.fixture
def fedex_api() -> Iterator[respx.MockRouter]:
    with respx.mock(assert_all_called=True) as router:
        yield router


@pytest.fixture
async def client() -> AsyncIterator[FedexClient]:
    async with httpx.AsyncClient() as http:
        yield FedexClient(http, client_id="client-id", client_secret="client-secret")


def test_client_satisfies_the_carrier_protocol_with_fedex_identity(client):
    assert isinstance(client, CarrierClient)
    assert (client.code, client.name, client.batch_size) == ("fedex", "FedEx", 30)
    assert client.default_rate_limit.requests_per_second == 140.0
    assert client.default_rate_limit.requests_per_day == 100_000


async def test_requests_a_token_then_posts_the_documented_track_body(fedex_api, client):
    token = fedex_api.post(TOKEN_URL).mock(return_value=token_answer("tok-1"))
    track = fedex_api.post(TRACK_URL).mock(side_effect=echo_track)

    [result] = await client.fetch_tracking(queries("277053421731"))

    assert isinstance(result, TrackingSnapshot)
    assert result.status is TrackingStatus.IN_TRANSIT
    form = parse_qs(token.calls.last.request.content.decode())
    assert form == {
        "grant_type": ["client_credentials"],
        "client_id": ["client-id"],
        "client_secret": ["client-secret"],
    }
    request = track.calls.last.request
    assert request.headers["Authorization"] == "Bearer tok-1"
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["X-locale"] == "en_US"
    assert json.loads(request.content) == {
        "includeDetailedScans": True,
        "trackingInfo": [{"trackingNumberInfo": {"trackingNumber": "277053421731"}}],
    }


async def test_token_is_reused_across_polls(fedex_api, client):
    token = fedex_api.post(TOKEN_URL).mock(return_value=token_answer("tok-1"))
    track = fedex_api.post(TRACK_URL).mock(side_effect=echo_track)

    await client.fetch_tracking(queries("1"))
    await client.fetch_tracking(queries("2"))

    assert token.call_count == 1
    assert track.call_count == 2


async def test_thirty_numbers_go_in_one_request(fedex_api, client):
    fedex_api.post(TOKEN_URL).mock(return_value=token_answer("tok-1"))
    track = fedex_api.post(TRACK_URL).mock(side_effect=echo_track)
    numbers = [f"7000000000{i:02d}" for i in range(30)]

    results = await client.fetch_tracking(queries(*numbers))

    assert track.call_count == 1
    assert [result.tracking_number for result in results] == numbers


async def test_thirty_one_numbers_make_two_requests_and_keep_the_order_asked(fedex_api, client):
    fedex_api.post(TOKEN_URL).mock(return_value=token_answer("tok-1"))
    track = fedex_api.post(TRACK_URL).mock(side_effect=echo_track)
    numbers = [f"7000000000{i:02d}" for i in range(31)]

    results = await client.fetch_tracking(queries(*numbers))

    sizes = [len(json.loads(call.request.content)["trackingInfo"]) for call in track.calls]
    assert sizes == [30, 1]
    assert [result.tracking_number for result in results] == numbers
    assert all(isinstance(result, TrackingSnapshot) for result in results)


async def test_one_failed_batch_fails_only_its_own_numbers(fedex_api, client):
    fedex_api.post(TOKEN_URL).mock(return_value=token_answer("tok-1"))
    fedex_api.post(TRACK_URL).mock(
        side_effect=[echo_track, httpx.Response(503, text=load_text("gateway_error.html"))]
    )
    numbers = [f"7000000000{i:02d}" for i in range(31)]

    results = await client.fetch_tracking(queries(*numbers))

    assert all(isinstance(result, TrackingSnapshot) for result in results[:30])
    assert isinstance(failures(results[30:])[0].error, CarrierUnavailable)


async def test_a_401_refreshes_the_token_once_and_retries(fedex_api, client):
    token = fedex_api.post(TOKEN_URL).mock(
        side_effect=[token_answer("tok-old"), token_answer("tok-new")]
    )
    track = fedex_api.post(TRACK_URL).mock(
        side_effect=[httpx.Response(401, text=load_text("error_unauthorized.json")), echo_track]
    )

    [result] = await client.fetch_tracking(queries("277053421731"))

    assert isinstance(result, TrackingSnapshot)
    assert token.call_count == 2
    assert [call.request.headers["Authorization"] for call in track.calls] == [
        "Bearer tok-old",
        "Bearer tok-new",
    ]


async def test_a_401_after_the_refresh_is_an_auth_error_for_every_number(fedex_api, client):
    fedex_api.post(TOKEN_URL).mock(side_effect=[token_answer("a"), token_answer("b")])
    track = fedex_api.post(TRACK_URL).mock(
        return_value=httpx.Response(401, text=load_text("error_unauthorized.json"))
    )

    results = await client.fetch_tracking(queries("1", "2"))

    assert track.call_count == 2
    assert [type(failure.error) for failure in failures(results)] == [CarrierAuthError] * 2
    assert not failures(results)[0].error.retryable


async def test_rejected_client_credentials_are_an_auth_error(fedex_api, client):
    fedex_api.post(TOKEN_URL).mock(
        return_value=httpx.Response(401, text=load_text("error_unauthorized.json"))
    )

    [failure] = failures(await client.fetch_tracking(queries("1")))

    assert isinstance(failure.error, CarrierAuthError)


async def test_a_429_is_rate_limited_with_the_retry_after_seconds(fedex_api, client):
    fedex_api.post(TOKEN_URL).mock(return_value=token_answer("tok-1"))
    fedex_api.post(TRACK_URL).mock(
        return_value=httpx.Response(
            429, headers={"Retry-After": "120"}, text=load_text("error_rate_limited.json")
        )
    )

    [failure] = failures(await client.fetch_tracking(queries("1")))

    assert isinstance(failure.error, CarrierRateLimited)
    assert failure.error.retry_after == timedelta(seconds=120)


async def test_a_429_from_the_token_endpoint_is_rate_limited_too(fedex_api, client):
    fedex_api.post(TOKEN_URL).mock(return_value=httpx.Response(429))

    [failure] = failures(await client.fetch_tracking(queries("1")))

    assert isinstance(failure.error, CarrierRateLimited)
    assert failure.error.retry_after is None


async def test_a_500_is_carrier_unavailable(fedex_api, client):
    fedex_api.post(TOKEN_URL).mock(return_value=token_answer("tok-1"))
    fedex_api.post(TRACK_URL).mock(
        return_value=httpx.Response(500, text=load_text("error_internal.json"))
    )

    [failure] = failures(await client.fetch_tracking(queries("1")))

    assert isinstance(failure.error, CarrierUnavailable)
    assert failure.error.status_code == 500
    assert failure.error.retryable


@pytest.mark.parametrize(
    "exception",
    [httpx.ReadTimeout("read timed out"), httpx.ConnectError("connection refused")],
)
async def test_timeouts_and_connection_errors_are_carrier_unavailable(fedex_api, client, exception):
    fedex_api.post(TOKEN_URL).mock(return_value=token_answer("tok-1"))
    fedex_api.post(TRACK_URL).mock(side_effect=exception)

    results = await client.fetch_tracking(queries("1", "2"))

    assert [type(failure.error) for failure in failures(results)] == [CarrierUnavailable] * 2


async def test_token_endpoint_timeout_is_carrier_unavailable(fedex_api, client):
    fedex_api.post(TOKEN_URL).mock(side_effect=httpx.ConnectTimeout("slow"))

    [failure] = failures(await client.fetch_tracking(queries("1")))

    assert isinstance(failure.error, CarrierUnavailable)


async def test_truncated_json_is_an_invalid_response_with_a_bounded_excerpt(fedex_api, client):
    body = load_text("track_in_transit.json")[:2000]
    fedex_api.post(TOKEN_URL).mock(return_value=token_answer("tok-1"))
    fedex_api.post(TRACK_URL).mock(return_value=httpx.Response(200, text=body))

    [failure] = failures(await client.fetch_tracking(queries("277053421731")))

    assert isinstance(failure.error, CarrierResponseInvalid)
    assert failure.error.excerpt == body[:500]


async def test_html_error_page_with_200_is_an_invalid_response(fedex_api, client):
    page = load_text("gateway_error.html")
    fedex_api.post(TOKEN_URL).mock(return_value=token_answer("tok-1"))
    fedex_api.post(TRACK_URL).mock(
        return_value=httpx.Response(200, text=page, headers={"Content-Type": "text/html"})
    )

    [failure] = failures(await client.fetch_tracking(queries("1")))

    assert isinstance(failure.error, CarrierResponseInvalid)
    assert failure.error.excerpt.startswith("<!DOCTYPE html>")


async def test_html_error_page_with_502_is_carrier_unavailable(fedex_api, client):
    fedex_api.post(TOKEN_URL).mock(return_value=token_answer("tok-1"))
    fedex_api.post(TRACK_URL).mock(
        return_value=httpx.Response(502, text=load_text("gateway_error.html"))
    )

    [failure] = failures(await client.fetch_tracking(queries("1")))

    assert isinstance(failure.error, CarrierUnavailable)
    assert failure.error.status_code == 502


async def test_one_number_rejected_with_not_found_is_an_answer_about_that_number(fedex_api, client):
    fedex_api.post(TOKEN_URL).mock(return_value=token_answer("tok-1"))
    fedex_api.post(TRACK_URL).mock(
        return_value=httpx.Response(400, text=load_text("error_number_not_found.json"))
    )

    [failure] = failures(await client.fetch_tracking(queries("123456789012")))

    assert isinstance(failure.error, TrackingNotFound)
    assert not failure.error.retryable


async def test_a_batch_rejected_with_400_is_not_blamed_on_every_number(fedex_api, client):
    fedex_api.post(TOKEN_URL).mock(return_value=token_answer("tok-1"))
    fedex_api.post(TRACK_URL).mock(
        return_value=httpx.Response(400, text=load_text("error_number_not_found.json"))
    )

    results = await client.fetch_tracking(queries("1", "2"))

    assert [type(failure.error) for failure in failures(results)] == [CarrierResponseInvalid] * 2


async def test_per_number_errors_inside_a_200_answer_map_per_number(fedex_api, client):
    fedex_api.post(TOKEN_URL).mock(return_value=token_answer("tok-1"))
    fedex_api.post(TRACK_URL).mock(
        return_value=httpx.Response(200, text=load_text("track_multiple_numbers.json"))
    )

    results = await client.fetch_tracking(queries("111111111111", "222222222222", "333333333333"))

    assert isinstance(results[0], TrackingSnapshot)
    assert isinstance(results[1], TrackingFailure)
    assert isinstance(results[1].error, TrackingNotFound)
    assert isinstance(results[2], TrackingSnapshot)


async def test_an_unexpected_adapter_error_becomes_a_failure_not_an_exception(
    fedex_api, client, monkeypatch
):
    def explode(body: str, numbers: list[str]) -> list[TrackingResult]:
        raise RuntimeError("bug")

    monkeypatch.setattr("carriers.fedex.parse.parse_track_response", explode)
    fedex_api.post(TOKEN_URL).mock(return_value=token_answer("tok-1"))
    fedex_api.post(TRACK_URL).mock(side_effect=echo_track)

    [failure] = failures(await client.fetch_tracking(queries("1")))

    assert isinstance(failure.error, CarrierResponseInvalid)
    assert "bug" in failure.error.message


async def test_custom_base_url_is_used_for_token_and_track():
    with respx.mock(assert_all_called=True) as router:
        router.post("https://apis-sandbox.fedex.com/oauth/token").mock(
            return_value=token_answer("tok-1")
        )
        router.post("https://apis-sandbox.fedex.com/track/v1/trackingnumbers").mock(
            side_effect=echo_track
        )
        async with httpx.AsyncClient() as http:
            client = FedexClient(
                http, base_url="https://apis-sandbox.fedex.com/", client_id="a", client_secret="b"
            )
            [result] = await client.fetch_tracking(queries("1"))

    assert isinstance(result, TrackingSnapshot)


async def test_no_queries_make_no_requests(client):
    with respx.mock(assert_all_mocked=True) as router:
        assert await client.fetch_tracking([]) == []
        assert router.calls.call_count == 0
