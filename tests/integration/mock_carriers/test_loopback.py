"""The mock carrier server over real HTTP on loopback, as adapters and the bench meet it."""

import base64
import subprocess
import sys
from pathlib import Path

import httpx

from carriers.sandbox import example_number
from mock_carriers import DEFAULT_CREDENTIALS, DEFAULT_DHL_API_KEY, MockCarrierServer
from tests.support.mock_carrier import running_mock_carrier

PROJECT_ROOT = Path(__file__).resolve().parents[3]


def _token(http: httpx.Client, base: str, carrier: str) -> str:
    creds = DEFAULT_CREDENTIALS[carrier]
    form = {"grant_type": "client_credentials"}
    if carrier == "ups":
        basic = base64.b64encode(f"{creds.client_id}:{creds.client_secret}".encode()).decode()
        response = http.post(
            f"{base}/ups/security/v1/oauth/token",
            data=form,
            headers={"Authorization": f"Basic {basic}"},
        )
    else:
        form |= {"client_id": creds.client_id, "client_secret": creds.client_secret}
        path = "/usps/oauth2/v3/token" if carrier == "usps" else "/fedex/oauth/token"
        response = http.post(f"{base}{path}", data=form)
    response.raise_for_status()
    return str(response.json()["access_token"])


def test_every_carrier_endpoint_answers_over_loopback_http():
    server = MockCarrierServer()
    with running_mock_carrier(server) as base, httpx.Client(timeout=5.0) as http:
        usps = http.get(
            f"{base}/usps/tracking/v3/tracking/{example_number('usps', 'normal')}",
            params={"expand": "DETAIL"},
            headers={"Authorization": f"Bearer {_token(http, base, 'usps')}"},
        )
        ups = http.get(
            f"{base}/ups/api/track/v1/details/{example_number('ups', 'handoff')}",
            headers={"Authorization": f"Bearer {_token(http, base, 'ups')}",
                     "transId": "loopback-1", "transactionSrc": "firstscan"},
        )  # fmt: skip
        fedex = http.post(
            f"{base}/fedex/track/v1/trackingnumbers",
            json={"trackingInfo": [{"trackingNumberInfo": {"trackingNumber": n}}
                                   for n in (example_number("fedex", "normal"),
                                             example_number("fedex", "handoff_gap"))]},
            headers={"Authorization": f"Bearer {_token(http, base, 'fedex')}"},
        )  # fmt: skip
        dhl = http.get(
            f"{base}/dhl/track/shipments",
            params={"trackingNumber": example_number("dhl", "returned_to_sender")},
            headers={"DHL-API-Key": DEFAULT_DHL_API_KEY},
        )
        stats = http.get(f"{base}/_mock/stats").json()
    assert [r.status_code for r in (usps, ups, fedex, dhl)] == [200, 200, 200, 200]
    assert usps.json()["trackingEvents"][0]["eventCode"] == "01"
    package = ups.json()["trackResponse"]["shipment"][0]["package"][0]
    assert package["alternateTrackingNumber"][0]["type"] == "USPS_PIC"
    assert len(fedex.json()["output"]["completeTrackResults"]) == 2
    assert dhl.json()["shipments"][0]["events"][0]["statusCode"] == "delivered"
    assert stats["total"] == 7
    assert {c: s["requests"] for c, s in stats["carriers"].items()} == {
        "dhl": 1, "fedex": 2, "ups": 2, "usps": 2,
    }  # fmt: skip


def test_runner_prints_its_usage():
    result = subprocess.run(
        [sys.executable, "-m", "mock_carriers", "--help"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
        cwd=PROJECT_ROOT,  # mock_carriers is not installed: it runs from the checkout
    )
    assert "--latency-ms" in result.stdout
    assert "--port" in result.stdout
