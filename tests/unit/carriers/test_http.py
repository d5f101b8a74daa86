"""The status meanings every carrier client shares, checked on bare responses (no network)."""

from datetime import UTC, datetime, timedelta

import httpx
import pytest

from carriers.answers import excerpt
from carriers.errors import (
    MAX_EXCERPT_CHARS,
    AdapterFault,
    CarrierAuthError,
    CarrierRateLimited,
    CarrierResponseInvalid,
    CarrierUnavailable,
)
from carriers.http import CarrierHttp, fetch_in_batches
from carriers.protocol import TrackingFailure
from carriers.types import TrackingQuery

NOW = datetime(2025, 3, 12, 15, 0, tzinfo=UTC)


@pytest.fixture
async def carrier():
    async with httpx.AsyncClient() as http:
        yield CarrierHttp(
            http, carrier="ups", read_error=lambda body: body.decode() or None, clock=lambda: NOW
        )


@pytest.mark.parametrize(
    ("status", "kind", "message"),
    [
        (401, CarrierAuthError, "UPS refused access (HTTP 401): why"),
        (403, CarrierAuthError, "UPS refused access (HTTP 403): why"),
        (429, CarrierRateLimited, "UPS rate-limited us (HTTP 429): why"),
        (500, CarrierUnavailable, "UPS failed (HTTP 500): why"),
        (503, CarrierUnavailable, "UPS failed (HTTP 503): why"),
        (302, CarrierResponseInvalid, "UPS answered an unexpected HTTP 302"),
        (409, CarrierResponseInvalid, "UPS answered an unexpected HTTP 409"),
    ],
)
def test_a_status_maps_to_the_error_it_means_for_any_carrier(carrier, status, kind, message):
    error = carrier.status_error(httpx.Response(status, content=b"why"))
    assert type(error) is kind
    assert error.carrier == "ups"
    assert error.message == message


def test_a_429_carries_the_wait_retry_after_asks_for(carrier):
    response = httpx.Response(429, headers={"Retry-After": "Wed, 12 Mar 2025 15:01:00 GMT"})
    error = carrier.status_error(response)
    assert isinstance(error, CarrierRateLimited)
    assert error.retry_after == timedelta(seconds=60)


def test_a_server_error_keeps_its_status_code(carrier):
    error = carrier.status_error(httpx.Response(502, content=b""))
    assert isinstance(error, CarrierUnavailable)
    assert error.status_code == 502
    assert error.message == "UPS failed (HTTP 502)"


def test_an_unexpected_status_carries_a_bounded_excerpt_of_the_body(carrier):
    body = b"<html>" + b"x" * 2000
    error = carrier.status_error(httpx.Response(418, content=body))
    assert isinstance(error, CarrierResponseInvalid)
    assert error.excerpt == body[:MAX_EXCERPT_CHARS].decode()


def test_a_body_is_excerpted_whole_characters_at_most():
    body = "é" * 2000
    assert excerpt(body.encode()) == "é" * MAX_EXCERPT_CHARS
    assert excerpt(body) == "é" * MAX_EXCERPT_CHARS


async def test_batches_are_fetched_in_order_and_a_failed_batch_fails_only_its_numbers():
    asked: list[list[str]] = []

    async def fetch_batch(batch):
        numbers = [query.tracking_number for query in batch]
        asked.append(numbers)
        if "3" in numbers:
            raise CarrierUnavailable("down", carrier="fedex")
        return [TrackingFailure(n, CarrierAuthError("no", carrier="fedex")) for n in numbers]

    queries = [TrackingQuery(str(n)) for n in range(5)]
    results = await fetch_in_batches(queries, fetch_batch, carrier="fedex", batch_size=2)
    assert asked == [["0", "1"], ["2", "3"], ["4"]]
    assert [r.tracking_number for r in results] == ["0", "1", "2", "3", "4"]
    kinds = [type(r.error) for r in results if isinstance(r, TrackingFailure)]
    assert kinds == [CarrierAuthError, CarrierAuthError, CarrierUnavailable, CarrierUnavailable,
                     CarrierAuthError]  # fmt: skip


async def test_a_bug_in_a_batch_becomes_an_adapter_fault_per_number_and_is_logged(caplog):
    async def fetch_batch(batch):
        raise KeyError("bug")

    results = await fetch_in_batches(
        [TrackingQuery("a"), TrackingQuery("b")], fetch_batch, carrier="dhl", batch_size=1
    )
    assert [type(r.error) for r in results if isinstance(r, TrackingFailure)] == [
        AdapterFault,
        AdapterFault,
    ]
    assert isinstance(results[0].error, CarrierResponseInvalid)
    assert "reading the answer for a raised KeyError" in caplog.text
