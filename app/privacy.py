"""How much of a customer's contact details a reader who does not need them may see."""

from __future__ import annotations


def mask_email(email: str | None) -> str | None:
    """'jamie.rivera@example.com' -> 'ja***@example.com': enough to confirm, not to copy."""
    if not email:
        return None
    local, at, domain = email.partition("@")
    if not at:
        return "***"
    return f"{local[:2] if len(local) > 2 else local[:1]}***@{domain}"


def mask_postal_code(code: str | None) -> str | None:
    """'97211' -> '97***': the area, not the address."""
    return f"{code[:2]}***" if code else None
