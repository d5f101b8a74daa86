"""What an HTTP receiver's answer means for a notification: delivered, retry later, or final.

Shared by every channel that posts over HTTP (Slack-compatible webhooks, PagerDuty)."""

from __future__ import annotations

from datetime import datetime

from app.alerts.delivery import DeliveryResult
from app.alerts.messages import one_line
from carriers.retry_after import parse_retry_after

# 408 Request Timeout and 429 Too Many Requests are the 4xx answers that invite a retry.
RETRYABLE_CLIENT_ERRORS = frozenset({408, 429})
ERROR_EXCERPT = 200


def classify_webhook_response(
    status_code: int, retry_after: str | None, body: str, *, now: datetime
) -> DeliveryResult:
    """2xx delivered; 408, 429 and 5xx retry (honouring Retry-After); other codes are final."""
    if 200 <= status_code < 300:
        return DeliveryResult.delivered(status_code=status_code)
    error = f"HTTP {status_code}: {one_line(body)[:ERROR_EXCERPT] or '(empty body)'}"
    if status_code in RETRYABLE_CLIENT_ERRORS or status_code >= 500:
        delay = parse_retry_after(retry_after, now=now)
        return DeliveryResult.retry(error, status_code=status_code, retry_after=delay)
    # Slack answers 400 invalid_payload, 403 action_prohibited, 404 channel_not_found and
    # 410 channel_is_archived: sending the same body again cannot succeed. A redirect means the
    # URL is wrong, and a POST is not replayed across one.
    return DeliveryResult.permanent(error, status_code=status_code)
