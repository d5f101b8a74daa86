from __future__ import annotations

from datetime import UTC, datetime

from app.errors import FieldError
from app.shipments.labels import CheckedNumber, check_number, check_shipments
from app.shipments.schemas import ShipmentCreate
from tests.factories import economy_number, ups_number, usps_number

NOW = datetime(2026, 12, 17, 12, tzinfo=UTC)


def test_a_named_carrier_with_a_valid_number_is_accepted_normalized():
    number = ups_number()

    assert check_number("ups", number.lower(), field="s") == CheckedNumber("ups", number)


def test_a_number_of_another_carrier_is_refused_for_the_named_one():
    result = check_number("ups", usps_number(), field="s")

    assert isinstance(result, FieldError)
    assert result.field == "s.tracking_number"
    assert "UPS" in result.reason


def test_an_ambiguous_number_names_every_candidate():
    result = check_number(None, economy_number(), field="s")

    assert isinstance(result, FieldError)
    assert result.reason.endswith("could be a usps or a fedex number; name the carrier")


def test_the_same_number_twice_in_one_request_is_refused():
    number = ups_number()
    shipment = ShipmentCreate(tracking_number=number, label_created_at=NOW)

    result = check_shipments([shipment, shipment], field="shipments", now=NOW)

    assert result == [
        FieldError("shipments[1].tracking_number", "repeats the number in shipments[0]")
    ]


def test_a_last_mile_equal_to_the_first_leg_is_refused():
    number = ups_number()
    shipment = ShipmentCreate.model_validate(
        {
            "tracking_number": number,
            "label_created_at": NOW,
            "last_mile": {"carrier": "ups", "tracking_number": number},
        }
    )

    result = check_shipments([shipment], field="shipments", now=NOW)

    assert result == [
        FieldError(
            "shipments[0].last_mile.tracking_number", "is the same as the first leg's number"
        )
    ]
