"""The console on a laptop and on a phone: what an agent needs is in the first screen, and the
alert board never scrolls sideways (issue 13)."""

from __future__ import annotations

import pytest
from playwright.async_api import Browser

from app.demo import SEED_ORDER_NUMBER
from tests.browser.conftest import PHONE, LiveServer, screenshot, sign_in

pytestmark = pytest.mark.browser

LAPTOP = {"width": 1280, "height": 800}
FIRST_SCREEN = ("#glance-status", "#glance-problem", "#glance-next-step", "#glance-customer")


@pytest.mark.parametrize("viewport", [LAPTOP, PHONE], ids=["laptop", "phone"])
async def test_the_order_pages_first_screen_holds_status_problem_next_step_and_the_customers_view(
    browser: Browser, live_server: LiveServer, viewport
):
    context = await browser.new_context(viewport=viewport)
    page = await context.new_page()
    await sign_in(page, live_server, live_server.agent_key)
    await page.goto(f"{live_server.url}/console/orders/{SEED_ORDER_NUMBER}")

    bottoms = {}
    for selector in FIRST_SCREEN:
        box = await page.locator(selector).bounding_box()
        assert box is not None, selector
        bottoms[selector] = box["y"] + box["height"]
    problem = await page.locator("#glance-problem").inner_text()
    name = "laptop" if viewport == LAPTOP else "phone"
    await screenshot(page, f"console-order-first-screen-{name}", live_server)
    await context.close()

    assert all(bottom <= viewport["height"] for bottom in bottoms.values()), bottoms
    assert "Handoff gap" in problem
    assert "FedEx handed the parcel to USPS" in problem


async def test_the_alert_board_does_not_scroll_sideways_on_a_phone(
    browser: Browser, live_server: LiveServer
):
    context = await browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    page = await context.new_page()
    await sign_in(page, live_server, live_server.agent_key)
    await page.goto(f"{live_server.url}/console/alerts")

    page_width = await page.evaluate("document.documentElement.scrollWidth")
    region = page.get_by_role("region", name="Parcel problems", exact=True)
    overflow = await region.evaluate("el => el.scrollWidth - el.clientWidth")
    number_height = await page.locator("table.stack .number").first.evaluate(
        "el => el.getBoundingClientRect().height"
    )
    await screenshot(page, "console-alert-board-phone", live_server)
    await context.close()

    assert page_width <= PHONE["width"]
    assert overflow <= 0, "the table scrolls sideways inside its region"
    assert number_height < 60, "a tracking number wraps onto many lines"


async def test_the_board_shows_resolved_alerts_newest_first(
    browser: Browser, live_server: LiveServer
):
    context = await browser.new_context()
    page = await context.new_page()
    await sign_in(page, live_server, live_server.agent_key)

    await page.goto(f"{live_server.url}/console/alerts?status=resolved")

    caption = await page.locator("table caption").inner_text()
    await context.close()
    assert caption == "Resolved problems, newest first"
