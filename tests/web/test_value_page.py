"""The value page, the value lines of the homes, the pilot's projected value and the value in
the exports (issue 18, screens and reports), on planted data: waiting time falls by
2 minutes at go-live, 40–46 visits a day per site, €0.30 / 0.50 / 0.60 per minute per visit."""

from __future__ import annotations

import io
import re

import openpyxl
import pytest
from sqlalchemy import func, select

from programme.network.models import Region
from programme.reports import value_screens
from programme.value.models import ValueDriver
from tests.factories import login_as, make_user
from tests.value_factories import valued_network
from tests.web.helpers import make_client, page

PERIOD = "from=2025-01&to=2025-08"


@pytest.fixture
def finance(session):
    return make_user("finance")


def _text(response) -> str:
    body = page(response)
    body = re.sub(r"<script.*?</script>", " ", body, flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", body))


def test_finance_reads_the_value_with_its_interval_and_drills_down(client, session, finance):
    valued_network()
    login_as(client, finance)
    response = client.get(f"/value/?{PERIOD}")
    assert response.status_code == 200
    text = _text(response)
    body = page(response)
    total = value_screens.report(session, first="2025-01", last="2025-08")["total"]
    assert total["actual"] > 0 and total["p10"] < total["p90"]
    # Never a single amount: the actual with its interval, the estimate with P10–P90.
    assert f"Estimate €{total['estimate']:,.2f} (P10 €{total['p10']:,.2f} – P90 €{total['p90']:,.2f})" in text  # fmt: skip
    assert f"Actual €{total['actual']:,.2f} (95 % interval €{total['actual_low']:,.2f}" in text
    assert "Bankable (P10)" in text
    # The effect behind Δ, linked to the deployment impact.
    assert "Effect behind Δ (deployment impact):" in text
    assert re.search(r'href="/reports/impact/\?kpi=WAIT&amp;package=\d+&amp;window_weeks=8"', response.get_data(as_text=True))  # fmt: skip
    # The chart's spec, the months, the regions and the deployed sites (cards on a phone).
    assert 'data-vl-spec="value-chart"' in body and "Shaded band: P10 to P90" in body
    assert "Mar 2025" in text and 'table class="cards" data-testid="value-sites"' in body
    assert "IMP-000 – " in text and "Nord" in text and "Sud" in text


def test_the_page_speaks_french_with_euros_after_the_number(app, session, finance):
    valued_network()
    client = make_client(app, "fr")
    login_as(client, finance)
    text = _text(client.get(f"/value/?{PERIOD}"))
    assert "Valeur" in text and "Prévue" in text and "Réalisée" in text and "Estimée" in text
    assert re.search(r"Réalisée \d[\d\s]*,\d\d\s€ \(intervalle à 95\s% ", text)
    assert "Dispositif" in text


def test_a_region_narrows_the_sites_and_the_money(client, session, finance):
    valued_network()
    nord = session.scalar(select(Region.id).where(Region.name == "Nord"))
    login_as(client, finance)
    text = _text(client.get(f"/value/?{PERIOD}&region={nord}"))
    whole = value_screens.report(session, first="2025-01", last="2025-08")["total"]["actual"]
    part = value_screens.report(session, first="2025-01", last="2025-08", region_id=nord)
    assert 0 < part["total"]["actual"] < whole
    assert f"€{part['total']['actual']:,.2f}" in text
    assert all(
        session.get(Region, nord).name == "Nord" for _ in part["sites"]
    ) and len(part["sites"]) < len(value_screens.report(session, first="2025-01", last="2025-08")["sites"])  # fmt: skip


def test_without_a_driver_the_page_says_what_is_missing(client, session, finance):
    login_as(client, finance)
    response = client.get("/value/")
    assert response.status_code == 200
    assert "No value driver yet" in _text(response)
    assert "/value/drivers/new" in response.get_data(as_text=True)


def test_a_non_financial_lever_shows_effect_and_volume_without_money(client, session, finance):
    valued_network(lever="none")
    login_as(client, finance)
    text = _text(client.get(f"/value/?{PERIOD}"))
    assert "is a non-financial lever" in text
    assert "Effect behind Δ" in text
    assert "€" not in text.split("Month by month")[1]
    assert "€" not in text.split("Totals")[1].split("Month by month")[0]


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("package=abc", "Choose a package from the list."),
        ("package=999999", "Choose a package from the list."),
        ("region=999999", "Choose a region from the list."),
        ("kpi=NOPE", "Choose a KPI from the list."),
        ("from=2025-13", "Give a month as YYYY-MM"),
        ("to=mars", "Give a month as YYYY-MM"),
        ("from=2025-06&to=2025-01", "The last month must not be before the first."),
        ("from=2020-01&to=2029-01", "Choose at most 60 months."),
        ("window_weeks=0", ""),
        ("window_weeks=abc", ""),
    ],
)  # fmt: skip
def test_bad_filters_get_a_clear_message_and_no_figure(client, session, finance, query, message):
    valued_network()
    login_as(client, finance)
    response = client.get(f"/value/?{query}")
    assert response.status_code == 422
    body = page(response)
    assert message in body and 'aria-invalid="true"' in body
    assert "Correct the filters above to see the value." in body
    assert 'data-testid="value-totals"' not in body


def test_the_executive_home_shows_value_to_date_once_a_driver_exists(app, session):
    executive = make_user("executive")
    client = make_client(app, "en")
    login_as(client, executive)
    assert 'data-testid="value-to-date"' not in page(client.get("/"))
    valued_network()
    body = _text(client.get("/")).replace(") ;", ");")  # the tags stripped leave a space
    to_date = value_screens.to_date(session)
    assert to_date["planned"] is None  # the planted package has no pilot: nothing planned
    assert f"Value to date Actual €{to_date['actual']:,.2f} (P10 €{to_date['p10']:,.2f} – P90 €{to_date['p90']:,.2f}); no planned value to compare with yet." in body  # fmt: skip
    assert "See the value" in body


def test_value_to_date_reads_against_planned(app, session, monkeypatch):
    valued_network()
    figures = {"currency": "EUR", "actual": 1260.0, "p10": 900.0, "p50": 1250.0, "p90": 1500.0,
               "planned": 2000.0, "first_month": "2025-03", "last_month": "2025-06", "reading": ""}  # fmt: skip
    monkeypatch.setattr(value_screens, "to_date", lambda *a, **k: figures)
    client = make_client(app, "en")
    login_as(client, make_user("executive"))
    body = _text(client.get("/"))
    assert "Actual €1,260.00 (P10 €900.00 – P90 €1,500.00) against planned €2,000.00." in body


def test_value_to_date_is_computed_once_until_the_data_changes(app, session, monkeypatch):
    from programme.reports import value as value_service

    valued_network()
    calls = []
    real = value_service.value_to_date
    monkeypatch.setattr(
        value_service, "value_to_date", lambda *a, **k: calls.append(1) or real(*a, **k)
    )
    client = make_client(app, "en")
    login_as(client, make_user("executive"))
    first = _text(client.get("/"))
    assert _text(client.get("/")) == first and len(calls) == 1  # the second home is cached
    driver = session.scalar(select(ValueDriver))
    driver.source = "Contrôle de gestion, révisé"  # an audited write changes the stamp
    session.commit()
    client.get("/")
    assert len(calls) == 2


def test_finance_home_leads_to_value_drivers_and_gates(client, session, finance):
    package, _sites, _live = valued_network()
    login_as(client, finance)
    body = page(client.get("/"))
    assert 'href="/value/"' in body and 'href="/value/drivers"' in body
    assert f'href="/value/packages/{package.id}/gate"' in body and "gate L0" in body


def test_the_workbook_has_a_value_sheet_in_euros(client, session):
    valued_network()
    login_as(client, make_user("admin"))
    book = openpyxl.load_workbook(io.BytesIO(client.get("/reports/export.xlsx").data))
    sheet = book["Value"]
    header = [c.value for c in sheet[3]]
    assert header[:4] == ["Month", "Planned (€)", "Forecast (€)", "Actual (€)"]
    rows = list(sheet.iter_rows(min_row=4, values_only=True))
    assert rows[-1][0] == "Total" and rows[-1][3] > 0
    assert rows[0][0] == "Mar 2025"  # from the first go-live of a valued package
    assert "€" in sheet.cell(row=4 + len(rows) - 1, column=4).number_format


def test_the_workbook_of_a_site_manager_has_no_value_sheet(client, session):
    package, sites, _live = valued_network()
    manager = make_user("site_manager", site_id=sites[0].id)
    login_as(client, manager)
    book = openpyxl.load_workbook(io.BytesIO(client.get("/reports/export.xlsx").data))
    assert "Value" not in book.sheetnames


def test_the_pdf_has_a_value_page(client, session, monkeypatch):
    valued_network()
    seen = {}
    from programme.reports import exports

    original = exports.render_template

    def spy(name, **context):
        html = original(name, **context)
        seen[name] = html
        return html

    monkeypatch.setattr(exports, "render_template", spy)
    login_as(client, make_user("admin"))
    response = client.get("/reports/export.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    html = seen["reports/pdf/report.html"]
    assert '<section class="page" id="value">' in html and "P10" in html and "<svg" in html


def test_a_pilot_shows_its_projected_annual_value(client, session):
    from datetime import date, timedelta

    from sqlalchemy import insert

    from programme.kpis.models import Kpi, Measurement
    from programme.kpis.services import rebuild_rollups
    from programme.pilots.models import Package
    from programme.value import services
    from tests.pilot_factories import make_pilot, measured_sites

    admin = make_user("admin")
    sites = measured_sites(admin)
    pilot = make_pilot(admin)
    package = Package(pilot_id=pilot.id, name="Accueil au flux")
    session.add(package)
    visits = session.scalar(select(Kpi.id).where(Kpi.code == "VISITS"))
    day = date.today() - timedelta(days=30)
    rows = [{"site_id": s.id, "kpi_id": visits, "period_date": day + timedelta(days=i), "source": "test",
             "value": 50.0, "n": 1, "revision": 1, "entered_by": "test"}
            for s in sites.values() for i in range(30)]  # fmt: skip
    session.execute(insert(Measurement), rows)
    rebuild_rollups(session)
    services.save_driver(session, {"package": package.id, "kpi": "WAIT", "volume_kpi": "VISITS", "lever": "cost",
                                   "unit_low": 0.3, "unit_most_likely": 0.5, "unit_high": 0.6, "source": "test"})  # fmt: skip
    session.commit()
    projection = value_screens.pilot_projection(session, pilot.id)
    line = projection["drivers"][0]
    # The network's volume over the past twelve ended months (the current month is not over).
    assert 0 < line["annual_volume"] <= 50.0 * 30 * len(sites)
    assert line["annual_volume"] % (50.0 * len(sites)) == 0
    t = projection["total"]
    assert t["value"] > 0 and t["p10"] < t["value"] < t["p90"] and t["low"] < t["high"]
    login_as(client, make_user("finance"))
    body = _text(client.get(f"/pilots/{pilot.id}/results"))
    assert f"Going network-wide would be worth €{t['value']:,.2f} (P10 €{t['p10']:,.2f} – P90 €{t['p90']:,.2f}) a year." in body  # fmt: skip
    login_as(client, make_user("coach"))
    assert "Projected annual value" not in _text(client.get(f"/pilots/{pilot.id}/results"))
    assert session.scalar(select(func.count()).select_from(ValueDriver)) == 1
