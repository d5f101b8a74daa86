import pytest

from carriers.errors import CarrierResponseInvalid
from carriers.oauth import parse_access_token
from tests.unit.carriers.payloads import payload_bytes


@pytest.mark.parametrize(
    ("carrier", "name", "value", "lifetime"),
    [
        (
            "fedex",
            "oauth_token.json",
            "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.scrubbed.token-one",
            3599,
        ),
        # USPS and UPS send expires_in as a string.
        ("usps", "token.json", "usps-token-1", 28799),
        ("ups", "token.json", "ups-token-1", 14399),
    ],
)
def test_token_answer_gives_value_and_lifetime(carrier, name, value, lifetime):
    token = parse_access_token(payload_bytes(carrier, name), carrier=carrier)

    assert token.value == value
    assert token.expires_in_seconds == lifetime


def test_token_answer_without_token_is_an_invalid_response():
    with pytest.raises(CarrierResponseInvalid, match="FedEx token answer does not parse"):
        parse_access_token('{"token_type": "bearer"}', carrier="fedex")


def test_a_token_answer_that_is_not_json_carries_an_excerpt():
    with pytest.raises(CarrierResponseInvalid) as raised:
        parse_access_token(b"<html>maintenance</html>", carrier="usps")

    assert raised.value.excerpt == "<html>maintenance</html>"
    assert raised.value.carrier == "usps"
