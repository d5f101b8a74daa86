import copy
import json
from pathlib import Path
from typing import Any

DATA = Path(__file__).parents[3] / "data" / "carriers" / "fedex"


def load_text(name: str) -> str:
    return (DATA / name).read_text()


def load(name: str) -> dict[str, Any]:
    return copy.deepcopy(json.loads(load_text(name)))


def first_result(answer: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = answer["output"]["completeTrackResults"][0]["trackResults"][0]
    return result


def dump(answer: dict[str, Any]) -> str:
    return json.dumps(answer)
