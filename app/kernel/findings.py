"""What the rules write: findings, each with its severity. Shared by the rules that find them,
the alerts that open from them and the pages that show them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType


class Severity(StrEnum):
    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"


# How severe, for comparing: the higher, the more severe.
SEVERITY_RANK = {Severity.INFO.value: 0, Severity.WARNING.value: 1, Severity.CRITICAL.value: 2}


@dataclass(frozen=True, slots=True)
class Finding:
    """One problem, worded for a support agent, with the facts that prove it.

    `key` identifies the problem: the same problem found again on a later evaluation has the same
    key even though the wording (days elapsed) changes. `evidence` is read-only.
    """

    rule: str
    severity: Severity
    leg_id: int | None
    carrier: str | None
    tracking_number: str | None
    explanation: str
    recommended_action: str
    evidence: Mapping[str, str] = field(default_factory=dict, hash=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "evidence", MappingProxyType(dict(self.evidence)))

    @property
    def key(self) -> tuple[str, int | None, str | None]:
        return self.rule, self.leg_id, self.carrier
