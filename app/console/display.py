"""How the console writes things for an agent: masked emails, readable numbers, ages, audit lines.
Pure functions; the templates call them as filters."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from app import privacy
from app.alerts.schemas import Outcome
from app.reconciliation.wording import scan_moment

OUTCOME_LABELS: dict[str, str] = {
    Outcome.RESHIPPED: "Reshipped",
    Outcome.REFUNDED: "Refunded",
    Outcome.CARRIER_FOUND_IT: "Carrier found it",
    Outcome.CARRIER_CLAIM: "Carrier claim filed",
    Outcome.FALSE_ALARM: "False alarm",
    Outcome.OTHER: "Other",
}
# What the console says after a redirect (?done=...): fixed texts, so a link cannot inject any.
DONE_MESSAGES: dict[str, str] = {
    "acknowledged": "Alert acknowledged.",
    "resolved": "Alert resolved.",
    "assigned": "Alert assigned.",
    "noted": "Note added.",
    "signed_out": "You have signed out.",
}
PROBLEM_MESSAGES: dict[str, str] = {
    "conflict": "That alert was already resolved; nothing changed.",
    "invalid": "That form was not filled in correctly; nothing changed.",
    "missing": "That alert no longer exists.",
}


def scan_time(local_time: str, now: datetime) -> str:
    """A timeline scan's ISO local time in the words findings use ('Sat 28 Nov 01:07 UTC-07:00'):
    one rule for a scan's time everywhere, the carrier's local time with its offset."""
    return scan_moment(datetime.fromisoformat(local_time), now)


def mask_email(email: str | None) -> str:
    """The masked email an agent sees, or words saying there is none."""
    return privacy.mask_email(email) or "no email on file"


def group_number(number: str) -> str:
    """A tracking number in groups of four, as carriers print them: '9261 2900 1000 …'."""
    return " ".join(number[i : i + 4] for i in range(0, len(number), 4))


def service_words(service: str | None) -> str:
    """'ground_economy' -> 'Ground Economy'; empty when the service is unknown."""
    return service.replace("_", " ").title() if service else ""


def age_words(age: timedelta) -> str:
    """'45 min', '5 h 10 min', '3 d 4 h': the age of an alert at a glance."""
    minutes = max(int(age.total_seconds() // 60), 0)
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {minutes} min"
    return f"{minutes} min"


def label(value: str | None) -> str:
    """'never_inducted' -> 'never inducted'."""
    return (value or "").replace("_", " ")


def audit_words(action: str, detail: Mapping[str, Any]) -> str:
    """One line saying what an audit entry records, in plain words."""
    rule = label(str(detail.get("rule", "")))
    subject = f"the {rule} alert" if rule else "the alert"
    outcome = OUTCOME_LABELS.get(str(detail.get("outcome")), label(str(detail.get("outcome"))))
    texts = {
        "alert.opened": f"opened {subject} ({detail.get('severity', '')})",
        "alert.escalated": f"escalated {subject} to {detail.get('to', '')}",
        "alert.acknowledged": f"acknowledged {subject}",
        "alert.resolved": f"resolved {subject}: {outcome.lower()}",
        "alert.auto_resolved": f"closed {subject} on its own: {detail.get('reason', '')}",
        "alert.assigned": f"assigned {subject} to team {detail.get('to', '')}",
        "alert.note": f"added a note to {subject}",
        "order.created": "created the order",
        "order.updated": "updated the order",
        "shipment.created": "added a shipment",
        "shipment.updated": "updated a shipment",
        "customer.notice_queued": "queued an email to the customer",
        "leg.superseded": (
            f"followed the carrier's last-mile number {detail.get('by_tracking_number', '')} "
            "instead of the shop's"
        ),
    }
    return texts.get(action, label(action.replace(".", " ")))


def audit_note(detail: Mapping[str, Any]) -> str | None:
    """The free text an entry carries (a note, a resolution note), if any."""
    note = detail.get("note")
    return str(note) if note else None
