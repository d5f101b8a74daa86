"""UPS Track Alert push authentication, v1 and v2 (docs/carrier-push.md, "UPS Track Alert").

v1: the subscription names an opaque `credential` and UPS sends it back in a `credential`
header with every event. v2 (UPSTrackAlert.yaml, `webhooks.TrackingEvent`, security scheme
`clientOauth2`): UPS obtains a token by OAuth 2.0 client credentials (RFC 6749 section 4.4,
`x-tokenEndpointAuthMethod: client_secret_basic`) from a token URL the customer provides, and
posts each event with `Authorization: Bearer <token>` and `x-api-key`, "the clientID of the
OAUTH token". firstscan is that token server (`POST /v1/push/ups/token`), for the one client
registered in UPS's portal.

A token needs no storage: `<expiry>.<nonce>.<mac>`, the MAC an HMAC-SHA256 of the client id,
expiry and nonce under a key derived from the client secret. A new secret (or client id) ends
every token issued under the old one. Pure: time is a parameter.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import parse_qsl, unquote_plus

from app.settings import Settings
from carriers.ups import push as ups_push

TOKEN_LIFETIME = timedelta(hours=1)
_KEY_LABEL = b"firstscan ups push token v1"
_MAX_TOKEN_CHARS = 128


@dataclass(frozen=True, slots=True)
class PushClient:
    """The client id and secret firstscan registered as the webhook's credentials at UPS."""

    client_id: str
    client_secret: str = ""

    def __repr__(self) -> str:  # the secret never reaches a log through a repr
        return f"PushClient(client_id={self.client_id!r})"


@dataclass(frozen=True, slots=True)
class UpsPushAuth:
    """What the UPS receiver accepts: v1's credential, v2's bearer token, or both."""

    credential: str | None = None
    client: PushClient | None = None


def configured_auth(settings: Settings) -> UpsPushAuth | None:
    """What the UPS receiver accepts as configured; None when neither v1 nor v2 is set."""
    credential = settings.ups_push_credential
    client = configured_client(settings)
    if credential is None and client is None:
        return None
    return UpsPushAuth(credential.get_secret_value() if credential else None, client)


def configured_client(settings: Settings) -> PushClient | None:
    """The v2 client (UPS push runs in v2 mode when it is set)."""
    if settings.ups_push_client_id is None or settings.ups_push_client_secret is None:
        return None
    return PushClient(
        settings.ups_push_client_id, settings.ups_push_client_secret.get_secret_value()
    )


@dataclass(frozen=True, slots=True)
class IssuedToken:
    access_token: str
    expires_in: int  # seconds


def issue_token(client: PushClient, *, now: datetime) -> IssuedToken:
    """A bearer token for the client, valid for TOKEN_LIFETIME from `now`."""
    expires = int((now + TOKEN_LIFETIME).timestamp())
    nonce = secrets.token_urlsafe(12)
    return IssuedToken(
        f"{expires}.{nonce}.{_mac(client, expires, nonce)}", int(TOKEN_LIFETIME.total_seconds())
    )


def token_valid(client: PushClient, token: str, *, now: datetime) -> bool:
    """True only for a token issued to this client, under this secret, not yet expired."""
    parts = token.split(".") if len(token) <= _MAX_TOKEN_CHARS else []
    if len(parts) != 3 or not parts[0].isdecimal() or len(parts[0]) > 12:
        return False
    expires, nonce, mac = int(parts[0]), parts[1], parts[2]
    if not hmac.compare_digest(_mac(client, expires, nonce).encode(), mac.encode()):
        return False
    left = expires - now.timestamp()
    return 0 < left <= TOKEN_LIFETIME.total_seconds()


def refuse_ups_push(
    auth: UpsPushAuth,
    *,
    authorization: str | None,
    api_key: str | None,
    credential: str | None,
    now: datetime,
) -> str | None:
    """Why a UPS push is refused, or None when it authenticates: a valid bearer token of the
    configured client (v2; an `x-api-key` it carries must be that client's id), or the v1
    `credential` header. Every comparison is constant-time."""
    token = _bearer(authorization)
    if token is not None and auth.client is not None:
        if api_key is not None and not _same(api_key, auth.client.client_id):
            return "x-api-key is not the client id"
        if token_valid(auth.client, token, now=now):
            return None
        return "bad or expired bearer token"
    if credential is not None and auth.credential is not None:
        matches = ups_push.credential_matches(auth.credential, credential)
        return None if matches else "wrong credential"
    return "no bearer token or credential"


@dataclass(frozen=True, slots=True)
class TokenRefusal:
    """A token request refused, as RFC 6749 section 5.2 words it."""

    status: int  # 400, or 401 for invalid_client
    error: str  # invalid_request, invalid_client, unsupported_grant_type
    description: str


FORM_MEDIA_TYPE = "application/x-www-form-urlencoded"


def answer_token_request(
    client: PushClient,
    *,
    authorization: str | None,
    content_type: str | None,
    body: bytes,
    now: datetime,
) -> IssuedToken | TokenRefusal:
    """The token for a client-credentials request of the registered client (RFC 6749 section
    4.4), or why not: a body that is not a form, a parameter twice, or two authentication
    methods are invalid_request; a wrong or missing client invalid_client (401); a grant other
    than client_credentials unsupported_grant_type."""
    try:
        form = read_token_form(content_type, body)
        presented = presented_client(authorization, form)
    except MalformedTokenRequest as error:
        return TokenRefusal(400, "invalid_request", str(error))
    if not client_matches(client, presented):
        return TokenRefusal(401, "invalid_client", "client authentication failed")
    grant = form.get("grant_type")
    if not grant:
        return TokenRefusal(400, "invalid_request", "grant_type is required")
    if grant != "client_credentials":
        return TokenRefusal(400, "unsupported_grant_type", "only client_credentials is supported")
    return issue_token(client, now=now)


def read_token_form(content_type: str | None, body: bytes) -> dict[str, str]:
    """The form's parameters; raises MalformedTokenRequest for another media type, a body that
    is not UTF-8, or a parameter sent twice (RFC 6749 section 3.2 and 3.1)."""
    media_type = (content_type or "").split(";")[0].strip().lower()
    if media_type != FORM_MEDIA_TYPE:
        raise MalformedTokenRequest(f"the body must be {FORM_MEDIA_TYPE}")
    try:
        pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True)
    except UnicodeDecodeError:
        raise MalformedTokenRequest("the body is not UTF-8") from None
    form = dict(pairs)
    if len(form) != len(pairs):
        raise MalformedTokenRequest("a parameter is given more than once")
    return form


@dataclass(frozen=True, slots=True)
class ClientAuthentication:
    """The client credentials a token request presented, and how (RFC 6749 section 2.3.1)."""

    client_id: str | None
    client_secret: str | None


class MalformedTokenRequest(ValueError):
    """RFC 6749 `invalid_request`: the request is not a token request we can read."""


def presented_client(authorization: str | None, form: dict[str, str]) -> ClientAuthentication:
    """The client credentials of a token request: HTTP Basic (the id and secret form-encoded,
    RFC 6749 section 2.3.1) or the `client_id`/`client_secret` form fields. A header that is
    not readable Basic credentials presents no client (invalid_client).

    Raises MalformedTokenRequest when both methods are used (section 2.3: "MUST NOT")."""
    if authorization is None or not authorization.strip():
        return ClientAuthentication(form.get("client_id"), form.get("client_secret"))
    if "client_id" in form or "client_secret" in form:
        raise MalformedTokenRequest("use one client authentication method, not two")
    scheme, _, encoded = authorization.strip().partition(" ")
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        decoded = ""
    client_id, colon, client_secret = decoded.partition(":")
    if scheme.lower() != "basic" or not colon:
        return ClientAuthentication(None, None)
    return ClientAuthentication(unquote_plus(client_id), unquote_plus(client_secret))


def client_matches(client: PushClient, presented: ClientAuthentication) -> bool:
    """True only for the registered client id and secret; both compared in constant time."""
    if presented.client_id is None or presented.client_secret is None:
        return False
    same_id = _same(presented.client_id, client.client_id)
    same_secret = _same(presented.client_secret, client.client_secret)
    return same_id and same_secret


def _bearer(authorization: str | None) -> str | None:
    scheme, _, token = (authorization or "").strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def _same(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode(), expected.encode())


def _mac(client: PushClient, expires: int, nonce: str) -> str:
    # The token key is derived from the secret, so the secret itself never signs anything that
    # leaves firstscan; the length prefix keeps the id from running into the expiry.
    key = hmac.new(client.client_secret.encode(), _KEY_LABEL, hashlib.sha256).digest()
    message = f"{len(client.client_id)}:{client.client_id}|{expires}|{nonce}".encode()
    digest = hmac.new(key, message, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
