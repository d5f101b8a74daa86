"""Misbehaviour the mock can be told to show on tracking requests, and the dice that decide it.

    latency_ms           fixed delay, or [low, high] for a uniform range, before any answer
    error_rate           share of tracking requests answered 500 with the carrier's error body
    throttle_next        the next N tracking requests are answered 429 with Retry-After
    retry_after_seconds  the Retry-After those 429s carry
    malformed_rate       share of would-be 200 answers whose body is broken
    malformed_kind       truncated (JSON cut in half), html (a gateway error page), or mixed
    carriers             carriers the faults apply to; empty means all four

Token endpoints only feel the latency. Rolls come from one seeded generator, so a run of
requests meets the same faults in the same order every time.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator


class FaultConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    latency_ms: tuple[float, float] = (0.0, 0.0)
    error_rate: float = Field(default=0.0, ge=0.0, le=1.0)
    throttle_next: int = Field(default=0, ge=0)
    retry_after_seconds: int = Field(default=1, ge=0)
    malformed_rate: float = Field(default=0.0, ge=0.0, le=1.0)
    malformed_kind: Literal["truncated", "html", "mixed"] = "mixed"
    carriers: tuple[str, ...] = ()

    @field_validator("latency_ms", mode="before")
    @classmethod
    def _fixed_or_range(cls, value: object) -> object:
        if isinstance(value, int | float):
            return (value, value)
        return value

    @field_validator("latency_ms")
    @classmethod
    def _ordered_range(cls, value: tuple[float, float]) -> tuple[float, float]:
        if not 0 <= value[0] <= value[1]:
            raise ValueError("latency_ms needs 0 <= low <= high")
        return value


class Fault(StrEnum):
    NONE = "none"
    THROTTLED = "throttled"
    SERVER_ERROR = "server_error"


class Malformation(StrEnum):
    NONE = "none"
    TRUNCATED = "truncated"
    HTML = "html"


@dataclass(slots=True)
class FaultPlan:
    """The live fault settings plus the state they consume (429 budget, random stream)."""

    config: FaultConfig
    rng: random.Random

    @classmethod
    def seeded(cls, config: FaultConfig, seed: int) -> FaultPlan:
        return cls(config=config, rng=random.Random(seed))

    def applies_to(self, carrier: str) -> bool:
        return not self.config.carriers or carrier in self.config.carriers

    def latency_seconds(self, carrier: str) -> float:
        """Returns how long to hold this request before answering."""
        low, high = self.config.latency_ms
        if high == 0 or not self.applies_to(carrier):
            return 0.0
        return (low if low == high else self.rng.uniform(low, high)) / 1000

    def fault_for(self, carrier: str) -> Fault:
        """Returns the failure this tracking request meets, consuming one 429 from the budget."""
        if not self.applies_to(carrier):
            return Fault.NONE
        if self.config.throttle_next > 0:
            remaining = self.config.throttle_next - 1
            self.config = self.config.model_copy(update={"throttle_next": remaining})
            return Fault.THROTTLED
        if self.config.error_rate and self.rng.random() < self.config.error_rate:
            return Fault.SERVER_ERROR
        return Fault.NONE

    def malformation_for(self, carrier: str) -> Malformation:
        """Returns how to break this would-be successful body, if at all."""
        if not self.applies_to(carrier) or not self.config.malformed_rate:
            return Malformation.NONE
        if self.rng.random() >= self.config.malformed_rate:
            return Malformation.NONE
        if self.config.malformed_kind == "mixed":
            return self.rng.choice((Malformation.TRUNCATED, Malformation.HTML))
        return Malformation(self.config.malformed_kind)


GATEWAY_ERROR_PAGE = (
    b"<!DOCTYPE html>\n<html><head><title>502 Bad Gateway</title></head>"
    b"<body><h1>Bad Gateway</h1><p>The proxy server received an invalid response from an "
    b"upstream server.</p><hr><address>Apache Server</address></body></html>\n"
)


def malform(body: bytes, how: Malformation) -> tuple[bytes, str]:
    """Returns the broken body and the content type it is sent with."""
    if how is Malformation.HTML:
        return GATEWAY_ERROR_PAGE, "text/html; charset=utf-8"
    return body[: max(1, len(body) // 2)], "application/json"
