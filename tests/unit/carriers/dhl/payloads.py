import copy
import json
from pathlib import Path
from typing import Any

DATA = Path(__file__).parents[3] / "data" / "carriers" / "dhl"


def load_text(name: str) -> str:
    return (DATA / name).read_text()


def load(name: str) -> dict[str, Any]:
    return copy.deepcopy(json.loads(load_text(name)))


def shipment_of(answer: dict[str, Any]) -> dict[str, Any]:
    shipment: dict[str, Any] = answer["shipments"][0]
    return shipment


def dump(answer: dict[str, Any]) -> str:
    return json.dumps(answer)
