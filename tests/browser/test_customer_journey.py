from __future__ import annotations

import re

import pytest
from playwright.async_api import Page, expect

from app.demo import SEED_ORDER_NUMBER, SEED_POSTAL_CODE
from tests.browser.conftest import LiveServer, screenshot

pytestmark = pytest.mark.browser

# The seed story's own sentence (its date depends on the day the demo runs), then our promise.
HONEST = re.compile(
    r"FedEx handed the parcel to USPS on \w+day \d+ \w+; USPS has not scanned it since\. "
    r"We are looking into it"
)


def emailed_link(server: LiveServer) -> str:
    """The signed link in the email the worker sent the seed order's customer."""
    for recipients, message in server.inbox.messages:
        if recipients == ["jamie.rivera@example.com"]:
            return re.search(r"http://\S+/track/t/\S+", message.get_content()).group(0)
    pytest.fail("the seed order's customer was never emailed")


async def test_a_customer_gets_the_generic_answer_then_the_honest_message(
    page: Page, live_server: LiveServer
):
    await page.goto(f"{live_server.url}/track/{SEED_ORDER_NUMBER}")
    await screenshot(page, "track-form", live_server)

    await page.get_by_label("Postal code of the delivery address").fill("10001")
    await page.get_by_role("button", name="Show my order").click()
    await expect(page.get_by_role("alert")).to_contain_text("We could not find that order.")
    generic = await page.get_by_role("alert").inner_text()
    await screenshot(page, "track-not-found", live_server)

    await page.goto(f"{live_server.url}/track/FS-0000")
    await page.get_by_label("Postal code of the delivery address").fill(SEED_POSTAL_CODE)
    await page.get_by_role("button", name="Show my order").click()
    await expect(page.get_by_role("alert")).to_have_text(generic)  # unknown order: same words

    await page.goto(f"{live_server.url}/track")
    await page.get_by_label("Order number").fill(SEED_ORDER_NUMBER.lower())
    await page.get_by_label("Postal code of the delivery address").fill(SEED_POSTAL_CODE)
    await page.get_by_role("button", name="Show my order").click()

    await expect(page.get_by_role("heading", name=f"Order {SEED_ORDER_NUMBER}")).to_be_visible()
    await expect(page.get_by_role("status")).to_contain_text(HONEST)
    await expect(page.get_by_text("Label created")).to_have_count(0)
    by_form = await page.locator("main").inner_text()
    await screenshot(page, "track-status", live_server)

    await page.goto(emailed_link(live_server))
    assert await page.locator("main").inner_text() == by_form


async def test_the_customer_page_fits_a_phone(browser, live_server: LiveServer):
    context = await browser.new_context(
        viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True
    )
    page = await context.new_page()
    await page.goto(emailed_link(live_server))

    width = await page.evaluate("document.documentElement.scrollWidth")
    await expect(page.get_by_role("status")).to_contain_text(HONEST)
    await screenshot(page, "track-status-phone", live_server)
    await context.close()
    assert width <= 390
