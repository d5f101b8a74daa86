"""Shared test helpers: a hand-driven clock and the carriers' happy-path calls."""

import base64
from datetime import datetime, timedelta

import httpx

from carriers.sandbox import example_number
from mock_carriers import DEFAULT_CREDENTIALS, DEFAULT_DHL_API_KEY


class ManualTime:
    """Wall clock, monotonic clock and sleep, all moved only by the test."""

    def __init__(self, start: datetime) -> None:
        self.wall = start
        self.elapsed = 0.0
        self.slept: list[float] = []

    def now(self) -> datetime:
        return self.wall

    def monotonic(self) -> float:
        return self.elapsed

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)

    def advance(self, seconds: float) -> None:
        self.elapsed += seconds
        self.wall += timedelta(seconds=seconds)


async def fetch_token(client: httpx.AsyncClient, carrier: str) -> str:
    creds = DEFAULT_CREDENTIALS[carrier]
    if carrier == "ups":
        basic = base64.b64encode(f"{creds.client_id}:{creds.client_secret}".encode()).decode()
        response = await client.post(
            "/ups/security/v1/oauth/token",
            data={"grant_type": "client_credentials"},
            headers={"Authorization": f"Basic {basic}"},
        )
    else:
        path = "/usps/oauth2/v3/token" if carrier == "usps" else "/fedex/oauth/token"
        form = {
            "grant_type": "client_credentials",
            "client_id": creds.client_id,
            "client_secret": creds.client_secret,
        }
        response = await client.post(path, data=form)
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


async def track(
    client: httpx.AsyncClient, carrier: str, number: str, token: str | None = None
) -> httpx.Response:
    """Calls the carrier's tracking endpoint the way its adapter would."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    if carrier == "usps":
        return await client.get(
            f"/usps/tracking/v3/tracking/{number}", params={"expand": "DETAIL"}, headers=headers
        )
    if carrier == "ups":
        headers |= {"transId": "test-1", "transactionSrc": "firstscan"}
        return await client.get(f"/ups/api/track/v1/details/{number}", headers=headers)
    if carrier == "fedex":
        body = {
            "includeDetailedScans": True,
            "trackingInfo": [{"trackingNumberInfo": {"trackingNumber": number}}],
        }
        return await client.post("/fedex/track/v1/trackingnumbers", json=body, headers=headers)
    return await client.get(
        "/dhl/track/shipments",
        params={"trackingNumber": number},
        headers={"DHL-API-Key": DEFAULT_DHL_API_KEY},
    )


async def track_ok(client: httpx.AsyncClient, carrier: str, number: str) -> httpx.Response:
    token = None if carrier == "dhl" else await fetch_token(client, carrier)
    return await track(client, carrier, number, token)


def number(carrier: str, scenario: str = "normal", index: int = 0) -> str:
    return example_number(carrier, scenario, index)
