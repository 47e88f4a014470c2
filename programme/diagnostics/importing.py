"""Reading a customer voice file (CSV or XLSX) into rows for
`services.import_customer_voice`, through the one column mapping of `network.importing`."""

from __future__ import annotations

from programme.diagnostics.services import SURVEY_FIELDS, VERBATIM_FIELDS
from programme.network.importing import header_index, mapped_rows, read_table

# Header spellings accepted for each field (English and French, any case or accents).
VOICE_HEADERS = {
    "site": ["site", "site code", "code site", "code"],
    "quote": ["quote", "verbatim", "citation", "texte"],
    "channel": ["channel", "canal"],
    "journey_step": ["journey step", "step", "etape", "etape du parcours"],
    "sentiment": ["sentiment", "tonalite"],
    "collected_on": ["date", "collected on", "collecte le", "date de collecte"],
    "survey": ["survey", "enquete", "indicator", "indicateur"],
    "score": ["score", "note", "resultat"],
    "scale_max": ["scale max", "scale", "echelle", "note max", "bareme"],
    "respondents": ["respondents", "repondants", "n", "base"],
    "period_end": ["period end", "date", "fin de periode", "period"],
}


def voice_rows(kind: str, filename: str, data: bytes) -> list[tuple[int, dict]]:
    """(line number, raw values) for each non-empty row of a customer voice file of `kind`
    ("verbatims" or "survey_scores"); raises `FileRejected` when it cannot be read."""
    fields = VERBATIM_FIELDS if kind == "verbatims" else SURVEY_FIELDS
    aliases = header_index({key: VOICE_HEADERS[key] for key in fields})
    required = [f for f in fields if f != "collected_on"]
    return mapped_rows(read_table(filename, data), aliases, required)
