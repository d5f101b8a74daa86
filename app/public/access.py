"""Who may see an order's status without an account: whoever knows its number and postal code.

Both checks do the same work whether the order exists or not, so a wrong order number and a
wrong postal code cannot be told apart by the answer or by its timing.
"""

from __future__ import annotations

import hashlib
import hmac
import re

_SEPARATORS = re.compile(r"[\s\-]+")
# Compared when the order does not exist (or has no postal code), so that path hashes and
# compares exactly as much as a real check does.
_NO_POSTAL_CODE = "\x00no-postal-code"


def normalize_postal_code(text: str) -> str:
    """Upper case without spaces or dashes; a US ZIP+4 keeps its five-digit ZIP."""
    code = _SEPARATORS.sub("", text).upper()
    if code.isdigit() and len(code) == 9:
        return code[:5]
    return code


def postal_code_matches(stored: str | None, given: str) -> bool:
    """Constant-time comparison of normalized postal codes; never matches an empty code."""
    expected = normalize_postal_code(stored) if stored else _NO_POSTAL_CODE
    candidate = normalize_postal_code(given)
    same = hmac.compare_digest(_digest(expected), _digest(candidate))
    return same and bool(candidate) and stored is not None


def _digest(code: str) -> bytes:
    return hashlib.sha256(code.encode()).digest()
