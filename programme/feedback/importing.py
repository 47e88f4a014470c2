"""Feedback files (CSV, XLSX) as survey tools and complaint desks export them.

The file is read with the KPI import's readers (programme/kpis/importing.py: encodings,
delimiters, XLSX without formulas) and goes through the same steps as a measurement file
(`programme.kpis.file_import`): its columns are mapped to response fields (`COLUMNS`:
guessed from the headers, remembered per source); the rows then go through the one intake
(`services.record_responses`), all or nothing, with each error's file line."""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session

from programme.feedback.models import FeedbackImportMapping
from programme.kpis.file_import import ColumnRules, Mapping
from programme.kpis.importing import FileRejected, check_file, headers, numbered_rows
from programme.network.importing import header_index, map_columns

MAX_FILE_BYTES = 2 * 1024 * 1024
MAX_ROWS = 10_000

FIELDS = {
    "external_id": _l("Response id"),
    "site": _l("Site code"),
    "received_at": _l("Received at (with offset)"),
    "channel": _l("Channel"),
    "score": _l("Score"),
    "scale": _l("Scale"),
    "journey_step": _l("Journey step"),
    "comment": _l("Comment"),
    "language": _l("Language"),
    "complaint": _l("Complaint"),
    "contact_consent": _l("Contact consent"),
    "contact": _l("Contact reference"),
}
REQUIRED = ("external_id", "site", "received_at", "channel", "score", "scale")

ALIASES = {
    "external_id": ["external_id", "id", "response id", "response_id", "identifiant", "id reponse"],
    "site": ["site", "site code", "site_code", "code site", "agence", "code agence"],
    "received_at": ["received_at", "received at", "date", "date reponse", "recu le", "timestamp"],
    "channel": ["channel", "canal"],
    "score": ["score", "note", "rating"],
    "scale": ["scale", "echelle"],
    "journey_step": ["journey_step", "journey step", "etape", "etape du parcours"],
    "comment": ["comment", "commentaire", "verbatim"],
    "language": ["language", "langue", "lang"],
    "complaint": ["complaint", "reclamation"],
    "contact_consent": ["contact_consent", "consent", "consentement", "accepte d'etre recontacte"],
    "contact": ["contact", "contact reference", "telephone", "coordonnees"],
}
_BY_HEADER = header_index(ALIASES)


def read_headers(filename: str, data: bytes) -> list[str]:
    if len(data) > MAX_FILE_BYTES:
        raise FileRejected(
            _("The file is larger than %(mb)d MB: split it.", mb=MAX_FILE_BYTES // (1024 * 1024))
        )
    return headers(filename, data)


def _guessed(session: Session, names: list[str]) -> Mapping:
    return Mapping(map_columns(names, _BY_HEADER))


def _remembered(session: Session, source: str) -> Mapping | None:
    row = session.scalar(
        select(FeedbackImportMapping).where(FeedbackImportMapping.source == source)
    )
    return Mapping(dict(row.columns)) if row else None


def _remember(session: Session, source: str, mapping: Mapping) -> None:
    row = session.scalar(
        select(FeedbackImportMapping).where(FeedbackImportMapping.source == source)
    )
    if row is None:
        session.add(FeedbackImportMapping(source=source, columns=mapping.columns))
    elif row.columns != mapping.columns:
        row.columns = mapping.columns


def missing_columns(columns: dict[str, str], names: list[str]) -> list[str]:
    """The required fields left unmapped, or mapped to a column the file does not have."""
    return [f for f in REQUIRED if not columns.get(f) or columns[f] not in names] + [
        f for f, name in columns.items() if f not in REQUIRED and name and name not in names
    ]


def _problems(mapping: Mapping, names: list[str]) -> list[str]:
    return [
        _("Choose the column of “%(field)s”.", field=FIELDS[f])
        for f in missing_columns(mapping.columns, names)
    ]


COLUMNS = ColumnRules(
    guess=_guessed, problems=_problems, remembered=_remembered, remember=_remember
)


def read_items(
    filename: str, data: bytes, columns: dict[str, str], source: str
) -> tuple[list[int], list[dict[str, Any]]]:
    """(file line of each row, the row as an intake item); blank rows are skipped."""
    check_file(filename, data)
    lines: list[int] = []
    items: list[dict[str, Any]] = []
    try:
        for first, chunk in numbered_rows(filename, data):
            chunk = chunk.reset_index(drop=True)
            records = chunk.to_dict("records")
            for offset, record in enumerate(records):
                item = {
                    field: str(record.get(name, "") or "").strip()
                    for field, name in columns.items()
                    if name
                }
                if not any(item.values()):
                    continue
                item["source"] = source
                lines.append(first + offset)
                items.append(item)
                if len(items) > MAX_ROWS:
                    raise FileRejected(_("At most %(n)d rows per file: split it.", n=MAX_ROWS))
    except (ValueError, UnicodeDecodeError) as error:
        if isinstance(error, FileRejected):
            raise
        raise FileRejected(
            _("The file could not be read: %(reason)s", reason=str(error)[:200])
        ) from None
    return lines, items
