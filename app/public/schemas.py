"""The customer's view of an order: its own models, so no internal field can slip in."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, ConfigDict, Field

from app.public.wording import CustomerState


class PublicModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PublicLeg(PublicModel):
    carrier_name: str
    words: str = Field(
        description="this carrier's part in plain words: has it, handed it on, "
        "or has not scanned it since when"
    )
    last_scan_place: str | None
    last_scan_on: date | None


class PublicShipment(PublicModel):
    state: CustomerState
    headline: str = Field(description="the shipment's status in plain words")
    carrier_name: str | None = Field(description="the carrier that has the parcel now")
    expected_delivery_on: date | None
    last_scan_place: str | None = Field(description="city and region of the last scan")
    last_scan_on: date | None = Field(description="local date of the last scan")
    last_scan_carrier: str | None = Field(description="the carrier that made the last scan")
    journey: list[PublicLeg] = Field(
        description="each carrier's part in order, when the parcel changes carrier on the way"
    )


class PublicStatus(PublicModel):
    order_number: str
    notice: str | None = Field(
        description="while we are looking into a problem: what happened and when we will be in "
        "touch; null when all is well"
    )
    shipments: list[PublicShipment]
