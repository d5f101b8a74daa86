"""Account-wide push subscriptions follow the configuration: each configured FedEx account or
USPS Mailer ID is one active row while its carrier's push secret is set, and then that
carrier's legs count as pushed; an account taken out of the setting lapses to expired and the
legs go back to the polling cadence; UPS legs are untouched."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy import select

from app.settings import Settings
from app.shipments.models import Leg
from app.tracking import subscriptions
from app.tracking.jobs import sync_account_subscriptions
from app.tracking.models import CarrierSubscription
from app.wiring import build_worker_context
from tests.conftest import FixedClock
from tests.factories import create_order, fedex_number, ups_number

NOW = datetime(2026, 12, 7, 15, 0, tzinfo=UTC)


async def sync(sessionmaker, **settings: object) -> dict[str, tuple[int, int]]:
    async with httpx.AsyncClient(trust_env=False) as http:
        context = build_worker_context(
            Settings(**settings),  # type: ignore[arg-type]
            sessionmaker=sessionmaker,
            http=http,
            clock=FixedClock(NOW),
        )
        return await sync_account_subscriptions(context)


async def rows(sessionmaker) -> set[tuple[str, str, str]]:
    async with sessionmaker() as session:
        found = (await session.execute(select(CarrierSubscription))).scalars()
        return {(r.carrier, r.subject, r.state) for r in found}


async def pushed_carriers(sessionmaker) -> set[str]:
    async with sessionmaker() as session:
        stmt = select(Leg.carrier).where(subscriptions.is_pushed())
        return set((await session.execute(stmt)).scalars())


async def test_configured_accounts_are_active_rows_and_their_carriers_legs_pushed(
    committing_sessionmaker,
):
    async with committing_sessionmaker() as session:
        await create_order(
            session,
            now=NOW - timedelta(hours=2),
            label_at=NOW - timedelta(hours=2),
            shipments=[
                {"tracking_number": fedex_number(), "carrier": "fedex", "label_created_at": ""},
                {"tracking_number": ups_number(), "carrier": "ups", "label_created_at": ""},
            ],
        )
        await session.commit()
    token = SecretStr("fedex-aiv-token")

    # Accounts without the carrier's secret do not count: its pushes would be refused.
    assert await sync(committing_sessionmaker, fedex_push_accounts="510087020") == {}
    assert await rows(committing_sessionmaker) == set()

    configured = {"fedex_push_accounts": "510087020, 510087021", "fedex_push_security_token": token}
    assert await sync(committing_sessionmaker, **configured) == {"fedex": (2, 0)}
    assert await sync(committing_sessionmaker, **configured) == {}  # nothing changes twice
    assert await rows(committing_sessionmaker) == {
        ("fedex", "510087020", "active"),
        ("fedex", "510087021", "active"),
    }
    assert await pushed_carriers(committing_sessionmaker) == {"fedex"}

    one_left = {"fedex_push_accounts": "510087021", "fedex_push_security_token": token}
    assert await sync(committing_sessionmaker, **one_left) == {"fedex": (0, 1)}
    assert await pushed_carriers(committing_sessionmaker) == {"fedex"}

    assert await sync(committing_sessionmaker) == {"fedex": (0, 1)}  # push turned off
    assert await rows(committing_sessionmaker) == {
        ("fedex", "510087020", "expired"),
        ("fedex", "510087021", "expired"),
    }
    assert await pushed_carriers(committing_sessionmaker) == set()

    assert await sync(committing_sessionmaker, **configured) == {"fedex": (2, 0)}  # back on
    assert await pushed_carriers(committing_sessionmaker) == {"fedex"}


def test_an_account_setting_is_a_comma_separated_list_of_plain_identifiers():
    settings = Settings(usps_push_mailer_ids=" 902000001,902000002,,902000001 ")
    assert settings.usps_push_mailer_ids == ("902000001", "902000002")
    with pytest.raises(ValueError, match="letters and digits"):
        Settings(fedex_push_accounts="5100; DROP TABLE")
