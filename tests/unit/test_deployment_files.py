"""What the deployment files promise, checked without a container runtime (none runs here)."""

from __future__ import annotations

import tomllib
from fnmatch import fnmatch
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def compose() -> dict:
    return yaml.safe_load((ROOT / "compose.yaml").read_text())


def test_the_worker_has_a_health_check_of_its_own_not_the_apis_port():
    worker = compose()["services"]["worker"]

    check = " ".join(worker["healthcheck"]["test"])
    port = worker["environment"]["FIRSTSCAN_WORKER_METRICS_PORT"]
    assert f"127.0.0.1:{port}/metrics" in check
    assert ":8000" not in check


def test_the_database_password_never_goes_into_the_url_unescaped():
    environment = compose()["services"]["api"]["environment"]

    assert "POSTGRES_PASSWORD" not in environment["FIRSTSCAN_DATABASE_URL"]
    assert environment["PGPASSWORD"] == "${POSTGRES_PASSWORD}"


def test_the_build_context_leaves_out_the_virtualenv_databases_and_history():
    ignored = (ROOT / ".dockerignore").read_text().split()

    assert {".git", ".venv", "*.db", "*.db-*", "tests"} <= set(ignored)


def test_the_mock_carrier_server_stays_out_of_the_image_and_the_wheel():
    ignored = (ROOT / ".dockerignore").read_text().split()
    dockerfile = (ROOT / "Dockerfile").read_text()
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    included = pyproject["tool"]["setuptools"]["packages"]["find"]["include"]

    assert "mock_carriers" in ignored
    assert "mock_carriers" not in dockerfile
    assert not any(fnmatch("mock_carriers", pattern) for pattern in included)
