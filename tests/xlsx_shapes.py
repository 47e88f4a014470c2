"""Workbooks written as raw XML with zipfile, streamed (a large one never sits in memory):
the shapes the upload checks must refuse or read at bounded memory. Used by the tests and
by benchmarks/upload_memory.py."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterable

NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
    '<Override PartName="/xl/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
    "{shared}</Types>"
)
SHARED_TYPE = '<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>'
ROOT_RELS = (
    '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/>'
    "</Relationships>"
)
WORKBOOK = (
    f'<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="{NS}" '
    'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
    '<sheets><sheet name="Data" sheetId="1" r:id="rId1"/></sheets></workbook>'
)
WORKBOOK_RELS = (
    '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/>'
    '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" Target="styles.xml"/>'
    "{shared}</Relationships>"
)
SHARED_REL = '<Relationship Id="rId3" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings" Target="sharedStrings.xml"/>'
# Style 1: a fill, as a person formatting whole rows or columns leaves on every empty row.
STYLES = (
    f'<?xml version="1.0" encoding="UTF-8"?><styleSheet xmlns="{NS}">'
    '<fonts count="1"><font><sz val="11"/><name val="Calibri"/></font></fonts>'
    '<fills count="3"><fill><patternFill patternType="none"/></fill><fill><patternFill patternType="gray125"/></fill>'
    '<fill><patternFill patternType="solid"><fgColor rgb="FFFFFF00"/></patternFill></fill></fills>'
    '<borders count="1"><border/></borders>'
    '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
    '<cellXfs count="2"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
    '<xf numFmtId="0" fontId="0" fillId="2" borderId="0" xfId="0" applyFill="1"/></cellXfs>'
    '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
    "</styleSheet>"
)
HEADER = ("site", "kpi", "date", "value", "n")


def _inline(text: str) -> str:
    return f'<c t="inlineStr"><is><t>{text}</t></is></c>'


def row_xml(number: int, values: Iterable) -> str:
    cells = "".join(
        f"<c><v>{v}</v></c>" if isinstance(v, int | float) else _inline(str(v)) for v in values
    )
    return f'<row r="{number}">{cells}</row>'


def workbook(
    sheet_rows: Iterable[str],
    shared_strings: Iterable[str] | None = None,
    path: str | None = None,
    level: int = 6,
) -> bytes | str:
    """An XLSX whose first sheet's <sheetData> holds `sheet_rows` (XML text pieces) and,
    given `shared_strings` pieces, with a sharedStrings part. Written to `path` (returned)
    or to bytes."""
    target = path or io.BytesIO()
    shared = shared_strings is not None
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED, compresslevel=level) as archive:
        archive.writestr("[Content_Types].xml", CONTENT_TYPES.format(shared=SHARED_TYPE * shared))
        archive.writestr("_rels/.rels", ROOT_RELS)
        archive.writestr("xl/workbook.xml", WORKBOOK)
        archive.writestr(
            "xl/_rels/workbook.xml.rels", WORKBOOK_RELS.format(shared=SHARED_REL * shared)
        )
        archive.writestr("xl/styles.xml", STYLES)
        with archive.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as sheet:
            sheet.write(
                f'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="{NS}"><sheetData>'.encode()
            )
            _write_all(sheet, sheet_rows)
            sheet.write(b"</sheetData></worksheet>")
        if shared:
            with archive.open("xl/sharedStrings.xml", "w", force_zip64=True) as part:
                part.write(f'<?xml version="1.0" encoding="UTF-8"?><sst xmlns="{NS}">'.encode())
                _write_all(part, shared_strings)
                part.write(b"</sst>")
    return path if path else target.getvalue()


def _write_all(stream, pieces: Iterable[str]) -> None:
    buffer: list[str] = []
    size = 0
    for piece in pieces:
        buffer.append(piece)
        size += len(piece)
        if size > 1 << 20:
            stream.write("".join(buffer).encode())
            buffer, size = [], 0
    stream.write("".join(buffer).encode())


def measurements_rows(rows: int, day: str = "2026-11-02") -> Iterable[str]:
    """A header and `rows` long-layout measurement rows (inline strings), sheet rows 1..."""
    yield row_xml(1, HEADER)
    for i in range(rows):
        yield row_xml(i + 2, (f"S{i % 1000:04d}", "WAIT", day, 5 + i % 7, 40))


def shared_strings_bomb(unpacked_bytes: int, path: str | None = None) -> bytes | str:
    """A header row, and one shared string of `unpacked_bytes` letters: a few KB per 10 MB."""
    chunk = "A" * (1 << 20)

    def strings():
        yield "<si><t>"
        for _ in range(unpacked_bytes // len(chunk)):
            yield chunk
        yield "</t></si><si><t>site</t></si>"

    header = '<row r="1"><c t="s"><v>1</v></c><c t="s"><v>0</v></c></row>'
    return workbook([header], strings(), path=path, level=9)


def empty_styled_rows(count: int, data_rows: int = 2, path: str | None = None) -> bytes | str:
    """A header, `data_rows` measurements, then `count` empty rows carrying a style (height
    and fill), as Excel writes a sheet where whole rows were formatted."""

    def rows():
        yield from measurements_rows(data_rows)
        for number in range(data_rows + 2, data_rows + 2 + count):
            yield f'<row r="{number}" s="1" customFormat="1" ht="15" customHeight="1"/>'

    return workbook(rows(), path=path, level=9)


def sparse_corners() -> bytes:
    """A tiny sheet with cells at A1 and XFD1048576: a whole-sheet reader's grid of 17
    billion cells."""
    return workbook([row_xml(1, HEADER), '<row r="1048576"><c r="XFD1048576"><v>1</v></c></row>'])
