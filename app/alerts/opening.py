"""How an alert opens: the one specification that both ways of opening follow.

An alert opens for a finding when all four conditions hold:

1. No news: the finding was judged on the order's current data. The per-order path judges it
   just now; a plan holds only while its order's next look is still the plan's deadline
   (`no_news`), since any news moves that look.
2. Fresh enough: a finding that rests on a carrier's silence needs a good poll since
   `fresh_since` (`fresh_enough`, the rules' own staleness guard `kernel.freshness.polled_since`).
3. Nothing open for the same subject and rule (`is_unresolved`; the unique index
   `uq_alerts_open_subject_rule` settles a race between two writers).
4. No person's closure: the latest alert about it was not closed by a person with no news
   since (`closed_by_a_person_without_news`).

It writes, in the caller's transaction: the alert (`alert_content` and `opened_state`), its
audit entry (`opened_audit`), its work item (`app.alerts.items.attach`: joined or founded, by the
precedence table), and the customer's notice for the problems a customer hears of
(`customer_notice.py`). Ops hear of the item, not the alert: the notifier groups new items into
messages (`app.alerts.notifier`).

Each definition is written once against `Terms`: `PYTHON` evaluates it on values (the per-order
path, `service.py`); `SQL` builds the same definition as column expressions (the set-based
midnight opening, `planned.py`). tests/integration/alerts/test_opening_spec.py opens the same
findings both ways and compares the rows. A new condition or a new row (grouped items, a
quarantine's hold) is added here once, and both paths take it from here.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import String, and_, case, cast, func, literal, or_

from app.alerts.customer_notice import CustomerNoticePolicy
from app.alerts.delivery import webhook_destination
from app.alerts.routing import route_alert
from app.alerts.schemas import AlertStatus
from app.db import UTCDateTime
from app.kernel.findings import Finding
from app.kernel.freshness import polled_since
from app.settings.overrides import AlertRoute

OPENED_ACTION = "alert.opened"
ACTOR = "firstscan"


@dataclass(frozen=True, slots=True)
class AlertPolicy:
    """How alerts are routed and where they are delivered; built once from settings."""

    default_team: str = "ops"
    routes: tuple[AlertRoute, ...] = ()
    webhook_urls: tuple[str, ...] = ()
    email_recipients: tuple[str, ...] = ()
    console_base_url: str = "http://127.0.0.1:8000"
    extra: dict[str, str] = field(default_factory=dict)
    customer_notice: CustomerNoticePolicy | None = None  # None: FIRSTSCAN_CUSTOMER_NOTIFY off


@dataclass(frozen=True, slots=True)
class FindingSubject:
    """What a finding is about, as stored on the alert."""

    order_id: int | None
    order_number: str | None
    last_activity_at: datetime | None  # newest scan or change; reopens a human-closed alert


def subject_key(finding: Finding, order_id: int | None) -> str:
    if finding.leg_id is not None:
        return f"leg:{finding.leg_id}"
    if order_id is not None:
        return f"order:{order_id}"
    if finding.carrier is None:
        return f"system:{finding.rule}"  # about firstscan itself (e.g. its quarantine)
    return f"carrier:{finding.carrier}"


def opening_order(order_id: int | None, leg_id: int | None, rule: str) -> tuple[object, ...]:
    """Where an alert goes among several opened in one transaction: by order, then leg (an
    order's own alerts after its legs'), then rule. Every writer that opens several inserts
    them in this order (the planned opening's SQL too), so two of them racing to open the same
    alerts wait for each other in one direction only (docs/locking.md)."""
    return (order_id or 0, leg_id is None, leg_id or 0, rule)


class Terms(Protocol):
    """The vocabulary the definitions below are written in: values or SQL expressions."""

    def constant(self, value: object) -> Any: ...
    def text(self, value: Any) -> Any: ...
    def json_object(self, fields: Mapping[str, Any]) -> Any: ...
    def all_of(self, *conditions: Any) -> Any: ...
    def any_of(self, *conditions: Any) -> Any: ...
    def is_null(self, value: Any) -> Any: ...
    def not_null(self, value: Any) -> Any: ...
    def is_false(self, value: Any) -> Any: ...
    def known(self, predicate: Callable[..., Any], *values: Any) -> Any: ...
    def choose(self, condition: Any, then: Any, otherwise: Any) -> Any: ...


class _PythonTerms:
    """Evaluates a definition on plain values; a predicate of a missing value is false, as
    SQL's NULL is in a WHERE clause."""

    def constant(self, value: object) -> Any:
        return value

    def text(self, value: Any) -> Any:
        return str(value)

    def json_object(self, fields: Mapping[str, Any]) -> Any:
        return dict(fields)

    def all_of(self, *conditions: Any) -> Any:
        return all(conditions)

    def any_of(self, *conditions: Any) -> Any:
        return any(conditions)

    def is_null(self, value: Any) -> Any:
        return value is None

    def not_null(self, value: Any) -> Any:
        return value is not None

    def is_false(self, value: Any) -> Any:
        return value is False

    def known(self, predicate: Callable[..., Any], *values: Any) -> Any:
        return all(value is not None for value in values) and predicate(*values)

    def choose(self, condition: Any, then: Any, otherwise: Any) -> Any:
        return then if condition else otherwise


class _SqlTerms:
    """Builds a definition as a column expression (PostgreSQL)."""

    def constant(self, value: object) -> Any:
        return literal(value, UTCDateTime) if isinstance(value, datetime) else literal(value)

    def text(self, value: Any) -> Any:
        return cast(value, String)

    def json_object(self, fields: Mapping[str, Any]) -> Any:
        return func.json_build_object(*[x for item in fields.items() for x in item])

    def all_of(self, *conditions: Any) -> Any:
        return and_(*conditions)

    def any_of(self, *conditions: Any) -> Any:
        return or_(*conditions)

    def is_null(self, value: Any) -> Any:
        return value.is_(None)

    def not_null(self, value: Any) -> Any:
        return value.is_not(None)

    def is_false(self, value: Any) -> Any:
        return value.is_(False)

    def known(self, predicate: Callable[..., Any], *values: Any) -> Any:
        return predicate(*values)  # NULL in, NULL out: false in a WHERE clause

    def choose(self, condition: Any, then: Any, otherwise: Any) -> Any:
        return case((condition, then), else_=otherwise)


PYTHON: Terms = _PythonTerms()
SQL: Terms = _SqlTerms()


# The conditions.


def no_news(t: Terms, *, next_look_at: Any, due_at: Any) -> Any:
    """A plan still holds: its order's next look is the plan's deadline (news moves it)."""
    return next_look_at == due_at


def fresh_enough(t: Terms, *, last_successful_poll_at: Any, fresh_since: Any) -> Any:
    """The leg was polled successfully since `fresh_since`; None: the finding needs no poll."""
    return t.any_of(
        t.is_null(fresh_since), t.known(polled_since, last_successful_poll_at, fresh_since)
    )


def is_unresolved(status: Any) -> Any:
    """An alert that still counts as open: a second one for its subject and rule must not open."""
    return status != AlertStatus.RESOLVED.value


def last_activity_at(
    t: Terms, *, leg_id: Any, leg_last_event_at: Any, order_updated_at: Any
) -> Any:
    """The news that reopens a problem a person closed: the leg's newest scan, or for an
    order's own finding the order's last change."""
    return t.choose(t.is_null(leg_id), order_updated_at, leg_last_event_at)


def closed_by_a_person_without_news(
    t: Terms, *, auto_resolved: Any, resolved_at: Any, last_activity_at: Any
) -> Any:
    """Of the latest resolved alert about a problem: a person closed it and nothing has happened
    since (`last_activity_at`: the leg's newest scan, or the order's last change), so the same
    problem does not reopen."""
    return t.all_of(
        t.is_false(auto_resolved),
        t.not_null(resolved_at),
        t.any_of(t.is_null(last_activity_at), t.known(operator.ge, resolved_at, last_activity_at)),
    )


# The rows.


def alert_content(finding: Finding, *, order_id: int | None, policy: AlertPolicy) -> dict[str, Any]:
    """What a finding decides of its alert, routed to its team (a plan stores these columns)."""
    return {
        "rule": finding.rule,
        "severity": finding.severity.value,
        "subject_key": subject_key(finding, order_id),
        "leg_id": finding.leg_id,
        "order_id": order_id,
        "carrier": finding.carrier,
        "tracking_number": finding.tracking_number,
        "team": route_alert(
            policy.routes,
            rule=finding.rule,
            carrier=finding.carrier,
            severity=finding.severity.value,
            default_team=policy.default_team,
        ),
        "explanation": finding.explanation,
        "recommended_action": finding.recommended_action,
        "evidence": dict(finding.evidence),
    }


ALERT_CONTENT_COLUMNS = (
    "rule",
    "severity",
    "subject_key",
    "leg_id",
    "order_id",
    "carrier",
    "tracking_number",
    "team",
    "explanation",
    "recommended_action",
    "evidence",
)


def opened_state(t: Terms, now: datetime) -> dict[str, Any]:
    """What opening sets on a new alert, whatever the finding."""
    at = t.constant(now)
    return {
        "status": t.constant(AlertStatus.OPEN.value),
        "opened_at": at,
        "last_seen_at": at,
        "updated_at": at,
        "auto_resolved": t.constant(False),
    }


def opened_audit(
    t: Terms, *, alert_id: Any, order_id: Any, rule: Any, severity: Any, now: datetime
) -> dict[str, Any]:
    """The audit entry of an opening."""
    return {
        "occurred_at": t.constant(now),
        "actor": t.constant(ACTOR),
        "action": t.constant(OPENED_ACTION),
        "entity_type": t.constant("alert"),
        "entity_id": t.text(alert_id),
        "order_id": order_id,
        "detail": t.json_object({"rule": rule, "severity": severity}),
    }


def notification_destinations(policy: AlertPolicy) -> list[tuple[str, str]]:
    """(channel, destination) of every ops message, webhooks by hash, never by URL."""
    return [("webhook", webhook_destination(url)) for url in policy.webhook_urls] + [
        ("email", address) for address in policy.email_recipients
    ]
