"""The steps every file import shares (programme.kpis.file_import)."""

from __future__ import annotations

import io

from werkzeug.datastructures import FileStorage

from programme.kpis.file_import import (
    ColumnRules,
    Mapping,
    chosen_columns,
    find_mapping,
    mapped_on_form,
    read_upload,
    refused_status,
)
from programme.kpis.importing import FileRejected


def _rules(remembered: Mapping | None, required=("site",)) -> ColumnRules:
    return ColumnRules(
        guess=lambda session, names: Mapping({"site": names[0]}, "guessed"),
        problems=lambda m, names: [k for k in required if m.columns.get(k) not in names],
        remembered=lambda session, source: remembered,
        remember=lambda session, source, mapping: None,
    )


def test_the_remembered_mapping_when_it_fits_the_file_else_the_guess():
    remembered = Mapping({"site": "Agence"}, "remembered")
    assert find_mapping(_rules(remembered), None, "qms", ["Agence", "x"]) == remembered
    assert find_mapping(_rules(remembered), None, "qms", ["Code", "x"]).layout == "guessed"
    assert find_mapping(_rules(None), None, "qms", ["Code"]).columns == {"site": "Code"}


def test_a_choice_that_is_not_a_column_of_the_file_counts_as_none():
    values = {"col_site": "Agence", "col_date": "nowhere", "col_n": "", "kpi_WAIT": "Attente"}
    assert chosen_columns(values, ("site", "date", "n"), ["Agence", "Attente"]) == {
        "site": "Agence"
    }
    assert chosen_columns(values, ("WAIT",), ["Attente"], prefix="kpi_") == {"WAIT": "Attente"}
    assert mapped_on_form(values, ("date",)) and not mapped_on_form(values, ("value",))


def test_statuses_of_a_refused_file():
    assert refused_status(FileRejected("big", status=413), "a.csv") == 413
    assert refused_status(FileRejected("kind"), "a.pdf") == 415
    assert refused_status(FileRejected("bad"), "a.XLSX") == 422


def test_read_upload_stops_one_byte_past_the_limit():
    storage = FileStorage(io.BytesIO(b"x" * 100), filename="a.csv")
    assert read_upload(storage, 10) == ("a.csv", b"x" * 11)
