import base64
from datetime import timedelta
from urllib.parse import parse_qs

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
from carriers.types import Handoff, TrackingQuery, TrackingSnapshot, TrackingStatus
from carriers.ups import UpsClient
from tests.unit.carriers.payloads import payload_bytes, payload_json

BASE = "https://onlinetools.ups.com"
NUMBER = "1Z999AA10123456784"
SECOND = "1Z999AA10123456793"
TOKEN_URL = f"{BASE}/security/v1/oauth/token"
TRACK_URL = f"{BASE}/api/track/v1/details/{NUMBER}"


@pytest.fixture
def ups(http):
    return UpsClient(http, client_id="client-id", client_secret="client-secret")


def token_route(router, *tokens):
    answers = [
        httpx.Response(200, json={**payload_json("ups", "token.json"), "access_token": t})
        for t in tokens or ("ups-token-1",)
    ]
    return router.post(TOKEN_URL).mock(side_effect=answers)


def reply(status, name, **kwargs):
    return httpx.Response(status, content=payload_bytes("ups", name), **kwargs)


async def track_one(client, number=NUMBER):
    [result] = await client.fetch_tracking([TrackingQuery(number)])
    return result


def failure_of(result):
    assert isinstance(result, TrackingFailure)
    return result.error


def test_client_is_a_carrier_client_with_one_number_per_request(ups):
    assert isinstance(ups, CarrierClient)
    assert (ups.code, ups.name, ups.batch_size) == ("ups", "UPS", 1)


async def test_token_request_uses_http_basic_and_the_client_credentials_grant(ups, router):
    token = token_route(router)
    router.get(TRACK_URL).mock(return_value=reply(200, "delivered.json"))
    await track_one(ups)
    request = token.calls.last.request
    expected = base64.b64encode(b"client-id:client-secret").decode()
    assert request.headers["Authorization"] == f"Basic {expected}"
    assert parse_qs(request.content.decode()) == {"grant_type": ["client_credentials"]}


async def test_tracking_request_carries_the_bearer_token_and_transaction_headers(ups, router):
    token_route(router)
    track = router.get(TRACK_URL).mock(return_value=reply(200, "delivered.json"))
    result = await track_one(ups)
    assert isinstance(result, TrackingSnapshot)
    assert result.status is TrackingStatus.DELIVERED
    request = track.calls.last.request
    assert request.headers["Authorization"] == "Bearer ups-token-1"
    assert request.headers["transactionSrc"] == "firstscan"
    assert 0 < len(request.headers["transId"]) <= 32


async def test_every_request_gets_its_own_transaction_id(ups, router):
    token = token_route(router)
    track = router.get(TRACK_URL).mock(return_value=reply(200, "delivered.json"))
    await ups.fetch_tracking([TrackingQuery(NUMBER), TrackingQuery(NUMBER)])
    ids = {call.request.headers["transId"] for call in track.calls}
    assert len(ids) == 2
    assert token.call_count == 1


async def test_a_401_refreshes_the_token_once_and_retries_the_request(ups, router):
    token = token_route(router, "stale-token", "fresh-token")
    track = router.get(TRACK_URL).mock(
        side_effect=[reply(401, "unauthorized.json"), reply(200, "delivered.json")]
    )
    result = await track_one(ups)
    assert isinstance(result, TrackingSnapshot)
    assert (token.call_count, track.call_count) == (2, 2)
    assert track.calls[1].request.headers["Authorization"] == "Bearer fresh-token"


async def test_a_second_401_after_the_refresh_is_an_auth_error(ups, router):
    token = token_route(router, "stale-token", "fresh-token")
    track = router.get(TRACK_URL).mock(return_value=reply(401, "unauthorized.json"))
    error = failure_of(await track_one(ups))
    assert isinstance(error, CarrierAuthError)
    assert "250002 Invalid Authentication Information." in error.message
    assert (token.call_count, track.call_count) == (2, 2)


async def test_refused_credentials_at_the_token_endpoint_are_an_auth_error(ups, router):
    router.post(TOKEN_URL).mock(return_value=reply(401, "token_invalid_client.json"))
    error = failure_of(await track_one(ups))
    assert isinstance(error, CarrierAuthError)
    assert "ClientId is Invalid" in error.message


async def test_a_blocked_merchant_403_is_an_auth_error(ups, router):
    token_route(router)
    router.get(TRACK_URL).mock(return_value=reply(403, "blocked_merchant.json"))
    assert isinstance(failure_of(await track_one(ups)), CarrierAuthError)


async def test_unknown_number_as_http_200_with_tw0001_is_not_found(ups, router):
    token_route(router)
    router.get(TRACK_URL).mock(return_value=reply(200, "not_found_200.json"))
    error = failure_of(await track_one(ups))
    assert isinstance(error, TrackingNotFound)
    assert not error.retryable


async def test_a_404_is_not_found(ups, router):
    token_route(router)
    router.get(TRACK_URL).mock(return_value=reply(404, "not_found_404.json"))
    assert isinstance(failure_of(await track_one(ups)), TrackingNotFound)


async def test_tv1002_is_an_invalid_tracking_number(ups, router):
    token_route(router)
    router.get(TRACK_URL).mock(return_value=reply(400, "invalid_number.json"))
    error = failure_of(await track_one(ups))
    assert isinstance(error, InvalidTrackingNumber)
    assert "TV1002 Invalid inquiry number" in error.message


async def test_a_400_that_is_not_about_the_number_is_an_invalid_response(ups, router):
    token_route(router)
    router.get(TRACK_URL).mock(
        return_value=httpx.Response(
            400, json={"response": {"errors": [{"code": "10001", "message": "Missing transId"}]}}
        )
    )
    assert isinstance(failure_of(await track_one(ups)), CarrierResponseInvalid)


async def test_a_429_is_rate_limited_with_retry_after(ups, router):
    token_route(router)
    router.get(TRACK_URL).mock(
        return_value=reply(429, "rate_limited.json", headers={"Retry-After": "30"})
    )
    error = failure_of(await track_one(ups))
    assert isinstance(error, CarrierRateLimited)
    assert error.retry_after == timedelta(seconds=30)


async def test_a_429_without_retry_after_is_rate_limited_with_no_hint(ups, router):
    token_route(router)
    router.get(TRACK_URL).mock(return_value=reply(429, "rate_limited.json"))
    error = failure_of(await track_one(ups))
    assert isinstance(error, CarrierRateLimited)
    assert error.retry_after is None


async def test_a_500_is_unavailable(ups, router):
    token_route(router)
    router.get(TRACK_URL).mock(
        return_value=httpx.Response(
            500, json={"response": {"errors": [{"code": "500", "message": "Internal error"}]}}
        )
    )
    error = failure_of(await track_one(ups))
    assert isinstance(error, CarrierUnavailable)
    assert error.status_code == 500


async def test_an_html_error_page_with_503_is_unavailable(ups, router):
    token_route(router)
    router.get(TRACK_URL).mock(return_value=reply(503, "service_unavailable.html"))
    assert isinstance(failure_of(await track_one(ups)), CarrierUnavailable)


@pytest.mark.parametrize("exception", [httpx.ReadTimeout("slow"), httpx.ConnectError("refused")])
async def test_a_timeout_or_connection_error_is_unavailable(ups, router, exception):
    token_route(router)
    router.get(TRACK_URL).mock(side_effect=exception)
    assert type(failure_of(await track_one(ups))) is CarrierUnavailable


async def test_truncated_json_is_an_invalid_response_with_an_excerpt(ups, router):
    token_route(router)
    cut = payload_bytes("ups", "delivered.json")[:250]
    router.get(TRACK_URL).mock(return_value=httpx.Response(200, content=cut))
    error = failure_of(await track_one(ups))
    assert isinstance(error, CarrierResponseInvalid)
    assert error.excerpt == cut.decode()


async def test_an_html_page_with_200_is_an_invalid_response(ups, router):
    token_route(router)
    router.get(TRACK_URL).mock(return_value=reply(200, "service_unavailable.html"))
    error = failure_of(await track_one(ups))
    assert isinstance(error, CarrierResponseInvalid)
    assert error.excerpt.startswith("<!DOCTYPE html>")


async def test_surepost_answer_names_the_usps_number_for_the_last_mile(ups, router):
    token_route(router)
    router.get(TRACK_URL).mock(return_value=reply(200, "usps_handoff.json"))
    result = await track_one(ups)
    assert result.handoff == Handoff("usps", "92748990000000000012345126")


async def test_one_failing_number_does_not_affect_the_others(ups, router):
    token_route(router)
    router.get(TRACK_URL).mock(return_value=reply(404, "not_found_404.json"))
    router.get(f"{BASE}/api/track/v1/details/{SECOND}").mock(
        return_value=reply(200, "multi_package.json")
    )
    results = await ups.fetch_tracking([TrackingQuery(NUMBER), TrackingQuery(SECOND)])
    assert [type(r) for r in results] == [TrackingFailure, TrackingSnapshot]
    assert results[1].status is TrackingStatus.LABEL_CREATED


async def test_base_url_is_configurable_for_the_customer_integration_environment(http, router):
    cie = "https://wwwcie.ups.com"
    client = UpsClient(http, base_url=cie, client_id="id", client_secret="secret")
    router.post(f"{cie}/security/v1/oauth/token").mock(return_value=reply(200, "token.json"))
    router.get(f"{cie}/api/track/v1/details/{NUMBER}").mock(
        return_value=reply(200, "label_created.json")
    )
    assert (await track_one(client)).status is TrackingStatus.LABEL_CREATED
