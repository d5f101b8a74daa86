"""Fixtures the carrier client tests share: a real httpx client and a respx router on it."""

from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
import respx


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:
        yield client


@pytest.fixture
def router() -> Iterator[respx.MockRouter]:
    """Every route a test declares must be called (STYLE.md, Tests)."""
    with respx.mock(assert_all_called=True) as mock:
        yield mock
