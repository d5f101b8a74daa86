"""Browser tests: the real app under uvicorn on a loopback port, on a migrated database holding the
demo data after one worker pass (so the seed story's alert is open), driven by Debian's Chromium
through Playwright. They skip only when Chromium is missing and FIRSTSCAN_REQUIRE_BROWSER is unset.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from playwright.async_api import Browser, Page, async_playwright, expect

from app import db, migrate
from app.auth import service as auth_service
from app.auth.roles import Role
from app.demo import load_demo
from app.main import create_app
from app.scheduler import run_worker
from app.settings import Settings
from tests.conftest import (
    BACKENDS,
    POSTGRES_ENV,
    _create_postgres_database,
    _drop_postgres_database,
)
from tests.integration.alerts.test_email_channel import Inbox, free_port, start_smtp
from tests.support.waiting import wait_until

CHROMIUM = "/usr/bin/chromium"
REQUIRE_BROWSER_ENV = "FIRSTSCAN_REQUIRE_BROWSER"
LAUNCH_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
SECRET_KEY = "browser-tests-secret"
LAPTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}


# The machine is shared: give a slow page time rather than fail on a busy minute.
expect.set_options(timeout=15_000)


def browser_required() -> bool:
    return os.environ.get(REQUIRE_BROWSER_ENV, "") not in ("", "0", "false")


_browser_passed: list[str] = []


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.when == "call" and report.passed and "browser" in report.keywords:
        _browser_passed.append(report.nodeid)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """With FIRSTSCAN_REQUIRE_BROWSER set, a run in which no browser test passed fails."""
    if browser_required() and not _browser_passed and session.testscollected:
        print(  # noqa: T201 - the one line CI must show
            "\nFAILED: FIRSTSCAN_REQUIRE_BROWSER is set but no browser test passed"
        )
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


@dataclass(frozen=True)
class LiveServer:
    url: str
    ops_key: str
    agent_key: str
    inbox: Inbox
    backend: str


def _run_in_thread(work: Callable[[], Awaitable[Any]]) -> Any:
    """Runs a coroutine on its own loop in its own thread, away from the tests' loop."""
    result: list[Any] = []
    errors: list[BaseException] = []

    def target() -> None:
        try:
            result.append(asyncio.run(work()))  # type: ignore[arg-type]
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=target)
    thread.start()
    thread.join()
    if errors:
        raise errors[0]
    return result[0]


async def _prepare(settings: Settings) -> tuple[str, str]:
    """Demo orders, one worker pass (poll, judge, deliver), and an ops and an agent key."""
    engine = db.create_engine(settings.database_url, pool_size=2)
    try:
        async with db.session_scope(db.create_sessionmaker(engine)) as session:
            await load_demo(session, now=db.utcnow())
        await run_worker(settings, once=True)
        async with db.session_scope(db.create_sessionmaker(engine)) as session:
            _, ops = await auth_service.create_key(
                session, role=Role.OPS, name="Riley (support)", actor="tests"
            )
            _, agent = await auth_service.create_key(
                session, role=Role.AGENT, name="Sam (agent)", actor="tests"
            )
        return ops, agent
    finally:
        await engine.dispose()


@pytest.fixture(scope="module", params=BACKENDS)
def database_url_for_browser(request, tmp_path_factory) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('browser') / 'firstscan.db'}"
        return
    base = os.environ.get(POSTGRES_ENV)
    if not base:
        pytest.skip(f"set {POSTGRES_ENV} to run the browser tests on PostgreSQL too")
    url, admin_dsn = _create_postgres_database(base)
    yield url
    _drop_postgres_database(admin_dsn, url)


@pytest.fixture(scope="module")
def live_server(database_url_for_browser: str) -> Iterator[LiveServer]:
    port = free_port()
    inbox = Inbox()
    smtp = start_smtp(inbox)
    settings = Settings(
        database_url=database_url_for_browser,
        secret_key=SECRET_KEY,
        public_base_url=f"http://127.0.0.1:{port}",
        customer_notify=True,
        smtp_host="127.0.0.1",
        smtp_port=smtp.port,
        smtp_starttls=False,
        public_rate_limit_per_address="1000/minute",
        public_rate_limit_per_order="1000/minute",
        log_level="WARNING",
    )
    migrate.upgrade(settings.database_url)
    ops_key, agent_key = _run_in_thread(lambda: _prepare(settings))
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_until(
        lambda: bool(server.started) or not thread.is_alive(), within=20, what="the app's start"
    )
    if not server.started:
        pytest.fail("the app did not start under uvicorn")
    backend = "postgres" if database_url_for_browser.startswith("postgresql") else "sqlite"
    try:
        yield LiveServer(settings.public_base_url, ops_key, agent_key, inbox, backend)
    finally:
        server.should_exit = True
        thread.join(timeout=20)
        smtp.stop()


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Browser]:
    if shutil.which(CHROMIUM) is None:
        if browser_required():
            pytest.fail(f"{REQUIRE_BROWSER_ENV} is set but Chromium is not at {CHROMIUM}")
        pytest.skip(f"Chromium is not installed at {CHROMIUM} (apt-get install chromium)")
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=CHROMIUM, args=LAUNCH_ARGS, headless=True
        )
        yield browser
        await browser.close()


@pytest.fixture
async def page(browser: Browser) -> AsyncIterator[Page]:
    """A fresh browser profile with JavaScript off: every page must work without it."""
    context = await browser.new_context(java_script_enabled=False, viewport=LAPTOP)
    page = await context.new_page()
    yield page
    await context.close()


async def screenshot(page: Page, name: str, server: LiveServer) -> None:
    """Saves a full-page screenshot as a test artifact (once, from the SQLite run)."""
    if server.backend != "sqlite":
        return
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=SCREENSHOTS / f"{name}.png", full_page=True)


async def sign_in(page: Page, server: LiveServer, key: str) -> None:
    await page.goto(f"{server.url}/console")
    await page.get_by_label("API key").fill(key)
    await page.get_by_role("button", name="Sign in").click()
