"""USPS Subscriptions - Tracking by number: the request names one number, every update, the
listener URL and the secret; the answer's subscriptionId is the reference; a 4xx about the
number is an answer about the number, any other refusal refuses the request, 429 and 5xx are
retryable."""

import json

import httpx
import pytest

from carriers.errors import (
    CarrierRateLimited,
    CarrierResponseInvalid,
    CarrierUnavailable,
    SubscriptionRefused,
)
from carriers.types import SubscriptionAnswer
from carriers.usps import UspsClient
from carriers.usps.subscribe import (
    PATH,
    SCOPE,
    build_subscription_request,
    parse_subscription_answer,
    refused_number_reason,
)
from tests.unit.carriers.payloads import payload_bytes
from tests.unit.carriers.usps.test_client import BASE, NUMBER, json_response

URL = BASE + PATH
LISTENER = "https://shop.example/v1/push/usps"
SECRET = "s" * 32


@pytest.fixture
def usps(http):
    return UspsClient(http, client_id="client-id", client_secret="client-secret")


def subscription_token_route(router):
    answer = {
        "access_token": "usps-subscriptions-token",
        "token_type": "Bearer",
        "expires_in": 28800,
    }
    return router.post(f"{BASE}/oauth2/v3/token").mock(
        return_value=httpx.Response(200, json=answer)
    )


def test_a_request_subscribes_one_number_to_every_update_with_the_listener_and_secret():
    body = build_subscription_request(NUMBER, listener_url=LISTENER, secret=SECRET)

    assert body == {
        "listenerURL": LISTENER,
        "secret": SECRET,
        "filterProperties": {"trackingNumber": NUMBER, "trackingEventTypes": ["ALL_UPDATES"]},
    }


@pytest.mark.parametrize(
    ("number", "listener", "secret"),
    [(" ", LISTENER, SECRET), (NUMBER, "", SECRET), (NUMBER, LISTENER, "")],
)
def test_a_request_without_number_listener_or_secret_is_not_built(number, listener, secret):
    with pytest.raises(ValueError, match="needs a number"):
        build_subscription_request(number, listener_url=listener, secret=secret)


def test_the_answer_gives_the_subscription_id_as_reference():
    answer = parse_subscription_answer(
        payload_bytes("usps", "subscription_created.json"), number=f" {NUMBER}"
    )

    assert answer == SubscriptionAnswer(
        subscribed=(NUMBER,), refused=(), reference="5f0b2a9c-6d1e-4c1a-9a57-3c2f8e1d7b40"
    )


@pytest.mark.parametrize("body", ["{}", '{"subscriptionId": ""}', "<html>busy</html>"])
def test_an_answer_without_a_subscription_id_is_invalid(body):
    with pytest.raises(CarrierResponseInvalid):
        parse_subscription_answer(body, number=NUMBER)


@pytest.mark.parametrize(
    ("name", "about_the_number"),
    [
        ("subscription_invalid_number.json", True),
        ("invalid_number.json", True),  # the Tracking API's own 150001 names `trackingNumber`
        ("subscription_invalid_listener.json", False),
        ("rate_limited.json", False),
        ("maintenance.html", False),
    ],
)
def test_only_an_error_naming_the_tracking_number_refuses_the_number(name, about_the_number):
    reason = refused_number_reason(payload_bytes("usps", name))

    assert (reason is not None) == about_the_number
    if about_the_number:
        assert reason.startswith("150001 ")


async def test_the_client_posts_the_request_with_its_own_token(usps, router):
    token = subscription_token_route(router)
    route = router.post(URL).mock(return_value=json_response(201, "subscription_created.json"))

    answer = await usps.subscribe(NUMBER, listener_url=LISTENER, secret=SECRET)

    assert answer.subscribed == (NUMBER,)
    sent = route.calls.last.request
    assert sent.headers["Authorization"] == "Bearer usps-subscriptions-token"
    assert json.loads(sent.content) == build_subscription_request(
        NUMBER, listener_url=LISTENER, secret=SECRET
    )
    assert json.loads(token.calls.last.request.content)["scope"] == SCOPE


async def test_a_number_usps_refuses_comes_back_refused(usps, router):
    subscription_token_route(router)
    router.post(URL).mock(return_value=json_response(400, "subscription_invalid_number.json"))

    answer = await usps.subscribe(NUMBER, listener_url=LISTENER, secret=SECRET)

    assert answer == SubscriptionAnswer(subscribed=(), refused=(NUMBER,))


@pytest.mark.parametrize(
    ("response", "error"),
    [
        (json_response(400, "subscription_invalid_listener.json"), SubscriptionRefused),
        (
            json_response(429, "rate_limited.json", headers={"Retry-After": "120"}),
            CarrierRateLimited,
        ),
        (httpx.Response(503, text="down"), CarrierUnavailable),
    ],
)
async def test_other_errors_refuse_the_request_or_are_retryable(usps, router, response, error):
    subscription_token_route(router)
    router.post(URL).mock(return_value=response)

    with pytest.raises(error) as raised:
        await usps.subscribe(NUMBER, listener_url=LISTENER, secret=SECRET)

    assert raised.value.retryable == (error is not SubscriptionRefused)
