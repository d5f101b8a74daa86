from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from app.alerts.messages import (
    FIELD_LIMIT,
    HEADER_LIMIT,
    SECTION_LIMIT,
    AlertMessage,
    build_alert_email,
    build_slack_message,
)
from tests.factories import alert_payload

BLOCK_TYPES = {"header", "section", "context"}
TEXT_TYPES = {"plain_text", "mrkdwn"}


def slack(**overrides):
    return build_slack_message(AlertMessage.from_payload(alert_payload(**overrides)))


def assert_valid_block_kit(body):
    """The constraints from docs.slack.dev/reference/block-kit/blocks that we rely on."""
    assert isinstance(body["text"], str)
    assert body["text"].strip()
    assert 0 < len(body["blocks"]) <= 50
    for block in body["blocks"]:
        assert block["type"] in BLOCK_TYPES
        if block["type"] == "header":
            assert block["text"]["type"] == "plain_text"
            assert 0 < len(block["text"]["text"]) <= HEADER_LIMIT
        elif block["type"] == "section":
            assert "text" in block or "fields" in block
            if "text" in block:
                assert block["text"]["type"] in TEXT_TYPES
                assert 0 < len(block["text"]["text"]) <= SECTION_LIMIT
            for field in block.get("fields", []):
                assert field["type"] in TEXT_TYPES
                assert 0 < len(field["text"]) <= FIELD_LIMIT
            assert len(block.get("fields", [])) <= 10
        else:
            assert 0 < len(block["elements"]) <= 10
            for element in block["elements"]:
                assert element["type"] in TEXT_TYPES


def all_text(body) -> str:
    parts = [body["text"]]
    for block in body["blocks"]:
        if "text" in block:
            parts.append(block["text"]["text"])
        parts += [field["text"] for field in block.get("fields", [])]
        parts += [element["text"] for element in block.get("elements", [])]
    return "\n".join(parts)


def test_slack_message_has_a_fallback_text_and_valid_blocks():
    body = slack()

    assert_valid_block_kit(body)
    assert body["text"] == "[CRITICAL] Label announced 30 h ago, UPS has no scan"
    assert [block["type"] for block in body["blocks"]] == [
        "header",
        "section",
        "section",
        "section",
        "context",
    ]


def test_slack_message_carries_the_explanation_the_action_and_the_facts():
    text = all_text(slack())

    assert "UPS reports no scan since" in text
    assert "Ask the warehouse whether the parcel left" in text
    for fact in ("ORD-000123", "UPS", "1Z999AA10123456784", "never_inducted", "ops"):
        assert fact in text
    assert "<http://console.example.test/console/alerts/42|Open alert #42>" in text
    assert "2026-12-17T14:30:00+00:00" in text


def test_slack_message_escapes_user_text_wherever_slack_parses_markup():
    body = slack(title="Parcel <!channel> & co", explanation="see <https://evil.test|here>")

    # The header is plain_text, which Slack shows literally; everything else is mrkdwn.
    parsed = all_text({"text": body["text"], "blocks": body["blocks"][1:]})
    assert "<!channel>" not in parsed
    assert "&lt;!channel&gt; &amp; co" in body["text"]
    assert "<https://evil.test" not in parsed
    assert "&lt;https://evil.test|here&gt;" in parsed
    assert body["blocks"][0]["text"]["text"].endswith("Parcel <!channel> & co")


def test_slack_message_names_an_escalation_in_its_header():
    body = slack(event="escalated")

    assert body["blocks"][0]["text"]["text"].endswith("Escalated: " + alert_payload()["title"])
    assert "Escalated:" in body["text"]


def test_slack_message_leaves_out_facts_that_are_absent():
    body = slack(order_number=None, tracking_number=None, carrier=None, carrier_name=None)

    labels = [field["text"].split("\n")[0] for field in body["blocks"][1]["fields"]]
    assert labels == ["*Severity*", "*Rule*", "*Team*"]


printable = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=6000)


@given(title=printable, explanation=printable, action=printable, order=printable)
def test_slack_message_stays_within_block_kit_limits_for_any_text(
    title, explanation, action, order
):
    body = build_slack_message(
        AlertMessage.from_payload(
            alert_payload(
                title=title,
                explanation=explanation,
                recommended_action=action,
                order_number=order,
            )
        )
    )

    assert_valid_block_kit(body)


def test_a_payload_without_a_required_key_is_refused():
    payload = alert_payload()
    del payload["recommended_action"]

    with pytest.raises(ValidationError, match="recommended_action"):
        AlertMessage.from_payload(payload)


def test_alert_email_has_subject_text_and_html_with_the_same_facts():
    email = build_alert_email(AlertMessage.from_payload(alert_payload()))

    assert email["Subject"] == "[CRITICAL] Label announced 30 h ago, UPS has no scan"
    assert email.get_content_type() == "multipart/alternative"
    text = email.get_body(("plain",)).get_content()
    html = email.get_body(("html",)).get_content()
    for body in (text, html):
        assert "UPS reports no scan since" in body
        assert "Ask the warehouse whether the parcel left" in body
        assert "ORD-000123" in body
        assert "1Z999AA10123456784" in body
        assert "http://console.example.test/console/alerts/42" in body


def test_alert_email_escapes_html_and_keeps_the_subject_on_one_line():
    payload = alert_payload(title="Two\r\nlines <b>", explanation="<script>alert(1)</script>")

    email = build_alert_email(AlertMessage.from_payload(payload))

    assert email["Subject"] == "[CRITICAL] Two lines <b>"
    html = email.get_body(("html",)).get_content()
    assert "<script>" not in html
    assert "&lt;script&gt;" in html
    assert "<h2>Two lines &lt;b&gt;</h2>" in html


def test_alert_email_subject_names_an_escalation():
    email = build_alert_email(
        AlertMessage.from_payload(alert_payload(event="escalated", severity="warning"))
    )

    assert email["Subject"].startswith("[WARNING] Escalated: ")
