from __future__ import annotations

import io
import json

import pytest

from app.errors import InvalidInput
from app.shipments import imports
from app.shipments.imports import ImportRow, ImportTally, ValidRow
from app.shipments.schemas import ImportRowError

HEADER = "order_number,tracking_number,label_created_at\n"
ROW = {"order_number": "A-1", "tracking_number": "1Z", "label_created_at": "2026-12-16T10:00Z"}


def ndjson_rows(*lines: str | bytes) -> list[imports.ParsedRow]:
    body = b"\n".join(line.encode() if isinstance(line, str) else line for line in lines)
    return list(imports.parse_file(io.BytesIO(body), "ndjson"))


def csv_rows(text: str | bytes) -> list[imports.ParsedRow]:
    body = text.encode() if isinstance(text, str) else text
    return list(imports.parse_file(io.BytesIO(body), "csv"))


def test_a_line_nested_100000_levels_deep_is_that_lines_error_and_the_next_line_is_read():
    rows = ndjson_rows(json.dumps(ROW), "[" * 100_000 + "]" * 100_000, json.dumps(ROW))

    assert rows[0] == ImportRow(1, ROW)
    assert isinstance(rows[1], ImportRowError)
    assert (rows[1].line, rows[1].field) == (2, "line")
    assert "nested too deeply" in rows[1].reason
    assert rows[2] == ImportRow(3, ROW)


def test_an_object_nested_five_levels_is_refused_before_parsing():
    deep = {"order_number": {"a": {"b": {"c": {"d": 1}}}}}

    (row,) = ndjson_rows(json.dumps(deep))

    assert isinstance(row, ImportRowError)
    assert "nested too deeply" in row.reason


def test_brackets_inside_strings_do_not_count_as_nesting():
    data = {**ROW, "order_number": '[[[[[[{{{{{"\\"'}

    assert ndjson_rows(json.dumps(data)) == [ImportRow(1, data)]


def test_a_row_with_a_last_mile_object_is_within_the_nesting_limit():
    data = {**ROW, "last_mile": {"carrier": "usps", "tracking_number": "9400"}}

    assert ndjson_rows(json.dumps(data)) == [ImportRow(1, data)]


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("{not json", "is not valid JSON"),
        ('{"order_number": ' + "9" * 5000 + "}", "is not valid JSON"),
        ('["a list"]', "is not a JSON object"),
        (b'{"order_number": "\xff"}', "is not UTF-8 text (byte 19 of the line)"),
    ],
)
def test_a_line_that_is_not_a_json_object_is_its_own_error(line, reason):
    rows = ndjson_rows(json.dumps(ROW), line, "", json.dumps(ROW))

    assert [type(r) for r in rows] == [ImportRow, ImportRowError, ImportRow]
    assert rows[1].line == 2
    assert reason in rows[1].reason  # type: ignore[union-attr]
    assert rows[2].line == 4


def test_a_line_over_the_limit_is_dropped_unread_and_the_lines_after_it_keep_their_numbers():
    huge = '{"order_number": "' + "x" * (imports.MAX_LINE_BYTES * 2) + '"}'

    rows = ndjson_rows(huge, json.dumps(ROW))

    assert isinstance(rows[0], ImportRowError)
    assert "longer than" in rows[0].reason
    assert rows[1] == ImportRow(2, ROW)


def test_a_line_of_exactly_the_limit_is_read():
    body = b"x" * imports.MAX_LINE_BYTES + b"\n" + b"y\n"

    lines = list(imports.read_lines(io.BytesIO(body)))

    assert [(n, len(line or b"")) for n, line in lines] == [(1, imports.MAX_LINE_BYTES + 1), (2, 2)]


def test_csv_rows_carry_the_line_their_record_starts_on_and_a_byte_order_mark_is_ignored():
    text = "\ufeff" + HEADER + 'A-1,"1Z\n2",2026-12-16T10:00Z\n\nA-2,1Z,2026-12-16T10:00Z\n'

    rows = csv_rows(text)

    assert [(r.line, r.data["order_number"]) for r in rows] == [(2, "A-1"), (5, "A-2")]  # type: ignore[union-attr]


def test_a_csv_record_with_more_fields_than_the_header_is_its_own_error():
    rows = csv_rows(HEADER + "A-1,1Z,2026,extra\nA-2,1Z,2026\n")

    assert rows[0] == ImportRowError(line=2, field="line", reason="has more fields than the header")
    assert rows[1] == ImportRow(
        3, {"order_number": "A-2", "tracking_number": "1Z", "label_created_at": "2026"}
    )


@pytest.mark.parametrize(
    ("tail", "field", "reason"),
    [
        ('A-9,"1Z' + "x" * 200_000 + '",2026\n', "line 4", "unreadable CSV"),
        (b"A-9,1Z\xff,2026\n", "line 4", "is not UTF-8 text"),
    ],
)
def test_a_csv_that_breaks_mid_file_is_refused_before_any_row_is_read(tail, field, reason):
    good = HEADER + "A-1,1Z,2026\nA-2,1Z,2026\n"
    body = good.encode() + (tail.encode() if isinstance(tail, str) else tail)

    with pytest.raises(InvalidInput) as refused:
        imports.parse_file(io.BytesIO(body), "csv")

    assert refused.value.errors[0].field == field
    assert reason in refused.value.errors[0].reason


def test_the_tally_lists_the_first_rejections_and_counts_the_rest():
    tally = ImportTally(listed_limit=3)
    chunk = [ImportRowError(line=n, field="line", reason="bad") for n in range(2, 7)]

    tally.add_chunk(chunk, imports.ChunkOutcome())
    tally.add_chunk(chunk[:1], imports.ChunkOutcome())

    assert [e.line for e in tally.rejected] == [2, 3, 4]
    assert (tally.rows, tally.rejected_total, tally.through_line) == (6, 6, 2)


def test_a_row_whose_validation_raises_unexpectedly_is_that_rows_error(monkeypatch):
    def explode(data):
        raise RecursionError("maximum recursion depth exceeded")

    monkeypatch.setattr(imports, "build_order_from_row", explode)

    error = imports.validate_row(ImportRow(7, ROW))

    assert isinstance(error, ImportRowError)
    assert (error.line, error.field) == (7, "row")
    assert "RecursionError" in error.reason


def test_a_valid_row_becomes_an_order_with_one_shipment():
    row = imports.validate_row(ImportRow(2, {**ROW, "tracking_number": "1Z999AA10123456784"}))

    assert isinstance(row, ValidRow)
    assert row.order.order_number == "A-1"
    assert row.order.shipments[0].tracking_number == "1Z999AA10123456784"
