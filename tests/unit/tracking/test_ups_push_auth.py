"""UPS Track Alert push authentication: the v2 bearer token firstscan issues at its token URL
(expiry, tampering, another client or secret), the token request as RFC 6749 section 4.4 reads
it, and the one check the receiver runs, v1's credential header included."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from urllib.parse import quote_plus

import pytest

from app.tracking.ups_push_auth import (
    TOKEN_LIFETIME,
    IssuedToken,
    PushClient,
    TokenRefusal,
    UpsPushAuth,
    answer_token_request,
    issue_token,
    refuse_ups_push,
    token_valid,
)

NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
CLIENT = PushClient("firstscan-ups-webhook", "s" * 40)
FORM = "application/x-www-form-urlencoded"
GRANT = b"grant_type=client_credentials"


def basic(client_id: str, secret: str) -> str:
    pair = f"{quote_plus(client_id)}:{quote_plus(secret)}".encode()
    return "Basic " + base64.b64encode(pair).decode()


def token_at(now: datetime = NOW, client: PushClient = CLIENT) -> str:
    return issue_token(client, now=now).access_token


def test_a_token_is_valid_for_its_client_until_it_expires():
    issued = issue_token(CLIENT, now=NOW)

    assert issued.expires_in == TOKEN_LIFETIME.total_seconds()
    assert token_valid(CLIENT, issued.access_token, now=NOW)
    assert token_valid(CLIENT, issued.access_token, now=NOW + TOKEN_LIFETIME - timedelta(seconds=1))
    assert not token_valid(CLIENT, issued.access_token, now=NOW + TOKEN_LIFETIME)


def test_two_tokens_for_the_same_second_differ():
    assert token_at() != token_at()


@pytest.mark.parametrize(
    "other",
    [
        PushClient(CLIENT.client_id, "t" * 40),  # the secret changed: old tokens end
        PushClient("another-client", CLIENT.client_secret),
    ],
)
def test_a_token_of_another_client_or_secret_is_refused(other):
    assert not token_valid(other, token_at(), now=NOW)


def tampered(token: str) -> list[str]:
    expires, nonce, mac = token.split(".")
    later = str(int(expires) + 3600)
    flipped = mac[:-1] + ("A" if mac[-1] != "A" else "B")
    return [
        f"{later}.{nonce}.{mac}",  # a later expiry
        f"{expires}.{nonce}x.{mac}",
        f"{expires}.{nonce}.{flipped}",
        f"{expires}.{nonce}",
        f"{expires}.{nonce}.{mac}.extra",
        "",
        "x" * 500,
    ]


@pytest.mark.parametrize("index", range(7))
def test_a_tampered_token_is_refused(index):
    assert not token_valid(CLIENT, tampered(token_at())[index], now=NOW)


def test_a_token_dated_beyond_one_lifetime_ahead_is_refused():
    # Issued "in the future" (a clock moved back): never valid for longer than one lifetime.
    future = token_at(NOW + timedelta(hours=2))

    assert not token_valid(CLIENT, future, now=NOW)


BOTH = UpsPushAuth(credential="v1-credential", client=CLIENT)


def refusal(auth=BOTH, *, authorization=None, api_key=None, credential=None, now=NOW):
    return refuse_ups_push(
        auth, authorization=authorization, api_key=api_key, credential=credential, now=now
    )


def test_a_v2_push_with_a_valid_token_and_the_client_id_is_accepted():
    assert refusal(authorization=f"Bearer {token_at()}", api_key=CLIENT.client_id) is None
    assert refusal(authorization=f"bearer  {token_at()}") is None  # x-api-key is optional


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        ({"authorization": "Bearer not-a-token"}, "bad or expired bearer token"),
        (
            {"authorization": f"Bearer {token_at(NOW - TOKEN_LIFETIME)}"},
            "bad or expired bearer token",
        ),
        ({"authorization": f"Bearer {token_at()}", "api_key": "someone"}, "x-api-key"),
        ({"credential": "v1-credential-not"}, "wrong credential"),
        ({}, "no bearer token or credential"),
        ({"authorization": f"Basic {token_at()}"}, "no bearer token or credential"),
    ],
)
def test_a_bad_expired_or_missing_authentication_is_refused(headers, reason):
    assert reason in (refusal(**headers) or "")


def test_v1_credential_is_still_accepted_when_configured():
    assert refusal(credential="v1-credential") is None
    v2_only = UpsPushAuth(client=CLIENT)
    assert refusal(v2_only, credential="v1-credential") == "no bearer token or credential"


def test_a_bearer_token_is_refused_when_v2_is_not_configured():
    v1_only = UpsPushAuth(credential="v1-credential")

    assert refusal(v1_only, authorization=f"Bearer {token_at()}") is not None


def answer(*, authorization=None, body=GRANT, content_type=FORM):
    return answer_token_request(
        CLIENT, authorization=authorization, content_type=content_type, body=body, now=NOW
    )


def test_the_token_endpoint_grants_client_credentials_by_basic_or_form_fields():
    by_basic = answer(authorization=basic(CLIENT.client_id, CLIENT.client_secret))
    fields = f"&client_id={CLIENT.client_id}&client_secret={CLIENT.client_secret}"
    by_form = answer(body=GRANT + fields.encode(), content_type=FORM + "; charset=utf-8")

    for issued in (by_basic, by_form):
        assert isinstance(issued, IssuedToken)
        assert token_valid(CLIENT, issued.access_token, now=NOW)


def test_basic_credentials_are_form_decoded_as_rfc_6749_says():
    client = PushClient("id with:colon", "secret+with/odd=chars" + "x" * 20)
    request = basic(client.client_id, client.client_secret)

    issued = answer_token_request(
        client, authorization=request, content_type=FORM, body=GRANT, now=NOW
    )

    assert isinstance(issued, IssuedToken)


GOOD = basic(CLIENT.client_id, CLIENT.client_secret)


@pytest.mark.parametrize(
    ("request_", "expected"),
    [
        ({"authorization": basic(CLIENT.client_id, "wrong")}, (401, "invalid_client")),
        ({"authorization": basic("someone", CLIENT.client_secret)}, (401, "invalid_client")),
        ({}, (401, "invalid_client")),
        ({"authorization": "Basic !!!"}, (401, "invalid_client")),
        ({"authorization": f"Bearer {token_at()}"}, (401, "invalid_client")),
        ({"authorization": GOOD, "body": b"grant_type=password"}, (400, "unsupported_grant_type")),
        ({"authorization": GOOD, "body": b""}, (400, "invalid_request")),
        ({"authorization": GOOD, "body": GRANT + b"&" + GRANT}, (400, "invalid_request")),
        ({"authorization": GOOD, "content_type": "application/json"}, (400, "invalid_request")),
        ({"authorization": GOOD, "body": b"grant_type=\xff"}, (400, "invalid_request")),
        (
            {"authorization": GOOD, "body": GRANT + b"&client_id=" + CLIENT.client_id.encode()},
            (400, "invalid_request"),
        ),
    ],
)
def test_the_token_endpoint_refuses_as_rfc_6749_section_5_2_words_it(request_, expected):
    refused = answer(**request_)

    assert isinstance(refused, TokenRefusal)
    assert (refused.status, refused.error) == expected
    assert CLIENT.client_secret not in refused.description


def test_a_client_never_shows_its_secret_in_a_repr():
    assert CLIENT.client_secret not in repr(CLIENT)
    assert CLIENT.client_secret not in repr(UpsPushAuth(client=CLIENT))
