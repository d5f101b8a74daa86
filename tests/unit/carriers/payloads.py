"""Recorded, scrubbed carrier payloads under tests/data/carriers/<code>/."""

import json
from pathlib import Path
from typing import Any

DATA = Path(__file__).resolve().parents[2] / "data" / "carriers"


def payload_bytes(carrier: str, name: str) -> bytes:
    return (DATA / carrier / name).read_bytes()


def payload_json(carrier: str, name: str) -> Any:
    return json.loads(payload_bytes(carrier, name))
