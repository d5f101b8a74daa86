from __future__ import annotations

import re

import pytest
from playwright.async_api import Page, expect

from app.demo import SEED_ORDER_NUMBER
from tests.browser.conftest import LiveServer, screenshot, sign_in

pytestmark = pytest.mark.browser


def spaced(number: str) -> str:
    return " ".join(number[i : i + 4] for i in range(0, len(number), 4))


async def usps_number(page: Page) -> str:
    """The seed order's USPS number, read off the board as an agent would copy it."""
    row = page.get_by_role("row").filter(has_text="handoff gap")
    text = await row.locator(".number").inner_text()
    return text.replace(" ", "")


async def tab_to(page: Page, target: str, limit: int = 80) -> None:
    """Presses Tab until the focused element is `target` ('INPUT#api_key', 'BUTTON:Search')."""
    describe = "e => e.tagName + (e.id ? '#' + e.id : ':' + e.textContent.trim())"
    for _ in range(limit):
        await page.keyboard.press("Tab")
        if await page.evaluate(f"({describe})(document.activeElement)") == target:
            return
    pytest.fail(f"the keyboard never reached {target!r}")


async def test_an_agent_finds_the_order_by_its_usps_number_and_works_the_alert(
    page: Page, live_server: LiveServer
):
    await sign_in(page, live_server, live_server.ops_key)
    await expect(page.get_by_text("Signed in as Riley (support)")).to_be_visible()
    await screenshot(page, "console-home", live_server)

    await page.goto(f"{live_server.url}/console/alerts")
    await screenshot(page, "console-alert-board", live_server)
    number = await usps_number(page)

    search = page.get_by_role("searchbox", name="Order or tracking number")
    await search.fill(spaced(number).lower())
    await search.press("Enter")

    await expect(page).to_have_url(re.compile(rf"/console/orders/{SEED_ORDER_NUMBER}$"))
    await page.get_by_text("Shipments and legs").click()  # folded below the first screen
    legs = page.locator("ol.legs > li")
    await expect(legs).to_have_count(2)
    await expect(legs.first).to_contain_text("FedEx Ground Economy")
    await expect(legs.first).to_contain_text(f"handed to USPS as {spaced(number)}")
    await expect(
        page.get_by_text("USPS has the electronic label but has never scanned the parcel").first
    ).to_be_visible()
    alert = page.locator("article.alert").filter(has_text="Handoff gap")
    await expect(alert).to_contain_text("Recommended next step")
    # What the customer is told, in the alert's own words.
    await expect(
        page.get_by_text(
            re.compile(r"FedEx handed the parcel to USPS on .*; USPS has not scanned")
        ).first
    ).to_be_visible()
    await expect(page.get_by_text("to ja***@example.com: sent")).to_be_visible()
    await screenshot(page, "console-order", live_server)

    await alert.get_by_role("button", name="Acknowledge").focus()
    await page.keyboard.press("Enter")  # keyboard-usable: no mouse needed
    await expect(page.get_by_role("status")).to_have_text("Alert acknowledged.")
    alert = page.locator("article.alert").filter(has_text="Handoff gap")
    await expect(alert).to_contain_text("Acknowledged by Riley (support)")

    await alert.get_by_label("Outcome").select_option(label="Reshipped")
    await alert.get_by_label("Note (optional)").fill("Sent a new parcel, UPS 1Z…")
    await alert.get_by_role("button", name="Resolve").click()

    await expect(page.get_by_role("status")).to_have_text("Alert resolved.")
    await page.locator("summary", has_text="Audit log").click()  # folded below the first screen
    audit = page.get_by_role("region", name="Audit log", exact=True)
    await expect(audit).to_contain_text("Riley (support)")
    await expect(audit).to_contain_text("resolved the handoff gap alert: reshipped")
    await expect(audit).to_contain_text("acknowledged the handoff gap alert")
    await expect(page.get_by_role("heading", name="Closed alerts (1)")).to_be_visible()


async def test_the_keyboard_reaches_sign_in_and_search(page: Page, live_server: LiveServer):
    await page.goto(f"{live_server.url}/console/sign-in")
    await tab_to(page, "INPUT#api_key")
    await page.keyboard.type(live_server.agent_key)
    await page.keyboard.press("Enter")

    await expect(page.get_by_text("Signed in as Sam (agent)")).to_be_visible()
    await tab_to(page, "INPUT#q")
    await page.keyboard.type("fs-1001")
    await page.keyboard.press("Enter")
    await expect(page.get_by_role("heading", name="Order FS-1001")).to_be_visible()


async def test_an_agent_session_reads_and_notes_but_has_no_action_buttons(
    page: Page, live_server: LiveServer
):
    await sign_in(page, live_server, live_server.agent_key)
    await page.goto(f"{live_server.url}/console/orders/FS-1002")

    alert = page.locator("article.alert").first
    await expect(alert).to_be_visible()
    await expect(alert.get_by_role("button", name="Acknowledge")).to_have_count(0)
    await alert.get_by_label("Note", exact=True).fill("Customer called; told them we are on it.")
    await alert.get_by_role("button", name="Add note").click()

    await expect(page.get_by_role("status")).to_have_text("Note added.")
    await page.locator("summary", has_text="Audit log").click()
    await expect(page.get_by_role("region", name="Audit log", exact=True)).to_contain_text(
        "Sam (agent)"
    )
