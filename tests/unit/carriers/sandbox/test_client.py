from datetime import UTC, datetime, timedelta

import pytest

from carriers.errors import TrackingNotFound
from carriers.protocol import CarrierClient, TrackingFailure
from carriers.sandbox import SandboxCarrier, example_number
from carriers.types import TrackingQuery, TrackingSnapshot, TrackingStatus

LABEL_AT = datetime(2026, 11, 20, 15, 3, tzinfo=UTC)


def fixed_clock(at: datetime):
    return lambda: at


def test_sandbox_carrier_satisfies_the_client_protocol():
    carrier = SandboxCarrier("fedex", clock=fixed_clock(LABEL_AT))
    assert isinstance(carrier, CarrierClient)
    assert carrier.name == "FedEx (sandbox)"
    assert carrier.default_rate_limit.requests_per_second >= 10


@pytest.mark.parametrize(
    ("code", "name", "batch_size"),
    [("fedex", "FedEx (sandbox)", 30), ("ups", "UPS (sandbox)", 1), ("usps", "USPS (sandbox)", 1),
     ("dhl", "DHL (sandbox)", 1), ("ontrac", "ONTRAC (sandbox)", 1)],
)  # fmt: skip
def test_batch_size_and_name_follow_the_real_carrier(code, name, batch_size):
    carrier = SandboxCarrier(code, clock=fixed_clock(LABEL_AT))
    assert (carrier.name, carrier.batch_size) == (name, batch_size)


async def test_fetch_returns_one_result_per_query_in_order():
    numbers = [example_number("fedex", s) for s in ("normal", "not_found", "never_inducted")]
    carrier = SandboxCarrier("fedex", clock=fixed_clock(LABEL_AT + timedelta(days=10)))
    results = await carrier.fetch_tracking(
        [TrackingQuery(n, label_created_at=LABEL_AT) for n in numbers]
    )
    assert [r.tracking_number for r in results] == numbers
    assert isinstance(results[0], TrackingSnapshot)
    assert results[0].status is TrackingStatus.DELIVERED
    assert isinstance(results[1], TrackingFailure)
    assert isinstance(results[1].error, TrackingNotFound)
    assert isinstance(results[2], TrackingSnapshot)
    assert results[2].status is TrackingStatus.LABEL_CREATED


async def test_the_clock_decides_how_far_the_journey_has_gone():
    now = [LABEL_AT + timedelta(minutes=1)]
    carrier = SandboxCarrier("ups", clock=lambda: now[0])
    query = TrackingQuery(example_number("ups", "normal"), label_created_at=LABEL_AT)
    (early,) = await carrier.fetch_tracking([query])
    now[0] = LABEL_AT + timedelta(days=8)
    (late,) = await carrier.fetch_tracking([query])
    assert isinstance(early, TrackingSnapshot)
    assert isinstance(late, TrackingSnapshot)
    assert early.status is TrackingStatus.LABEL_CREATED
    assert late.status is TrackingStatus.DELIVERED
    assert late.events[: len(early.events)] == early.events


async def test_a_hand_off_is_followed_on_the_sandbox_usps_carrier():
    now = fixed_clock(LABEL_AT + timedelta(days=12))
    fedex, usps = SandboxCarrier("fedex", clock=now), SandboxCarrier("usps", clock=now)
    query = TrackingQuery(example_number("fedex", "handoff_gap"), label_created_at=LABEL_AT)
    (first_leg,) = await fedex.fetch_tracking([query])
    assert isinstance(first_leg, TrackingSnapshot)
    assert first_leg.handoff is not None
    (last_mile,) = await usps.fetch_tracking([TrackingQuery(first_leg.handoff.tracking_number)])
    assert isinstance(last_mile, TrackingSnapshot)
    assert last_mile.status is TrackingStatus.LABEL_CREATED


async def test_latency_is_awaited_not_slept(monkeypatch):
    waited: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        waited.append(seconds)

    monkeypatch.setattr("carriers.sandbox.client.asyncio.sleep", fake_sleep)
    carrier = SandboxCarrier(
        "dhl", clock=fixed_clock(LABEL_AT), latency=timedelta(milliseconds=250)
    )
    await carrier.fetch_tracking([TrackingQuery(example_number("dhl", "normal"))])
    assert waited == [0.25]


async def test_a_naive_clock_is_a_programming_error():
    carrier = SandboxCarrier("usps", clock=lambda: datetime(2026, 1, 1))
    with pytest.raises(ValueError, match="timezone-aware"):
        await carrier.fetch_tracking([TrackingQuery(example_number("usps", "normal"))])
