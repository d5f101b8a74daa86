"""Ops messages (Slack-compatible webhooks, ops email) never carry a customer's email address or
postal code: checked on the payloads the sweep writes and on what each channel builds of them."""

from __future__ import annotations

import json
from datetime import timedelta

from app.alerts.group_message import GroupMessage, build_group_email, build_group_slack_message
from app.reconciliation import service
from tests.integration.reconciliation.test_reconcile_orders import (
    AFTER_DEADLINE,
    CONFIG,
    announce,
    usps_label_only_order,
)

EMAIL = "pat.customer@example.org"
POSTAL_CODE = "K1A 0B1"


async def test_ops_messages_carry_neither_the_customers_email_nor_postal_code(session):
    order_id, _ = await usps_label_only_order(
        session,
        polled_at=AFTER_DEADLINE,
        customer_email=EMAIL,
        customer_postal_code=POSTAL_CODE,
    )

    await service.reconcile_orders(session, order_ids=[order_id], now=AFTER_DEADLINE, config=CONFIG)

    rows = await announce(session, now=AFTER_DEADLINE + timedelta(minutes=1))
    assert sorted(row.channel for row in rows) == ["email", "webhook"]  # both ops channels
    for row in rows:
        message = GroupMessage.from_payload(row.payload)
        assert len(message.items) == 1  # the order, named by its number
        built = [
            json.dumps(row.payload),
            json.dumps(build_group_slack_message(message)),
            build_group_email(message).as_string(),
        ]
        for text in built:
            assert EMAIL.lower() not in text.lower()
            assert POSTAL_CODE.replace(" ", "").lower() not in text.replace(" ", "").lower()
