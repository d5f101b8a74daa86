"""The base of every request body and the kinds of text it may carry.

A *name* (an order or tracking number, a carrier, a service, a postal code, a team, a route
parameter) refuses control characters, bidirectional controls (U+202A-202E, U+2066-2069, U+200E,
U+200F, U+061C) and zero-width characters (U+200B-200D, U+2060, U+FEFF): they could hide or
reorder what an agent reads, and PostgreSQL refuses NUL. *Free text* (a note, a carrier's
description) keeps tab and newline, right-to-left marks and joiners, but no other control
character and no bidirectional embedding, override or isolate.

Each kind is checked on the value as sent, against the same regular expression the OpenAPI
document publishes (surrounding spaces allowed), and only then stripped, so the document and the
code agree on what is valid.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from pydantic import (
    BaseModel,
    ConfigDict,
    GetCoreSchemaHandler,
    GetJsonSchemaHandler,
    field_validator,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import core_schema

CONTROLS = r"\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f"
NAME_CONTROLS = r"\x00-\x1f\x7f-\x9f"  # a name has no tab or newline either
BIDI_OVERRIDES = r"\u202a-\u202e\u2066-\u2069"
BIDI_MARKS = r"\u061c\u200e\u200f"
ZERO_WIDTH = r"\u200b-\u200d\u2060\ufeff"
NAME_FORBIDDEN = NAME_CONTROLS + BIDI_OVERRIDES + BIDI_MARKS + ZERO_WIDTH
FREE_TEXT_FORBIDDEN = CONTROLS + BIDI_OVERRIDES

# Any name: at least one visible character, none of the forbidden ones.
NAME_PATTERN = rf"^[^{NAME_FORBIDDEN}]*[^{NAME_FORBIDDEN}\s][^{NAME_FORBIDDEN}]*$"
# A route parameter is a name that also cannot hold "/" (it would end the path segment).
PATH_NAME_PATTERN = rf"^[^{NAME_FORBIDDEN}/]*[^{NAME_FORBIDDEN}/\s][^{NAME_FORBIDDEN}/]*$"
FREE_TEXT_PATTERN = rf"^[^{FREE_TEXT_FORBIDDEN}]*$"
NONBLANK_FREE_TEXT_PATTERN = (
    rf"^[^{FREE_TEXT_FORBIDDEN}]*[^{FREE_TEXT_FORBIDDEN}\s][^{FREE_TEXT_FORBIDDEN}]*$"
)

_CONTROL = re.compile(rf"[{CONTROLS}]")
_NAME_CONTROL = re.compile(rf"[{NAME_CONTROLS}]")
_BIDI_OVERRIDE = re.compile(rf"[{BIDI_OVERRIDES}]")
_BIDI = re.compile(rf"[{BIDI_OVERRIDES}{BIDI_MARKS}]")
_ZERO_WIDTH = re.compile(rf"[{ZERO_WIDTH}]")


def find_text_problem(value: str, *, name: bool) -> str | None:
    """Why `value` cannot be a name (or free text), or None when it can."""
    if (_NAME_CONTROL if name else _CONTROL).search(value):
        return "contains control characters"
    found = (_BIDI if name else _BIDI_OVERRIDE).search(value)
    if found:
        return f"contains a bidirectional control character (U+{ord(found.group()):04X})"
    found = _ZERO_WIDTH.search(value) if name else None
    if found:
        return f"contains a zero-width character (U+{ord(found.group()):04X})"
    return None


@dataclass(frozen=True, slots=True)
class Name:
    """`Annotated[str, Name(...)]`: checked as sent against `pattern` (which the document
    publishes), then stripped (and lower-cased when `lower`). `mismatch` is the reason given
    when the pattern does not match."""

    max_length: int
    min_length: int = 1
    pattern: str = NAME_PATTERN
    mismatch: str = "contains characters that are not allowed"
    lower: bool = False
    is_name: bool = True

    def check_as_sent(self, value: Any) -> Any:
        if not isinstance(value, str):
            return value  # pydantic reports the wrong type
        if len(value) > self.max_length:
            raise ValueError(f"is longer than {self.max_length} characters")
        problem = find_text_problem(value, name=self.is_name)
        if problem:
            raise ValueError(problem)
        if self.min_length and not value.strip():
            raise ValueError("is blank")
        if not re.fullmatch(self.pattern, value):
            raise ValueError(self.mismatch)
        return value

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        text = core_schema.str_schema(
            strip_whitespace=True,
            to_lower=self.lower,
            min_length=self.min_length,
            max_length=self.max_length,
        )
        return core_schema.no_info_before_validator_function(self.check_as_sent, text)

    def __get_pydantic_json_schema__(
        self, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        json_schema = handler(schema)
        json_schema["pattern"] = self.pattern
        return json_schema


@dataclass(frozen=True, slots=True)
class FreeText(Name):
    """`Annotated[str, FreeText(...)]`: any printable text, tab and newline, no bidirectional
    overrides; with `min_length` it must not be blank."""

    min_length: int = 0
    pattern: str = ""
    is_name: bool = False

    def __post_init__(self) -> None:
        if not self.pattern:
            pattern = NONBLANK_FREE_TEXT_PATTERN if self.min_length else FREE_TEXT_PATTERN
            object.__setattr__(self, "pattern", pattern)


class StrictInput(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    @field_validator("*", mode="after")
    @classmethod
    def _no_control_characters(cls, value: Any) -> Any:
        # The floor for any string field not typed as a name or free text (e.g. an email).
        if isinstance(value, str) and find_text_problem(value, name=False):
            raise ValueError(find_text_problem(value, name=False))
        return value
