"""A carrier that answers 500 for days, then recovers, with worker passes hour by hour on a
fixed clock against the mock carrier over HTTP: backoff and the breaker show in the metrics and
in carrier_states, the outage raises one carrier_unreachable and no finding from the silence it
causes, and polling resumes with fresh data once the carrier answers.

Labels are printed Mon 7 Dec 2026 10:00 New York; a never-inducted label's deadline (2 business
days) is 00:00 EST Thu 10 Dec. UPS fails from 11:00 that Monday until 10:00 Fri 11 Dec.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from app.alerts.models import Alert
from app.metrics import WORKER as REGISTRY
from app.shipments.models import Leg
from app.tracking.models import CarrierState, LegEvent
from carriers.sandbox import example_number
from tests.factories import create_order
from tests.support.mock_process import reported_event_keys

pytestmark = pytest.mark.slow

NEW_YORK = ZoneInfo("America/New_York")
LABEL_AT = datetime(2026, 12, 7, 10, 0, tzinfo=NEW_YORK)
OUTAGE_FROM = datetime(2026, 12, 7, 16, 0, tzinfo=UTC)  # 11:00 EST
NEVER_INDUCTED_DEADLINE = datetime(2026, 12, 10, 0, 0, tzinfo=NEW_YORK)
OUTAGE_UNTIL = datetime(2026, 12, 11, 15, 0, tzinfo=UTC)  # 10:00 EST


async def label_orders(sessionmaker, mock_carrier, carrier: str, scenario: str, count: int):
    """`count` orders of one label each that the mock plays as `scenario` from LABEL_AT."""
    numbers = [example_number(carrier, scenario, i) for i in range(count)]
    await mock_carrier.fix_shipments(
        [{"carrier": carrier, "tracking_number": n, "scenario": scenario,
          "label_created_at": LABEL_AT.isoformat()} for n in numbers]
    )  # fmt: skip
    async with sessionmaker() as session:
        for number in numbers:
            await create_order(
                session,
                now=LABEL_AT,
                label_at=LABEL_AT,
                shipments=[{"tracking_number": number, "carrier": carrier}],
                promised_delivery_date=None,
            )
        await session.commit()
    return numbers


async def alerts_by(sessionmaker, rule: str | None = None) -> list[Alert]:
    async with sessionmaker() as session:
        stmt = select(Alert).order_by(Alert.id)
        if rule:
            stmt = stmt.where(Alert.rule == rule)
        return list((await session.execute(stmt)).scalars())


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def test_an_outage_past_the_deadline_raises_one_carrier_unreachable_and_no_never_inducted(
    stepped_worker, committing_sessionmaker, mock_carrier
):
    sessionmaker = committing_sessionmaker
    await label_orders(sessionmaker, mock_carrier, "ups", "never_inducted", 3)
    await label_orders(sessionmaker, mock_carrier, "usps", "never_inducted", 3)
    worker = stepped_worker(OUTAGE_FROM - timedelta(hours=1))
    await worker.step_to(OUTAGE_FROM - timedelta(hours=1))  # both carriers answer: labels only
    await mock_carrier.configure(error_rate=1.0, carriers=["ups"])

    await worker.step_hourly(OUTAGE_FROM, OUTAGE_UNTIL - timedelta(hours=1))

    never_inducted = await alerts_by(sessionmaker, "never_inducted")
    assert [(a.carrier, a.opened_at) for a in never_inducted] == [
        ("usps", NEVER_INDUCTED_DEADLINE)
    ] * 3, "the carrier that answers is judged on time"
    [outage] = await alerts_by(sessionmaker, "carrier_unreachable")
    assert (outage.carrier, outage.status) == ("ups", "open")
    assert [a.rule for a in await alerts_by(sessionmaker)].count("carrier_unreachable") == 1

    await mock_carrier.configure(error_rate=0.0)
    # A leg backs off at most its cadence interval (6 h for a label) after its last failed poll.
    await worker.step_hourly(OUTAGE_UNTIL, OUTAGE_UNTIL + timedelta(hours=6))

    [outage] = await alerts_by(sessionmaker, "carrier_unreachable")
    assert (outage.status, outage.auto_resolved) == ("resolved", True)
    # The silence was real: with fresh answers the UPS labels are judged, and found wanting.
    after = [a for a in await alerts_by(sessionmaker, "never_inducted") if a.carrier == "ups"]
    assert [a.opened_at >= OUTAGE_UNTIL for a in after] == [True] * 3


async def legs_of(sessionmaker, carrier: str) -> list[Leg]:
    async with sessionmaker() as session:
        return list((await session.execute(select(Leg).where(Leg.carrier == carrier))).scalars())


async def assert_breaker_open_and_legs_backed_off(sessionmaker, *, calls: float, since: datetime):
    assert sample("firstscan_carrier_breaker_open", carrier="ups") == 1
    async with sessionmaker() as session:
        state = await session.get(CarrierState, "ups")
    assert (state.breaker_state, state.failing_since, state.last_success_at) == (
        "open", since, None
    )  # fmt: skip
    assert state.breaker_failures == calls
    legs = await legs_of(sessionmaker, "ups")
    assert {(leg.status, leg.last_successful_poll_at) for leg in legs} == {(None, None)}
    assert all(leg.consecutive_failures >= 1 for leg in legs), "each leg backed off"


async def assert_fresh_data_after(sessionmaker, recovered_at: datetime) -> None:
    assert sample("firstscan_carrier_breaker_open", carrier="ups") == 0
    legs = await legs_of(sessionmaker, "ups")
    assert all(leg.last_successful_poll_at >= recovered_at for leg in legs), "polling resumed"
    async with sessionmaker() as session:
        events = (await session.execute(select(LegEvent.leg_id, LegEvent.dedupe_key))).all()
    stored = {leg.id: {key for leg_id, key in events if leg_id == leg.id} for leg in legs}
    assert stored == {
        leg.id: reported_event_keys("ups", leg.tracking_number, leg.last_successful_poll_at,
                                    label_created_at=LABEL_AT)
        for leg in legs
    }  # fmt: skip
    assert {leg.status for leg in legs} <= {"in_transit", "out_for_delivery", "delivered"}


async def test_500s_for_days_trip_the_breaker_back_off_raise_no_false_alert_then_polling_resumes(
    stepped_worker, committing_sessionmaker, mock_carrier
):
    sessionmaker = committing_sessionmaker
    numbers = await label_orders(sessionmaker, mock_carrier, "ups", "normal", 12)
    await mock_carrier.configure(error_rate=1.0, carriers=["ups"])
    first_pass = LABEL_AT.astimezone(UTC)
    worker = stepped_worker(first_pass)
    calls_before = sample("firstscan_carrier_calls_total", carrier="ups")
    errors_before = sample("firstscan_carrier_errors_total", carrier="ups", kind="unavailable")

    await worker.step_hourly(first_pass, OUTAGE_UNTIL - timedelta(hours=1))

    passes = int((OUTAGE_UNTIL - first_pass) / timedelta(hours=1))
    calls = sample("firstscan_carrier_calls_total", carrier="ups") - calls_before
    errors = sample("firstscan_carrier_errors_total", carrier="ups", kind="unavailable")
    assert errors - errors_before == calls, "every call failed and was counted by kind"
    # The breaker opened after a few failures; then one probe per pass, not one call per leg.
    assert passes <= calls <= len(numbers) + passes
    await assert_breaker_open_and_legs_backed_off(sessionmaker, calls=calls, since=first_pass)
    assert [a.rule for a in await alerts_by(sessionmaker)] == ["carrier_unreachable"]

    await mock_carrier.configure(error_rate=0.0)
    # Never-polled legs back off at most an hour; the first pass after recovery probes once.
    await worker.step_hourly(OUTAGE_UNTIL, OUTAGE_UNTIL + timedelta(hours=3))

    await assert_fresh_data_after(sessionmaker, OUTAGE_UNTIL)
    alerts = await alerts_by(sessionmaker)
    assert [(a.rule, a.status) for a in alerts] == [("carrier_unreachable", "resolved")]
