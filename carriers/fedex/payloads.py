"""FedEx Track API JSON, as small models holding only the fields firstscan reads.

Field names follow the FedEx OpenAPI spec (track/v1) through camelCase aliases.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel


class Model(BaseModel):
    model_config = ConfigDict(
        extra="ignore", alias_generator=to_camel, populate_by_name=True, frozen=True
    )


class Address(Model):
    city: str | None = None
    state_or_province_code: str | None = None
    postal_code: str | None = None
    country_code: str | None = None


class ScanEvent(Model):
    date: str
    event_type: str | None = None
    derived_status_code: str | None = None
    event_description: str | None = None
    exception_description: str | None = None
    scan_location: Address | None = None


class StatusDetail(Model):
    code: str | None = None
    derived_code: str | None = None


class PackageIdentifier(Model):
    type: str | None = None
    value: str | list[str] | None = None  # the OpenAPI example
    values: list[str] | None = None  # what live answers carry


class AdditionalTrackingInfo(Model):
    package_identifiers: list[PackageIdentifier] | None = None


class Error(Model):
    code: str | None = None
    message: str | None = None


class DateAndTime(Model):
    type: str | None = None
    date_time: str | None = None


class Window(Model):
    begins: str | None = None
    ends: str | None = None


class TimeWindow(Model):
    window: Window | None = None


class ServiceDetail(Model):
    type: str | None = None


class TrackResult(Model):
    additional_tracking_info: AdditionalTrackingInfo | None = None
    latest_status_detail: StatusDetail | None = None
    scan_events: list[ScanEvent] | None = None
    date_and_times: list[DateAndTime] | None = None
    estimated_delivery_time_window: TimeWindow | None = None
    standard_transit_time_window: TimeWindow | None = None
    service_detail: ServiceDetail | None = None
    error: Error | None = None


class CompleteTrackResult(Model):
    tracking_number: str
    track_results: list[TrackResult]


class Output(Model):
    complete_track_results: list[CompleteTrackResult]


class TrackResponse(Model):
    output: Output


class ErrorResponse(Model):
    errors: list[Error]
