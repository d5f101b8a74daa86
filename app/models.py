"""Every table, imported in one place so that Alembic and tests see the whole schema."""

from app.audit.models import AuditEntry
from app.auth.models import ApiKey
from app.db import Base
from app.reconciliation.models import Alert
from app.shipments.models import Leg, Order, Shipment
from app.tracking.models import LegEvent

__all__ = ["Alert", "ApiKey", "AuditEntry", "Base", "Leg", "LegEvent", "Order", "Shipment"]
