import csv
import io
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import StrEnum

import pytest
from lathe_common.csv_export import cell, csv_response


class Colour(StrEnum):
    RED = "RED"


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (None, ""),
        (True, "true"),
        (Decimal("1.2300"), "1.2300"),
        (Decimal("1E+3"), "1000"),
        (datetime(2026, 11, 30, 8, 0, tzinfo=UTC), "2026-11-30T08:00:00+00:00"),
        (date(2026, 1, 2), "2026-01-02"),
        (Colour.RED, "RED"),
        ('=HYPERLINK("http://evil")', '\'=HYPERLINK("http://evil")'),
        ("+1+1", "'+1+1"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tcmd", "'\tcmd"),
        ("-5", "-5"),  # a negative number stays a number
        ("-x", "'-x"),
        ("plain, with comma", "plain, with comma"),
    ],
)
def test_cells_are_text_and_never_formulas(value, text):
    assert cell(value) == text


async def test_the_answer_streams_rows_a_spreadsheet_reads_back():
    async def rows():
        for n in range(1201):
            yield [n, f"line {n}, with a comma", Decimal("0.10")]

    response = csv_response(["n", "text", "amount"], rows(), filename="x.csv")
    assert response.media_type == "text/csv; charset=utf-8"
    assert response.headers["content-disposition"] == 'attachment; filename="x.csv"'
    chunks = [chunk async for chunk in response.body_iterator]
    assert len(chunks) >= 3  # written as it goes, not at once
    parsed = list(csv.reader(io.StringIO("".join(chunks))))
    assert parsed[0] == ["n", "text", "amount"] and len(parsed) == 1202
    assert parsed[-1] == ["1200", "line 1200, with a comma", "0.10"]
