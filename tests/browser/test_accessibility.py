from __future__ import annotations

import pytest
from axe_playwright_python.async_playwright import Axe
from playwright.async_api import Browser, Page

from app.demo import SEED_ORDER_NUMBER, SEED_POSTAL_CODE
from tests.browser.conftest import PHONE, LiveServer, screenshot, sign_in

pytestmark = pytest.mark.browser

SERIOUS = {"serious", "critical"}
CONSOLE_PAGES = {
    "console-search-results": "/console/search?q=NOPE",
    "console-order": f"/console/orders/{SEED_ORDER_NUMBER}",
    "console-alert-board": "/console/alerts",
    "console-alert-board-filtered": "/console/alerts?rule=late&min_age_hours=1",
    "console-home": "/console",
}


async def serious_violations(page: Page) -> list[str]:
    results = await Axe().run(page)
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']][:3]}"
        for v in results.response["violations"]
        if v["impact"] in SERIOUS
    ]


@pytest.fixture
async def js_page(browser: Browser):
    """axe-core runs as JavaScript in the page, so this profile keeps JavaScript on."""
    context = await browser.new_context(viewport={"width": 1280, "height": 900})
    page = await context.new_page()
    yield page
    await context.close()


async def test_the_customer_pages_have_no_serious_accessibility_violations(
    js_page: Page, live_server: LiveServer
):
    found = {}
    await js_page.goto(f"{live_server.url}/track")
    found["track"] = await serious_violations(js_page)
    await js_page.goto(f"{live_server.url}/track/{SEED_ORDER_NUMBER}")
    found["track-form"] = await serious_violations(js_page)
    await js_page.get_by_label("Postal code of the delivery address").fill("00000")
    await js_page.get_by_role("button", name="Show my order").click()
    found["track-not-found"] = await serious_violations(js_page)
    await js_page.goto(f"{live_server.url}/track/{SEED_ORDER_NUMBER}")
    await js_page.get_by_label("Postal code of the delivery address").fill(SEED_POSTAL_CODE)
    await js_page.get_by_role("button", name="Show my order").click()
    found["track-status"] = await serious_violations(js_page)
    await js_page.goto(f"{live_server.url}/track/t/not-a-token")
    found["track-link-invalid"] = await serious_violations(js_page)

    assert {name: v for name, v in found.items() if v} == {}


async def test_the_console_pages_have_no_serious_accessibility_violations(
    js_page: Page, live_server: LiveServer
):
    await js_page.goto(f"{live_server.url}/console/sign-in")
    found = {"console-sign-in": await serious_violations(js_page)}
    await screenshot(js_page, "console-sign-in", live_server)
    await sign_in(js_page, live_server, live_server.ops_key)
    for name, path in CONSOLE_PAGES.items():
        await js_page.goto(live_server.url + path)
        found[name] = await serious_violations(js_page)

    assert {name: v for name, v in found.items() if v} == {}


async def test_the_console_fits_a_phone(browser: Browser, live_server: LiveServer):
    context = await browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    page = await context.new_page()
    await sign_in(page, live_server, live_server.agent_key)
    await page.goto(f"{live_server.url}/console/orders/{SEED_ORDER_NUMBER}")

    overflow = await page.evaluate("document.documentElement.scrollWidth")
    violations = await serious_violations(page)
    await screenshot(page, "console-order-phone", live_server)
    await context.close()

    assert overflow <= PHONE["width"]
    assert violations == []
