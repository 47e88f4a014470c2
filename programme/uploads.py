"""Bounds on uploaded files, checked before they are parsed (every upload in the app).

An XLSX workbook is a zip archive: 3 MB can unpack to 1 GB of shared strings, and every
reader holds the shared strings (and calamine the whole sheet) in memory. So before any
reader opens one, `check_xlsx` reads the archive's directory and refuses (413) a workbook
- whose sheet XML exceeds XLSX_MAX_SHEET_BYTES (default 512 MB, about 2 million rows of
  measurements, the row cap);
- whose shared strings exceed XLSX_MAX_SHARED_STRINGS_BYTES (default 64 MB);
- with any other XML part (styles, workbook, relations) over XLSX_MAX_PART_BYTES (32 MB);
- with a part of more than 1 MB unpacked whose compression ratio exceeds XLSX_MAX_RATIO
  (default 100:1; real sheets compress 5 to 20 times).
Python's zip reader (openpyxl, the formula scan) never unpacks more than an entry's declared
size. Row counts are capped separately (IMPORT_MAX_ROWS, `check_rows`).

Readers that hold a whole sheet in memory (calamine: site and customer-voice files, small
measurement files) allocate a dense grid from the first to the last cell: a 1 KB sheet
with cells A1 and XFD1048576 asks for 550 GB and aborts the process. `dense_cells` bounds
that grid from the sheet's cell references before such a reader is used; `check_in_memory`
refuses a sheet of more than IN_MEMORY_SHEET_BYTES of XML or IN_MEMORY_CELLS cells.
"""

from __future__ import annotations

import io
import re
import zipfile
from dataclasses import dataclass

from flask import current_app, has_app_context
from flask_babel import gettext as _

MB = 1024 * 1024
RATIO_MIN_BYTES = 1 * MB  # small parts compress well and cost nothing: no ratio check
# Whole-sheet (calamine) readers: at most this much sheet XML (calamine holds about 1.7 bytes
# per byte of it) and this many cells in the grid from A1 to the last cell.
IN_MEMORY_SHEET_BYTES = 32 * MB
IN_MEMORY_CELLS = 5_000_000
# Cell references beyond column Z or row 99,999: in a narrow sheet, none or few.
_FAR_REFERENCE = re.compile(rb'<c r="([A-Z]{2,3})(\d+)"|<c r="([A-Z])(\d{6,7})"')


class UploadRejected(ValueError):
    """Too large to be read: answered with 413 and this message."""

    status = 413


@dataclass(frozen=True)
class Limits:
    sheet_bytes: int = 512 * MB
    shared_strings_bytes: int = 64 * MB
    part_bytes: int = 32 * MB
    ratio: int = 100
    max_rows: int = 2_000_000

    @classmethod
    def current(cls) -> Limits:
        if not has_app_context():
            return cls()
        config, default = current_app.config, cls()
        return cls(
            sheet_bytes=config.get("XLSX_MAX_SHEET_BYTES", default.sheet_bytes),
            shared_strings_bytes=config.get(
                "XLSX_MAX_SHARED_STRINGS_BYTES", default.shared_strings_bytes
            ),
            part_bytes=config.get("XLSX_MAX_PART_BYTES", default.part_bytes),
            ratio=config.get("XLSX_MAX_RATIO", default.ratio),
            max_rows=config.get("IMPORT_MAX_ROWS", default.max_rows),
        )


def _mb(size: int) -> str:
    return _number(round(size / MB))


def check_xlsx(source: bytes | str, limits: Limits | None = None) -> None:
    """Refuse (UploadRejected) a workbook that would unpack to too much; zipfile.BadZipFile
    for one that is not a zip archive."""
    limits = limits or Limits.current()
    with zipfile.ZipFile(io.BytesIO(source) if isinstance(source, bytes) else source) as archive:
        for info in archive.infolist():
            name = info.filename
            if name.startswith("xl/worksheets/") and name.endswith(".xml"):
                cap, what = limits.sheet_bytes, _("its sheet (%(name)s)", name=name)
            elif name == "xl/sharedStrings.xml":
                cap, what = limits.shared_strings_bytes, _("its shared texts (%(name)s)", name=name)
            elif name.endswith((".xml", ".rels")):
                cap, what = limits.part_bytes, _("its part %(name)s", name=name)
            else:
                cap, what = None, _("its part %(name)s", name=name)
            if cap is not None and info.file_size > cap:
                raise UploadRejected(
                    _(
                        "The workbook is too large to be read — %(part)s: %(size)s MB once "
                        "unpacked, at most %(cap)s MB. Split the file, or save it as CSV.",
                        part=what,
                        size=_mb(info.file_size),
                        cap=_mb(cap),
                    )
                )
            if info.file_size > RATIO_MIN_BYTES and info.file_size > limits.ratio * max(
                1, info.compress_size
            ):
                raise UploadRejected(
                    _(
                        "The workbook is refused — %(part)s: %(ratio)s times larger once "
                        "unpacked, at most %(cap)s times. Save it again from your spreadsheet, "
                        "or as CSV.",
                        part=what,
                        ratio=_number(info.file_size // max(1, info.compress_size)),
                        cap=limits.ratio,
                    )
                )


def _number(value: int) -> str:
    if has_app_context():
        from flask_babel import format_decimal

        return format_decimal(value)
    return f"{value:,}"


def check_rows(rows: int, limits: Limits | None = None) -> None:
    """Refuse (UploadRejected) a file with more than IMPORT_MAX_ROWS rows."""
    limits = limits or Limits.current()
    if rows > limits.max_rows:
        raise UploadRejected(
            _(
                "The file has more than %(max)s rows. Split it into files of at most %(max)s rows.",
                max=_number(limits.max_rows),
            )
        )


def _column_number(letters: bytes) -> int:
    number = 0
    for letter in letters:
        number = number * 26 + letter - 64
    return number


def dense_cells(sheet_xml: bytes) -> int:
    """An upper bound of the cells a whole-sheet reader allocates for this sheet XML (rows
    x columns from A1 to the farthest cell referenced), found with one scan of the XML."""
    rows, columns = 99_999, 26
    for match in _FAR_REFERENCE.finditer(sheet_xml):
        letters, digits = (match.group(1), match.group(2)) if match.group(1) else match.group(3, 4)
        columns = max(columns, _column_number(letters))
        rows = max(rows, int(digits))
    # Rows written without cell references still count: the last <row r="..."> says where.
    last_row = sheet_xml.rfind(b"<row ")
    if last_row >= 0:
        found = re.match(rb'<row[^>]*? r="(\d+)"', sheet_xml[last_row : last_row + 200])
        if found:
            rows = max(rows, int(found.group(1)))
    return rows * columns


def fits_in_memory(source: bytes | str) -> bool:
    """Whether every sheet can be read whole (calamine) within IN_MEMORY_SHEET_BYTES of XML
    and IN_MEMORY_CELLS cells. Call check_xlsx first."""
    with zipfile.ZipFile(io.BytesIO(source) if isinstance(source, bytes) else source) as archive:
        for info in archive.infolist():
            if not (info.filename.startswith("xl/worksheets/") and info.filename.endswith(".xml")):
                continue
            if info.file_size > IN_MEMORY_SHEET_BYTES:
                return False
            if dense_cells(archive.read(info)) > IN_MEMORY_CELLS:
                return False
    return True


def check_in_memory(source: bytes | str) -> None:
    """Refuse (UploadRejected) a workbook that a whole-sheet reader cannot read safely."""
    if not fits_in_memory(source):
        raise UploadRejected(
            _(
                "The workbook is too large to be read: its sheet spans more than %(cells)s "
                "cells (rows × columns up to the last cell used). Delete the empty rows and "
                "columns after your data, or save it as CSV.",
                cells=_number(IN_MEMORY_CELLS),
            )
        )
