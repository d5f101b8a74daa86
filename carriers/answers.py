"""A carrier's answer body decoded into the small pydantic model its parser declares. Pure."""

from __future__ import annotations

import logging
from typing import TypeVar

from pydantic import BaseModel, ValidationError

from carriers.errors import MAX_EXCERPT_CHARS, AdapterFault, CarrierResponseInvalid
from carriers.protocol import TrackingFailure
from carriers.types import carrier_name

Model = TypeVar("Model", bound=BaseModel)

# UTF-8 spends at most 4 bytes a character: this many bytes always hold a full excerpt.
_EXCERPT_BYTES = MAX_EXCERPT_CHARS * 4


def excerpt(body: str | bytes) -> str:
    """Returns at most MAX_EXCERPT_CHARS of the body as text; undecodable bytes are replaced."""
    if isinstance(body, bytes):
        body = body[:_EXCERPT_BYTES].decode("utf-8", "replace")
    return body[:MAX_EXCERPT_CHARS]


def invalid_answer(message: str, body: str | bytes, *, carrier: str) -> CarrierResponseInvalid:
    """Returns the error for a body the adapter cannot use, carrying a bounded excerpt of it."""
    return CarrierResponseInvalid(message, carrier=carrier, body=excerpt(body))


def adapter_fault(number: str, error: Exception, *, carrier: str) -> TrackingFailure:
    """The failure for a number whose answer our adapter could not read (logged with its
    traceback): the caller sets that number aside, and the carrier counts as having answered."""
    logging.getLogger(f"carriers.{carrier}").error(
        "%s: reading the answer for %s raised %s",
        carrier,
        number,
        type(error).__name__,
        exc_info=error,
    )
    message = f"adapter raised {type(error).__name__}: {error}"
    return TrackingFailure(number, AdapterFault(message, carrier=carrier))


def decode_answer(model: type[Model], body: str | bytes, *, carrier: str, what: str) -> Model:
    """Returns the body validated as `model`.

    Raises CarrierResponseInvalid, with an excerpt, for a body that is not JSON, is cut off or
    lacks a field the model requires.
    """
    try:
        return model.model_validate_json(body)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "body"
        message = (
            f"{carrier_name(carrier)} {what} does not parse "
            f"({exc.error_count()} errors; first at {where}: {first['msg']})"
        )
        raise invalid_answer(message, body, carrier=carrier) from exc
