import json
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest

from carriers.errors import (
    CarrierAuthError,
    CarrierRateLimited,
    CarrierResponseInvalid,
    CarrierUnavailable,
    InvalidTrackingNumber,
    TrackingNotFound,
)
from carriers.protocol import CarrierClient, TrackingFailure
from carriers.types import TrackingQuery, TrackingSnapshot, TrackingStatus
from carriers.usps import UspsClient
from tests.unit.carriers.payloads import payload_bytes, payload_json

BASE = "https://apis.usps.com"
NUMBER = "9400100000000000000013"
OTHER = "9405500000000000000047"
TRACKING_URL = f"{BASE}/tracking/v3/tracking/{NUMBER}"


@pytest.fixture
def usps(http):
    return UspsClient(http, client_id="client-id", client_secret="client-secret")


def token_route(router, *tokens):
    answers = [
        httpx.Response(200, json={**payload_json("usps", "token.json"), "access_token": t})
        for t in tokens or ("usps-token-1",)
    ]
    return router.post(f"{BASE}/oauth2/v3/token").mock(side_effect=answers)


def json_response(status, name, **kwargs):
    return httpx.Response(status, content=payload_bytes("usps", name), **kwargs)


async def track_one(client, number=NUMBER):
    [result] = await client.fetch_tracking([TrackingQuery(number)])
    return result


def failure_of(result):
    assert isinstance(result, TrackingFailure)
    return result.error


def test_client_is_a_carrier_client_with_one_number_per_request(usps):
    assert isinstance(usps, CarrierClient)
    assert (usps.code, usps.name, usps.batch_size) == ("usps", "USPS", 1)
    assert usps.default_rate_limit.requests_per_hour == 60


async def test_fetches_a_token_then_tracking_details_with_the_bearer_token(usps, router):
    token = token_route(router)
    tracking = router.get(TRACKING_URL).mock(return_value=json_response(200, "delivered.json"))
    result = await track_one(usps)
    assert isinstance(result, TrackingSnapshot)
    assert result.status is TrackingStatus.DELIVERED
    assert json.loads(token.calls.last.request.content) == {
        "client_id": "client-id",
        "client_secret": "client-secret",
        "grant_type": "client_credentials",
        "scope": "tracking",
    }
    request = tracking.calls.last.request
    assert request.headers["Authorization"] == "Bearer usps-token-1"
    assert request.url.params["expand"] == "DETAIL"


async def test_token_is_fetched_once_for_several_numbers(usps, router):
    token = token_route(router)
    router.get(TRACKING_URL).mock(return_value=json_response(200, "delivered.json"))
    router.get(f"{BASE}/tracking/v3/tracking/{OTHER}").mock(
        return_value=json_response(200, "accepted.json")
    )
    results = await usps.fetch_tracking([TrackingQuery(NUMBER), TrackingQuery(OTHER)])
    assert [r.status for r in results] == [TrackingStatus.DELIVERED, TrackingStatus.ACCEPTED]
    assert token.call_count == 1


async def test_a_401_refreshes_the_token_once_and_retries_the_request(usps, router):
    token = token_route(router, "stale-token", "fresh-token")
    tracking = router.get(TRACKING_URL).mock(
        side_effect=[json_response(401, "unauthorized.json"), json_response(200, "delivered.json")]
    )
    result = await track_one(usps)
    assert isinstance(result, TrackingSnapshot)
    assert token.call_count == 2
    assert tracking.call_count == 2
    assert tracking.calls[1].request.headers["Authorization"] == "Bearer fresh-token"


async def test_a_second_401_after_the_refresh_is_an_auth_error(usps, router):
    token = token_route(router, "stale-token", "fresh-token")
    tracking = router.get(TRACKING_URL).mock(return_value=json_response(401, "unauthorized.json"))
    error = failure_of(await track_one(usps))
    assert isinstance(error, CarrierAuthError)
    assert "The client application identifier is invalid." in error.message
    assert (token.call_count, tracking.call_count) == (2, 2)


async def test_refused_credentials_at_the_token_endpoint_are_an_auth_error(usps, router):
    router.post(f"{BASE}/oauth2/v3/token").mock(
        return_value=json_response(401, "token_invalid_client.json")
    )
    error = failure_of(await track_one(usps))
    assert isinstance(error, CarrierAuthError)
    assert not error.retryable


async def test_a_403_is_an_auth_error(usps, router):
    token_route(router)
    router.get(TRACKING_URL).mock(return_value=json_response(403, "unauthorized.json"))
    assert isinstance(failure_of(await track_one(usps)), CarrierAuthError)


async def test_a_429_is_rate_limited_with_retry_after_in_seconds(usps, router):
    token_route(router)
    router.get(TRACKING_URL).mock(
        return_value=json_response(429, "rate_limited.json", headers={"Retry-After": "120"})
    )
    error = failure_of(await track_one(usps))
    assert isinstance(error, CarrierRateLimited)
    assert error.retry_after == timedelta(seconds=120)
    assert error.retryable


async def test_a_429_with_an_http_date_retry_after_waits_until_that_date(usps, router):
    token_route(router)
    until = datetime.now(UTC) + timedelta(minutes=10)
    header = format_datetime(until, usegmt=True)
    router.get(TRACKING_URL).mock(
        return_value=json_response(429, "rate_limited.json", headers={"Retry-After": header})
    )
    error = failure_of(await track_one(usps))
    assert isinstance(error, CarrierRateLimited)
    assert error.retry_after is not None
    assert timedelta(minutes=9) < error.retry_after <= timedelta(minutes=10)


async def test_a_500_is_unavailable(usps, router):
    token_route(router)
    router.get(TRACKING_URL).mock(return_value=httpx.Response(500, text="Internal Server Error"))
    error = failure_of(await track_one(usps))
    assert isinstance(error, CarrierUnavailable)
    assert error.status_code == 500
    assert error.retryable


async def test_an_html_maintenance_page_with_503_is_unavailable(usps, router):
    token_route(router)
    router.get(TRACKING_URL).mock(return_value=json_response(503, "maintenance.html"))
    assert isinstance(failure_of(await track_one(usps)), CarrierUnavailable)


@pytest.mark.parametrize(
    "exception", [httpx.ReadTimeout("timed out"), httpx.ConnectError("refused")]
)
async def test_a_timeout_or_connection_error_is_unavailable(usps, router, exception):
    token_route(router)
    router.get(TRACKING_URL).mock(side_effect=exception)
    error = failure_of(await track_one(usps))
    assert type(error) is CarrierUnavailable


async def test_a_timeout_fetching_the_token_is_unavailable(usps, router):
    router.post(f"{BASE}/oauth2/v3/token").mock(side_effect=httpx.ConnectTimeout("slow"))
    assert type(failure_of(await track_one(usps))) is CarrierUnavailable


async def test_truncated_json_is_an_invalid_response_with_an_excerpt(usps, router):
    token_route(router)
    cut = payload_bytes("usps", "delivered.json")[:200]
    router.get(TRACKING_URL).mock(return_value=httpx.Response(200, content=cut))
    error = failure_of(await track_one(usps))
    assert isinstance(error, CarrierResponseInvalid)
    assert error.excerpt == cut.decode()


async def test_an_html_page_with_200_is_an_invalid_response(usps, router):
    token_route(router)
    router.get(TRACKING_URL).mock(return_value=json_response(200, "maintenance.html"))
    error = failure_of(await track_one(usps))
    assert isinstance(error, CarrierResponseInvalid)
    assert error.excerpt.startswith("<!DOCTYPE html>")


async def test_a_400_about_the_number_is_an_invalid_tracking_number(usps, router):
    token_route(router)
    router.get(TRACKING_URL).mock(return_value=json_response(400, "invalid_number.json"))
    error = failure_of(await track_one(usps))
    assert isinstance(error, InvalidTrackingNumber)
    assert "150001" in error.message
    assert not error.retryable


async def test_a_400_that_is_not_a_usps_error_body_is_an_invalid_response(usps, router):
    token_route(router)
    router.get(TRACKING_URL).mock(return_value=json_response(400, "maintenance.html"))
    assert isinstance(failure_of(await track_one(usps)), CarrierResponseInvalid)


async def test_a_404_is_tracking_not_found_with_uspss_reason(usps, router):
    token_route(router)
    router.get(TRACKING_URL).mock(return_value=json_response(404, "not_found.json"))
    error = failure_of(await track_one(usps))
    assert isinstance(error, TrackingNotFound)
    assert "Tracking is not available for this item." in error.message


async def test_one_failing_number_does_not_affect_the_others(usps, router):
    token_route(router)
    router.get(TRACKING_URL).mock(return_value=json_response(404, "not_found.json"))
    router.get(f"{BASE}/tracking/v3/tracking/{OTHER}").mock(
        return_value=json_response(200, "accepted.json")
    )
    results = await usps.fetch_tracking([TrackingQuery(NUMBER), TrackingQuery(OTHER)])
    assert [type(r) for r in results] == [TrackingFailure, TrackingSnapshot]
    assert [r.tracking_number for r in results] == [NUMBER, OTHER]


async def test_base_url_is_configurable_for_the_test_environment(http, router):
    tem = "https://apis-tem.usps.com"
    client = UspsClient(http, base_url=tem + "/", client_id="id", client_secret="secret")
    router.post(f"{tem}/oauth2/v3/token").mock(return_value=json_response(200, "token.json"))
    router.get(f"{tem}/tracking/v3/tracking/{NUMBER}").mock(
        return_value=json_response(200, "label_created.json")
    )
    assert (await track_one(client)).status is TrackingStatus.LABEL_CREATED
