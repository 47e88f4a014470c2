"""Reading a site file (CSV or XLSX) into rows for `services.upsert_sites`."""

from __future__ import annotations

import io
from typing import Any

import pandas as pd
from flask_babel import gettext as _

from programme import uploads
from programme.network.services import REQUIRED_FIELDS, fold

ALLOWED_EXTENSIONS = (".csv", ".xlsx")

# Header spellings accepted for each field (English and French, any case or accents).
HEADER_ALIASES = {
    "code": ["code", "site code", "code site", "site_code"],
    "name": ["name", "nom", "site name", "nom du site", "libelle"],
    "type": ["type", "site type", "type de site"],
    "region": ["region", "direction regionale"],
    "country": ["country", "pays"],
    "city": ["city", "ville", "commune"],
    "time_zone": ["time zone", "time_zone", "timezone", "fuseau horaire"],
    "operator": ["operator", "operateur"],
    "provider": ["provider", "prestataire"],
    "channels": ["channels", "canaux", "channel", "canal"],
    "manager_name": ["manager", "manager name", "responsable", "nom du responsable"],
    "manager_email": [
        "manager email",
        "email du responsable",
        "manager_email",
        "courriel responsable",
    ],
}


class FileRejected(ValueError):
    """The file as a whole cannot be read; the message says why. `status`: 413 when it is
    too large to be read (programme.uploads), else None (the view picks 415 or 422)."""

    def __init__(self, message: str, status: int | None = None):
        super().__init__(message)
        self.status = status


def decode_text(data: bytes) -> str:
    """UTF-8 (with or without BOM) or Windows-1252; anything else is refused."""
    if b"\x00" in data:
        raise FileRejected(
            _(
                "The file is not encoded in UTF-8 or Windows-1252 (it looks like UTF-16). "
                "Save it as “CSV UTF-8” and try again."
            )
        )
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252")
    except UnicodeDecodeError:
        raise FileRejected(
            _(
                "The file is not encoded in UTF-8 or Windows-1252. Save it as “CSV UTF-8” and try again."
            )
        ) from None


def _delimiter(text: str) -> str:
    first = text.split("\n", 1)[0]
    counts = {sep: first.count(sep) for sep in (",", ";", "\t")}
    return max(counts, key=counts.get) if any(counts.values()) else ","


def read_table(filename: str, data: bytes) -> pd.DataFrame:
    name = (filename or "").lower()
    if not name.endswith(ALLOWED_EXTENSIONS):
        raise FileRejected(_("Upload a .csv or .xlsx file."))
    if not data:
        raise FileRejected(_("The file is empty."))
    try:
        if name.endswith(".xlsx"):
            if not data.startswith(b"PK"):
                raise FileRejected(_("This file is not a valid XLSX workbook."))
            uploads.check_xlsx(data)  # before any reader unpacks it
            uploads.check_in_memory(data)  # calamine reads the whole sheet
            frame = pd.read_excel(io.BytesIO(data), engine="calamine", dtype=str)
            uploads.check_rows(len(frame))
        else:
            uploads.check_rows(max(0, data.count(b"\n") - 1))
            text = decode_text(data)
            frame = pd.read_csv(
                io.StringIO(text),
                sep=_delimiter(text),
                dtype=str,
                keep_default_na=False,
                skip_blank_lines=False,  # keep row numbers equal to the file's line numbers
            )
    except FileRejected:
        raise
    except uploads.UploadRejected as rejected:
        raise FileRejected(str(rejected), status=413) from None
    except Exception as error:  # pandas and calamine raise many kinds
        raise FileRejected(
            _("The file could not be read: %(reason)s", reason=str(error)[:200])
        ) from None
    return frame.fillna("")


def header_index(aliases: dict[str, list[str]]) -> dict[str, str]:
    """Folded header spelling → field, from each field's accepted spellings."""
    return {fold(alias): key for key, spellings in aliases.items() for alias in spellings}


def map_columns(names, aliases: dict[str, str]) -> dict[str, str]:
    """Field → the file's column for it, the first column whose folded name is an alias
    (`header_index`) of the field. Every file import maps its headers this way."""
    found: dict[str, str] = {}
    for name in names:
        key = aliases.get(fold(str(name)))
        if key and key not in found:
            found[key] = name
    return found


def mapped_rows(frame: pd.DataFrame, aliases: dict[str, str], required) -> list[tuple[int, dict]]:
    """(line number, raw values by field) for each non-empty row of `frame`, its header
    being line 1; refuses the file when a required field has no column or there are no rows."""
    columns = map_columns(frame.columns, aliases)
    missing = [key for key in required if key not in columns]
    if missing:
        raise FileRejected(
            _(
                "Missing required column(s): %(columns)s. Found: %(found)s.",
                columns=", ".join(missing),
                found=", ".join(map(str, frame.columns)) or "—",
            )
        )
    fields = list(columns)
    rows = []
    selected = frame[[columns[f] for f in fields]]
    for offset, record in enumerate(selected.itertuples(index=False), start=2):
        raw = {field: str(value).strip() for field, value in zip(fields, record, strict=True)}
        if any(raw.values()):
            rows.append((offset, raw))
    if not rows:
        raise FileRejected(_("The file has a header but no rows."))
    return rows


_HEADERS = header_index(HEADER_ALIASES)


def site_rows(filename: str, data: bytes) -> list[tuple[int, dict[str, Any]]]:
    """(line number, raw values) for each non-empty row; header is line 1."""
    return mapped_rows(read_table(filename, data), _HEADERS, REQUIRED_FIELDS)
