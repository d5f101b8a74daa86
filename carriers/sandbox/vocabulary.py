"""What each carrier calls each step of a parcel's journey: raw code, wording, category.

`category` and `category_text` hold the carrier's second classification where it has one:
USPS statusCategory, UPS status type and numeric statusCode, FedEx derivedStatusCode and
derivedStatus, DHL statusCode and status. `detail` is FedEx's exceptionDescription. `status`
overrides the milestone's status where the carrier's wording says something else: UPS has no
hand-off activity, so its tender is a plain in-transit scan and the hand-off shows only as the
USPS_PIC alternate number. Every code here is one the carrier documents or sends; none is made up.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from carriers.types import TrackingStatus


class Milestone(StrEnum):
    LABEL_CREATED = "label_created"
    PRE_SHIPMENT_INFO = "pre_shipment_info"  # a consolidator's manifest reached USPS
    PARTNER_DEPARTED = "partner_departed"  # the consolidator moved it; USPS still awaits it
    ACCEPTED = "accepted"
    ACCEPTED_AT_DESTINATION = "accepted_at_destination"
    ARRIVED = "arrived"
    DEPARTED = "departed"
    AT_DESTINATION = "at_destination"
    OUT_FOR_DELIVERY = "out_for_delivery"
    DELIVERED = "delivered"
    EXCEPTION = "exception"
    RETURNING = "returning"
    TENDERED = "tendered"  # handed to USPS for the last mile


STATUS_OF: dict[Milestone, TrackingStatus] = {
    Milestone.LABEL_CREATED: TrackingStatus.LABEL_CREATED,
    Milestone.PRE_SHIPMENT_INFO: TrackingStatus.LABEL_CREATED,
    # Carrier notes: "picked up by shipping partner, USPS awaiting item" is still pre-acceptance.
    Milestone.PARTNER_DEPARTED: TrackingStatus.LABEL_CREATED,
    Milestone.ACCEPTED: TrackingStatus.ACCEPTED,
    Milestone.ACCEPTED_AT_DESTINATION: TrackingStatus.ACCEPTED,
    Milestone.ARRIVED: TrackingStatus.IN_TRANSIT,
    Milestone.DEPARTED: TrackingStatus.IN_TRANSIT,
    Milestone.AT_DESTINATION: TrackingStatus.IN_TRANSIT,
    Milestone.OUT_FOR_DELIVERY: TrackingStatus.OUT_FOR_DELIVERY,
    Milestone.DELIVERED: TrackingStatus.DELIVERED,
    Milestone.EXCEPTION: TrackingStatus.EXCEPTION,
    Milestone.RETURNING: TrackingStatus.RETURNED_TO_SENDER,
    # Where the carrier's wording says so (FedEx AX, DHL's tender label); see Wording.status.
    Milestone.TENDERED: TrackingStatus.HANDED_OFF,
}


@dataclass(frozen=True, slots=True)
class Wording:
    code: str
    description: str
    category: str = ""
    category_text: str = ""
    detail: str = ""
    status: TrackingStatus | None = None  # what the carrier's adapter reads, if not STATUS_OF's


_M = Milestone

# USPS Pub 199 event codes; descriptions as USPS v3 writes them.
_USPS = {
    _M.LABEL_CREATED: Wording("GX", "Shipping Label Created, USPS Awaiting Item", "Pre-Shipment"),
    _M.PRE_SHIPMENT_INFO: Wording(
        "MA", "Pre-Shipment Info Sent to USPS, USPS Awaiting Item", "Pre-Shipment"
    ),
    _M.PARTNER_DEPARTED: Wording(
        "82", "Departed Shipping Partner Facility, USPS Awaiting Item", "Pre-Shipment"
    ),
    _M.ACCEPTED: Wording("03", "USPS in possession of item", "Accepted"),
    _M.ACCEPTED_AT_DESTINATION: Wording("03", "Accepted at USPS Destination Facility", "Accepted"),
    _M.ARRIVED: Wording("A1", "Arrived at USPS Regional Facility", "In Transit"),
    _M.DEPARTED: Wording("T1", "Departed USPS Regional Facility", "In Transit"),
    _M.AT_DESTINATION: Wording("07", "Arrived at Post Office", "In Transit"),
    _M.OUT_FOR_DELIVERY: Wording("OF", "Out for Delivery", "Out for Delivery"),
    _M.DELIVERED: Wording("01", "Delivered, In/At Mailbox", "Delivered"),
    _M.EXCEPTION: Wording("05", "Undeliverable as Addressed", "Alert"),
    _M.RETURNING: Wording("09", "Return to Sender", "Alert"),
}

# UPS activity status: code, description, type (M P I O D X RS), numeric statusCode.
_UPS = {
    _M.LABEL_CREATED: Wording(
        "MP", "Shipper created a label, UPS has not received the package yet.", "M", "003"
    ),
    _M.ACCEPTED: Wording("PU", "Pickup Scan", "P", "005"),
    _M.ARRIVED: Wording("AR", "Arrived at Facility", "I", "005"),
    _M.DEPARTED: Wording("DP", "Departed from Facility", "I", "005"),
    _M.AT_DESTINATION: Wording("DS", "Destination Scan", "I", "005"),
    _M.OUT_FOR_DELIVERY: Wording("OT", "Out For Delivery Today", "O", "021"),
    _M.DELIVERED: Wording("KB", "DELIVERED", "D", "011"),
    _M.EXCEPTION: Wording(
        "UA", "The address is incorrect. UPS is attempting to update this address.", "X", "013"
    ),
    _M.RETURNING: Wording("RS", "Returning to Sender: In Transit to UPS Facility", "RS", "029"),
    # UPS's last scan before the USPS post office takes over is its destination scan (type I,
    # In Transit); the USPS number arrives as alternateTrackingNumber type USPS_PIC.
    _M.TENDERED: Wording("DS", "Destination Scan", "I", "005", status=TrackingStatus.IN_TRANSIT),
}

# FedEx scanEvents: eventType, eventDescription, derivedStatusCode, derivedStatus.
_FEDEX = {
    _M.LABEL_CREATED: Wording("OC", "Shipment information sent to FedEx", "IN", "Label created"),
    _M.ACCEPTED: Wording("PU", "Picked up", "PU", "Picked up"),
    _M.ARRIVED: Wording("AR", "Arrived at FedEx location", "IT", "In transit"),
    _M.DEPARTED: Wording("DP", "Departed FedEx location", "IT", "In transit"),
    _M.AT_DESTINATION: Wording("AR", "At local FedEx facility", "IT", "In transit"),
    # Recorded responses derive "IT" for OD; the eventType is what tells out-for-delivery.
    _M.OUT_FOR_DELIVERY: Wording("OD", "On FedEx vehicle for delivery", "IT", "In transit"),
    _M.DELIVERED: Wording("DL", "Delivered", "DL", "Delivered"),
    _M.EXCEPTION: Wording(
        "DE", "Delivery exception", "DE", "Delivery exception", "Incorrect address"
    ),
    _M.RETURNING: Wording("RS", "Return to shipper", "RS", "Return to shipper"),
    # Ground Economy's hand-off scan; the USPS number rides in PARTNER_CARRIER_NUMBER.
    _M.TENDERED: Wording("AX", "At U.S. Postal Service facility", "IT", "In transit"),
}

# DHL unified tracking, eCommerce Americas as recorded: statusCode and a fixed upper-case
# `status` label, no description. A return ends "delivered" back at the origin.
_DHL = {
    _M.LABEL_CREATED: Wording("unknown", "LABEL CREATED", "unknown"),
    _M.ACCEPTED: Wording(
        "transit", "PACKAGE RECEIVED AT DHL ECOMMERCE DISTRIBUTION CENTER", "transit"
    ),
    _M.ARRIVED: Wording("transit", "PROCESSED", "transit"),
    _M.DEPARTED: Wording("transit", "DEPARTURE ORIGIN DHL ECOMMERCE FACILITY", "transit"),
    _M.AT_DESTINATION: Wording("transit", "ARRIVAL DESTINATION DHL ECOMMERCE FACILITY", "transit"),
    _M.OUT_FOR_DELIVERY: Wording("transit", "OUT FOR DELIVERY", "transit"),
    _M.DELIVERED: Wording("delivered", "DELIVERED", "delivered"),
    _M.EXCEPTION: Wording("failure", "ADDRESS INFORMATION INCORRECT", "failure"),
    _M.RETURNING: Wording("delivered", "DELIVERED", "delivered"),
    _M.TENDERED: Wording("transit", "TENDERED TO DELIVERY SERVICE PROVIDER", "transit"),
}

# Any other slug speaks a plain vocabulary of its own.
_GENERIC = {m: Wording(m.upper(), m.replace("_", " ").capitalize()) for m in Milestone}

WORDINGS: dict[str, dict[Milestone, Wording]] = {
    "usps": _USPS,
    "ups": _UPS,
    "fedex": _FEDEX,
    "dhl": _DHL,
}

SERVICES: dict[str, tuple[str, str]] = {
    # carrier: (service for a direct parcel, service that hands off to USPS)
    "usps": ("USPS Ground Advantage", "Parcel Select"),
    "ups": ("UPS Ground", "UPS Ground Saver"),
    "fedex": ("FedEx Ground", "FedEx Ground Economy"),
    "dhl": ("DHL SM Parcel Plus Expedited", "DHL SM Parcel Plus Expedited"),
}


def wording(carrier: str, milestone: Milestone) -> Wording:
    """Returns the carrier's code and wording for the milestone (a generic one for other slugs)."""
    return WORDINGS.get(carrier, _GENERIC).get(milestone) or _GENERIC[milestone]
