from __future__ import annotations

import base64
import binascii
import json
import secrets
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from starlette.datastructures import Headers
from starlette.requests import Request

from mock_carriers.responses import JSONValue

# What each carrier's token endpoint says a token lives for, in seconds.
TOKEN_LIFETIMES = {"usps": 28799, "ups": 14399, "fedex": 3599}


@dataclass(frozen=True, slots=True)
class ClientCredentials:
    client_id: str
    client_secret: str


@dataclass(slots=True)
class _Token:
    carrier: str
    valid_until: float  # monotonic seconds


class TokenIssuer:
    """Issues bearer tokens per carrier and says whether a presented one is still good."""

    def __init__(self, monotonic: Callable[[], float]) -> None:
        self._monotonic = monotonic
        self._tokens: dict[str, _Token] = {}

    def issue(self, carrier: str) -> tuple[str, int]:
        """Returns a new token for `carrier` and its lifetime in seconds."""
        lifetime = TOKEN_LIFETIMES[carrier]
        value = f"mock-{carrier}-{secrets.token_urlsafe(18)}"
        self._tokens[value] = _Token(carrier, self._monotonic() + lifetime)
        return value, lifetime

    def accepts(self, carrier: str, authorization: str | None) -> bool:
        """Tells whether an `Authorization: Bearer ...` header carries a live token of `carrier`."""
        if not authorization or not authorization.lower().startswith("bearer "):
            return False
        token = self._tokens.get(authorization[7:].strip())
        return (
            token is not None and token.carrier == carrier and self._monotonic() < token.valid_until
        )

    def expire(self, carriers: Iterable[str]) -> int:
        """Expires every token issued so far for these carriers; returns how many it expired."""
        wanted = set(carriers)
        expired = [value for value, token in self._tokens.items() if token.carrier in wanted]
        for value in expired:
            del self._tokens[value]
        return len(expired)


async def body_fields(request: Request) -> dict[str, str]:
    """Returns a token request's fields: its JSON object if it says JSON, else its form."""
    if "json" in request.headers.get("content-type", ""):
        fields = _json_fields(await request.body())
        if fields is not None:
            return fields
    form = await request.form()
    return {name: value for name, value in form.items() if isinstance(value, str)}


def presented_credentials(
    carrier: str, headers: Headers, fields: Mapping[str, str]
) -> ClientCredentials | None:
    """Returns the client id and secret a token request carries, the way `carrier` expects them.

    UPS sends HTTP Basic auth with a form body; FedEx a form body; USPS a JSON or form body.
    """
    if carrier == "ups":
        header = headers.get("authorization", "")
        if not header.lower().startswith("basic "):
            return None
        try:
            decoded = base64.b64decode(header[6:].strip(), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            return None
        client_id, _, secret = decoded.partition(":")
        return ClientCredentials(client_id, secret)
    if "client_id" not in fields or "client_secret" not in fields:
        return None
    return ClientCredentials(fields["client_id"], fields["client_secret"])


def token_document(
    carrier: str, *, token: str, lifetime: int, client_id: str, issued_at: datetime
) -> JSONValue:
    """Returns the token endpoint's 200 body as each carrier documents it."""
    issued_ms = int(issued_at.timestamp() * 1000)
    if carrier == "ups":  # UPS sends its numbers as strings (OAuthClientCredentials.yaml)
        return {
            "token_type": "Bearer",
            "issued_at": str(issued_ms),
            "client_id": client_id,
            "access_token": token,
            "scope": "",
            "expires_in": str(lifetime),
            "refresh_count": "0",
            "status": "approved",
        }
    if carrier == "usps":
        return {
            "access_token": token,
            "token_type": "Bearer",
            "issued_at": issued_ms,
            "expires_in": lifetime,
            "status": "approved",
            "scope": "tracking",
            "client_id": client_id,
            "application_name": "firstscan mock",
            "api_products": "[Public Access I]",
        }
    return {
        "access_token": token,
        "token_type": "bearer",
        "expires_in": lifetime,
        "scope": "CXS-TP",
    }


def _json_fields(body: bytes) -> dict[str, str] | None:
    try:
        document = json.loads(body or b"null")
    except ValueError:
        return None
    if not isinstance(document, dict):
        return None
    return {str(k): str(v) for k, v in document.items()}
