"""All configuration, read once from FIRSTSCAN_* environment variables at the edge and passed
down. Settings is a leaf: it imports only the kernel's vocabulary, never a domain."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from datetime import timedelta
from functools import cached_property
from typing import Annotated, Literal

from limits import parse_many
from pydantic import (
    Field,
    InstanceOf,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from app.kernel.calendar import CalendarTable, default_calendars
from app.kernel.thresholds import ThresholdTable
from app.settings.overrides import (
    AlertRoute,
    CarrierLimitOverrides,
    parse_alert_routes,
    parse_calendar_overrides,
    parse_carrier_limits,
    parse_summary_recipients,
    parse_threshold_overrides,
)

ENV_PREFIX = "FIRSTSCAN_"
# What alert notifications may be grouped by (app.alerts.grouping writes keys in this order).
GROUP_FIELDS = ("team", "rule", "carrier", "severity")
JSON_SETTINGS: dict[str, Callable[[str | None], object]] = {
    "alert_routes": parse_alert_routes,
    "escalation_routes": parse_alert_routes,
    "daily_summary_to": parse_summary_recipients,
    "rule_thresholds": parse_threshold_overrides,
    "carrier_calendars": parse_calendar_overrides,
    "carrier_limits": parse_carrier_limits,
}


def normalize_database_url(url: str) -> str:
    """Returns an async SQLAlchemy URL: plain postgres/sqlite URLs get their async driver."""
    for plain, driver in (
        ("postgres://", "postgresql+psycopg://"),
        ("postgresql://", "postgresql+psycopg://"),
        ("sqlite://", "sqlite+aiosqlite://"),
    ):
        if url.startswith(plain):
            return driver + url[len(plain) :]
    return url


class Settings(BaseSettings):
    """All configuration, read once from FIRSTSCAN_* environment variables at the edge."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore", frozen=True)

    database_url: str = "sqlite+aiosqlite:///./firstscan.db"
    database_pool_size: int = Field(default=10, ge=1, le=200)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_format: Literal["text", "json"] = "text"

    # Carriers. The defaults are the carriers' production hosts; live mode needs credentials.
    carrier_mode: Literal["sandbox", "live"] = "sandbox"
    usps_base_url: str = "https://apis.usps.com"
    usps_client_id: str | None = None
    usps_client_secret: SecretStr | None = None
    ups_base_url: str = "https://onlinetools.ups.com"
    ups_client_id: str | None = None
    ups_client_secret: SecretStr | None = None
    fedex_base_url: str = "https://apis.fedex.com"
    fedex_client_id: str | None = None
    fedex_client_secret: SecretStr | None = None
    dhl_base_url: str = "https://api-eu.dhl.com"
    dhl_api_key: SecretStr | None = None
    carrier_timeout_seconds: float = Field(default=20.0, gt=0, le=300)
    # JSON {"dhl": {"per_second": 1, "per_hour": null, "per_day": 250}, ...} overriding the
    # carriers' published defaults; the share of a limit we allow ourselves is rate_safety.
    carrier_limits: Annotated[CarrierLimitOverrides, NoDecode] = Field(default_factory=dict)
    # Under CPU load an event loop can send a call late and bunch it with the next ones: the
    # headroom keeps several workers under the carrier's limit (BENCHMARKS.md, section 2).
    rate_safety: float = Field(default=0.7, gt=0, le=1)

    # Worker.
    poll_interval_seconds: float = Field(default=5.0, gt=0)
    poll_concurrency: int = Field(default=32, ge=1, le=1000)
    poll_claim_size: int = Field(default=200, ge=1, le=5000)
    lease_seconds: int = Field(default=120, ge=10)
    reconcile_interval_seconds: float = Field(default=5.0, gt=0)
    dispatch_interval_seconds: float = Field(default=10.0, gt=0)
    # How often a worker turns open work items into grouped messages (and escalates, pages).
    notify_interval_seconds: float = Field(default=5.0, gt=0)
    # Per webhook destination, shared by every worker. A Slack incoming webhook takes about one
    # message a second with short bursts; a burst of 2 leaves room for a send that arrives late.
    webhook_rate_per_second: float = Field(default=1.0, gt=0, le=1000)
    webhook_burst: int = Field(default=2, ge=1, le=100)
    worker_metrics_port: int | None = Field(default=None, ge=1, le=65535)

    # Ingest.
    tracking_number_reuse_days: int = Field(default=90, ge=1, le=3650)
    max_body_bytes: int = Field(default=5 * 1024 * 1024, ge=1024)
    max_shipments_per_order: int = Field(default=200, ge=1, le=10_000)
    # How old a label may be (back-fills) and how far ahead a promise; bounded so that date
    # arithmetic on anything inside the windows can never overflow.
    label_max_age_days: int = Field(default=730, ge=1, le=3650)
    promise_max_days_ahead: int = Field(default=365, ge=1, le=3650)

    # Rules: JSON overrides of the default thresholds, per carrier or carrier/service.
    rule_thresholds: Annotated[InstanceOf[ThresholdTable], NoDecode] = Field(
        default_factory=ThresholdTable
    )
    # JSON per carrier: time zone, pickup cutoff, extra holidays, holidays the carrier works.
    carrier_calendars: Annotated[InstanceOf[CalendarTable], NoDecode] = Field(
        default_factory=default_calendars
    )

    # Alerts: routing to teams and delivery to ops.
    default_team: str = "ops"
    # JSON list of {"rule"?, "carrier"?, "severity"?, "team"}; the first route that matches wins.
    alert_routes: Annotated[tuple[InstanceOf[AlertRoute], ...], NoDecode] = ()
    # Comma-separated Slack-compatible incoming webhook URLs (secret: they carry the token).
    alert_webhook_urls: SecretStr | None = None
    alert_email_to: str | None = None  # comma-separated addresses for alert emails
    smtp_host: str | None = None
    smtp_port: int = Field(default=587, ge=1, le=65535)
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_from: str = "firstscan@localhost"
    smtp_starttls: bool = True
    smtp_timeout_seconds: float = Field(default=20.0, gt=0)
    public_base_url: str = "http://127.0.0.1:8000"
    # Grouped notifications, as Alertmanager: items sharing these fields share one message.
    alert_group_by: Annotated[tuple[str, ...], NoDecode] = ("team", "rule")
    alert_group_wait_seconds: float = Field(default=30.0, ge=0, le=3600)
    alert_group_interval_seconds: float = Field(default=300.0, gt=0, le=24 * 3600)
    alert_repeat_interval_seconds: float = Field(default=4 * 3600.0, gt=0, le=7 * 24 * 3600)
    alert_critical_at_once: bool = False
    # PagerDuty Events API v2: the integration key routes events to one PagerDuty service.
    pagerduty_routing_key: SecretStr | None = None
    pagerduty_events_url: str = "https://events.pagerduty.com/v2/enqueue"
    # Which items page: "escalated" (a critical item nobody acknowledged in time) or "critical"
    # (every critical item as soon as it opens).
    pagerduty_pages: Literal["escalated", "critical"] = "escalated"
    # An open critical item nobody acknowledged this long is re-notified and escalated.
    escalate_after_minutes: float = Field(default=30.0, gt=0, le=7 * 24 * 60)
    # Where escalated items go, first match wins (like FIRSTSCAN_ALERT_ROUTES); none: same team.
    escalation_routes: Annotated[tuple[InstanceOf[AlertRoute], ...], NoDecode] = ()
    # Opt-in daily summary email per team, {"ops": ["ops@example.com"]}, sent at this UTC hour.
    daily_summary_to: Annotated[dict[str, tuple[str, ...]], NoDecode] = Field(default_factory=dict)
    daily_summary_hour: int = Field(default=7, ge=0, le=23)

    # Inbound carrier webhooks: HMAC-SHA256 shared secret; deliveries older than the window fail.
    webhook_secret: SecretStr | None = None
    webhook_max_age_seconds: int = Field(default=300, ge=10, le=3600)
    # Carriers' own pushes (docs/carrier-push.md); a carrier without its secret is refused (503).
    # UPS Track Alert v1: the `credential` firstscan gave UPS at subscription.
    ups_push_credential: SecretStr | None = None
    # UPS Track Alert v2: the client id and secret registered as the webhook's credentials in
    # UPS's portal; UPS gets a bearer token for them at /v1/push/ups/token. With both set, UPS
    # push runs in v2 mode (subscriptions without a destination).
    ups_push_client_id: str | None = Field(default=None, pattern=r"^[!-~]{1,128}$")
    ups_push_client_secret: SecretStr | None = Field(default=None, validate_default=True)
    # USPS Subscriptions - Tracking: the subscription's `secret` (signs X-HMAC).
    usps_push_secret: SecretStr | None = None
    # FedEx Advanced Integrated Visibility: the webhook project's security token (fdx-signature).
    fedex_push_security_token: SecretStr | None = None
    # Accounts whose pushes are set up at the carrier, not per number: FedEx AIV projects' account
    # numbers (set up in FedEx's developer portal), the shop's USPS Mailer IDs (a Subscriptions -
    # Tracking subscription by MID). With the carrier's push secret, each is an active
    # account-wide subscription and that carrier's legs are polled as the safety net only.
    fedex_push_accounts: Annotated[tuple[str, ...], NoDecode] = ()
    usps_push_mailer_ids: Annotated[tuple[str, ...], NoDecode] = ()
    # The public URL carriers reach firstscan at (https://...); with it and a carrier's push
    # secret, the worker subscribes that carrier's legs to push (UPS: /v1/push/ups).
    push_listener_base_url: str | None = None
    # USPS per-number subscriptions of hand-off legs (a consolidator's USPS number, which the
    # shop's Mailer ID subscription does not cover), with the listener URL and the USPS push
    # secret. Off by default: one subscription request per number costs more of USPS's quota
    # than polling those numbers does (BENCHMARKS.md, section 3).
    usps_push_handoff_numbers: bool = False
    # No push from a subscribed carrier for this long while its legs should be moving: its
    # pushes count as stopped, its legs are polled on the cadence again, one push_silent alert.
    push_silence_minutes: float = Field(default=240.0, ge=5, le=7 * 24 * 60)
    # A carrier push larger than this is refused (413) before it is read whole.
    push_max_body_bytes: int = Field(default=1024 * 1024, ge=1024, le=64 * 1024 * 1024)
    # Optional bearer token for /metrics; without it /metrics is open (scrape from inside).
    metrics_token: SecretStr | None = None

    # Web pages and signed links. Without a secret key each process makes a random one (dev).
    secret_key: SecretStr | None = None
    track_link_days: int = Field(default=30, ge=1, le=365)
    console_session_hours: float = Field(default=8.0, gt=0, le=24 * 30)
    # The public status endpoint and /track pages: `limits` notation, e.g. "10/minute;60/hour".
    public_rate_limit_per_address: str = "30/minute;300/hour"
    public_rate_limit_per_order: str = "10/minute;60/hour"
    # Proactive customer email when the carrier has not received the parcel (off by default).
    customer_notify: bool = False
    # Comma-separated addresses or networks of the reverse proxies whose X-Forwarded-For and
    # X-Forwarded-Proto we believe ("*": any peer). Unset: none, the peer is the client.
    forwarded_allow_ips: str | None = None

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, value: str) -> str:
        url = normalize_database_url(value.strip())
        if not url.startswith(("sqlite+aiosqlite://", "postgresql+psycopg://")):
            raise ValueError("must be an sqlite:// or postgresql:// URL")
        return url

    @field_validator("ups_push_client_secret")
    @classmethod
    def _ups_push_client(cls, value: SecretStr | None, info: ValidationInfo) -> SecretStr | None:
        # The token key is derived from the secret: a short one could be guessed offline from
        # any token seen.
        if value is not None and len(value.get_secret_value()) < 32:
            raise ValueError("must be at least 32 characters (openssl rand -hex 32)")
        if (value is None) != (info.data.get("ups_push_client_id") is None):
            raise ValueError("set it together with FIRSTSCAN_UPS_PUSH_CLIENT_ID, or neither")
        return value

    @field_validator("public_rate_limit_per_address", "public_rate_limit_per_order")
    @classmethod
    def _rate_limits(cls, value: str) -> str:
        try:
            parse_many(value)
        except ValueError:
            raise ValueError("must look like '10/minute' or '10/minute;60/hour'") from None
        return value

    @field_validator("forwarded_allow_ips")
    @classmethod
    def _proxy_addresses(cls, value: str | None) -> str | None:
        proxies = [item.strip() for item in (value or "").split(",") if item.strip()]
        if not proxies or proxies == ["*"]:
            return ",".join(proxies) or None
        for proxy in proxies:
            try:
                ipaddress.ip_network(proxy, strict=False)
            except ValueError:
                raise ValueError(f"'{proxy}' is not an IP address or network") from None
        return ",".join(proxies)

    @field_validator("customer_notify")
    @classmethod
    def _customer_notify_needs_a_key(cls, value: bool, info: ValidationInfo) -> bool:
        # The worker signs the emailed link and the API checks it: both need the same key.
        if value and not info.data.get("secret_key"):
            raise ValueError("needs FIRSTSCAN_SECRET_KEY, which signs the link in the email")
        return value

    # The JSON settings arrive as text from the environment (NoDecode: our parsers, not
    # pydantic's, decode them, so a mistake names its entry) or already typed from code.
    @field_validator(*JSON_SETTINGS, mode="before")
    @classmethod
    def _json_setting(cls, value: object, info: ValidationInfo) -> object:
        if isinstance(value, str | None):
            return JSON_SETTINGS[info.field_name or ""](value)
        return value

    @field_validator("alert_group_by", mode="before")
    @classmethod
    def _group_by(cls, value: object) -> tuple[str, ...]:
        names = value.split(",") if isinstance(value, str) else value
        if not isinstance(names, list | tuple):
            raise ValueError("must be a comma-separated list")
        chosen = {str(name).strip() for name in names} - {""}
        unknown = sorted(chosen - set(GROUP_FIELDS))
        if unknown or not chosen:
            got = ", ".join(unknown) if unknown else "nothing"
            raise ValueError(f"choose among {', '.join(GROUP_FIELDS)} (got {got})")
        return tuple(name for name in GROUP_FIELDS if name in chosen)

    @field_validator("fedex_push_accounts", "usps_push_mailer_ids", mode="before")
    @classmethod
    def _accounts(cls, value: object) -> tuple[str, ...]:
        names = value.split(",") if isinstance(value, str) else value
        if not isinstance(names, list | tuple):
            raise ValueError("must be a comma-separated list")
        chosen = tuple(dict.fromkeys(str(name).strip() for name in names if str(name).strip()))
        if any(len(name) > 64 or not name.isalnum() for name in chosen):
            raise ValueError("each account is letters and digits, at most 64")
        return chosen

    @field_validator("alert_webhook_urls")
    @classmethod
    def _webhook_urls(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None:
            return None
        for url in value.get_secret_value().split(","):
            if url.strip() and not url.strip().startswith(("http://", "https://")):
                raise ValueError("each URL must start with http:// or https://")
        return value

    @field_validator(
        "usps_base_url",
        "ups_base_url",
        "fedex_base_url",
        "dhl_base_url",
        "public_base_url",
        "pagerduty_events_url",
    )
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/")

    @property
    def webhook_urls(self) -> list[str]:
        raw = self.alert_webhook_urls.get_secret_value() if self.alert_webhook_urls else ""
        return [url.strip() for url in raw.split(",") if url.strip()]

    @property
    def alert_email_recipients(self) -> list[str]:
        return [a.strip() for a in (self.alert_email_to or "").split(",") if a.strip()]

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @cached_property
    def tracking_number_reuse_window(self) -> timedelta:
        return timedelta(days=self.tracking_number_reuse_days)


class ConfigurationError(Exception):
    """Invalid configuration, described in one line that names the variable."""


def load_settings() -> Settings:
    """Reads the environment; raises ConfigurationError naming the first bad variable."""
    try:
        return Settings()
    except ValidationError as exc:
        error = exc.errors()[0]
        field = str(error["loc"][0]) if error["loc"] else "?"
        message = error["msg"].removeprefix("Value error, ")
        raise ConfigurationError(
            f"invalid configuration: {ENV_PREFIX}{field.upper()}: {message}"
        ) from None
