"""The mock carriers' pushes: each carrier's push reads back through firstscan's own push parser
and signature check, every scan is pushed once across rounds, and the faults do what they say
(lost, doubled, badly signed, newest first)."""

from __future__ import annotations

import json
from datetime import timedelta

import httpx
import pytest

from carriers.fedex import push as fedex_push
from carriers.protocol import TrackingFailure
from carriers.sandbox import Scenario, example_number, plan_timeline
from carriers.ups import push as ups_push
from carriers.usps import push as usps_push
from mock_carriers import MockCarrierServer
from mock_carriers.pushing import PushFaults, PushTarget, badly_signed
from mock_carriers.pushing import fedex_push as render_fedex
from mock_carriers.pushing import ups_push as render_ups
from mock_carriers.pushing import usps_push as render_usps
from mock_carriers.subscriptions import UpsWebhook
from tests.unit.mock_carriers.conftest import NOW
from tests.unit.mock_carriers.helpers import ManualTime

SECRET = "mock-push-secret"
URL = "http://receiver.test/v1/push"


def timeline_of(carrier: str):
    number = example_number(carrier, Scenario.NORMAL)
    return plan_timeline(carrier, number, label_created_at=NOW - timedelta(days=2))


def test_a_ups_push_reads_back_as_its_scan_and_carries_the_subscription_credential():
    timeline = timeline_of("ups")
    for scan in timeline.scans:
        push = render_ups(timeline, scan, url=URL, credential=SECRET)
        snapshot = ups_push.parse_push(push.body)
        assert snapshot.tracking_number == timeline.tracking_number
        [event] = snapshot.events
        assert (event.status, event.occurred_at) == (scan.status, scan.at)
        assert ups_push.credential_matches(SECRET, push.headers[ups_push.CREDENTIAL_HEADER])
        assert not ups_push.credential_matches(
            SECRET, badly_signed(push).headers[ups_push.CREDENTIAL_HEADER]
        )


def test_a_ups_v2_push_goes_to_the_webhook_with_the_client_id_and_no_credential():
    timeline = timeline_of("ups")
    webhook = UpsWebhook(
        url=URL, token_url=URL + "/token", client_id="firstscan", client_secret="s" * 32
    )

    push = render_ups(timeline, timeline.scans[0], url=URL, webhook=webhook)

    assert ups_push.parse_push(push.body).tracking_number == timeline.tracking_number
    assert push.headers == {ups_push.API_KEY_HEADER: "firstscan"}
    assert (push.url, push.webhook, push.forged) == (URL, webhook, False)
    assert badly_signed(push).forged
    assert "s" * 32 not in repr(webhook)


def test_a_usps_notification_is_signed_and_its_payload_is_the_answer_as_of_the_scan():
    timeline = timeline_of("usps")
    for count, scan in enumerate(timeline.scans, start=1):
        push = render_usps(timeline, scan, url=URL, secret=SECRET)
        signature = push.headers[usps_push.SIGNATURE_HEADER]
        assert usps_push.signature_matches(SECRET, push.body, signature)
        assert not usps_push.signature_matches(
            SECRET, push.body, badly_signed(push).headers[usps_push.SIGNATURE_HEADER]
        )
        snapshot = usps_push.parse_notification(push.body)
        assert len(snapshot.events) == count  # every scan up to this one, none after
        assert max(e.occurred_at for e in snapshot.events) == scan.at


def test_a_fedex_push_is_signed_over_its_bytes_and_reads_back_as_the_track_answer():
    timeline = timeline_of("fedex")
    scan = timeline.scans[-1]
    push = render_fedex(timeline, scan, url=URL, secret=SECRET)
    signature = push.headers[fedex_push.SIGNATURE_HEADER]
    assert fedex_push.signature_matches(SECRET, push.body, signature)
    assert not fedex_push.signature_matches(SECRET, push.body + b" ", signature)
    assert not fedex_push.signature_matches(
        SECRET, push.body, badly_signed(push).headers[fedex_push.SIGNATURE_HEADER]
    )
    [result] = fedex_push.parse_push(push.body)
    assert not isinstance(result, TrackingFailure)
    assert result.tracking_number == timeline.tracking_number
    assert result.events[-1].status == scan.status


class Receiver:
    """Records each posted USPS notification and whether its signature holds."""

    def __init__(self, status: int = 200) -> None:
        self.bodies: list[bytes] = []
        self.signed: list[bool] = []
        self.status = status

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.bodies.append(request.content)
        signature = request.headers.get(usps_push.SIGNATURE_HEADER)
        self.signed.append(usps_push.signature_matches(SECRET, request.content, signature))
        return httpx.Response(self.status, json={"accepted": True})


def _server(manual_time: ManualTime, number: str) -> MockCarrierServer:
    server = MockCarrierServer(
        clock=manual_time.now, monotonic=manual_time.monotonic, sleep=manual_time.sleep
    )
    server.pusher.targets["usps"] = PushTarget(
        carrier="usps", url=URL, secret=SECRET, numbers=(number,)
    )
    return server


def _scan_times(bodies: list[bytes]) -> list[str]:
    return [json.loads(body)["timestamp"] for body in bodies]


async def test_each_scan_is_pushed_once_across_rounds(manual_time: ManualTime):
    number = example_number("usps", Scenario.NORMAL)
    timeline = plan_timeline("usps", number)
    manual_time.wall = timeline.scans[1].at  # two scans made so far
    server = _server(manual_time, number)
    receiver = Receiver()
    async with httpx.AsyncClient(transport=httpx.MockTransport(receiver)) as client:
        first = await server.pusher.push_round(client)
        again = await server.pusher.push_round(client)
        manual_time.wall = timeline.scans[-1].at
        rest = await server.pusher.push_round(client)
    assert (first.posted, again.posted, rest.posted) == (2, 0, len(timeline.scans) - 2)
    assert first.answers == {200: 2}
    assert len(set(receiver.bodies)) == len(timeline.scans)
    assert _scan_times(receiver.bodies) == sorted(_scan_times(receiver.bodies))


@pytest.mark.parametrize(
    ("faults", "posted", "lost", "duplicated"),
    [
        (PushFaults(lose_rate=1.0), 0, "all", 0),
        (PushFaults(duplicate_rate=1.0), "twice", 0, "all"),
        (PushFaults(bad_signature_rate=1.0), "all", 0, 0),
        (PushFaults(reorder=True), "all", 0, 0),
    ],
)
async def test_push_faults(manual_time: ManualTime, faults, posted, lost, duplicated):
    number = example_number("usps", Scenario.NORMAL)
    timeline = plan_timeline("usps", number)
    manual_time.wall = timeline.scans[-1].at
    server = _server(manual_time, number)
    server.pusher.set_faults(faults)
    receiver = Receiver()
    async with httpx.AsyncClient(transport=httpx.MockTransport(receiver)) as client:
        result = await server.pusher.push_round(client)
    scans = len(timeline.scans)
    expected = {"all": scans, "twice": 2 * scans, 0: 0}
    assert (result.posted, result.lost, result.duplicated) == (
        expected[posted],
        expected[lost],
        expected[duplicated],
    )
    if faults.bad_signature_rate:
        assert result.badly_signed == scans
        assert receiver.signed == [False] * scans
    else:
        assert all(receiver.signed)
    if faults.reorder:
        assert _scan_times(receiver.bodies) == sorted(_scan_times(receiver.bodies), reverse=True)
    if faults.duplicate_rate:
        assert len(set(receiver.bodies)) == scans


async def test_the_control_endpoints_set_targets_and_faults_and_push_a_round(
    client: httpx.AsyncClient, server: MockCarrierServer
):
    refused = await client.post("/_mock/push/targets", json={"carrier": "dhl", "url": URL})
    assert refused.status_code == 400
    number = example_number("fedex", Scenario.NORMAL)
    target = {"carrier": "fedex", "url": URL, "secret": SECRET, "numbers": [number]}
    assert (await client.post("/_mock/push/targets", json=target)).json() == {
        "carrier": "fedex",
        "numbers": 1,
    }
    answer = await client.post("/_mock/push/faults", json={"lose_rate": 1.0})
    assert answer.json()["lose_rate"] == 1.0
    assert (await client.post("/_mock/push/faults", json={"lose_rate": 2})).status_code == 400
    pushed = (await client.post("/_mock/push")).json()
    assert pushed["posted"] == 0
    assert pushed["lost"] == len(plan_timeline("fedex", number).visible(NOW))
