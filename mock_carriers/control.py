"""Bodies of the control endpoints under /_mock/, validated before they change anything."""

from __future__ import annotations

from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from carriers.sandbox.scenarios import HANDOFF_SCENARIOS, Scenario, can_hand_off
from mock_carriers.faults import FaultConfig


class FaultUpdate(BaseModel):
    """POST /_mock/config: any subset of FaultConfig, plus one-off actions."""

    model_config = ConfigDict(extra="forbid")

    latency_ms: float | tuple[float, float] | None = None
    error_rate: float | None = None
    throttle_next: int | None = None
    retry_after_seconds: int | None = None
    malformed_rate: float | None = None
    malformed_kind: Literal["truncated", "html", "mixed"] | None = None
    carriers: tuple[str, ...] | None = None
    seed: int | None = None  # restarts the fault dice
    # Expire every token issued so far (all carriers, or the ones listed): the next tracking
    # request with such a token gets one 401, then works after a fresh token.
    expire_tokens: bool | list[str] = False

    def applied_to(self, config: FaultConfig) -> FaultConfig:
        """Returns `config` with the fields this update sets, validated as a whole again."""
        changes = self.model_dump(exclude_unset=True, exclude={"seed", "expire_tokens"})
        return FaultConfig.model_validate({**config.model_dump(), **changes})


class ShipmentSetting(BaseModel):
    model_config = ConfigDict(extra="forbid")

    carrier: str
    tracking_number: str
    scenario: Scenario | None = None
    label_created_at: AwareDatetime | None = None

    @model_validator(mode="after")
    def _playable(self) -> ShipmentSetting:
        if self.scenario in HANDOFF_SCENARIOS and not can_hand_off(self.carrier):
            raise ValueError(f"{self.carrier} numbers cannot play {self.scenario}")
        return self


class ShipmentSettings(BaseModel):
    """POST /_mock/shipments: numbers whose scenario or label time the test decides."""

    model_config = ConfigDict(extra="forbid")

    shipments: list[ShipmentSetting] = Field(min_length=1)


class FedexTrackedNumber(BaseModel):
    model_config = ConfigDict(extra="ignore")

    tracking_number: str = Field(alias="trackingNumber", min_length=1)


class FedexTrackingInfo(BaseModel):
    model_config = ConfigDict(extra="ignore")

    number_info: FedexTrackedNumber = Field(alias="trackingNumberInfo")


class FedexTrackRequest(BaseModel):
    """The part of FedEx's track request the mock reads."""

    model_config = ConfigDict(extra="ignore")

    include_detailed_scans: bool = Field(default=False, alias="includeDetailedScans")
    tracking_info: list[FedexTrackingInfo] = Field(default_factory=list, alias="trackingInfo")
