"""Reading measurement files (CSV, XLSX) into standard chunks for the intake pipeline.

Two layouts, as exported by queue-management systems, telephony (ACD) and survey tools:
- long: one measurement per row — site, KPI, date, value, n (and optionally source);
- wide: one row per site and date, one column per KPI, plus `n` (shared) or `n_<KPI>`.

CSV is read in chunks (bounded memory). XLSX too, row by row: through calamine (fast, but
it holds the whole sheet in memory) up to XLSX_IN_MEMORY_BYTES of sheet XML, through our
streaming reader beyond (openpyxl's cell parser on an iterparse loop that drops every row
once read: openpyxl's own read-only mode keeps a dict entry per styled row, +620 MB for a
million empty styled rows). Before any of that, the archive is checked (programme.uploads:
sheet and shared-strings sizes, compression ratio) and rows are capped (IMPORT_MAX_ROWS).
The column headers (the mapping page) are read from the first rows only. A workbook with
formulas is refused (paste values only); cells are read as text the same way by both
readers. The header is the first non-empty row and each row keeps its sheet row number.
UTF-8 with or without BOM and Windows-1252 are accepted; anything else (UTF-16 ...) is
refused with a clear message.
"""

from __future__ import annotations

import codecs
import io
import re
import zipfile
from collections.abc import Iterable, Iterator
from datetime import date, datetime, time
from typing import Any

import numpy as np
import pandas as pd
from flask_babel import gettext as _

from programme import uploads
from programme.network.importing import header_index, map_columns
from programme.network.services import fold

ALLOWED_EXTENSIONS = (".csv", ".xlsx")
CHUNK_ROWS = 50_000
# Sheet XML (uncompressed) up to which an XLSX sheet is read by calamine, in memory: calamine
# holds about 1.7 bytes per byte of sheet XML (≈ 55 MB here, ≈ 130,000 rows of 5 columns).
XLSX_IN_MEMORY_BYTES = 32 * 1024 * 1024
LONG_FIELDS = ("site", "kpi", "date", "value", "n")
OPTIONAL_FIELDS = ("source",)

HEADER_ALIASES = {
    "site": ["site", "site code", "site_code", "code site", "code_site", "code agence", "agence"],
    "kpi": ["kpi", "kpi code", "kpi_code", "indicateur", "code indicateur", "metric", "kpi_id"],
    "date": ["date", "day", "jour", "period", "periode", "date de mesure", "period_date"],
    "value": ["value", "valeur", "mesure", "resultat"],
    "n": ["n", "sample", "sample size", "sample_size", "effectif", "volume", "nb", "contacts"],
    "source": ["source", "systeme source"],
}
_HEADERS = header_index(HEADER_ALIASES)


class FileRejected(ValueError):
    """The file as a whole cannot be read; the message says why. `status`: 413 when it is
    too large to be read, else None (the view picks 415 or 422)."""

    def __init__(self, message: str, status: int | None = None):
        super().__init__(message)
        self.status = status


# Cells held in one chunk at most (rows x columns), whatever the sheet's width.
CHUNK_CELLS = 2_000_000


def check_file(filename: str, data: bytes) -> str:
    """'csv' or 'xlsx', or FileRejected."""
    name = (filename or "").lower()
    if not name.endswith(ALLOWED_EXTENSIONS):
        raise FileRejected(_("Upload a .csv or .xlsx file."))
    if not data:
        raise FileRejected(_("The file is empty."))
    if name.endswith(".xlsx"):
        if not data.startswith(b"PK"):
            raise FileRejected(_("This file is not a valid XLSX workbook."))
        try:
            uploads.check_xlsx(data)
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                for info in archive.infolist():
                    if info.filename.startswith("xl/worksheets/") and info.filename.endswith(
                        ".xml"
                    ):
                        with archive.open(info) as sheet:
                            if _has_formula(sheet):
                                raise FileRejected(
                                    _(
                                        "The workbook contains formulas. Copy the cells and "
                                        "paste them as values, then upload it again."
                                    )
                                )
        except uploads.UploadRejected as rejected:
            raise FileRejected(str(rejected), status=413) from None
        except zipfile.BadZipFile:
            raise FileRejected(_("This file is not a valid XLSX workbook.")) from None
        return "xlsx"
    csv_encoding(data)
    try:
        uploads.check_rows(count_lines(data) - 1)
    except uploads.UploadRejected as rejected:
        raise FileRejected(str(rejected), status=413) from None
    return "csv"


def _has_formula(stream) -> bool:
    tail = b""
    while block := stream.read(1 << 20):
        chunk = tail + block
        if b"<f>" in chunk or b"<f " in chunk:
            return True
        tail = chunk[-3:]
    return False


def csv_encoding(data: bytes) -> str:
    """'utf-8-sig' or 'cp1252', checked over the whole file without copying it."""
    if b"\x00" in data:
        raise FileRejected(
            _(
                "The file is not encoded in UTF-8 or Windows-1252 (it looks like UTF-16). "
                "Save it as “CSV UTF-8” and try again."
            )
        )
    for encoding in ("utf-8-sig", "cp1252"):
        decoder = codecs.getincrementaldecoder(encoding)()
        try:
            view = memoryview(data)
            for start in range(0, len(data), 1 << 20):
                decoder.decode(view[start : start + (1 << 20)])
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            continue
        return encoding
    raise FileRejected(
        _("The file is not encoded in UTF-8 or Windows-1252. Save it as “CSV UTF-8” and try again.")
    )


def _file_encoding(path: str) -> str:
    """csv_encoding for a file on disk, read 1 MB at a time."""
    for encoding in ("utf-8-sig", "cp1252"):
        decoder = codecs.getincrementaldecoder(encoding)()
        try:
            with open(path, "rb") as fh:
                while block := fh.read(1 << 20):
                    decoder.decode(block)
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            continue
        return encoding
    return "utf-8-sig"  # checked at upload already; the reader reports what it cannot read


def _delimiter(first_line: str) -> str:
    counts = {sep: first_line.count(sep) for sep in (",", ";", "\t")}
    return max(counts, key=counts.get) if any(counts.values()) else ","


def _first_line(data: bytes, encoding: str) -> str:
    head = data[:65536].split(b"\n", 1)[0]
    return head.decode(encoding, errors="replace").lstrip("\ufeff")


def headers(filename: str, data: bytes) -> list[str]:
    """The column names of an uploaded file, after check_file."""
    check_file(filename, data)
    return read_headers(filename, data)


def read_headers(filename: str, data: bytes | str) -> list[str]:
    """The column names of a checked file (bytes or path), from its first rows only."""
    kind = "xlsx" if filename.lower().endswith(".xlsx") else "csv"
    try:
        if kind == "xlsx":
            # Only the first rows are read (never the whole sheet for a header).
            _line, names = next(_xlsx_tables(data, 1, streaming=True), (0, []))
            frame = pd.DataFrame(columns=names)
        else:
            if isinstance(data, bytes):
                encoding, head = csv_encoding(data), data[:65536]
            else:
                with open(data, "rb") as fh:
                    head = fh.read(65536)
                encoding = _file_encoding(data)
            frame = pd.read_csv(
                io.BytesIO(data) if isinstance(data, bytes) else data,
                sep=_delimiter(_first_line(head, encoding)),
                dtype=str,
                nrows=0,
                encoding=encoding,
            )
    except Exception as error:  # pandas and calamine raise many kinds
        raise FileRejected(
            _("The file could not be read: %(reason)s", reason=str(error)[:200])
        ) from None
    names = [str(c).strip() for c in frame.columns]
    if not names or all(not n or n.startswith("Unnamed") for n in names):
        raise FileRejected(_("The first line must name the columns."))
    return names


def guess_mapping(names: list[str], kpi_codes: list[str]) -> tuple[str, dict[str, Any]] | None:
    """(layout, columns) from the headers alone, or None when a person must map them."""
    found = map_columns(names, _HEADERS)
    if all(key in found for key in LONG_FIELDS):
        return "long", {key: found[key] for key in (*LONG_FIELDS, *OPTIONAL_FIELDS) if key in found}
    codes = {fold(code): code for code in kpi_codes}
    kpis, n_kpis = {}, {}
    for name in names:
        folded = fold(name)
        if folded in codes:
            kpis[codes[folded]] = name
            continue
        match = re.fullmatch(r"n(\w+)|(\w+?)n", folded)
        if match:
            code = codes.get(match.group(1) or match.group(2) or "")
            if code:
                n_kpis[code] = name
    if "site" in found and "date" in found and kpis:
        columns: dict[str, Any] = {"site": found["site"], "date": found["date"], "kpis": kpis}
        if "n" in found:
            columns["n"] = found["n"]
        if n_kpis:
            columns["n_kpis"] = n_kpis
        if "n" in columns or all(code in n_kpis for code in kpis):
            return "wide", columns
    return None


def mapping_problems(layout: str, columns: dict[str, Any], names: list[str]) -> list[str]:
    """What is missing or unknown in a mapping, as messages ([] when usable)."""
    present = set(names)
    problems = []
    if layout == "long":
        for key in LONG_FIELDS:
            if not columns.get(key):
                problems.append(_("Choose the column for %(field)s.", field=key))
    elif layout == "wide":
        for key in ("site", "date"):
            if not columns.get(key):
                problems.append(_("Choose the column for %(field)s.", field=key))
        if not columns.get("kpis"):
            problems.append(_("Choose at least one KPI column."))
        n_kpis = columns.get("n_kpis") or {}
        if not columns.get("n") and not all(code in n_kpis for code in columns.get("kpis") or {}):
            problems.append(_("Choose the column for n."))
    else:
        problems.append(_("Choose the layout of the file."))
    used = [columns.get(k) for k in ("site", "kpi", "date", "value", "n", "source")]
    used += list((columns.get("kpis") or {}).values()) + list(
        (columns.get("n_kpis") or {}).values()
    )
    for name in used:
        if name and name not in present:
            problems.append(_("The file has no column “%(name)s”.", name=name))
    return problems


def count_lines(data: bytes) -> int:
    return max(1, data.count(b"\n"))


_DIMENSION = re.compile(rb'<dimension ref="[A-Z]+\d+:[A-Z]+(\d+)"')


def count_rows(filename: str, data: bytes | str) -> int:
    """About how many rows the file has, for a progress bar (0: unknown), from its bytes or
    its path. XLSX: the sheet's own <dimension> (the largest sheet), read from the head of
    its XML."""
    if not filename.lower().endswith(".xlsx"):
        if isinstance(data, bytes):
            return count_lines(data)
        lines = 0
        with open(data, "rb") as fh:
            while block := fh.read(1 << 20):
                lines += block.count(b"\n")
        return max(1, lines)
    try:
        with zipfile.ZipFile(io.BytesIO(data) if isinstance(data, bytes) else data) as archive:
            sheets = [i for i in archive.infolist() if i.filename.startswith("xl/worksheets/")]
            if not sheets:
                return 0
            with archive.open(max(sheets, key=lambda i: i.file_size)) as sheet:
                found = _DIMENSION.search(sheet.read(4096))
    except (zipfile.BadZipFile, OSError):
        return 0
    return int(found.group(1)) if found else 0


def _cell_text(value: Any) -> str:
    """An XLSX cell as text, whichever reader read it: whole numbers without ".0", dates
    as ISO (calamine reads a date cell as a date, openpyxl as a date-time at midnight)."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, datetime):  # a date cell, as openpyxl reads it
        return value.date().isoformat() if value.time() == time() else value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _header_names(cells: list[str]) -> list[str]:
    """Column names as pandas gives them: "Unnamed: i" for a blank one, "n.1" for a repeat."""
    names, seen = [], {}
    for position, cell in enumerate(cells):
        name = cell.strip() or f"Unnamed: {position}"
        count = seen.get(name, 0)
        seen[name] = count + 1
        names.append(name if count == 0 else f"{name}.{count}")
    return names


def _xlsx_rows(source: bytes | str, streaming: bool = False) -> Iterator[list[Any]]:
    """The first sheet's rows from sheet row 1 and column A, as lists of cell values."""
    data = source if isinstance(source, bytes) else None
    with zipfile.ZipFile(io.BytesIO(data) if data is not None else source) as archive:
        sheet_xml = max(
            (i.file_size for i in archive.infolist() if i.filename.startswith("xl/worksheets/")),
            default=0,
        )
    if (
        streaming
        or sheet_xml > XLSX_IN_MEMORY_BYTES
        or not uploads.fits_in_memory(data if data is not None else source)
    ):
        yield from _streamed_rows(io.BytesIO(data) if data is not None else source)
        return
    from python_calamine import CalamineWorkbook

    book = (
        CalamineWorkbook.from_filelike(io.BytesIO(data))
        if data is not None
        else CalamineWorkbook.from_path(source)
    )
    try:
        sheet = book.get_sheet_by_index(0)
        padding = [None] * sheet.start[1] if sheet.start else []
        for row in sheet.iter_rows():  # from row 1, but from the first used column
            yield padding + row
    finally:
        book.close()


def _streamed_rows(source) -> Iterator[list[Any]]:
    """The first sheet's rows, streamed: openpyxl reads the workbook's parts (shared
    strings, styles for dates) and parses each cell, but the loop over the sheet's XML is
    ours: each row is dropped once read, and nothing is kept per row (openpyxl's read-only
    worksheet keeps row dimensions and every cleared <row> element). Missing rows come out
    empty, so rows keep their sheet numbers, to the last row there is, whatever the
    sheet's <dimension> claims."""
    from openpyxl import load_workbook
    from openpyxl.worksheet._reader import WorkSheetParser
    from openpyxl.xml.constants import SHEET_MAIN_NS
    from openpyxl.xml.functions import iterparse

    row_tag, cell_tag = f"{{{SHEET_MAIN_NS}}}row", f"{{{SHEET_MAIN_NS}}}c"
    book = load_workbook(source, read_only=True, data_only=True)
    try:
        worksheet = book.worksheets[0]
        parser = WorkSheetParser(
            None,
            worksheet._shared_strings,
            data_only=True,
            epoch=book.epoch,
            date_formats=book._date_formats,
            timedelta_formats=book._timedelta_formats,
        )
        expected = 1
        with book._archive.open(worksheet._worksheet_path) as xml:
            depth, parents = 0, []
            for event, element in iterparse(xml, events=("start", "end")):
                if event == "start":
                    depth += 1
                    if depth <= 2:
                        parents.append(element)
                    continue
                depth -= 1
                if element.tag == row_tag and depth == 2:
                    number = element.get("r")
                    number = int(float(number)) if number else expected
                    parser.row_counter, parser.col_counter = number, 0
                    cells = [parser.parse_cell(c) for c in element if c.tag == cell_tag]
                    parents[-1].clear()  # <sheetData>: drop the row just read
                    while expected < number:
                        yield []
                        expected += 1
                    row: list[Any] = [None] * (max((c["column"] for c in cells), default=0))
                    for cell in cells:
                        row[cell["column"] - 1] = cell["value"]
                    yield row
                    expected = number + 1
                elif depth <= 2:
                    if depth == 1:
                        parents[0].clear()  # a whole part of the sheet read: drop it
                    if len(parents) > depth:
                        parents.pop()
    finally:
        book.close()


def _xlsx_tables(
    source: bytes | str, chunksize: int, streaming: bool = False
) -> Iterator[tuple[int, Any]]:
    """(sheet row of the header, column names), then (sheet row of the chunk's first row,
    DataFrame of text) per chunk of `chunksize` rows. Empty rows before the header are
    skipped; later ones are kept (as in a CSV file), so rows keep their sheet numbers.
    Blank header cells after the last named column are dropped (and their cells)."""
    rows = _xlsx_rows(source, streaming)
    names: list[str] = []
    number = 0
    max_rows = uploads.Limits.current().max_rows
    for cells in rows:
        number += 1
        texts = [_cell_text(c) for c in cells]
        while texts and not texts[-1].strip():
            texts.pop()
        if texts:
            names = _header_names(texts)
            break
        if number > max_rows:
            break
    yield number, names
    if not names:
        return
    width = len(names)
    chunksize = max(1, min(chunksize, CHUNK_CELLS // width))

    def frame(block: list[list[str]]) -> pd.DataFrame:
        columns = list(zip(*block, strict=True)) if block else [()] * width
        return pd.DataFrame(
            {
                name: np.array(column, dtype=object)
                for name, column in zip(names, columns, strict=True)
            },
            columns=names,
        )

    block: list[list[str]] = []
    first = number + 1
    for read, cells in enumerate(rows, start=1):
        if read > max_rows:
            uploads.check_rows(read)
        texts = [_cell_text(c) for c in cells[:width]]
        if not block and not any(texts):
            first += 1  # empty rows between chunks (a tail of formatted empty rows): skipped
            continue
        if len(texts) < width:
            texts += [""] * (width - len(texts))
        block.append(texts)
        if len(block) >= chunksize:
            yield first, frame(block)
            first += len(block)
            block = []
    if block:
        yield first, frame(block)


def numbered_rows(filename: str, data: bytes, chunksize: int = CHUNK_ROWS):
    """(file line of the chunk's first row, chunk of text cells) of a CSV or XLSX file,
    header excluded: the reading without the measurement layouts (feedback files use it)."""
    kind = "xlsx" if filename.lower().endswith(".xlsx") else "csv"
    return _numbered_chunks(kind, data, chunksize)


def _raw_chunks(kind: str, source, chunksize: int) -> Iterator[pd.DataFrame]:
    for _line, frame in _numbered_chunks(kind, source, chunksize):
        yield frame


def _numbered_chunks(kind: str, source, chunksize: int) -> Iterator[tuple[int, pd.DataFrame]]:
    """(file line of the chunk's first row, chunk of text cells), header excluded."""
    if kind == "xlsx":
        tables: Iterable = _xlsx_tables(source, chunksize)
        _header_line, names = next(tables)
        if names:
            yield from tables
        return
    line = 2
    max_rows = uploads.Limits.current().max_rows
    for frame in _csv_chunks(source, chunksize):
        yield line, frame
        line += len(frame)
        if line - 2 > max_rows:
            uploads.check_rows(line - 2)


def _csv_chunks(source, chunksize: int) -> Iterator[pd.DataFrame]:
    data = source if isinstance(source, bytes) else None
    if data is None:
        with open(source, "rb") as fh:
            head = fh.read(1 << 20)
        encoding = _file_encoding(source)
        first = _first_line(head, encoding)
        handle = source
    else:
        encoding = csv_encoding(data)
        first = _first_line(data, encoding)
        handle = io.BytesIO(data)
    yield from pd.read_csv(
        handle,
        sep=_delimiter(first),
        dtype=str,
        keep_default_na=False,
        skip_blank_lines=False,
        encoding=encoding,
        chunksize=chunksize,
    )


def iter_chunks(
    filename: str,
    source: bytes | str,
    layout: str,
    columns: dict[str, Any],
    chunksize: int = CHUNK_ROWS,
) -> Iterator[pd.DataFrame]:
    """Standard chunks (line, site, kpi, date, value, n, source) from a file's bytes or path.
    `line` is the file line (CSV: header = 1) or the sheet row (XLSX)."""
    kind = "xlsx" if filename.lower().endswith(".xlsx") else "csv"
    try:
        for first, raw in _numbered_chunks(kind, source, chunksize):
            raw = raw.reset_index(drop=True)
            lines = np.arange(first, first + len(raw), dtype=np.int64)
            if layout == "long":
                frame = pd.DataFrame({"line": lines})
                for key in (*LONG_FIELDS, *OPTIONAL_FIELDS):
                    header = columns.get(key)
                    frame[key] = raw[header].to_numpy() if header else ""
                blank = (frame[list(LONG_FIELDS)] == "").all(axis=1)
                yield frame[~blank.to_numpy()]
            else:
                parts = []
                for code, header in columns["kpis"].items():
                    values = raw[header].astype(str).str.strip()
                    present = (values != "").to_numpy()
                    if not present.any():
                        continue
                    n_header = (columns.get("n_kpis") or {}).get(code) or columns.get("n")
                    part = pd.DataFrame(
                        {
                            "line": lines[present],
                            "site": raw[columns["site"]].to_numpy()[present],
                            "kpi": code,
                            "date": raw[columns["date"]].to_numpy()[present],
                            "value": values.to_numpy()[present],
                            "n": raw[n_header].to_numpy()[present],
                            "value_column": header,
                            "n_column": n_header,
                        }
                    )
                    parts.append(part)
                if parts:
                    yield pd.concat(parts, ignore_index=True).sort_values("line", kind="stable")
    except uploads.UploadRejected as rejected:
        raise FileRejected(str(rejected), status=413) from None
    except KeyError as error:
        raise FileRejected(_("The file has no column “%(name)s”.", name=error.args[0])) from None
    except (ValueError, UnicodeDecodeError, pd.errors.ParserError) as error:
        raise FileRejected(
            _("The file could not be read: %(reason)s", reason=str(error)[:200])
        ) from None
