"""One dispatch pass in its own process that SIGKILLs itself right after its first send, so
nothing after the send runs: no record, no rollback, no cleanup.

Usage: python -m tests.integration.alerts.dying_dispatcher DATABASE_URL WEBHOOK_URL NOW_ISO
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from datetime import datetime

import httpx

from app import db
from app.alerts.channels import WebhookChannel
from app.alerts.delivery import DeliveryResult, NotificationView
from app.alerts.dispatch import dispatch_due_notifications


class SendThenSigkill:
    def __init__(self, inner: WebhookChannel) -> None:
        self.inner = inner

    async def send(self, notification: NotificationView) -> DeliveryResult:
        result = await self.inner.send(notification)
        os.kill(os.getpid(), signal.SIGKILL)
        return result  # pragma: no cover - the process is gone


async def main(database_url: str, webhook_url: str, now: str) -> None:
    engine = db.create_engine(database_url)
    async with httpx.AsyncClient(timeout=5, trust_env=False) as http:
        await dispatch_due_notifications(
            db.create_sessionmaker(engine),
            channels={"webhook": SendThenSigkill(WebhookChannel(http, [webhook_url]))},
            worker_id="doomed",
            now=datetime.fromisoformat(now),
            concurrency=1,
        )


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:4]))
