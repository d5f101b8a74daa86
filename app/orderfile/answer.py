"""The lookup's answer built from an order's rows (app.orderfile.rows) straight into JSON.

The answer is the documented `LookupRead` (app.orderfile.schemas) field for field and in the
same order, values formatted as pydantic formats them; building it as plain dicts skips
validating a model the server itself filled, which cost more than reading the rows. The golden
tests (tests/data/golden/lookup-*.json) and a round trip through LookupRead hold the two equal.
"""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta, timezone
from functools import lru_cache
from typing import Any

from app.orderfile.rows import ALR, EVT, LEG, ORD, PLN, PTN, SHP, OrderFile, Row
from app.tracking.explain import describe_status
from carriers.registry import carrier_name


def encode(answer: dict[str, Any]) -> bytes:
    """JSON as FastAPI writes a response model: compact, UTF-8 unescaped."""
    return json.dumps(answer, ensure_ascii=False, separators=(",", ":")).encode()


def instant(value: datetime | None) -> str | None:
    """An aware UTC datetime as pydantic writes it (ISO 8601, 'Z')."""
    if value is None:
        return None
    return value.isoformat().replace("+00:00", "Z")


def day(value: date | None) -> str | None:
    return None if value is None else value.isoformat()


@lru_cache(maxsize=256)
def _names(carrier: str, status: str | None) -> tuple[str, str]:
    # Carrier names and status sentences are fixed text: made once, not per request.
    name = carrier_name(carrier)
    return name, describe_status(name, status)


@lru_cache(maxsize=64)
def _offset(minutes: int) -> timezone:
    return timezone(timedelta(minutes=minutes))


def build_lookup(query: str, normalized: str, files: list[OrderFile]) -> dict[str, Any]:
    return {
        "query": query,
        "normalized": normalized,
        "orders": [build_order_detail(file) for file in files],
    }


def build_order_detail(file: OrderFile) -> dict[str, Any]:
    order = build_order(file)
    legs = {leg[LEG["id"]]: leg for leg in file.legs}
    already_open = {(a[ALR["subject_key"]], a[ALR["rule"]]) for a in file.alerts}
    order["matched_by"] = file.matched_by
    order["timeline"] = [_event(e, legs[e[EVT["leg_id"]]]) for e in file.events]
    order["open_alerts"] = [_alert(a) for a in file.alerts]
    order["upcoming_alerts"] = [
        _plan(p) for p in file.plans if (p[PLN["subject_key"]], p[PLN["rule"]]) not in already_open
    ]
    return order


def build_order(file: OrderFile) -> dict[str, Any]:
    """The order as OrderRead shows it, its legs with their partner numbers."""
    row = file.order
    legs_by_id = {leg[LEG["id"]]: leg for leg in file.legs}
    next_leg = {
        leg[LEG["handoff_from_leg_id"]]: leg for leg in file.legs if leg[LEG["handoff_from_leg_id"]]
    }
    partners: dict[int, list[dict[str, Any]]] = {}
    for p in file.partner_numbers:
        partners.setdefault(p[PTN["leg_id"]], []).append(
            {
                "number": p[PTN["number"]],
                "partner_name": p[PTN["partner_name"]],
                "first_seen_at": instant(p[PTN["first_seen_at"]]),
            }
        )
    legs_by_shipment: dict[int, list[Row]] = {}
    for leg in file.legs:
        legs_by_shipment.setdefault(leg[LEG["shipment_id"]], []).append(leg)
    return {
        "order_number": row[ORD["order_number"]],
        "customer_email": row[ORD["customer_email"]],
        "customer_postal_code": row[ORD["customer_postal_code"]],
        "promised_delivery_date": day(row[ORD["promised_delivery_on"]]),
        "claimed_status": row[ORD["claimed_status"]],
        "created_at": instant(row[ORD["created_at"]]),
        "updated_at": instant(row[ORD["updated_at"]]),
        "shipments": [
            {
                "id": s[SHP["id"]],
                "service": s[SHP["service"]],
                "label_created_at": instant(s[SHP["label_created_at"]]),
                "legs": [
                    _leg(leg, legs_by_id, next_leg, partners.get(leg[LEG["id"]], []))
                    for leg in legs_by_shipment.get(s[SHP["id"]], [])
                ],
            }
            for s in file.shipments
        ],
    }


def _leg(
    leg: Row,
    legs_by_id: dict[int, Row],
    next_leg: dict[int, Row],
    partner_numbers: list[dict[str, Any]],
) -> dict[str, Any]:
    following = next_leg.get(leg[LEG["id"]])
    previous_id = leg[LEG["handoff_from_leg_id"]]
    previous = legs_by_id.get(previous_id) if previous_id else None
    role = "last_mile" if previous else "first_mile" if following else "only"
    name, explanation = _names(leg[LEG["carrier"]], leg[LEG["status"]])
    return {
        "id": leg[LEG["id"]],
        "sequence": leg[LEG["sequence"]],
        "carrier": leg[LEG["carrier"]],
        "carrier_name": name,
        "tracking_number": leg[LEG["tracking_number"]],
        "service": leg[LEG["service"]],
        "source": leg[LEG["source"]],
        "hands_off_to": following[LEG["tracking_number"]] if following else None,
        "handed_off_from": previous[LEG["tracking_number"]] if previous else None,
        "role": role,
        "status": leg[LEG["status"]],
        "status_explanation": explanation,
        "last_event_at": instant(leg[LEG["last_event_at"]]),
        "last_polled_at": instant(leg[LEG["last_polled_at"]]),
        "last_successful_poll_at": instant(leg[LEG["last_successful_poll_at"]]),
        "next_poll_at": instant(leg[LEG["next_poll_at"]]),
        "active": leg[LEG["active"]],
        "partner_numbers": partner_numbers,
    }


def _event(event: Row, leg: Row) -> dict[str, Any]:
    occurred_at: datetime = event[EVT["occurred_at"]]
    local = occurred_at.astimezone(_offset(event[EVT["utc_offset_minutes"]]))
    parts = (
        event[EVT["location_city"]],
        event[EVT["location_state"]],
        event[EVT["location_country"]],
    )
    location = ", ".join(p for p in parts if p)
    return {
        "occurred_at": instant(occurred_at),
        "local_time": local.isoformat(),
        "carrier": leg[LEG["carrier"]],
        "tracking_number": leg[LEG["tracking_number"]],
        "status": event[EVT["status"]],
        "carrier_code": event[EVT["carrier_code"]],
        "description": event[EVT["description"]],
        "location": location or None,
    }


def _alert(alert: Row) -> dict[str, Any]:
    return {
        "id": alert[ALR["id"]],
        "rule": alert[ALR["rule"]],
        "severity": alert[ALR["severity"]],
        "status": alert[ALR["status"]],
        "carrier": alert[ALR["carrier"]],
        "tracking_number": alert[ALR["tracking_number"]],
        "opened_at": instant(alert[ALR["opened_at"]]),
        "explanation": alert[ALR["explanation"]],
        "recommended_action": alert[ALR["recommended_action"]],
    }


def _plan(plan: Row) -> dict[str, Any]:
    return {
        "rule": plan[PLN["rule"]],
        "severity": plan[PLN["severity"]],
        "carrier": plan[PLN["carrier"]],
        "tracking_number": plan[PLN["tracking_number"]],
        "due_at": instant(plan[PLN["due_at"]]),
        "explanation": plan[PLN["explanation"]],
        "recommended_action": plan[PLN["recommended_action"]],
    }
