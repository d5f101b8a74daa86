import base64

import pytest

from mock_carriers import DEFAULT_CREDENTIALS
from tests.unit.mock_carriers.helpers import fetch_token, number, track, track_ok

TOKEN_CARRIERS = ("usps", "ups", "fedex")


async def test_usps_token_answer_has_documented_fields(client):
    creds = DEFAULT_CREDENTIALS["usps"]
    body = {"grant_type": "client_credentials", "client_id": creds.client_id,
            "client_secret": creds.client_secret}  # fmt: skip
    response = await client.post("/usps/oauth2/v3/token", json=body)
    token = response.json()
    assert response.status_code == 200
    assert token["token_type"] == "Bearer"
    assert token["expires_in"] == 28799
    assert token["access_token"].startswith("mock-usps-")


async def test_ups_token_answer_sends_numbers_as_strings(client):
    creds = DEFAULT_CREDENTIALS["ups"]
    basic = base64.b64encode(f"{creds.client_id}:{creds.client_secret}".encode()).decode()
    response = await client.post(
        "/ups/security/v1/oauth/token",
        data={"grant_type": "client_credentials"},
        headers={"Authorization": f"Basic {basic}"},
    )
    token = response.json()
    assert response.status_code == 200
    assert token["expires_in"] == "14399"
    assert token["status"] == "approved"
    assert token["client_id"] == creds.client_id


async def test_fedex_token_answer_is_a_lower_case_bearer(client):
    token = await fetch_token(client, "fedex")
    assert token.startswith("mock-fedex-")


@pytest.mark.parametrize(
    ("path", "kwargs", "error_key"),
    [
        ("/usps/oauth2/v3/token",
         {"data": {"grant_type": "client_credentials", "client_id": "x", "client_secret": "y"}},
         "error"),
        ("/ups/security/v1/oauth/token",
         {"data": {"grant_type": "client_credentials"},
          "headers": {"Authorization": "Basic " + base64.b64encode(b"x:y").decode()}},
         "response"),
        ("/fedex/oauth/token",
         {"data": {"grant_type": "client_credentials", "client_id": "x", "client_secret": "y"}},
         "errors"),
    ],
)  # fmt: skip
async def test_wrong_client_credentials_get_the_carriers_401(client, path, kwargs, error_key):
    response = await client.post(path, **kwargs)
    assert response.status_code == 401
    assert error_key in response.json()


async def test_a_grant_other_than_client_credentials_is_refused(client):
    response = await client.post("/fedex/oauth/token", data={"grant_type": "password"})
    assert response.status_code == 400


@pytest.mark.parametrize("carrier", TOKEN_CARRIERS)
async def test_tracking_without_a_token_is_unauthorized(client, carrier):
    response = await track(client, carrier, number(carrier))
    assert response.status_code == 401


async def test_a_token_of_another_carrier_is_not_accepted(client):
    ups_token = await fetch_token(client, "ups")
    response = await track(client, "fedex", number("fedex"), ups_token)
    assert response.status_code == 401
    assert response.json()["errors"][0]["code"] == "NOT.AUTHORIZED.ERROR"


async def test_dhl_needs_its_api_key(client):
    response = await client.get(
        "/dhl/track/shipments",
        params={"trackingNumber": number("dhl")},
        headers={"DHL-API-Key": "wrong"},
    )
    assert response.status_code == 401
    assert response.json()["title"] == "Unauthorized"


@pytest.mark.parametrize("carrier", TOKEN_CARRIERS)
async def test_expired_tokens_fail_once_then_a_fresh_token_works(client, carrier):
    token = await fetch_token(client, carrier)
    assert (await track(client, carrier, number(carrier), token)).status_code == 200
    config = await client.post("/_mock/config", json={"expire_tokens": [carrier]})
    assert config.json()["expired_tokens"] == 1
    assert (await track(client, carrier, number(carrier), token)).status_code == 401
    fresh = await fetch_token(client, carrier)
    assert (await track(client, carrier, number(carrier), fresh)).status_code == 200


async def test_tokens_die_when_their_stated_lifetime_runs_out(client, manual_time):
    token = await fetch_token(client, "fedex")
    manual_time.advance(3598)
    assert (await track(client, "fedex", number("fedex"), token)).status_code == 200
    manual_time.advance(2)
    assert (await track(client, "fedex", number("fedex"), token)).status_code == 401


async def test_expiring_one_carriers_tokens_leaves_the_others(client):
    usps_token = await fetch_token(client, "usps")
    await client.post("/_mock/config", json={"expire_tokens": ["ups"]})
    assert (await track(client, "usps", number("usps"), usps_token)).status_code == 200


async def test_happy_path_helper_reaches_every_carrier(client):
    for carrier in ("usps", "ups", "fedex", "dhl"):
        assert (await track_ok(client, carrier, number(carrier))).status_code == 200
