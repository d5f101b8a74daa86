from collections.abc import AsyncIterator, Iterator
from datetime import timedelta

import httpx
import pytest
import respx

from carriers.dhl import DhlClient
from carriers.errors import (
    CarrierAuthError,
    CarrierRateLimited,
    CarrierResponseInvalid,
    CarrierUnavailable,
    InvalidTrackingNumber,
    TrackingNotFound,
)
from carriers.protocol import CarrierClient, TrackingFailure, TrackingResult
from carriers.types import TrackingQuery, TrackingSnapshot, TrackingStatus
from tests.unit.carriers.dhl.payloads import load_text

TRACK_URL = "https://api-eu.dhl.com/track/shipments"


def failure_of(result: TrackingResult) -> TrackingFailure:
    assert isinstance(result, TrackingFailure), result
    return result


@pytest.fixture
def dhl_api() -> Iterator[respx.MockRouter]:
    with respx.mock(assert_all_called=True) as router:
        yield router


@pytest.fixture
async def client() -> AsyncIterator[DhlClient]:
    async with httpx.AsyncClient() as http:
        yield DhlClient(http, api_key="demo-key")


def test_client_satisfies_the_carrier_protocol_with_dhl_identity(client):
    assert isinstance(client, CarrierClient)
    assert (client.code, client.name, client.batch_size) == ("dhl", "DHL", 1)
    assert client.default_rate_limit.requests_per_second == 1.0
    assert client.default_rate_limit.requests_per_day == 250


async def test_gets_the_number_with_the_api_key_header(dhl_api, client):
    route = dhl_api.get(TRACK_URL).mock(
        return_value=httpx.Response(200, text=load_text("express_delivered.json"))
    )

    [result] = await client.fetch_tracking([TrackingQuery(tracking_number="1234567890")])

    assert isinstance(result, TrackingSnapshot)
    assert result.status is TrackingStatus.DELIVERED
    request = route.calls.last.request
    assert dict(request.url.params) == {"trackingNumber": "1234567890"}
    assert request.headers["DHL-API-Key"] == "demo-key"
    assert "Authorization" not in request.headers


async def test_known_service_is_sent_along(dhl_api, client):
    route = dhl_api.get(TRACK_URL).mock(
        return_value=httpx.Response(200, text=load_text("parcel_de_no_events.json"))
    )

    await client.fetch_tracking(
        [TrackingQuery(tracking_number="00340434161094015902", service="parcel-de")]
    )

    assert route.calls.last.request.url.params["service"] == "parcel-de"


async def test_one_request_per_number_in_the_order_asked(dhl_api, client):
    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.params["trackingNumber"] == "missing":
            return httpx.Response(404, text=load_text("not_found.json"))
        return httpx.Response(200, text=load_text("express_delivered.json"))

    route = dhl_api.get(TRACK_URL).mock(side_effect=answer)
    numbers = ["1234567890", "missing", "1234567891"]

    results = await client.fetch_tracking([TrackingQuery(tracking_number=n) for n in numbers])

    assert route.call_count == 3
    assert [result.tracking_number for result in results] == numbers
    assert isinstance(results[0], TrackingSnapshot)
    assert isinstance(failure_of(results[1]).error, TrackingNotFound)
    assert isinstance(results[2], TrackingSnapshot)


async def test_a_404_is_not_found_with_dhl_reason(dhl_api, client):
    dhl_api.get(TRACK_URL).mock(return_value=httpx.Response(404, text=load_text("not_found.json")))

    [result] = await client.fetch_tracking([TrackingQuery(tracking_number="8264715546")])

    error = failure_of(result).error
    assert isinstance(error, TrackingNotFound)
    assert "No shipment with given tracking number found." in error.message
    assert not error.retryable


async def test_a_400_is_an_invalid_number(dhl_api, client):
    dhl_api.get(TRACK_URL).mock(
        return_value=httpx.Response(400, text=load_text("bad_request.json"))
    )

    [result] = await client.fetch_tracking([TrackingQuery(tracking_number="??")])

    assert isinstance(failure_of(result).error, InvalidTrackingNumber)


@pytest.mark.parametrize("status", [401, 403])
async def test_a_rejected_api_key_is_an_auth_error_without_retry(dhl_api, client, status):
    route = dhl_api.get(TRACK_URL).mock(
        return_value=httpx.Response(status, text=load_text("unauthorized.json"))
    )

    [result] = await client.fetch_tracking([TrackingQuery(tracking_number="1")])

    assert isinstance(failure_of(result).error, CarrierAuthError)
    assert route.call_count == 1


async def test_a_429_is_rate_limited_with_retry_after(dhl_api, client):
    dhl_api.get(TRACK_URL).mock(
        return_value=httpx.Response(
            429, headers={"Retry-After": "30"}, text=load_text("rate_limited.json")
        )
    )

    [result] = await client.fetch_tracking([TrackingQuery(tracking_number="1")])

    error = failure_of(result).error
    assert isinstance(error, CarrierRateLimited)
    assert error.retry_after == timedelta(seconds=30)


async def test_a_429_with_an_http_date_waits_until_then(dhl_api, client):
    dhl_api.get(TRACK_URL).mock(
        return_value=httpx.Response(
            429, headers={"Retry-After": "Wed, 21 Oct 2099 07:28:00 GMT"}, text="{}"
        )
    )

    [result] = await client.fetch_tracking([TrackingQuery(tracking_number="1")])

    error = failure_of(result).error
    assert isinstance(error, CarrierRateLimited)
    assert error.retry_after is not None
    assert error.retry_after > timedelta(days=365)


@pytest.mark.parametrize(
    ("status", "body"),
    [(500, '{"status": 500, "title": "Internal Server Error"}'), (503, "gateway_error.html")],
)
async def test_server_errors_are_carrier_unavailable(dhl_api, client, status, body):
    text = load_text(body) if body.endswith(".html") else body
    dhl_api.get(TRACK_URL).mock(return_value=httpx.Response(status, text=text))

    [result] = await client.fetch_tracking([TrackingQuery(tracking_number="1")])

    error = failure_of(result).error
    assert isinstance(error, CarrierUnavailable)
    assert error.status_code == status


@pytest.mark.parametrize(
    "exception", [httpx.ReadTimeout("read timed out"), httpx.ConnectError("refused")]
)
async def test_timeouts_and_connection_errors_are_carrier_unavailable(dhl_api, client, exception):
    dhl_api.get(TRACK_URL).mock(side_effect=exception)

    [result] = await client.fetch_tracking([TrackingQuery(tracking_number="1")])

    assert isinstance(failure_of(result).error, CarrierUnavailable)


async def test_truncated_json_is_an_invalid_response_with_a_bounded_excerpt(dhl_api, client):
    body = load_text("ecommerce_international.json")[:1500]
    dhl_api.get(TRACK_URL).mock(return_value=httpx.Response(200, text=body))

    [result] = await client.fetch_tracking([TrackingQuery(tracking_number="1")])

    error = failure_of(result).error
    assert isinstance(error, CarrierResponseInvalid)
    assert error.excerpt == body[:500]


async def test_html_page_with_200_is_an_invalid_response(dhl_api, client):
    dhl_api.get(TRACK_URL).mock(
        return_value=httpx.Response(200, text=load_text("gateway_error.html"))
    )

    [result] = await client.fetch_tracking([TrackingQuery(tracking_number="1")])

    error = failure_of(result).error
    assert isinstance(error, CarrierResponseInvalid)
    assert error.excerpt.startswith("<!DOCTYPE html>")


async def test_an_unexpected_adapter_error_becomes_a_failure_not_an_exception(
    dhl_api, client, monkeypatch
):
    def explode(body: str, query: TrackingQuery) -> TrackingResult:
        raise RuntimeError("bug")

    monkeypatch.setattr("carriers.dhl.parse.parse_shipments", explode)
    dhl_api.get(TRACK_URL).mock(
        return_value=httpx.Response(200, text=load_text("express_delivered.json"))
    )

    [result] = await client.fetch_tracking([TrackingQuery(tracking_number="1")])

    assert isinstance(failure_of(result).error, CarrierResponseInvalid)


async def test_custom_base_url_is_used():
    with respx.mock(assert_all_called=True) as router:
        route = router.get("https://api.dhl.com/track/shipments").mock(
            return_value=httpx.Response(200, text=load_text("express_delivered.json"))
        )
        async with httpx.AsyncClient() as http:
            client = DhlClient(http, base_url="https://api.dhl.com/", api_key="k")
            [result] = await client.fetch_tracking([TrackingQuery(tracking_number="1")])

    assert isinstance(result, TrackingSnapshot)
    assert route.call_count == 1
