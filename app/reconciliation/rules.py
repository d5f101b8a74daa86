"""Reconciliation rules: what we claim about an order against what its carriers report.

Pure functions over the dataclasses in `app.reconciliation.facts`; time is always the `now`
argument. This module holds the entry points; the rule functions live in `silence_rules.py`
(deadline rules that rest on the carrier saying nothing) and `report_rules.py` (rules on what was
said). Discrepancy kinds (`Finding.rule`), with their severity:

- never_inducted (critical): a label exists but no physical scan came within N business days of
  its creation; a label created after the pickup cutoff counts from the next business day.
- handoff_gap (critical): the previous leg handed the parcel on (a handed_off scan, or words like
  "tendered to USPS") but the next carrier has no physical scan N business days later.
- not_found (warning): the carrier still does not know the number after a grace period.
- stalled (warning): the parcel is moving but has had no new scan for N business days.
- late (warning): the promised delivery day has ended in the carrier's time zone, undelivered.
- exception (warning), returned_to_sender (critical), delivery_attempted (info): carrier-reported
  trouble on the current status, quoting the carrier's own words.
- claim_mismatch: our side says delivered but the carrier does not (warning), says cancelled but
  the carrier scanned the parcel (critical), or says shipped but the carrier cancelled the label
  (warning).
- expired (info): a leg not in a terminal state has shown no change for N days; stop polling it.
- carrier_unreachable (critical): from `find_carrier_outages`, one per carrier whose API has
  failed for longer than the outage threshold.
- push_silent (warning): from `find_push_silence`, one per carrier whose pushes stopped while its
  legs should be moving (app/tracking/push_channel.py): its legs are polled again meanwhile.
- quarantine (warning): from `find_quarantine`, one while any order, leg or message is set aside
  because handling it raised: its alerts are not judged, or its parcel not polled, meanwhile.

Deadlines: every business-day rule (never_inducted, handoff_gap, not_found, stalled) is due at
`BusinessCalendar.add_business_days(start, N)` in the leg carrier's calendar: 00:00 local at the
start of a business day, so none of them opens on a weekend or a holiday. `late` is due when the
promised day ends (a promise for Thursday 24 December is broken at 00:00 on the 25th, holiday or
not) and `expired` after a plain duration; the other rules are due as soon as the data show them.

Staleness guard: a leg never polled successfully, or last polled longer ago than its
`max_poll_age`, raises nothing that rests on the carrier's silence or on an absent scan:
never_inducted, handoff_gap, not_found, stalled, expired, late (a delivery may be waiting unseen)
and claim_mismatch for "we say delivered". What the carrier did say still counts: exception,
returned_to_sender, delivery_attempted, and claim_mismatch for a cancelled order that moved or a
shipped order whose label the carrier cancelled. Outages are reported once per carrier instead.

One problem, one alert: a hand-off leg is judged only by handoff_gap until it is scanned (never by
never_inducted or not_found); a leg whose later leg has a physical scan raises neither (the parcel
is in the network, whatever the first carrier says); a leg that handed the parcel on to a known
leg no longer stalls;
not_found gives way to never_inducted on the same leg; an order we cancelled raises only
claim_mismatch (if the parcel moves anyway) and expired.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from app.kernel.calendar import CalendarTable
from app.kernel.findings import Finding, Severity
from app.kernel.precedence import superseded_on_the_same_leg
from app.kernel.thresholds import ThresholdTable
from app.reconciliation import report_rules, silence_rules
from app.reconciliation.facts import (
    CarrierHealth,
    LegFacts,
    OrderFacts,
    PushSilence,
    QuarantineSummary,
)
from app.reconciliation.scene import Due, Scene
from app.reconciliation.wording import iso, moment, span
from carriers.types import carrier_name

__all__ = [
    "Upcoming",
    "find_carrier_outages",
    "find_discrepancies",
    "find_push_silence",
    "find_quarantine",
    "find_with_priorities",
    "first_alert_deadline",
    "poll_priorities",
    "upcoming_findings",
]

LegRule = Callable[[LegFacts, Scene], Sequence[Due]]

# Order of evaluation is the order findings are listed in.
LEG_RULES: tuple[LegRule, ...] = (
    silence_rules.never_inducted,
    silence_rules.handoff_gap,
    silence_rules.not_found,
    silence_rules.stalled,
    report_rules.carrier_reported_trouble,
    report_rules.claim_mismatch,
    report_rules.late,
    silence_rules.expired,
)
# A finding of the key rule on a leg makes the listed rules' findings on that leg redundant;
# from the one precedence table, which also says which findings join another's work item.
SUPERSEDES: Mapping[str, frozenset[str]] = superseded_on_the_same_leg()


def find_discrepancies(
    order: OrderFacts, *, now: datetime, thresholds: ThresholdTable, calendars: CalendarTable
) -> list[Finding]:
    """Every finding due at `now`, legs in sequence order; stale legs raise no silence finding."""
    return find_with_priorities(order, now=now, thresholds=thresholds, calendars=calendars)[0]


def find_with_priorities(
    order: OrderFacts, *, now: datetime, thresholds: ThresholdTable, calendars: CalendarTable
) -> tuple[list[Finding], dict[int, datetime]]:
    """`find_discrepancies`, and each leg's poll priority (`poll_priorities`), from one pass."""
    scene = _scene(order, now, thresholds, calendars)
    dues = _collect(scene)
    findings = [due.finding for due in _due(dues, scene, assume_fresh=False)]
    return findings, poll_priorities(dues, scene)


def first_alert_deadline(
    carrier: str,
    service: str | None,
    label_created_at: datetime,
    *,
    thresholds: ThresholdTable,
    calendars: CalendarTable,
) -> datetime:
    """A new first leg's never_inducted deadline from its label alone: its poll priority until
    it is first judged. Cheap (one calendar sum, no facts, no rules run), so ingest can afford it
    per row; the first judgement replaces it with `poll_priorities`."""
    limit = thresholds.for_leg(carrier, service).never_inducted_business_days
    return calendars.for_carrier(carrier).add_business_days(label_created_at, limit)


def poll_priorities(dues: Sequence[Due], scene: Scene) -> dict[int, datetime]:
    """Leg id -> the earliest deadline of an alert that waits on that leg's next poll: a deadline
    that has passed while the leg's data are stale (the alert opens as soon as one fresh poll
    confirms the silence) comes first, most overdue first; then the nearest future deadline.
    Legs with neither are absent. When calls are rationed, legs are polled in this order."""
    fresh = {leg.leg_id: leg.is_fresh(scene.now) for leg in scene.order.legs}
    waiting: dict[int, datetime] = {}
    for due in dues:
        leg_id, at = due.finding.leg_id, due.due_at
        if leg_id is None or at is None:
            continue
        # A deadline in the past waits on the leg only while its silence is unconfirmed.
        if at <= scene.now and not (due.needs_fresh and not fresh.get(leg_id, False)):
            continue
        waiting[leg_id] = min(at, waiting.get(leg_id, at))
    return waiting


@dataclass(frozen=True, slots=True)
class Upcoming:
    """The order's next deadline and every finding due at it if the data stay as they are (some
    may be due already); `dues` keep `needs_fresh`, so a planner can re-check freshness then."""

    at: datetime
    dues: tuple[Due, ...]


def upcoming_findings(
    order: OrderFacts, *, now: datetime, thresholds: ThresholdTable, calendars: CalendarTable
) -> Upcoming | None:
    """The earliest instant after `now` at which a new finding appears if the data stay as they
    are, with every finding due then; None when no rule is pending.

    Assumes polls keep succeeding with the same answer, so the deadline of a leg that is stale
    now is still reported: it is when that leg's alert would open once polled.
    """
    scene = _scene(order, now, thresholds, calendars)
    pending = sorted(
        (due for due in _collect(scene) if due.due_at is not None and due.due_at > now),
        key=lambda due: (due.due_at, due.finding.key),
    )
    for due in pending:
        at = due.due_at
        assert at is not None  # filtered above; narrows the type for mypy
        later = _scene(order, at, thresholds, calendars)
        dues = _due(_collect(later), later, assume_fresh=True)
        # A pending finding may never open, e.g. not_found superseded first by never_inducted.
        if due.finding.key in {d.finding.key for d in dues}:
            return Upcoming(at=at, dues=tuple(dues))
    return None


def find_carrier_outages(
    health: Sequence[CarrierHealth],
    *,
    now: datetime,
    threshold: timedelta,
    calendars: CalendarTable | None = None,
) -> list[Finding]:
    """One carrier_unreachable finding per carrier failing without a success for >= threshold."""
    _require_aware(now)
    calendars = calendars or CalendarTable()
    down: dict[str, CarrierHealth] = {}
    for item in health:
        if item.failing_since is None or now - item.failing_since < threshold:
            continue
        if item.last_success_at is not None and item.last_success_at >= item.failing_since:
            continue  # it answered again since it started failing
        code = item.carrier.lower()
        known = down.get(code)
        if known is None or item.failing_since < (known.failing_since or item.failing_since):
            down[code] = item
    return [_outage(down[code], now, calendars) for code in sorted(down)]


def _outage(item: CarrierHealth, now: datetime, calendars: CalendarTable) -> Finding:
    assert item.failing_since is not None  # find_carrier_outages keeps failing carriers only
    name = carrier_name(item.carrier)
    calendar = calendars.for_carrier(item.carrier)
    since = moment(item.failing_since, calendar, now)
    last_ok = moment(item.last_success_at, calendar, now) if item.last_success_at else "never"
    error = f" Last error: {item.last_error}." if item.last_error else ""
    return Finding(
        rule="carrier_unreachable",
        severity=Severity.CRITICAL,
        leg_id=None,
        carrier=item.carrier.lower(),
        tracking_number=None,
        explanation=(
            f"firstscan has had no good answer from the {name} API since {since} "
            f"({span(now - item.failing_since)}); last success: {last_ok}.{error} "
            f"Alerts that depend on {name} scans are paused until it answers again."
        ),
        recommended_action=(
            f"Check {name}'s API status page and firstscan's {name} credentials; "
            "no parcel needs action because of this alone."
        ),
        evidence={
            "failing_since": iso(item.failing_since),
            "last_success_at": iso(item.last_success_at) if item.last_success_at else "",
            "last_error": item.last_error or "",
        },
    )


def find_push_silence(
    silent: Sequence[PushSilence], *, now: datetime, calendars: CalendarTable | None = None
) -> list[Finding]:
    """One push_silent finding per carrier whose push channel is silent, by carrier."""
    _require_aware(now)
    calendars = calendars or CalendarTable()
    return [_push_silence(item, now, calendars) for item in sorted(silent, key=lambda i: i.carrier)]


def _push_silence(item: PushSilence, now: datetime, calendars: CalendarTable) -> Finding:
    name = carrier_name(item.carrier)
    calendar = calendars.for_carrier(item.carrier)
    last = moment(item.last_push_at, calendar, now) if item.last_push_at else "never"
    return Finding(
        rule="push_silent",
        severity=Severity.WARNING,
        leg_id=None,
        carrier=item.carrier.lower(),
        tracking_number=None,
        explanation=(
            f"{name} has pushed no tracking event since {last} while parcels it carries should "
            f"be moving; firstscan polls its parcels again since "
            f"{moment(item.silent_since, calendar, now)}, within {name}'s quota."
        ),
        recommended_action=(
            f"Check {name}'s webhook status and firstscan's push listener URL and credentials; "
            "no parcel needs action because of this alone."
        ),
        evidence={
            "silent_since": iso(item.silent_since),
            "last_push_at": iso(item.last_push_at) if item.last_push_at else "",
        },
    )


def _scene(
    order: OrderFacts, now: datetime, thresholds: ThresholdTable, calendars: CalendarTable
) -> Scene:
    _require_aware(now)
    return Scene(order=order, now=now.astimezone(UTC), thresholds=thresholds, calendars=calendars)


def _collect(scene: Scene) -> list[Due]:
    dues: list[Due] = list(report_rules.late_without_tracking(scene))
    for leg in sorted(scene.order.legs, key=lambda leg: (leg.sequence, leg.leg_id)):
        for rule in LEG_RULES:
            dues.extend(rule(leg, scene))
    return dues


def _due(dues: Sequence[Due], scene: Scene, *, assume_fresh: bool) -> list[Due]:
    fresh = {leg.leg_id: leg.is_fresh(scene.now) for leg in scene.order.legs}
    due_now = [
        due
        for due in dues
        if (due.due_at is None or due.due_at <= scene.now)
        and (assume_fresh or not due.needs_fresh or _is_fresh(due.finding.leg_id, fresh))
    ]
    redundant = {
        (superseded, due.finding.leg_id)
        for due in due_now
        for superseded in SUPERSEDES.get(due.finding.rule, frozenset())
    }
    return [d for d in due_now if (d.finding.rule, d.finding.leg_id) not in redundant]


def _is_fresh(leg_id: int | None, fresh: Mapping[int, bool]) -> bool:
    # A finding about no leg at all rests on our own data only.
    return leg_id is None or fresh.get(leg_id, True)


def _require_aware(now: datetime) -> None:
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be a timezone-aware datetime")


MEMBER_WORDS = {
    "order": ("order", "orders"),
    "leg": ("leg", "legs"),
    "message": ("message", "messages"),
}


def find_quarantine(summary: QuarantineSummary, *, now: datetime) -> list[Finding]:
    """One quarantine finding while anything is set aside; none when the quarantine is empty."""
    _require_aware(now)
    total = sum(summary.counts.values())
    if total == 0:
        return []
    what = ", ".join(
        f"{count} {MEMBER_WORDS.get(kind, (kind, kind + 's'))[count != 1]}"
        for kind, count in sorted(summary.counts.items())
        if count
    )
    waited = f" (the oldest for {span(now - summary.oldest_since)})" if summary.oldest_since else ""
    examples = f" First: {'; '.join(summary.examples)}." if summary.examples else ""
    return [
        Finding(
            rule="quarantine",
            severity=Severity.WARNING,
            leg_id=None,
            carrier=None,
            tracking_number=None,
            explanation=(
                f"firstscan has set aside {what} because handling them raised an error{waited}; "
                f"set-aside orders are not judged, set-aside legs not "
                f"polled and set-aside messages not sent until they go through.{examples}"
            ),
            recommended_action=(
                "List them with `firstscan quarantine list` or on the console's Set aside page, "
                "correct the data or report the error shown; each is retried when it changes and "
                "every few hours."
            ),
            evidence={"set_aside": str(total)},
        )
    ]
