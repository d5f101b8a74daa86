"""/docs works on a closed network: Swagger UI's files come from the service itself."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from playwright.async_api import Browser, Route, expect

from tests.browser.conftest import LiveServer

pytestmark = pytest.mark.browser


async def test_the_api_docs_render_in_chromium_with_the_network_blocked(
    browser: Browser, live_server: LiveServer
):
    context = await browser.new_context(java_script_enabled=True)
    page = await context.new_page()
    ours = urlsplit(live_server.url).netloc
    blocked: list[str] = []
    violations: list[str] = []

    async def only_ours(route: Route) -> None:
        if urlsplit(route.request.url).netloc == ours:
            await route.continue_()
        else:
            blocked.append(route.request.url)
            await route.abort()

    await page.route("**/*", only_ours)
    page.on(
        "console",
        lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None,
    )
    await page.goto(f"{live_server.url}/docs")

    await expect(page.locator(".swagger-ui .info .title")).to_contain_text("firstscan")
    await expect(page.get_by_text("/v1/orders").first).to_be_visible()
    await context.close()
    assert blocked == [], "the page asked for something outside the service"
    assert violations == []
