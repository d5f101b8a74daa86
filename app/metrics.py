"""Prometheus metrics, in two registries because they live in two kinds of process.

WORKER: counters only a worker increments (polls, calls, takeovers, set-aside members, messages
sent), served by each `firstscan worker` on FIRSTSCAN_WORKER_METRICS_PORT; scrape every worker.
API: what the API does itself (pushes received) and gauges of shared state read from the database
at scrape time (breakers, quotas, due lag, the quarantine, alert destinations), served at the
API's /metrics (app/health.py). A worker-only counter is never shown by the API, where it would
read 0 whatever the workers did.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

WORKER = CollectorRegistry()
API = CollectorRegistry()

POLLS = Counter(
    "firstscan_polls_total",
    "Leg polls by carrier and outcome",
    ["carrier", "outcome"],
    registry=WORKER,
)
CARRIER_CALLS = Counter(
    "firstscan_carrier_calls_total", "Requests sent to carriers", ["carrier"], registry=WORKER
)
EVENTS_STORED = Counter(
    "firstscan_events_stored_total",
    "New tracking events stored, from polls and from pushes",
    ["carrier", "source"],
    registry=WORKER,
)
PUSHES_RECEIVED = Counter(
    "firstscan_pushes_received_total",
    "Carrier pushes received, by outcome (stored, duplicate, refused: bad authentication)",
    ["carrier", "outcome"],
    registry=API,
)
PUSHES_PROCESSED = Counter(
    "firstscan_pushes_processed_total",
    "Pushes read from the inbox, by outcome (processed, retried, failed)",
    ["carrier", "outcome"],
    registry=WORKER,
)
PUSHED_UNKNOWN_NUMBERS = Counter(
    "firstscan_pushed_unknown_numbers_total",
    "Tracking numbers in carrier pushes that firstscan does not track (accepted, not stored)",
    ["carrier"],
    registry=WORKER,
)
SUBSCRIPTION_CALLS = Counter(
    "firstscan_subscription_calls_total",
    "Push subscription requests sent to carriers, by outcome (answered, failed); they take the "
    "carrier's quota as polls do",
    ["carrier", "outcome"],
    registry=WORKER,
)
CARRIER_ERRORS = Counter(
    "firstscan_carrier_errors_total",
    "Carrier errors by kind",
    ["carrier", "kind"],
    registry=WORKER,
)
UNKNOWN_CODES = Counter(
    "firstscan_unknown_carrier_codes_total",
    "Carrier codes our tables do not know (mapped to unknown, never guessed)",
    ["carrier", "code"],
    registry=WORKER,
)
EVENTS_DROPPED = Counter(
    "firstscan_events_dropped_total",
    "Carrier events dropped because their time lies outside what a scan may carry",
    ["carrier", "reason"],
    registry=WORKER,
)
LEASE_TAKEOVERS = Counter(
    "firstscan_lease_takeovers_total",
    "Legs claimed after another worker's lease ran out",
    registry=WORKER,
)
HANDOFF_LEGS = Counter(
    "firstscan_handoff_legs_added_total", "Last-mile legs revealed by carriers", registry=WORKER
)
CALL_SECONDS = Histogram(
    "firstscan_carrier_call_seconds", "Carrier request duration", ["carrier"], registry=WORKER
)
ALERTS_OPENED = Counter("firstscan_alerts_opened_total", "Alerts opened", ["rule"], registry=WORKER)
NOTIFICATIONS = Counter(
    "firstscan_notifications_total",
    "Alert deliveries by channel and outcome",
    ["channel", "outcome"],
    registry=WORKER,
)
DESTINATION_RATE_LIMITED = Counter(
    "firstscan_destination_rate_limited_total",
    "429 answers from an alert destination (named by its hash, never its URL)",
    ["channel", "destination"],
    registry=WORKER,
)
QUARANTINED = Counter(
    "firstscan_quarantined_total",
    "Members a job set aside because handling them raised",
    ["job", "member_type"],
    registry=WORKER,
)

# Shared state: each worker sets what it sees; the API reads it from the database when scraped.
BREAKER_OPEN = Gauge(
    "firstscan_carrier_breaker_open",
    "1 while the carrier's circuit breaker is open",
    ["carrier"],
    registry=WORKER,
)
DUE_LAG = Gauge(
    "firstscan_due_lag_seconds",
    "How long the longest-waiting due leg has been waiting",
    registry=WORKER,
)
SHARED_BREAKER_OPEN = Gauge(
    "firstscan_carrier_breaker_open",
    "1 while the carrier's circuit breaker is open",
    ["carrier"],
    registry=API,
)
SHARED_QUOTA_USED = Gauge(
    "firstscan_carrier_quota_used",
    "Calls used in the current window",
    ["carrier", "window"],
    registry=API,
)
SHARED_DUE_LAG = Gauge(
    "firstscan_due_lag_seconds",
    "How long the longest-waiting due leg has been waiting",
    registry=API,
)
SHARED_SET_ASIDE = Gauge(
    "firstscan_set_aside",
    "Orders, legs and messages set aside (quarantined) now",
    ["member_type"],
    registry=API,
)
SHARED_PUSH_INBOX = Gauge(
    "firstscan_push_inbox",
    "Carrier pushes in the inbox by status (pending: not read by a worker yet)",
    ["status"],
    registry=API,
)
SHARED_SUBSCRIPTIONS = Gauge(
    "firstscan_push_subscriptions",
    "Push subscriptions at carriers by state",
    ["carrier", "state"],
    registry=API,
)
SHARED_PUSHES_READ = Gauge(
    "firstscan_carrier_pushes_read",
    "Carrier pushes the workers read, over the days the call report keeps",
    ["carrier"],
    registry=API,
)
SHARED_POLLS_SAVED = Gauge(
    "firstscan_carrier_polls_saved",
    "Polls pushed legs did not need, over the days the call report keeps: at each poll of a "
    "pushed leg, the polls the polled cadence would have made before its next (an estimate)",
    ["carrier"],
    registry=API,
)
SHARED_SUBSCRIPTION_CALLS = Gauge(
    "firstscan_carrier_subscription_calls",
    "Push subscription requests the workers sent, over the days the call report keeps (they "
    "take the carrier's quota as polls do)",
    ["carrier"],
    registry=API,
)
SHARED_DUE_LEGS = Gauge(
    "firstscan_due_legs", "Active legs whose next poll time has come", ["carrier"], registry=API
)
SHARED_DUE_OLDEST_WAIT = Gauge(
    "firstscan_due_oldest_wait_seconds",
    "How long the carrier's longest-waiting due leg has waited",
    ["carrier"],
    registry=API,
)
SHARED_OVERDUE_LEGS = Gauge(
    "firstscan_due_legs_past_alert_deadline",
    "Due legs an alert is waiting on past its deadline (polled first)",
    ["carrier"],
    registry=API,
)
SHARED_DESTINATION_PAUSED = Gauge(
    "firstscan_destination_paused",
    "1 while no message goes to the destination: a 429's Retry-After or its breaker is open",
    ["channel", "destination"],
    registry=API,
)
SHARED_DESTINATION_FAILURES = Gauge(
    "firstscan_destination_consecutive_failures",
    "Failed sends to the destination since its last success",
    ["channel", "destination"],
    registry=API,
)
SHARED_DESTINATION_BREAKER_OPEN = Gauge(
    "firstscan_destination_breaker_open",
    "1 while the destination's breaker is open or probing after repeated failures",
    ["channel", "destination"],
    registry=API,
)
