from __future__ import annotations

import json

from sqlalchemy import func, select

from app.shipments.models import Leg, Order
from tests.factories import fedex_number, ups_number, usps_number

HEADER = (
    "order_number,tracking_number,carrier,label_created_at,"
    "last_mile_carrier,last_mile_tracking_number\n"
)


async def count(session, model) -> int:
    return (await session.execute(select(func.count()).select_from(model))).scalar_one()


async def post_csv(client, auth, text: str):
    return await client.post(
        "/v1/imports",
        content=text.encode(),
        headers={**auth("ingest"), "Content-Type": "text/csv; charset=utf-8"},
    )


async def test_csv_stores_good_rows_and_reports_each_bad_row_with_its_line(client, auth, session):
    good_1, good_2 = ups_number(), fedex_number()
    bad_check = good_1[:-1] + str((int(good_1[-1]) + 3) % 10)
    text = (
        HEADER
        + f"IMP-1,{good_1},ups,2026-12-16T10:00:00Z,,\n"
        + f"IMP-2,{bad_check},ups,2026-12-16T10:00:00Z,,\n"
        + f"IMP-3,{good_2},fedex,not-a-date,,\n"
        + f"IMP-4,{good_2},fedex,2026-12-16T10:00:00Z,usps,{usps_number()}\n"
    )

    response = await post_csv(client, auth, text)

    assert response.status_code == 200, response.text
    report = response.json()
    assert (report["rows"], report["stored"], report["unchanged"]) == (4, 2, 0)
    assert [(e["line"], e["field"]) for e in report["rejected"]] == [
        (3, "tracking_number"),
        (4, "label_created_at"),
    ]
    assert "check digit" in report["rejected"][0]["reason"]
    assert await count(session, Order) == 2
    assert await count(session, Leg) == 3


async def test_a_row_whose_last_mile_is_bad_stores_none_of_its_parts(client, auth, session):
    text = (
        HEADER
        + f"IMP-9,{ups_number()},ups,2026-12-16T10:00:00Z,usps,123\n"
        + (f"IMP-10,{ups_number()},ups,2026-12-16T10:00:00Z,,\n")
    )

    response = await post_csv(client, auth, text)

    report = response.json()
    assert report["rejected"][0]["line"] == 2
    assert report["rejected"][0]["field"] == "last_mile_tracking_number"
    orders = (await session.execute(select(Order.order_number))).scalars().all()
    assert orders == ["IMP-10"]


async def test_a_row_that_conflicts_with_another_order_is_rejected_alone(client, auth, session):
    number = ups_number()
    text = (
        HEADER
        + f"IMP-20,{number},ups,2026-12-16T10:00:00Z,,\n"
        + f"IMP-21,{number},ups,2026-12-16T11:00:00Z,,\n"
    )

    response = await post_csv(client, auth, text)

    report = response.json()
    assert report["stored"] == 1
    assert report["rejected"][0]["line"] == 3
    assert "IMP-20" in report["rejected"][0]["reason"]


async def test_importing_the_same_file_twice_stores_nothing_new(client, auth, session):
    text = HEADER + f"IMP-30,{ups_number()},ups,2026-12-16T10:00:00Z,,\n"

    await post_csv(client, auth, text)
    again = (await post_csv(client, auth, text)).json()

    assert (again["stored"], again["unchanged"]) == (0, 1)
    assert await count(session, Leg) == 1


async def test_ndjson_rows_are_imported_and_bad_lines_reported(client, auth, session):
    lines = [
        json.dumps(
            {
                "order_number": "ND-1",
                "tracking_number": ups_number(),
                "label_created_at": "2026-12-16T10:00:00+01:00",
            }
        ),
        "",
        "{not json",
        json.dumps(["a list"]),
        json.dumps({"order_number": "ND-2", "tracking_number": ups_number()}),
    ]

    response = await client.post(
        "/v1/imports",
        content="\n".join(lines).encode(),
        headers={**auth("ingest"), "Content-Type": "application/x-ndjson"},
    )

    report = response.json()
    assert report["stored"] == 1
    assert [(e["line"], e["field"]) for e in report["rejected"]] == [
        (3, "line"),
        (4, "line"),
        (5, "label_created_at"),
    ]
    assert report["rejected"][2]["reason"] == "is required"


async def test_a_file_with_only_bad_rows_is_422_listing_them(client, auth):
    response = await post_csv(client, auth, HEADER + "X-1,123,ups,2026-12-16T10:00:00Z,,\n")

    assert response.status_code == 422
    assert response.json()["errors"][0]["field"].startswith("line 2")


async def test_a_csv_without_required_columns_is_422_naming_them(client, auth):
    response = await post_csv(client, auth, "order_number,carrier\nA,ups\n")

    assert response.status_code == 422
    assert "tracking_number" in response.json()["detail"]
    assert "label_created_at" in response.json()["detail"]


async def test_an_unsupported_media_type_is_415(client, auth):
    response = await client.post(
        "/v1/imports", content=b"<xml/>", headers={**auth("ingest"), "Content-Type": "text/xml"}
    )

    assert response.status_code == 415
    assert "text/xml" in response.json()["detail"]


async def test_a_year_1_label_date_is_rejected_with_its_line_and_the_other_rows_stored(
    client, auth, session
):
    text = (
        HEADER
        + f"Y1-1,{ups_number()},ups,2026-12-16T10:00:00Z,,\n"
        + f"Y1-2,{ups_number()},ups,0001-01-01T00:00:00Z,,\n"
        + f"Y1-3,{ups_number()},ups,2026-12-16T10:00:00Z,,\n"
    )

    response = await post_csv(client, auth, text)

    assert response.status_code == 200, response.text
    report = response.json()
    assert (report["stored"], [e["line"] for e in report["rejected"]]) == (2, [3])
    orders = (await session.execute(select(Order.order_number))).scalars().all()
    assert sorted(orders) == ["Y1-1", "Y1-3"]


async def test_an_ndjson_line_nested_100000_levels_deep_is_that_lines_error(client, auth, session):
    row = {"order_number": "DEEP-1", "tracking_number": ups_number()}
    lines = [
        json.dumps({**row, "label_created_at": "2026-12-16T10:00:00Z"}),
        "[" * 100_000 + "]" * 100_000,
        '{"a":' * 30_000 + "1" + "}" * 30_000,
    ]

    response = await client.post(
        "/v1/imports",
        content="\n".join(lines).encode(),
        headers={**auth("ingest"), "Content-Type": "application/x-ndjson"},
    )

    assert response.status_code == 200, response.text
    report = response.json()
    assert report["stored"] == 1
    assert [(e["line"], e["field"]) for e in report["rejected"]] == [(2, "line"), (3, "line")]
    assert all("nested too deeply" in e["reason"] for e in report["rejected"])
