"""Issue 12's soak: N minutes (default 30) of mixed traffic against real processes on PostgreSQL,
with faults injected, then checks that nothing was lost, doubled or leaked.

    python -m bench.soak [--minutes 30]

Processes: one `firstscan serve` (the API under uvicorn), one `firstscan worker` with live
carriers pointed at the loopback mock carrier server (mock_carriers), and, in this
process, an alert-webhook receiver and the clients. The database is a throwaway one on the
benchmark server (bench.database), created and dropped here.

Traffic (`bench.soak.traffic`): orders, CSV imports, lookups, people's alert actions and signed
carrier pushes. Faults (`bench.soak.faults`): every backend of the app's database terminated now
and then, a receiver that fails a share of deliveries, a carrier that stops answering in time.
Checks (`bench.soak.checks`): no 5xx but documented 503s, every acknowledged order stored once,
every sent ops message received under one idempotency key per group message, the outbox and the
audit log consistent, and the resident memory of the API and the worker flat after warm-up.
"""
