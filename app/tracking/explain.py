"""Plain words for a normalized status, for people who do not know carrier jargon."""

from __future__ import annotations

from carriers.types import TrackingStatus

_STATUS_WORDS: dict[TrackingStatus, str] = {
    TrackingStatus.LABEL_CREATED: (
        "{carrier} has the electronic label but has never scanned the parcel"
    ),
    TrackingStatus.ACCEPTED: "{carrier} has scanned the parcel into its network",
    TrackingStatus.IN_TRANSIT: "the parcel is moving through {carrier}'s network",
    TrackingStatus.HANDED_OFF: "{carrier} has passed the parcel to the last-mile carrier",
    TrackingStatus.OUT_FOR_DELIVERY: "{carrier} has the parcel out for delivery",
    TrackingStatus.AVAILABLE_FOR_PICKUP: "the parcel is waiting for pickup at a {carrier} location",
    TrackingStatus.DELIVERY_ATTEMPTED: "{carrier} tried to deliver the parcel and could not",
    TrackingStatus.DELIVERED: "{carrier} says the parcel was delivered",
    TrackingStatus.EXCEPTION: "{carrier} reports a problem with the parcel",
    TrackingStatus.RETURNED_TO_SENDER: "{carrier} is returning the parcel to the sender",
    TrackingStatus.CANCELLED: "the label was cancelled with {carrier}",
    TrackingStatus.NOT_FOUND: "{carrier} does not know this tracking number",
    TrackingStatus.UNKNOWN: "{carrier} reported a status we do not recognise; see the raw code",
}


def describe_status(carrier_name: str, status: str | None) -> str:
    """One sentence an agent can read aloud; never empty."""
    if status is None:
        return f"not checked with {carrier_name} yet"
    try:
        words = _STATUS_WORDS[TrackingStatus(status)]
    except ValueError:
        words = _STATUS_WORDS[TrackingStatus.UNKNOWN]
    return words.format(carrier=carrier_name)
