"""Exports that read right (issue 16, item 4): a rate's change prints in percentage points
in the PDF, as the reading beside it says, not "+0.00 … +0.00" in the rate's own scale."""

from __future__ import annotations

import pypdfium2 as pdfium

from programme.reports import exports
from programme.reports.impact import ImpactResult
from tests.integration.test_exports import _data, _text, report_world


def _conversion_impact() -> ImpactResult:
    return ImpactResult(
        kpi_code="CONV",
        kpi_id=None,
        package_id=None,
        window_weeks=8,
        estimate=0.0011,
        ci_low=-0.0004,
        ci_high=0.0026,
        n_sites=40,
        waves=[],
        kpi_name="Conversion rate",
        kind="rate",
        better="higher",
        unit="%",
    )


def test_the_pdf_prints_a_rates_change_in_points(app, session):
    world = report_world()
    with app.test_request_context(headers={"Accept-Language": "en"}):
        data = _data(session, world.admin_id)
        data.overview.impacts = [_conversion_impact()]
        text = "\n".join(_text(pdfium.PdfDocument(exports.build_pdf(data))))
    assert "+0.11 pts" in text
    assert "-0.04 pts" in text and "+0.26 pts" in text
    assert "+0.00" not in text


def test_the_workbook_gives_a_rates_change_in_points_with_its_unit(app, session):
    import io

    import openpyxl

    world = report_world()
    with app.test_request_context(headers={"Accept-Language": "en"}):
        data = _data(session, world.admin_id)
        data.overview.impacts = [_conversion_impact()]
        content = exports.build_xlsx(session, data)
    sheet = openpyxl.load_workbook(io.BytesIO(content))["Impact per KPI"]
    header_row = next(
        row for row in sheet.iter_rows() if row[0].value == "KPI"
    )  # under the note line
    headers = [cell.value for cell in header_row]
    assert headers[:4] == ["KPI", "Unit", "Window (weeks)", "Estimate"]
    line = sheet[header_row[0].row + 1]
    assert line[0].value == "CONV" and line[1].value == "pts"
    assert abs(line[3].value - 0.11) < 1e-9  # points, not the 0.0011 fraction
    assert line[3].number_format == "#,##0.00"
    assert abs(line[4].value - -0.04) < 1e-9 and abs(line[5].value - 0.26) < 1e-9


def test_export_file_names_follow_the_language(app):
    from datetime import date

    from programme.network import access

    scope = access.Scope("region:3", "Nord", 3, None)
    with app.test_request_context(headers={"Accept-Language": "fr"}):
        assert (
            exports.export_filename(scope, date(2026, 11, 23), "xlsx")
            == "programme-rapport_region-3_2026-11-23.xlsx"
        )
        network = access.Scope("network", "Réseau", None, None)
        assert exports.export_filename(network, date(2026, 11, 23), "pdf") == (
            "programme-rapport_reseau_2026-11-23.pdf"
        )
    with app.test_request_context(headers={"Accept-Language": "en"}):
        assert (
            exports.export_filename(scope, date(2026, 11, 23), "xlsx")
            == "programme-report_region-3_2026-11-23.xlsx"
        )
