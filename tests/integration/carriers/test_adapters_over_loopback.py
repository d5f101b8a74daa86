"""The four real adapters against the mock carrier server over real HTTP on 127.0.0.1.

The mock renders the sandbox's timelines in each carrier's JSON, so an adapter that reads its
carrier right gives back the sandbox's own timeline. Deterministic: fixed fault seed, label times
fixed through the mock's constructor, the mock's clock moved by the test, no sleeping.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from carriers import (
    CarrierAuthError,
    CarrierClient,
    CarrierRateLimited,
    CarrierResponseInvalid,
    CarrierUnavailable,
    DhlClient,
    FedexClient,
    TrackingFailure,
    TrackingNotFound,
    TrackingQuery,
    TrackingResult,
    TrackingSnapshot,
    TrackingStatus,
    UpsClient,
    UspsClient,
    example_number,
    plan_timeline,
)
from carriers.errors import MAX_EXCERPT_CHARS
from carriers.sandbox import shares_for
from mock_carriers import (
    DEFAULT_CREDENTIALS,
    DEFAULT_DHL_API_KEY,
    MockCarrierServer,
    MockShipment,
)
from tests.support.mock_carrier import running_mock_carrier

LABEL_AT = datetime(2026, 11, 16, 14, 7, tzinfo=UTC)  # a Monday, 09:07 in New York
CARRIERS = ("usps", "ups", "fedex", "dhl")
NUMBERS_PER_SCENARIO = 2
# From before the label (nothing to find) to long after every journey has ended.
CLOCK_OFFSETS = [
    timedelta(minutes=-1),
    timedelta(minutes=1),
    timedelta(hours=7),
    timedelta(days=1),
    timedelta(days=2, hours=3),
    timedelta(days=3, hours=12),
    timedelta(days=5),
    timedelta(days=7, hours=6),
    timedelta(days=40),
]
TOKEN_PATHS = {
    "usps": "POST /usps/oauth2/v3/token",
    "ups": "POST /ups/security/v1/oauth/token",
    "fedex": "POST /fedex/oauth/token",
}
TRACK_PATHS = {
    "usps": "GET /usps/tracking/v3/tracking/{n}",
    "ups": "GET /ups/api/track/v1/details/{n}",
    "fedex": "POST /fedex/track/v1/trackingnumbers",
    "dhl": "GET /dhl/track/shipments",
}


def _sweep_numbers() -> dict[str, list[str]]:
    """Numbers of every scenario each carrier plays, plus the USPS legs of every hand-off."""
    numbers = {
        carrier: [
            example_number(carrier, scenario, index)
            for scenario in shares_for(carrier)
            for index in range(NUMBERS_PER_SCENARIO)
        ]
        for carrier in CARRIERS
    }
    for carrier in ("ups", "fedex", "dhl"):
        for scenario in ("handoff", "handoff_gap"):
            for number in numbers[carrier]:
                timeline = plan_timeline(carrier, number, label_created_at=LABEL_AT)
                if timeline.scenario == scenario and timeline.handoff is not None:
                    numbers["usps"].append(timeline.handoff.tracking_number)
    return numbers


SWEEP = _sweep_numbers()
EXTRA = {"fedex": [example_number("fedex", "normal", i) for i in range(31)]}


class MovableClock:
    """The mock's wall clock, set by the test before each request."""

    def __init__(self) -> None:
        self.now = LABEL_AT

    def __call__(self) -> datetime:
        return self.now


@dataclass
class Mock:
    server: MockCarrierServer
    base: str
    clock: MovableClock


@pytest.fixture(scope="module")
def mock_server() -> Iterator[Mock]:
    clock = MovableClock()
    fixed = [
        MockShipment(carrier, number, label_created_at=LABEL_AT)
        for source in (SWEEP, EXTRA)
        for carrier, numbers in source.items()
        for number in numbers
    ]
    server = MockCarrierServer(seed=0, shipments=fixed, clock=clock)
    with running_mock_carrier(server) as base:
        yield Mock(server, base, clock)


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=10.0) as client:
        yield client


@pytest.fixture
async def mock(mock_server: Mock, http: httpx.AsyncClient) -> Mock:
    """The shared server with its requests, faults and clock put back."""
    response = await http.post(f"{mock_server.base}/_mock/reset")
    assert response.status_code == 200
    mock_server.clock.now = LABEL_AT + timedelta(days=3)
    return mock_server


def adapter(carrier: str, mock: Mock, http: httpx.AsyncClient, **overrides: str) -> CarrierClient:
    base_url = f"{mock.base}/{carrier}"
    if carrier == "dhl":
        return DhlClient(
            http, base_url=base_url, api_key=overrides.get("api_key", DEFAULT_DHL_API_KEY)
        )
    creds = DEFAULT_CREDENTIALS[carrier]
    oauth_clients: dict[str, type[UspsClient | UpsClient | FedexClient]] = {
        "usps": UspsClient,
        "ups": UpsClient,
        "fedex": FedexClient,
    }
    client_class = oauth_clients[carrier]
    return client_class(
        http, base_url=base_url, client_id=creds.client_id, client_secret=creds.client_secret
    )


async def fetch(client: CarrierClient, numbers: list[str]) -> list[TrackingResult]:
    results = await client.fetch_tracking([TrackingQuery(n) for n in numbers])
    assert [r.tracking_number for r in results] == numbers
    return results


async def configure(mock: Mock, http: httpx.AsyncClient, **settings: Any) -> None:
    response = await http.post(f"{mock.base}/_mock/config", json=settings)
    assert response.status_code == 200, response.text


async def stats(mock: Mock, http: httpx.AsyncClient, carrier: str) -> dict[str, Any]:
    summary = (await http.get(f"{mock.base}/_mock/stats")).json()
    carrier_stats: dict[str, Any] = summary["carriers"][carrier]
    return carrier_stats


def error_of(result: TrackingResult) -> Exception:
    assert isinstance(result, TrackingFailure), result
    return result.error


def assert_matches_sandbox(carrier: str, result: TrackingResult, now: datetime) -> None:
    """The adapter's result equals what the sandbox's timeline says at `now`."""
    expected = plan_timeline(carrier, result.tracking_number, label_created_at=LABEL_AT).snapshot(
        now
    )
    if isinstance(expected, TrackingFailure):
        assert isinstance(error_of(result), TrackingNotFound)
        return
    assert isinstance(result, TrackingSnapshot), result
    assert result.status is expected.status
    assert result.handoff == expected.handoff
    assert result.unknown_codes == ()
    if carrier == "fedex" and not result.events:
        # FedEx answers some label-only numbers with an empty scanEvents (CARRIER-NOTES); the
        # adapter still reads latestStatusDetail, so only the label can be missing.
        assert {e.status for e in expected.events} == {TrackingStatus.LABEL_CREATED}
        return
    got = [(e.status, e.carrier_code) for e in result.events]
    assert got == [(e.status, e.carrier_code) for e in expected.events]
    for event, planned in zip(result.events, expected.events, strict=True):
        if carrier == "dhl":
            # DHL eCommerce writes event times without an offset and states none elsewhere for
            # a scan, so the adapter reads them as UTC: only the wall clock is DHL's own.
            assert event.occurred_at.replace(tzinfo=None) == planned.occurred_at.replace(
                tzinfo=None
            )
        else:
            assert event.occurred_at == planned.occurred_at
            assert event.occurred_at.utcoffset() == planned.occurred_at.utcoffset()


@pytest.mark.parametrize("offset", CLOCK_OFFSETS, ids=str)
@pytest.mark.parametrize("carrier", CARRIERS)
async def test_adapter_reads_back_the_sandbox_timeline_of_every_scenario(
    mock, http, carrier, offset
):
    mock.clock.now = LABEL_AT + offset
    results = await fetch(adapter(carrier, mock, http), SWEEP[carrier])
    for result in results:
        assert_matches_sandbox(carrier, result, mock.clock.now)


@pytest.mark.parametrize("carrier", ["usps", "ups", "fedex"])
async def test_one_oauth_token_serves_every_request(mock, http, carrier):
    client = adapter(carrier, mock, http)
    numbers = [example_number(carrier, "normal", i) for i in range(2)]
    for number in numbers:
        for result in await fetch(client, [number]):
            assert_matches_sandbox(carrier, result, mock.clock.now)
    counts = (await stats(mock, http, carrier))["by_path"]
    assert counts == {TOKEN_PATHS[carrier]: 1, TRACK_PATHS[carrier]: 2}


@pytest.mark.parametrize("carrier", ["usps", "ups", "fedex"])
async def test_an_expired_token_is_refreshed_once_and_the_request_retried(mock, http, carrier):
    client = adapter(carrier, mock, http)
    number = example_number(carrier, "normal")
    await fetch(client, [number])
    await configure(mock, http, expire_tokens=[carrier])
    [result] = await fetch(client, [number])
    assert_matches_sandbox(carrier, result, mock.clock.now)
    seen = [(r.path, r.status) for r in mock.server.log.requests(carrier)]
    token, track = TOKEN_PATHS[carrier].split()[1], TRACK_PATHS[carrier].split()[1]
    assert seen == [(token, 200), (track, 200), (track, 401), (token, 200), (track, 200)]


@pytest.mark.parametrize("carrier", CARRIERS)
async def test_a_429_is_rate_limited_with_the_retry_after_the_carrier_sent(mock, http, carrier):
    await configure(mock, http, throttle_next=1, retry_after_seconds=7, carriers=[carrier])
    client = adapter(carrier, mock, http)
    numbers = [example_number(carrier, "normal", i) for i in range(2)]
    first, second = await fetch(client, numbers)
    error = error_of(first)
    assert isinstance(error, CarrierRateLimited)
    assert error.retry_after == timedelta(seconds=7)
    assert error.carrier == carrier
    if carrier == "fedex":  # both numbers rode in the one throttled request
        assert error_of(second) is error
    else:  # the budget of one 429 is spent; the next request is answered
        assert_matches_sandbox(carrier, second, mock.clock.now)


@pytest.mark.parametrize("carrier", CARRIERS)
async def test_a_500_is_carrier_unavailable(mock, http, carrier):
    await configure(mock, http, error_rate=1.0, carriers=[carrier])
    [result] = await fetch(adapter(carrier, mock, http), [example_number(carrier, "normal")])
    error = error_of(result)
    assert isinstance(error, CarrierUnavailable)
    assert not isinstance(error, CarrierRateLimited)
    assert error.status_code == 500
    assert error.retryable


@pytest.mark.parametrize("kind", ["truncated", "html"])
@pytest.mark.parametrize("carrier", CARRIERS)
async def test_a_broken_body_is_an_invalid_response_with_an_excerpt(mock, http, carrier, kind):
    await configure(mock, http, malformed_rate=1.0, malformed_kind=kind, carriers=[carrier])
    [result] = await fetch(adapter(carrier, mock, http), [example_number(carrier, "normal")])
    error = error_of(result)
    assert isinstance(error, CarrierResponseInvalid)
    assert 0 < len(error.excerpt) <= MAX_EXCERPT_CHARS
    if kind == "html":
        assert error.excerpt.startswith("<!DOCTYPE html>")
    else:
        assert error.excerpt.startswith("{")


async def test_fedex_tracks_31_numbers_in_two_requests(mock, http):
    numbers = EXTRA["fedex"]
    assert len(numbers) == 31
    results = await fetch(adapter("fedex", mock, http), numbers)
    for result in results:
        assert_matches_sandbox("fedex", result, mock.clock.now)
    counts = (await stats(mock, http, "fedex"))["by_path"]
    assert counts[TRACK_PATHS["fedex"]] == 2


async def test_dhl_sends_its_api_key_and_a_wrong_key_is_an_auth_error(mock, http):
    number = example_number("dhl", "normal")
    [good] = await fetch(adapter("dhl", mock, http), [number])
    [bad] = await fetch(adapter("dhl", mock, http, api_key="not-the-key"), [number])
    assert_matches_sandbox("dhl", good, mock.clock.now)
    error = error_of(bad)
    assert isinstance(error, CarrierAuthError)
    assert not error.retryable
    assert (await stats(mock, http, "dhl"))["by_status"] == {"200": 1, "401": 1}


@pytest.mark.parametrize("carrier", CARRIERS)
async def test_a_number_the_carrier_never_heard_of_is_not_found(mock, http, carrier):
    numbers = [example_number(carrier, "not_found", i) for i in range(6)]
    for result in await fetch(adapter(carrier, mock, http), numbers):
        assert isinstance(error_of(result), TrackingNotFound)
    if carrier == "ups":  # UPS says so as a 404 for some numbers, as a 200 with TW0001 for others
        by_status = (await stats(mock, http, "ups"))["by_status"]
        assert by_status.get("404", 0) > 0
        assert by_status.get("200", 0) > 1  # the token, and at least one TW0001 answer


@pytest.mark.parametrize("carrier", CARRIERS)
async def test_a_scan_keeps_its_instant_and_dedupe_key_from_poll_to_poll(mock, http, carrier):
    # The app stores scans under (leg, dedupe_key): a key that changes between polls stores
    # the same scan twice.
    client = adapter(carrier, mock, http)
    numbers = [example_number(carrier, s) for s in ("normal", "returned_to_sender", "handoff")
               if s in shares_for(carrier)]  # fmt: skip
    first_seen: dict[tuple[str, str, datetime], tuple[datetime, str]] = {}
    for hours in range(0, 24 * 9, 6):
        mock.clock.now = LABEL_AT + timedelta(hours=hours)
        for result in await fetch(client, numbers):
            for event in result.events if isinstance(result, TrackingSnapshot) else ():
                # A scan is known by the wall clock the carrier wrote, which never changes.
                wall_clock = event.occurred_at.replace(tzinfo=None)
                scan = (result.tracking_number, event.carrier_code, wall_clock)
                seen = first_seen.setdefault(scan, (event.occurred_at, event.dedupe_key))
                assert seen == (event.occurred_at, event.dedupe_key), scan
    assert len(first_seen) > 10
