"""Ops messages (Slack-compatible webhooks, ops email) never carry a customer's email address or
postal code: checked on the payloads the sweep writes and on what each channel builds of them."""

from __future__ import annotations

import json

from sqlalchemy import select

from app.alerts.messages import AlertMessage, build_alert_email, build_slack_message
from app.alerts.models import AlertNotification
from app.reconciliation import service
from tests.integration.reconciliation.test_reconcile_orders import (
    AFTER_DEADLINE,
    CONFIG,
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

    rows = (await session.execute(select(AlertNotification))).scalars().all()
    assert sorted(row.channel for row in rows) == ["email", "webhook"]  # both ops channels
    for row in rows:
        message = AlertMessage.from_payload(row.payload)
        built = [
            json.dumps(row.payload),
            json.dumps(build_slack_message(message)),
            build_alert_email(message).as_string(),
        ]
        for text in built:
            assert EMAIL.lower() not in text.lower()
            assert POSTAL_CODE.replace(" ", "").lower() not in text.replace(" ", "").lower()
