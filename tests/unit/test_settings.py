from __future__ import annotations

import pytest

from app.settings import ConfigurationError, Settings, load_settings, normalize_database_url


def test_defaults_are_an_sqlite_file_and_the_sandbox_carrier(monkeypatch):
    monkeypatch.delenv("FIRSTSCAN_DATABASE_URL", raising=False)
    settings = Settings()

    assert settings.database_url == "sqlite+aiosqlite:///./firstscan.db"
    assert settings.carrier_mode == "sandbox"
    assert settings.tracking_number_reuse_window.days == 90


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("postgresql://u@h/db", "postgresql+psycopg://u@h/db"),
        ("postgres://u@h/db", "postgresql+psycopg://u@h/db"),
        ("sqlite:///x.db", "sqlite+aiosqlite:///x.db"),
        ("postgresql+psycopg://u@h/db", "postgresql+psycopg://u@h/db"),
    ],
)
def test_plain_database_urls_get_their_async_driver(given, expected):
    assert normalize_database_url(given) == expected


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("FIRSTSCAN_TRACKING_NUMBER_REUSE_DAYS", "zero", "FIRSTSCAN_TRACKING_NUMBER_REUSE_DAYS:"),
        ("FIRSTSCAN_CARRIER_MODE", "production", "FIRSTSCAN_CARRIER_MODE:"),
        ("FIRSTSCAN_UPS_BASE_URL", "ftp://x", "FIRSTSCAN_UPS_BASE_URL: must start with http"),
        (
            "FIRSTSCAN_ALERT_GROUP_BY",
            "team,postal_code",
            "choose among team, rule, carrier, severity (got postal_code)",
        ),
        ("FIRSTSCAN_ALERT_GROUP_BY", " , ", "FIRSTSCAN_ALERT_GROUP_BY: choose among"),
        ("FIRSTSCAN_ALERT_GROUP_INTERVAL_SECONDS", "0", "FIRSTSCAN_ALERT_GROUP_INTERVAL_SECONDS:"),
        ("FIRSTSCAN_ALERT_GROUP_WAIT_SECONDS", "-1", "FIRSTSCAN_ALERT_GROUP_WAIT_SECONDS:"),
        ("FIRSTSCAN_PAGERDUTY_EVENTS_URL", "events.pd", "FIRSTSCAN_PAGERDUTY_EVENTS_URL: must"),
    ],
)
def test_invalid_configuration_names_the_variable_in_one_line(
    monkeypatch, variable, value, message
):
    monkeypatch.setenv(variable, value)

    with pytest.raises(ConfigurationError) as caught:
        load_settings()

    text = str(caught.value)
    assert message in text
    assert "\n" not in text


def test_alert_group_by_is_a_comma_list_written_in_one_order(monkeypatch):
    monkeypatch.setenv("FIRSTSCAN_ALERT_GROUP_BY", " carrier, team ,carrier")

    assert load_settings().alert_group_by == ("team", "carrier")


def test_alert_grouping_defaults_are_alertmanagers(monkeypatch):
    settings = load_settings()

    assert settings.alert_group_by == ("team", "rule")
    assert settings.alert_group_wait_seconds == 30
    assert settings.alert_group_interval_seconds == 300
    assert settings.alert_repeat_interval_seconds == 4 * 3600
    assert settings.alert_critical_at_once is False
    assert settings.pagerduty_routing_key is None
    assert settings.pagerduty_events_url == "https://events.pagerduty.com/v2/enqueue"


def test_secrets_never_appear_in_the_settings_repr(monkeypatch):
    monkeypatch.setenv("FIRSTSCAN_DHL_API_KEY", "super-secret-value")

    settings = load_settings()

    assert "super-secret-value" not in repr(settings)
    assert settings.dhl_api_key is not None
    assert settings.dhl_api_key.get_secret_value() == "super-secret-value"


@pytest.mark.parametrize(
    ("environment", "message"),
    [
        ({"FIRSTSCAN_UPS_PUSH_CLIENT_ID": "firstscan"}, "set it together with"),
        ({"FIRSTSCAN_UPS_PUSH_CLIENT_SECRET": "s" * 32}, "set it together with"),
        (
            {
                "FIRSTSCAN_UPS_PUSH_CLIENT_ID": "firstscan",
                "FIRSTSCAN_UPS_PUSH_CLIENT_SECRET": "short",
            },
            "must be at least 32 characters",
        ),
    ],
)
def test_the_ups_push_client_needs_its_id_and_a_long_secret(monkeypatch, environment, message):
    for name, value in environment.items():
        monkeypatch.setenv(name, value)

    with pytest.raises(ConfigurationError, match="FIRSTSCAN_UPS_PUSH_CLIENT_SECRET: " + message):
        load_settings()


def test_the_ups_push_client_secret_never_appears_in_the_settings_repr(monkeypatch):
    monkeypatch.setenv("FIRSTSCAN_UPS_PUSH_CLIENT_ID", "firstscan")
    monkeypatch.setenv("FIRSTSCAN_UPS_PUSH_CLIENT_SECRET", "v" * 40)

    settings = load_settings()

    assert "v" * 40 not in repr(settings)
    assert settings.ups_push_client_id == "firstscan"


def test_customer_emails_need_a_secret_key_to_sign_their_links(monkeypatch):
    monkeypatch.setenv("FIRSTSCAN_CUSTOMER_NOTIFY", "true")
    with pytest.raises(
        ConfigurationError, match="FIRSTSCAN_CUSTOMER_NOTIFY: needs FIRSTSCAN_SECRET_KEY"
    ):
        load_settings()
    monkeypatch.setenv("FIRSTSCAN_SECRET_KEY", "s3cret")
    assert load_settings().customer_notify is True


def test_public_rate_limits_must_be_in_limits_notation(monkeypatch):
    monkeypatch.setenv("FIRSTSCAN_PUBLIC_RATE_LIMIT_PER_ORDER", "lots")
    with pytest.raises(ConfigurationError, match="FIRSTSCAN_PUBLIC_RATE_LIMIT_PER_ORDER"):
        load_settings()


def test_without_a_secret_key_each_process_makes_its_own_and_warns(caplog):
    from pydantic import SecretStr

    from app.signing import resolve_secret_key

    first, second = resolve_secret_key(None), resolve_secret_key(SecretStr(""))

    assert first != second
    assert len(first) >= 32
    assert "FIRSTSCAN_SECRET_KEY is not set" in caplog.text
    assert resolve_secret_key(SecretStr("configured")) == "configured"
