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


def test_secrets_never_appear_in_the_settings_repr(monkeypatch):
    monkeypatch.setenv("FIRSTSCAN_DHL_API_KEY", "super-secret-value")

    settings = load_settings()

    assert "super-secret-value" not in repr(settings)
    assert settings.dhl_api_key is not None
    assert settings.dhl_api_key.get_secret_value() == "super-secret-value"
