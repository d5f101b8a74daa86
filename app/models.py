"""Every table, imported in one place so that Alembic and tests see the whole schema."""

from app.alerts.models import Alert, AlertNotification, DeliveryAttempt
from app.audit.models import AuditEntry
from app.auth.models import ApiKey
from app.db import Base
from app.quarantine.models import QuarantinedMember
from app.shipments.models import Leg, Order, Shipment
from app.tracking.models import (
    CarrierCallCount,
    CarrierState,
    LegEvent,
    LegPartnerNumber,
    WebhookDelivery,
)

__all__ = [
    "Alert",
    "AlertNotification",
    "ApiKey",
    "AuditEntry",
    "Base",
    "CarrierCallCount",
    "CarrierState",
    "DeliveryAttempt",
    "Leg",
    "LegEvent",
    "LegPartnerNumber",
    "Order",
    "QuarantinedMember",
    "Shipment",
    "WebhookDelivery",
]
