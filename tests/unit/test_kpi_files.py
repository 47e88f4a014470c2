"""Reading XLSX measurement files: calamine (in memory, small sheets) and openpyxl's
streaming reader (bounded memory, large sheets) give the same text cells and the same
sheet row numbers; the header is the first non-empty row."""

from __future__ import annotations

import io
from datetime import datetime

import pandas as pd
import pytest
import xlsxwriter

from programme.kpis import importing
from programme.kpis.importing import count_rows, headers, iter_chunks

LONG = {"site": "site", "kpi": "kpi", "date": "date", "value": "value", "n": "n"}


@pytest.fixture(autouse=True)
def _request(app):
    with app.test_request_context(headers={"Accept-Language": "en"}):
        yield


def awkward_workbook() -> bytes:
    """Two empty rows and an empty column A before the header (sheet row 3), a repeated
    and a blank header cell, typed cells (a date-time, whole and decimal numbers), text
    with a decimal comma, and an empty row between data rows."""
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True})
    sheet = book.add_worksheet()
    day = book.add_format({"num_format": "yyyy-mm-dd"})
    sheet.write_row(2, 1, ["site", "kpi", "date", "value", "n", "n", None, "note"])
    sheet.write_row(3, 1, ["BRE-001", "WAIT", "2025-03-03", 7.5, 120])
    sheet.write_string(4, 1, "BRE-001")
    sheet.write_string(4, 2, "WAIT")
    sheet.write_datetime(4, 3, datetime(2025, 3, 4), day)
    sheet.write_number(4, 4, 8.0)
    sheet.write_number(4, 5, 120.0)
    sheet.write_row(6, 1, ["BRE-002", "CONV", "05/03/2025", "0,25", 12, 3, None, "late"])
    book.close()
    return buffer.getvalue()


EXPECTED = [
    {"line": 4, "site": "BRE-001", "kpi": "WAIT", "date": "2025-03-03", "value": "7.5", "n": "120"},
    {"line": 5, "site": "BRE-001", "kpi": "WAIT", "date": "2025-03-04", "value": "8", "n": "120"},
    {"line": 7, "site": "BRE-002", "kpi": "CONV", "date": "05/03/2025", "value": "0,25", "n": "12"},
]  # fmt: skip


def _rows(data: bytes, chunksize: int) -> list[dict]:
    frame = pd.concat(list(iter_chunks("export.xlsx", data, "long", LONG, chunksize)))
    return [
        {key: (int(row[key]) if key == "line" else row[key]) for key in EXPECTED[0]}
        for row in frame.to_dict("records")
    ]


@pytest.mark.parametrize("reader", ["calamine", "streaming"])
def test_both_readers_give_the_same_cells_and_sheet_row_numbers(monkeypatch, reader):
    if reader == "streaming":
        monkeypatch.setattr(importing, "XLSX_IN_MEMORY_BYTES", 0)
    data = awkward_workbook()
    assert _rows(data, chunksize=2) == EXPECTED
    assert _rows(data, chunksize=50_000) == EXPECTED
    assert headers("export.xlsx", data) == [
        "Unnamed: 0", "site", "kpi", "date", "value", "n", "n.1", "Unnamed: 7", "note",
    ]  # fmt: skip


def test_the_streaming_reader_is_used_above_the_threshold(monkeypatch):
    """Above the threshold calamine is never called (it would hold the whole sheet)."""
    import python_calamine

    def refuse(*args, **kwargs):
        raise AssertionError("calamine used for a large sheet")

    monkeypatch.setattr(importing, "XLSX_IN_MEMORY_BYTES", 0)
    monkeypatch.setattr(python_calamine.CalamineWorkbook, "from_filelike", refuse)
    assert _rows(awkward_workbook(), chunksize=2) == EXPECTED


def test_a_wrong_dimension_does_not_cut_the_sheet_short(monkeypatch):
    """Some tools write <dimension ref="A1"/> whatever the sheet holds: every row is read."""
    import re
    import zipfile

    monkeypatch.setattr(importing, "XLSX_IN_MEMORY_BYTES", 0)
    original = zipfile.ZipFile(io.BytesIO(awkward_workbook()))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as copy:
        for info in original.infolist():
            content = original.read(info)
            if info.filename.startswith("xl/worksheets/"):
                content, count = re.subn(
                    rb'<dimension ref="[^"]+"/>', b'<dimension ref="A1"/>', content
                )
                assert count == 1
            copy.writestr(info, content)
    assert _rows(buffer.getvalue(), chunksize=2) == EXPECTED


def test_an_empty_workbook_has_no_header():
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True})
    book.add_worksheet()
    book.close()
    with pytest.raises(importing.FileRejected, match="must name the columns"):
        headers("export.xlsx", buffer.getvalue())


def test_row_counts_for_the_progress_bar():
    assert count_rows("export.xlsx", awkward_workbook()) == 7  # the sheet's last row
    assert count_rows("export.csv", b"site,kpi\nA,B\nC,D\n") == 3
    assert count_rows("export.xlsx", b"PK not really a zip") == 0
