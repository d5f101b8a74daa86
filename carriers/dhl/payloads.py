"""DHL Shipment Tracking - Unified JSON, as small models holding only the fields firstscan reads.

Field names follow DHL's OpenAPI spec (dpdhl_tracking-unified-api) through camelCase aliases.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel


class Model(BaseModel):
    model_config = ConfigDict(
        extra="ignore", alias_generator=to_camel, populate_by_name=True, frozen=True
    )


class Address(Model):
    country_code: str | None = None
    postal_code: str | None = None
    address_locality: str | None = None


class Place(Model):
    address: Address | None = None


class Event(Model):
    timestamp: str
    location: Place | None = None
    status_code: str | None = None
    status: str | None = None
    description: str | None = None


class Reference(Model):
    number: str | None = None
    type: str | None = None


class Organization(Model):
    organization_name: str | None = None


class Details(Model):
    carrier: Organization | None = None
    # An array in the spec; some services send a single object.
    references: list[Reference] | Reference | None = None


class TimeFrame(Model):
    estimated_from: str | None = None
    estimated_through: str | None = None


class Shipment(Model):
    id: str | int | None = None
    service: str | None = None
    origin: Place | None = None
    destination: Place | None = None
    status: Event | None = None
    estimated_time_of_delivery: str | None = None
    estimated_delivery_time_frame: TimeFrame | None = None
    details: Details | None = None
    events: list[Event] | None = None


class TrackingResponse(Model):
    shipments: list[Shipment]


class Problem(BaseModel):
    """RFC 7807 problem body DHL sends with 4xx answers."""

    model_config = ConfigDict(extra="ignore")

    title: str | None = None
    detail: str | None = None
