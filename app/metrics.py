"""Prometheus metrics. Counters live in the process that does the work (a worker serves them on
its own port); gauges that describe shared state are read from the database at scrape time."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

POLLS = Counter("firstscan_polls_total", "Leg polls by carrier and outcome", ["carrier", "outcome"])
CARRIER_CALLS = Counter("firstscan_carrier_calls_total", "Requests sent to carriers", ["carrier"])
EVENTS_STORED = Counter(
    "firstscan_events_stored_total", "New tracking events stored", ["carrier", "source"]
)
CARRIER_ERRORS = Counter(
    "firstscan_carrier_errors_total", "Carrier errors by kind", ["carrier", "kind"]
)
UNKNOWN_CODES = Counter(
    "firstscan_unknown_carrier_codes_total",
    "Carrier codes our tables do not know (mapped to unknown, never guessed)",
    ["carrier", "code"],
)
EVENTS_DROPPED = Counter(
    "firstscan_events_dropped_total",
    "Carrier events dropped because their time lies outside what a scan may carry",
    ["carrier", "reason"],
)
LEASE_TAKEOVERS = Counter(
    "firstscan_lease_takeovers_total", "Legs claimed after another worker's lease ran out"
)
HANDOFF_LEGS = Counter("firstscan_handoff_legs_added_total", "Last-mile legs revealed by carriers")
CALL_SECONDS = Histogram("firstscan_carrier_call_seconds", "Carrier request duration", ["carrier"])
BREAKER_OPEN = Gauge(
    "firstscan_carrier_breaker_open", "1 while the carrier's circuit breaker is open", ["carrier"]
)
QUOTA_USED = Gauge(
    "firstscan_carrier_quota_used", "Calls used in the current window", ["carrier", "window"]
)
DUE_LAG = Gauge(
    "firstscan_due_lag_seconds", "How long the longest-waiting due leg has been waiting"
)
ALERTS_OPENED = Counter("firstscan_alerts_opened_total", "Alerts opened", ["rule"])
NOTIFICATIONS = Counter(
    "firstscan_notifications_total",
    "Alert deliveries by channel and outcome",
    ["channel", "outcome"],
)
QUARANTINED = Counter(
    "firstscan_quarantined_total",
    "Members a job set aside because handling them raised (worker)",
    ["job", "member_type"],
)
