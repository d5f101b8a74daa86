from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import httpx
import respx

from app.alerts.channels import WebhookChannel, render_alert_email, webhook_destination
from app.alerts.delivery import NotificationView, Outcome
from app.alerts.group_message import (
    GROUP_EVENT,
    LISTED_ITEMS,
    GroupMessage,
    build_group_email,
    build_group_message,
    build_group_slack_message,
    group_idempotency_key,
)
from app.alerts.grouping import GroupItem, SendNow, build_group_key

T0 = datetime(2026, 12, 17, 0, 0, tzinfo=UTC)
BASE = "https://firstscan.example.test"
KEY = build_group_key({"team": "usps desk", "rule": "handoff_gap"}, ("team", "rule"))
LONG = "Parcel <!channel> & *bold* " + "x" * 10_000


def item(item_id: int, *, severity="warning", reason="No USPS scan since the hand-off", **extra):
    return GroupItem(
        item_id=item_id,
        opened_at=T0 + timedelta(seconds=item_id),
        severity=severity,
        reason=reason,
        order_number=extra.get("order_number", f"FS-{item_id}"),
        carrier=extra.get("carrier"),
        tracking_number=extra.get("tracking_number"),
    )


def message(new=(), still_open=(), sequence=1) -> GroupMessage:
    decision = SendNow(new=tuple(new), still_open=tuple(still_open), sequence=sequence)
    return build_group_message(KEY, decision, console_base_url=BASE + "/")


def test_counts_new_and_still_open_items_and_lists_new_ones_first():
    built = message(new=[item(5), item(6, severity="critical")], still_open=[item(1)])

    assert (built.new_count, built.still_open_count, built.open_count) == (2, 1, 3)
    assert [(i.item_id, i.new) for i in built.items] == [(6, True), (5, True), (1, False)]
    assert built.severity == "critical"
    assert built.group == {"team": "usps desk", "rule": "handoff_gap"}
    assert built.headline == "2 new, 3 open · team usps desk, rule handoff_gap"


def test_a_repeat_says_what_is_still_open():
    built = message(still_open=[item(1), item(2)], sequence=7)

    assert built.headline == "Still open: 2 · team usps desk, rule handoff_gap"
    assert built.sequence == 7


def test_console_link_filters_to_exactly_the_group():
    url = urlsplit(message(new=[item(1)]).url)

    assert f"{url.scheme}://{url.netloc}{url.path}" == BASE + "/console/alerts"
    assert parse_qs(url.query) == {"team": ["usps desk"], "rule": ["handoff_gap"]}


def test_an_item_without_an_order_is_named_by_its_parcel():
    built = message(new=[item(1, order_number=None, carrier="usps", tracking_number="9400111")])

    assert built.items[0].subject == "usps 9400111"


def test_payload_is_plain_json_that_reads_back_the_same():
    built = message(new=[item(1)], still_open=[item(2)])

    payload = json.loads(json.dumps(built.to_payload()))

    assert GroupMessage.from_payload(payload) == built


def test_ten_thousand_items_list_ten_and_count_the_rest():
    built = message(new=[item(i, reason=LONG) for i in range(10_000)])

    assert len(built.items) == LISTED_ITEMS
    assert built.new_count == 10_000
    assert all(len(i.reason) <= 300 for i in built.items)
    assert len(json.dumps(built.to_payload())) < 10_000


def test_slack_message_stays_within_block_kit_limits_for_ten_thousand_long_items():
    built = message(
        new=[item(i, reason=LONG, order_number="O" * 500) for i in range(10_000)],
        still_open=[item(i, reason=LONG) for i in range(10_000, 20_000)],
    )

    body = build_slack(built)

    assert len(body["blocks"]) <= 50
    assert 0 < len(body["text"]) <= 300
    header = body["blocks"][0]
    assert header["type"] == "header"
    assert header["text"]["type"] == "plain_text"
    assert len(header["text"]["text"]) <= 150
    for block in body["blocks"][1:]:
        texts = [block["text"]] if "text" in block else block["elements"]
        assert all(t["type"] == "mrkdwn" and 0 < len(t["text"]) <= 3000 for t in texts)
    assert "Showing 10 of 20000" in body["blocks"][-1]["elements"][0]["text"]


def build_slack(built: GroupMessage) -> dict:
    return json.loads(json.dumps(build_group_slack_message(built)))


def test_slack_message_escapes_user_text_so_it_cannot_mention_or_link():
    hostile = KEY.__class__((("team", "<!here>"), ("rule", "a&b")))
    decision = SendNow(
        new=(item(1, reason="<@U123> see <https://evil|x>"),), still_open=(), sequence=1
    )
    built = build_group_message(hostile, decision, console_base_url=BASE)

    body = build_slack(built)
    # The header is plain_text, which Slack never parses for mentions; the rest is mrkdwn.
    text = json.dumps([body["text"], body["blocks"][1:]])

    assert "<!here>" not in text
    assert "<@U123>" not in text
    assert "<https://evil" not in text
    assert "&lt;!here&gt;" in text
    assert "&lt;@U123&gt;" in text
    assert "a&amp;b" in text


def test_slack_link_carries_the_encoded_group_query():
    body = build_slack(message(new=[item(1)]))

    footer = body["blocks"][-1]["elements"][0]["text"]
    assert f"<{BASE}/console/alerts?team=usps+desk&amp;rule=handoff_gap|" in footer


def test_email_lists_the_items_and_links_the_group_in_text_and_html():
    email = build_group_email(message(new=[item(1, reason="<b>late</b>")], still_open=[item(2)]))

    assert email["Subject"] == "[WARNING] 1 new, 2 open · team usps desk, rule handoff_gap"
    text = email.get_body(("plain",)).get_content()
    page = email.get_body(("html",)).get_content()
    assert "NEW FS-1 (warning): <b>late</b>" in text
    assert "FS-2 (warning)" in text
    assert f"{BASE}/console/alerts?team=usps+desk&rule=handoff_gap" in text
    assert "&lt;b&gt;late&lt;/b&gt;" in page
    assert "<b>late</b>" not in page
    assert 'href="https://firstscan.example.test/console/alerts?team=usps+desk&amp;rule=' in page


def test_email_subject_stays_short_for_a_huge_group():
    email = build_group_email(message(new=[item(i, reason=LONG) for i in range(10_000)]))

    assert len(email["Subject"]) <= 200


def group_notification(built: GroupMessage, channel: str, destination: str) -> NotificationView:
    return NotificationView(
        id=9,
        alert_id=0,
        event=GROUP_EVENT,
        channel=channel,
        destination=destination,
        idempotency_key="firstscan-group-team=ops&rule=late-3",
        payload=built.to_payload(),
    )


async def test_webhook_channel_posts_a_group_message_as_block_kit():
    url = "https://hooks.slack.example/services/T0/B0/t0ken"
    built = message(new=[item(1)], still_open=[item(2)])
    with respx.mock(assert_all_called=True) as mock:
        route = mock.post(url).respond(200, text="ok")
        async with httpx.AsyncClient() as http:
            result = await WebhookChannel(http, [url]).send(
                group_notification(built, "webhook", webhook_destination(url))
            )

    assert result.outcome is Outcome.DELIVERED
    assert json.loads(route.calls.last.request.content) == build_slack(built)


def test_email_renderer_renders_a_group_message():
    built = message(new=[item(1)])

    email = render_alert_email(group_notification(built, "email", "ops@example.test"))

    assert email["Subject"] == build_group_email(built)["Subject"]


def test_group_payload_holds_no_customer_contact_fields():
    payload = message(new=[item(1)]).to_payload()

    assert set(payload) == {
        "group",
        "sequence",
        "new_count",
        "still_open_count",
        "severity",
        "items",
        "url",
    }
    assert set(payload["items"][0]) == {
        "item_id",
        "severity",
        "reason",
        "new",
        "order_number",
        "carrier",
        "tracking_number",
    }


def test_group_idempotency_key_is_short_stable_and_distinct():
    huge = build_group_key({"team": "t" * 5000, "rule": "late"}, ("team", "rule"))
    keys = {
        group_idempotency_key(KEY, 3, "webhook", "webhook:abc"),
        group_idempotency_key(KEY, 4, "webhook", "webhook:abc"),
        group_idempotency_key(KEY, 3, "webhook", "webhook:def"),
        group_idempotency_key(KEY, 3, "email", "webhook:abc"),
        group_idempotency_key(huge, 3, "webhook", "webhook:abc"),
    }

    assert len(keys) == 5
    assert all(len(k) <= 128 for k in keys)
    assert group_idempotency_key(KEY, 3, "webhook", "webhook:abc") in keys
