"""UPS Track Alert subscriptions: at most 100 numbers a request, v1's destination with the
credential UPS sends back or v2's body and path without one, the answer's valid and invalid
numbers, VSS errors as the spec lists."""

import json

import httpx
import pytest

from carriers.errors import CarrierUnavailable, SubscriptionRefused
from carriers.types import SubscriptionAnswer
from carriers.ups import UpsClient
from carriers.ups.subscribe import (
    MAX_NUMBERS,
    Destination,
    build_subscription_request,
    parse_subscription_answer,
)
from tests.unit.carriers.ups.test_client import BASE, token_route

URL = f"{BASE}/api/track/v1/subscription/standard/package"
URL_V2 = f"{BASE}/api/track/v2/subscription/standard/package"
LISTENER = "https://shop.example/v1/push/ups"
NUMBERS = ["1ZCIETST0111111114", "1ZCIETST0422222228"]


@pytest.fixture
def ups(http):
    return UpsClient(http, client_id="client-id", client_secret="client-secret")


def test_a_request_names_the_numbers_and_the_destination_with_its_credential():
    body = build_subscription_request(NUMBERS, destination=Destination(LISTENER, "c-1"))

    assert body == {
        "locale": "en_US",
        "countryCode": "US",
        "trackingNumberList": NUMBERS,
        "destination": {"url": LISTENER, "credentialType": "Bearer", "credential": "c-1"},
    }


def test_a_v2_request_names_only_the_numbers_locale_and_country():
    body = build_subscription_request(NUMBERS, destination=None)

    # UPSTrackAlert.yaml's Standard Request example, exactly: v2 removed `destination`.
    assert body == {"locale": "en_US", "countryCode": "US", "trackingNumberList": NUMBERS}


def test_a_destination_never_shows_its_credential_in_a_repr():
    assert "c-1" not in repr(Destination(LISTENER, "c-1"))


@pytest.mark.parametrize("count", [0, MAX_NUMBERS + 1])
def test_a_request_takes_one_to_a_hundred_numbers(count):
    with pytest.raises(ValueError, match="1 to 100"):
        build_subscription_request(["1Z"] * count, destination=Destination(LISTENER, "c"))


def test_the_answer_splits_subscribed_and_refused_numbers():
    body = {"validTrackingNumbers": [" 1Z1234567891234556"], "invalidTrackingNumbers": ["1Z1$8"]}

    assert parse_subscription_answer(json.dumps(body)) == SubscriptionAnswer(
        subscribed=("1Z1234567891234556",), refused=("1Z1$8",)
    )


async def test_the_client_posts_with_bearer_trans_id_and_source(ups, router):
    token_route(router)
    route = router.post(URL).mock(
        return_value=httpx.Response(200, json={"validTrackingNumbers": NUMBERS})
    )

    answer = await ups.subscribe(NUMBERS, destination=Destination(LISTENER, "c-1"))

    sent = route.calls.last.request
    assert answer == SubscriptionAnswer(
        subscribed=tuple(NUMBERS), refused=(), reference=sent.headers["transId"]
    )
    assert sent.headers["Authorization"] == "Bearer ups-token-1"
    assert len(sent.headers["transId"]) == 32
    assert sent.headers["transactionSrc"] == "firstscan"
    assert json.loads(sent.content)["destination"]["credential"] == "c-1"


def vss(code: str, message: str = "rejected", **extra):
    return httpx.Response(
        400, json={**extra, "response": {"errors": [{"code": code, "message": message}]}}
    )


async def test_a_request_with_no_valid_number_is_an_answer_about_the_numbers(ups, router):
    token_route(router)
    router.post(URL).mock(return_value=vss("VSS210", invalidTrackingNumbers=NUMBERS))

    answer = await ups.subscribe(NUMBERS, destination=Destination(LISTENER, "c"))

    assert (answer.subscribed, answer.refused) == ((), tuple(NUMBERS))


@pytest.mark.parametrize(
    ("code", "error"),
    [
        ("VSS100", CarrierUnavailable),
        ("VSS220", SubscriptionRefused),
        ("VSS700", SubscriptionRefused),
    ],
)
async def test_vss_errors_are_transient_or_hard_as_the_spec_lists_them(ups, router, code, error):
    token_route(router)
    router.post(URL).mock(return_value=vss(code))

    with pytest.raises(error, match=code):
        await ups.subscribe(NUMBERS, destination=Destination(LISTENER, "c"))


async def test_the_client_posts_v2_to_the_v2_path_without_a_destination(ups, router):
    token_route(router)
    route = router.post(URL_V2).mock(
        return_value=httpx.Response(200, json={"validTrackingNumbers": NUMBERS})
    )

    answer = await ups.subscribe(NUMBERS, destination=None)

    sent = route.calls.last.request
    assert answer.subscribed == tuple(NUMBERS)
    assert sent.headers["Authorization"] == "Bearer ups-token-1"
    assert "destination" not in json.loads(sent.content)
