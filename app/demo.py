"""Demo data for `make run`: the seed story and a few ordinary parcels, played by the sandbox.

The seed story: a shop ships with FedEx Ground Economy; FedEx carries the parcel to its hub and
tenders it to USPS under a second number; USPS receives the electronic notice but never scans the
parcel. firstscan should raise a handoff_gap alert on its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from app.shipments import repository, service
from app.shipments.schemas import OrderCreate
from carriers.sandbox import example_number, plan_timeline

SEED_ORDER_NUMBER = "FS-1001"
SEED_POSTAL_CODE = "97211"


@dataclass(frozen=True, slots=True)
class DemoOrder:
    order_number: str
    carrier: str
    scenario: str
    days_ago: float
    postal_code: str
    email: str
    service: str | None = None


# Days before `make run` that each label was printed: far enough back that every alert in the
# README's demo table is due whatever weekday the demo starts on (weekends and holidays move
# business-day deadlines by up to four days); tests/integration/demo checks several weekdays.
DEMO_ORDERS = (
    DemoOrder(
        SEED_ORDER_NUMBER,
        "fedex",
        "handoff_gap",
        14,
        SEED_POSTAL_CODE,
        "jamie.rivera@example.com",
        "ground_economy",
    ),
    DemoOrder("FS-1002", "ups", "never_inducted", 6, "30309", "pat.lee@example.com"),
    DemoOrder("FS-1003", "ups", "normal", 4, "60614", "sam.okafor@example.com"),
    DemoOrder("FS-1004", "dhl", "normal", 8, "02139", "alex.chen@example.com"),
    DemoOrder("FS-1005", "fedex", "exception", 7, "78704", "morgan.diaz@example.com"),
    DemoOrder("FS-1006", "usps", "stalled", 12, "98103", "robin.patel@example.com"),
)


def build_demo_order(demo: DemoOrder, *, now: datetime) -> OrderCreate:
    """The order as the shop would send it; hand-off numbers are known up front for the seed."""
    number = example_number(demo.carrier, demo.scenario)
    label_at = (now - timedelta(days=demo.days_ago)).replace(second=0, microsecond=0)
    shipment: dict[str, object] = {
        "tracking_number": number,
        "carrier": demo.carrier,
        "label_created_at": label_at.isoformat(),
        "service": demo.service,
    }
    handoff = plan_timeline(demo.carrier, number, label_created_at=label_at).handed_off(
        now + timedelta(days=30)
    )
    if handoff is not None:
        shipment["last_mile"] = {
            "carrier": handoff.carrier,
            "tracking_number": handoff.tracking_number,
        }
    return OrderCreate.model_validate(
        {
            "order_number": demo.order_number,
            "customer_email": demo.email,
            "customer_postal_code": demo.postal_code,
            "promised_delivery_date": (label_at + timedelta(days=5)).date().isoformat(),
            "claimed_status": "shipped",
            "shipments": [shipment],
        }
    )


async def load_demo(session: AsyncSession, *, now: datetime) -> list[str]:
    """Stores the demo orders that are not there yet; returns the numbers it created."""
    created = []
    context = service.IngestContext(actor="demo", now=now, reuse_window=timedelta(days=90))
    for demo in DEMO_ORDERS:
        # Never re-time an existing demo order: its sandbox timeline is anchored on the label.
        if await repository.find_order_by_number(session, demo.order_number) is not None:
            continue
        await service.ingest_order(
            session, order_in=build_demo_order(demo, now=now), context=context
        )
        created.append(demo.order_number)
    return created
