"""Issue 16's benchmark: the heaviest midnight's work items reach a Slack-like channel.

    python -m bench.storm [--database firstscan_bench] [--legs 1000000] [--speed 1]

On a fresh clone of the generated world at its heaviest midnight: the plans are made (untimed),
the midnight opening runs (timed: alerts, their audit and their work items), then a notifier and
a dispatcher deliver to a local receiver that behaves like a Slack incoming webhook (1 message a
second, a burst of 2, 429 with Retry-After beyond) with the default windows (group_wait 30 s,
group_interval 5 min). Printed: items, groups, messages sent, 429s, and the time from the
deadline until every new item was named in a delivered message, against the goal
(group_wait + group_interval) and against one message per alert (the alerts at 1 a second).
The world's clock runs at `--speed` times the wall clock (the receiver's rate is real).
"""

from __future__ import annotations

import argparse
import asyncio
import time
from datetime import datetime, timedelta

import httpx
from sqlalchemy import func, select, text

from app import db
from app.alerts.channels import WebhookChannel, webhook_destination
from app.alerts.destinations import DestinationLimits
from app.alerts.dispatch import dispatch_due_notifications
from app.alerts.grouping import GroupingPolicy
from app.alerts.models import AlertNotification, WorkItem
from app.alerts.notifier import NotifierPolicy, notify
from app.alerts.throttle import DestinationThrottle
from app.kernel.send_slots import Spacing
from bench import database
from bench.generate import count_rows, generate, is_generated
from bench.machine import print_machine
from bench.sweep import plan_due_orders, timed_planned_opening
from bench.world import NOW

# The receiver is the tests' Slack-like one: the same behaviour the storm test checks against.
from tests.support.slack_receiver import running_slack_receiver

RUN_DATABASE = "firstscan_bench_storm"
GROUPING = GroupingPolicy()  # the defaults: 30 s, 5 min, 4 h


async def deliver(engine, receiver_url: str, *, speed: float) -> tuple[int, int, float]:
    """Notifier and dispatcher until every item is named in a delivered message: (messages,
    new items named, seconds of world time from the deadline)."""
    sessionmaker = db.create_sessionmaker(engine)
    destination = webhook_destination(receiver_url)
    policy = NotifierPolicy(destinations=(("webhook", destination),), grouping=GROUPING)
    limits = {"webhook": DestinationLimits(Spacing(1.0, burst=2))}
    started = time.monotonic()

    def world_now() -> datetime:
        return NOW + timedelta(seconds=(time.monotonic() - started) * speed)

    throttle = DestinationThrottle(sessionmaker, limits, clock=world_now)
    async with httpx.AsyncClient(timeout=10, trust_env=False) as http:
        webhook = WebhookChannel(http, [receiver_url])
        while True:
            async with sessionmaker() as session, session.begin():
                await notify(session, now=world_now(), policy=policy)
            await dispatch_due_notifications(
                sessionmaker,
                channels={"webhook": webhook},
                worker_id="bench",
                now=world_now(),
                throttle=throttle,
            )
            async with sessionmaker() as session:
                waiting = await session.scalar(
                    select(func.count()).where(
                        WorkItem.status != "resolved", WorkItem.announced_at.is_(None)
                    )
                )
                undelivered = await session.scalar(
                    select(func.count()).where(
                        AlertNotification.event == "group",
                        AlertNotification.status != "delivered",
                    )
                )
            if waiting == 0 and undelivered == 0:
                break
            await asyncio.sleep(0.2)
        async with sessionmaker() as session:
            payloads = (
                await session.execute(
                    select(AlertNotification.payload, AlertNotification.delivered_at).where(
                        AlertNotification.event == "group"
                    )
                )
            ).all()
    last = max(delivered for _, delivered in payloads)
    named = sum(int(payload["new_count"]) for payload, _ in payloads)
    return len(payloads), named, (last - NOW).total_seconds()


async def storm_run(template: str, speed: float) -> None:
    database.create(RUN_DATABASE, template=template)
    database.migrate(RUN_DATABASE)
    engine = db.create_engine(database.database_url(RUN_DATABASE, driver="postgresql+psycopg"))
    try:
        orders, plans, plan_s = await plan_due_orders(engine)
        print(f"plans (untimed): {plans:,} for {orders:,} due orders in {plan_s:.1f} s")
        async with engine.begin() as conn:
            await conn.execute(text("ANALYZE planned_alerts"))
        opened, opening_s = await timed_planned_opening(engine)
        async with engine.connect() as conn:
            items = (await conn.execute(select(func.count()).select_from(WorkItem))).scalar_one()
            groups = (
                await conn.execute(
                    select(func.count()).select_from(
                        select(WorkItem.team, WorkItem.rule).distinct().subquery()
                    )
                )
            ).scalar_one()
        print(
            f"midnight opening: {opened:,} alerts with audit and work items in {opening_s:.2f} s; "
            f"{items:,} items in {groups} groups (team, rule)"
        )
        with running_slack_receiver(per_second=1.0, burst=2) as receiver:
            messages, named, seconds = await deliver(engine, receiver.url, speed=speed)
            rate_limited = receiver.count(429)
        goal = (GROUPING.group_wait + GROUPING.group_interval).total_seconds()
        verdict = "met" if seconds <= goal else "MISSED"
        print(
            f"delivered: {messages} messages naming {named:,} new items, {rate_limited} answers "
            f"of 429; every item announced {seconds:.0f} s after the deadline "
            f"(goal {goal:.0f} s: {verdict}); one message per alert at 1 a second: "
            f"{opened / 3600:.1f} h"
        )
    finally:
        await engine.dispose()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.storm", description=__doc__)
    parser.add_argument("--database", default="firstscan_bench", help="the generated template")
    parser.add_argument("--legs", type=int, default=1_000_000, help="when generating it")
    parser.add_argument("--speed", type=float, default=1.0, help="world seconds per second")
    args = parser.parse_args(argv)
    print_machine("storm: the heaviest midnight's work items to a Slack-like receiver (issue 16)")
    if not is_generated(args.database):
        print(f"{args.database} is missing or incomplete: generating it (python -m bench.generate)")
        generate(args.database, target_legs=args.legs, workers=2)
    counts = count_rows(args.database)
    print("data: " + ", ".join(f"{k} {v:,}" for k, v in counts.items()))
    asyncio.run(storm_run(args.database, args.speed))
    database.drop(RUN_DATABASE)


if __name__ == "__main__":
    main()
