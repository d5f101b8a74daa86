from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from app.public.links import TrackLinks
from tests.conftest import FixedClock

NOW = datetime(2026, 12, 17, 15, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(NOW)


def links(clock, key: str = "test-secret") -> TrackLinks:
    return TrackLinks(key, max_age=timedelta(days=30), clock=clock)


@pytest.mark.parametrize("order_number", ["FS-1001", "ORD/2026/7", "commande-é", "a.b.c"])
def test_a_signed_link_reads_back_the_order_number(clock, order_number):
    token = links(clock).sign(order_number)

    assert "/" not in token
    assert links(clock).read(token) == order_number


def test_a_link_stops_working_when_it_expires(clock):
    token = links(clock).sign("FS-1001")

    clock.now = NOW + timedelta(days=30)
    assert links(clock).read(token) == "FS-1001"
    clock.now = NOW + timedelta(days=30, seconds=1)
    assert links(clock).read(token) is None


def test_a_link_signed_with_another_key_is_refused(clock):
    token = links(clock, key="someone-else").sign("FS-1001")

    assert links(clock).read(token) is None


@pytest.mark.parametrize("token", ["", "garbage", "RlMtMTAwMQ.x.y", "%%%.aaa.bbb"])
def test_malformed_tokens_are_refused(clock, token):
    assert links(clock).read(token) is None


def test_an_altered_token_is_refused(clock):
    token = links(clock).sign("FS-1001")
    other = links(clock).sign("FS-1002")
    forged = other.split(".")[0] + "." + ".".join(token.split(".")[1:])

    assert links(clock).read(forged) is None


def test_the_url_joins_the_base_and_the_token(clock):
    url = links(clock).url("https://shop.example/", "FS-1001")

    assert url.startswith("https://shop.example/track/t/")
    assert links(clock).read(url.rsplit("/", 1)[1]) == "FS-1001"
