"""Each carrier's error bodies, in the shapes their API references document.

usps   {"apiVersion": "/tracking/v3", "error": {"code", "message", "errors": []}}
       token endpoint: OAuth 2 {"error", "error_description"}
ups    {"response": {"errors": [{"code", "message"}]}}
fedex  {"transactionId", "errors": [{"code", "message"}]}
dhl    RFC 7807 problem: {"status", "title", "detail"}
"""

from __future__ import annotations

import uuid

from mock_carriers.responses import JSONValue

_USPS_MESSAGES = {
    400: "Bad Request",
    401: "The access token is invalid or has expired.",
    404: (
        "Tracking is not available for this item. This may be because the tracking number is "
        "invalid; USPS has not yet received payment; USPS has not yet received the item; the "
        "item does not include tracking; or other reasons."
    ),
    429: "Too many requests have been received from the client in a short amount of time.",
    500: "An internal server error has occurred.",
}
_UPS_ERRORS = {
    400: ("TV1001", "Missing or invalid transId or transactionSrc header"),
    401: ("250002", "Invalid Authentication Information."),
    404: ("TW0001", "Tracking Information Not Found"),
    429: ("10429", "Too Many Requests"),
    500: ("TV0500", "Internal server error"),
}
_FEDEX_ERRORS = {
    400: ("TRACKING.TRACKINGNUMBER.EMPTY", "Please provide tracking number."),
    401: (
        "NOT.AUTHORIZED.ERROR",
        "Access token expired. Please modify your request and try again.",
    ),
    429: (
        "TOO.MANY.REQUESTS",
        "We have received too many requests in a short duration. Please wait a while to try again.",
    ),
    500: ("INTERNAL.SERVER.ERROR", "We encountered an unexpected error and are working to resolve "
          "the issue. We apologize for any inconvenience. Please check back at a later time."),
}  # fmt: skip
_DHL_PROBLEMS = {
    400: ("Bad Request", "Missing or invalid trackingNumber."),
    401: ("Unauthorized", "Invalid API key."),
    404: ("No result found", "No shipment with given tracking number found."),
    429: ("Too many requests", "Too many requests within defined time period."),
    500: ("Internal Server Error", "An unexpected error occurred."),
}


def error_body(
    carrier: str, status: int, message: str | None = None, *, code: str | None = None
) -> JSONValue:
    """Returns the body `carrier` sends with an error `status`; `message` and `code` override."""
    if carrier == "usps":
        text = message or _USPS_MESSAGES.get(status, "Error")
        error = {"code": code or str(status), "message": text, "errors": []}
        return {"apiVersion": "/tracking/v3", "error": error}
    if carrier == "ups":
        default_code, text = _UPS_ERRORS.get(status, ("TV0500", "Error"))
        return {
            "response": {"errors": [{"code": code or default_code, "message": message or text}]}
        }
    if carrier == "fedex":
        default_code, text = _FEDEX_ERRORS.get(status, ("SYSTEM.UNEXPECTED.ERROR", "Error"))
        errors = [{"code": code or default_code, "message": message or text}]
        return {"transactionId": str(uuid.uuid4()), "errors": errors}
    title, detail = _DHL_PROBLEMS.get(status, ("Error", "Error"))
    return {"status": status, "title": title, "detail": message or detail}


def token_failure(carrier: str) -> JSONValue:
    """Returns the body the carrier's token endpoint sends with a 401 for bad credentials."""
    if carrier == "usps":
        return {"error": "invalid_client", "error_description": "Client authentication failed."}
    if carrier == "ups":
        return {"response": {"errors": [{"code": "10401", "message": "ClientId is Invalid"}]}}
    return error_body(
        "fedex",
        401,
        "The given client credentials were not valid. Please modify your request and try again.",
    )
