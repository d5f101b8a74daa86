from __future__ import annotations

from app.quarantine import repository as quarantine_repository
from tests.e2e.console.conftest import sign_in


async def test_the_set_aside_page_lists_each_member_with_its_order_and_error(
    client, api_keys, story, session, clock
):
    order_id = story[0]
    await quarantine_repository.set_aside(
        session,
        quarantine_repository.SetAside(
            member_type="order",
            member_id=order_id,
            job="rules",
            order_id=order_id,
            error_type="OverflowError",
            error="OverflowError: date value out of range <script>",
        ),
        now=clock.now,
    )
    await session.commit()
    await sign_in(client, api_keys["agent"])

    page = await client.get("/console/set-aside")

    assert page.status_code == 200
    assert "1 set aside" in page.text
    assert 'href="/console/orders/FS-2001"' in page.text
    assert "OverflowError: date value out of range &lt;script&gt;" in page.text
    scraped = await client.get("/metrics")
    assert 'firstscan_set_aside{member_type="order"} 1.0' in scraped.text


async def test_an_empty_quarantine_says_so(client, api_keys):
    await sign_in(client, api_keys["agent"])

    page = await client.get("/console/set-aside")

    assert "Nothing is set aside" in page.text
