from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    INGEST = "ingest"  # the shop's systems: send orders and labels
    AGENT = "agent"  # support agents: read everything, act on nothing
    OPS = "ops"  # operations: work alerts
    ADMIN = "admin"  # everything


READ_ROLES = frozenset({Role.AGENT, Role.OPS, Role.ADMIN})
ACT_ROLES = frozenset({Role.OPS, Role.ADMIN})
INGEST_ROLES = frozenset({Role.INGEST, Role.ADMIN})
