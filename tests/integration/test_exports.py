"""Excel and PDF exports of the leadership report, built from the screens' services.

The workbook is read back with openpyxl (sheets, numbers as numbers, formats, frozen header,
formula-like text neutralised, perimeter); the PDF with pypdfium2 (its text, and its chart
pages rendered to PNG: the charts must actually be drawn)."""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import openpyxl
import pypdfium2 as pdfium
import pytest

from programme.network import access
from programme.reports import exports, render
from programme.reports.models import Snapshot
from tests.deployment_factories import assign, make_coach, make_package, make_wave
from tests.factories import make_region, make_site, make_user

TODAY = date(2026, 11, 23)
SCREENSHOTS = Path(__file__).parents[1] / "browser" / "screenshots"  # git-ignored


@pytest.fixture(autouse=True)
def _in_a_request(app, session):
    """Services speak the reader's language: run each test inside an English request."""
    with app.test_request_context(headers={"Accept-Language": "en"}):
        yield


EVIL_SITE = '=HYPERLINK("http://evil.example/x","Click")'
EVIL_WAVE = "+Vague @risque"


@dataclass
class ReportWorld:
    north_id: int
    south_id: int
    north_name: str
    n_sites: int
    n_north: int
    admin_id: int
    manager_id: int  # regional manager of the north
    south_site_code: str
    wave_id: int


def report_world() -> ReportWorld:
    """Two regions, five sites (one named like a formula), one wave (named like a formula)
    over three north sites and one south site, one coach: small and fast."""
    north, south = make_region("Nord"), make_region("Sud")
    north_sites = [
        make_site("NOR-001", region=north, name=EVIL_SITE),
        make_site("NOR-002", region=north, name="Agence Lille"),
        make_site("NOR-003", region=north, name="-Agence Douai"),
    ]
    south_sites = [
        make_site("SUD-001", region=south, name="Agence Marseille"),
        make_site("SUD-002", region=south, name="Agence Nice"),
    ]
    wave = make_wave(make_package(4), [*north_sites, south_sites[0]], name=EVIL_WAVE)
    coach = make_coach(name="Claire Coach")
    assign(wave, north_sites[1], coach)
    admin = make_user("admin")
    manager = make_user("site_manager", region_id=north.id)
    return ReportWorld(
        north.id,
        south.id,
        north.name,
        5,
        3,
        admin.id,
        manager.id,
        south_sites[0].code,
        wave.id,
    )


def _data(session, user_id: int, region_id: int | None = None) -> exports.ReportData:
    from programme.auth.models import User

    user = session.get(User, user_id)
    scope = access.scope_for(session, user, region_id)
    return exports.gather(session, scope, user, TODAY)


def _workbook(session, app, user_id, region_id=None):
    with app.test_request_context(headers={"Accept-Language": "en"}):
        content = exports.build_xlsx(session, _data(session, user_id, region_id))
    return openpyxl.load_workbook(io.BytesIO(content))


def _rows(sheet) -> list[list]:
    """The table under the note and the header (note on row 1, header on row 3)."""
    return [list(r) for r in sheet.iter_rows(min_row=4, values_only=True)]


def test_workbook_has_one_sheet_per_section_with_real_numbers(app, session):
    world = report_world()
    book = _workbook(session, app, world.admin_id)
    for name in ("At a glance", "Funnel", "Waves", "Alerts", "Regions", "Sites", "Coaches"):
        assert name in book.sheetnames
    assert "Impact per KPI" in book.sheetnames and "Impact per wave" in book.sheetnames
    assert "Data completeness" in book.sheetnames

    for sheet in book.worksheets:
        assert sheet.freeze_panes == "A4", sheet.title  # header row frozen under the note
        assert sheet.column_dimensions["A"].width >= 8

    funnel = {r[0]: r for r in _rows(book["Funnel"])}
    assert funnel["In a wave"][1] == 4 and isinstance(funnel["In a wave"][1], int)
    assert funnel["In a wave"][2] == pytest.approx(0.8)
    assert book["Funnel"]["C4"].number_format == "0.0%"

    waves = _rows(book["Waves"])
    assert len(waves) == 1
    wave = waves[0]
    assert wave[2].date() == date(2026, 3, 2) and book["Waves"]["C4"].is_date
    assert wave[5] == 4  # sites
    assert isinstance(wave[7], int | float) and book["Waves"]["H4"].number_format == "0.0%"
    assert wave[11] in ("Red", "Amber", "Green")  # RAG in words

    glance = {r[0]: r for r in _rows(book["At a glance"])}
    assert glance["Sites in the network"][1] == 5
    assert glance["Sites in a wave"][1] == 4

    regions = {r[0]: r for r in _rows(book["Regions"])}
    assert list(regions["Nord"][1:4]) == [3, 3, 3] and list(regions["Sud"][1:4]) == [2, 1, 1]
    coaches = _rows(book["Coaches"])
    assert coaches[0][0] == "Claire Coach" and coaches[0][1] == 4


def test_formula_like_text_is_neutralised(app, session):
    world = report_world()
    book = _workbook(session, app, world.admin_id)
    sites = {r[1]: r for r in _rows(book["Sites"])}
    assert sites["NOR-001"][2] == "'" + EVIL_SITE
    assert sites["NOR-003"][2] == "'-Agence Douai"
    assert sites["NOR-002"][2] == "Agence Lille"
    assert _rows(book["Waves"])[0][0] == "'" + EVIL_WAVE
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                assert cell.data_type != "f", f"{sheet.title}!{cell.coordinate} is a formula"
                if isinstance(cell.value, str):
                    assert not cell.value.startswith(("=", "+", "-", "@")), cell.coordinate


def test_a_managers_workbook_holds_only_their_region(app, session):
    world = report_world()
    book = _workbook(session, app, world.manager_id)
    codes = [r[1] for r in _rows(book["Sites"])]
    assert sorted(codes) == ["NOR-001", "NOR-002", "NOR-003"]
    assert world.south_site_code not in codes
    assert [r[0] for r in _rows(book["Regions"])] == ["Nord"]
    # Deployment impact is for leadership and the pilot team, not for site managers.
    assert "Impact per KPI" not in book.sheetnames
    assert book["Waves"]["F4"].value == 3  # the wave's sites in the north only


def test_export_filename_names_the_scope_and_date():
    scope = access.Scope("region:3", "Nord", 3, None)
    assert (
        exports.export_filename(scope, TODAY, "xlsx") == "programme-report_region-3_2026-11-23.xlsx"
    )


def _pdf(session, app, user_id, language="en"):
    with app.test_request_context(headers={"Accept-Language": language}):
        data = _data(session, user_id)
        return exports.build_pdf(data), data


def _text(document) -> list[str]:
    return [page.get_textpage().get_text_range() for page in document]


def _ink(page) -> int:
    """Pixels that are not (nearly) white on the page rendered to a bitmap at 72 dpi."""
    image = page.render(scale=1).to_numpy()[:, :, :3].astype(int)
    return int((image.sum(axis=2) < 3 * 235).sum())


def _saturated(page) -> int:
    """Coloured (not grey) pixels: chart marks, where the text is black or grey."""
    image = page.render(scale=1).to_numpy()[:, :, :3].astype(int)
    return int((image.max(axis=2) - image.min(axis=2) > 60).sum())


def test_pdf_opens_with_its_sections_and_draws_its_charts(app, session):
    world = report_world()
    session.add(
        Snapshot(
            month=date(2026, 10, 1),
            scope="network",
            figures={"sites_live": 1, "open_alerts": 0},
            taken_by="cli:take-snapshot",
        )
    )
    session.commit()
    content, data = _pdf(session, app, world.admin_id)
    assert content.startswith(b"%PDF")
    document = pdfium.PdfDocument(content)
    assert len(document) >= 4
    assert pdfium.raw.FPDFCatalog_IsTagged(document.raw)  # structure for screen readers
    pages = _text(document)
    assert "Programme — leadership report" in pages[0] and "Whole network" in pages[0]
    glance = next(i for i, t in enumerate(pages) if "Programme at a glance" in t)
    assert "Change since the snapshot of October 2026" in pages[glance]
    waves = next(i for i, t in enumerate(pages) if "Waves on a timeline" in t)
    assert "Vague @risque" in pages[waves]
    assert any(label in pages[waves] for label in ("Red", "Amber", "Green"))
    regions = "\n".join(pages[waves:])  # the waves, then alerts, regions, close the loop
    assert "Nord" in regions and "Sud" in regions
    assert "Calling back unhappy customers" in pages[-1]

    # Rendered to PNG, the chart pages carry the charts: far more ink, and colour, than the
    # same report rendered without its charts.
    with app.test_request_context(headers={"Accept-Language": "en"}):
        from unittest import mock

        with mock.patch.object(exports, "pdf_charts", return_value={"impact": {}}):
            bare = pdfium.PdfDocument(exports.build_pdf(data))
    SCREENSHOTS.mkdir(exist_ok=True)
    for index in (glance, waves):
        document[index].render(scale=1).to_pil().save(f"{SCREENSHOTS}/pdf-page-{index + 1}.png")
        assert _ink(document[index]) > _ink(bare[index]) + 5000, index
        assert _saturated(document[index]) > 1000 > _saturated(bare[index]), index


def test_pdf_follows_the_readers_language(app, session):
    world = report_world()
    content, _data_ = _pdf(session, app, world.manager_id, language="fr")
    text = "\n".join(_text(pdfium.PdfDocument(content)))
    assert "Nord" in text and "Sud" not in text  # the manager's perimeter only
    assert "novembre 2026" in text  # dates in French


def test_svg_rendering_is_static_deterministic_and_offline():
    spec = {
        "title": "Sites",
        "width": "container",
        "data": {"values": [{"a": "x", "b": 2}, {"a": "y", "b": 3}]},
        "mark": "bar",
        "encoding": {
            "x": {"field": "a", "type": "nominal", "title": "Stage"},
            "y": {"field": "b", "type": "quantitative", "title": "Sites"},
        },
    }
    first = render.svg(spec)
    assert first.startswith("<svg")
    width = int(re.search(r'<svg[^>]* width="(\d+)"', first).group(1))
    assert 560 <= width < 800  # a fixed width on paper instead of the screen's container
    assert render.svg(spec) == first
    assert spec["width"] == "container"  # the screen's spec is not modified
    with pytest.raises(ValueError, match="not allowed"):
        render.svg({**spec, "data": {"url": "https://example.org/data.json"}})


@pytest.mark.parametrize(
    ("text", "written"),
    [
        ("=1+1", "'=1+1"),
        ("+33 1 23 45 67 89", "'+33 1 23 45 67 89"),
        ("-2", "'-2"),
        ("−2", "'−2"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'_x000D_=1"),  # XLSX escapes a carriage return; openpyxl shows it raw
        ("Agence = Lille", "Agence = Lille"),
        ("", None),
    ],
)
def test_every_formula_trigger_is_neutralised(text, written):
    content = exports.build_workbook(
        [exports.Sheet("S", [exports.Column("Text"), exports.Column("n", "int")], [[text, 1]])]
    )
    cell = openpyxl.load_workbook(io.BytesIO(content))["S"]["A2"]
    assert cell.value == written
    assert cell.data_type in ("s", "n")
