from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from mock_carriers import MockCarrierServer
from tests.unit.mock_carriers.helpers import ManualTime

NOW = datetime(2026, 11, 25, 18, 0, tzinfo=UTC)
LABEL_AT = NOW - timedelta(days=12)


@pytest.fixture
def manual_time() -> ManualTime:
    return ManualTime(NOW)


@pytest.fixture
def server(manual_time: ManualTime) -> MockCarrierServer:
    return MockCarrierServer(
        clock=manual_time.now, monotonic=manual_time.monotonic, sleep=manual_time.sleep
    )


@pytest.fixture
async def client(server: MockCarrierServer) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=server)
    async with httpx.AsyncClient(transport=transport, base_url="http://mock") as http:
        yield http
