from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from app.console.guards import safe_console_path
from app.console.sessions import ConsoleSessions
from tests.conftest import FixedClock

NOW = datetime(2026, 12, 17, 15, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(NOW)


@pytest.fixture
def sessions(clock) -> ConsoleSessions:
    return ConsoleSessions("test-secret", max_age=timedelta(hours=8), clock=clock)


def test_a_session_names_the_key_and_is_bound_to_its_hash(sessions):
    claim = sessions.read(sessions.issue(key_id=7, key_hash="a" * 64))

    assert claim is not None
    assert claim.key_id == 7
    assert sessions.key_matches(claim, "a" * 64)
    assert not sessions.key_matches(claim, "b" * 64)


def test_the_cookie_never_carries_the_key_hash(sessions):
    cookie = sessions.issue(key_id=7, key_hash="f00d" * 16)

    assert "f00d" not in cookie


def test_a_session_expires(sessions, clock):
    cookie = sessions.issue(key_id=7, key_hash="a" * 64)

    clock.now = NOW + timedelta(hours=8, seconds=1)

    assert sessions.read(cookie) is None


@pytest.mark.parametrize("cookie", [None, "", "garbage", "eyJrIjoxfQ.abc.def"])
def test_forged_or_malformed_cookies_are_no_session(sessions, cookie):
    assert sessions.read(cookie) is None


def test_a_cookie_signed_with_another_secret_is_refused(clock, sessions):
    other = ConsoleSessions("other-secret", max_age=timedelta(hours=8), clock=clock)

    assert sessions.read(other.issue(key_id=7, key_hash="a" * 64)) is None


def test_csrf_tokens_belong_to_one_session(sessions):
    first = sessions.read(sessions.issue(key_id=7, key_hash="a" * 64))
    second = sessions.read(sessions.issue(key_id=7, key_hash="a" * 64))

    assert sessions.csrf_ok(first.nonce, sessions.csrf_token(first.nonce))
    assert not sessions.csrf_ok(first.nonce, sessions.csrf_token(second.nonce))
    assert not sessions.csrf_ok(first.nonce, None)
    assert not sessions.csrf_ok(first.nonce, "")


def test_the_sign_in_form_token_needs_its_cookie(sessions):
    cookie, token = sessions.issue_sign_in()
    other_cookie, _ = sessions.issue_sign_in()

    assert sessions.sign_in_ok(cookie, token)
    assert not sessions.sign_in_ok(other_cookie, token)
    assert not sessions.sign_in_ok(None, token)
    assert not sessions.sign_in_ok(cookie, "forged")


def test_a_session_cookie_is_not_a_sign_in_cookie(sessions):
    cookie = sessions.issue(key_id=7, key_hash="a" * 64)

    assert not sessions.sign_in_ok(cookie, "anything")


@pytest.mark.parametrize(
    ("path", "safe"),
    [
        ("/console/orders/FS-1001", "/console/orders/FS-1001"),
        ("/console", "/console"),
        ("//evil.example/console", None),
        ("https://evil.example/console", None),
        ("/console/../x\r\nSet-Cookie: a", None),
        ("/v1/alerts", None),
        ("", None),
        (None, None),
    ],
)
def test_only_console_paths_are_followed_after_sign_in_or_an_action(path, safe):
    assert safe_console_path(path) == safe
