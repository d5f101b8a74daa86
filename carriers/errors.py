"""Carrier errors are returned as data (inside `TrackingFailure`), never raised out of an adapter.

    CarrierError                    base; `retryable` says whether asking again later can help
    ├── CarrierUnavailable          timeout, connection error, 5xx             (retryable)
    │   └── CarrierRateLimited      429; carries `retry_after`                 (retryable)
    ├── CarrierResponseInvalid      a body that does not parse; carries an excerpt (retryable)
    │   └── AdapterFault            our adapter raised reading this number's answer (a bug)
    ├── CarrierAuthError            bad or expired credentials after one refresh (not retryable)
    ├── SubscriptionRefused         a push subscription request refused as such (not retryable)
    └── TrackingNumberError         an answer about the number itself          (permanent)
        ├── InvalidTrackingNumber   the carrier rejects the number's format
        └── TrackingNotFound        the carrier does not know the number (yet)

Adapters raise these internally and convert them to `TrackingFailure` at their public boundary.
"""

from __future__ import annotations

from datetime import timedelta

MAX_EXCERPT_CHARS = 500


class CarrierError(Exception):
    retryable: bool = False
    kind: str = "error"

    def __init__(self, message: str, *, carrier: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.carrier = carrier


class CarrierUnavailable(CarrierError):
    retryable = True
    kind = "unavailable"

    def __init__(
        self, message: str, *, carrier: str | None = None, status_code: int | None = None
    ) -> None:
        super().__init__(message, carrier=carrier)
        self.status_code = status_code


class CarrierRateLimited(CarrierUnavailable):
    kind = "rate_limited"

    def __init__(
        self,
        message: str,
        *,
        carrier: str | None = None,
        retry_after: timedelta | None = None,
    ) -> None:
        super().__init__(message, carrier=carrier, status_code=429)
        self.retry_after = retry_after


class CarrierResponseInvalid(CarrierError):
    retryable = True
    kind = "invalid_response"

    def __init__(self, message: str, *, carrier: str | None = None, body: str = "") -> None:
        super().__init__(message, carrier=carrier)
        self.excerpt = body[:MAX_EXCERPT_CHARS]


class AdapterFault(CarrierResponseInvalid):
    """Reading the answer for one number raised inside our adapter: a bug of ours (or an answer
    we never imagined), not an outage. The carrier answered; the caller sets the number aside."""

    kind = "adapter_fault"


class CarrierAuthError(CarrierError):
    kind = "auth"


class SubscriptionRefused(CarrierError):
    kind = "subscription_refused"


class TrackingNumberError(CarrierError):
    kind = "tracking_number"


class InvalidTrackingNumber(TrackingNumberError):
    kind = "invalid_number"


class TrackingNotFound(TrackingNumberError):
    kind = "not_found"
