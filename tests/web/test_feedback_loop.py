"""Close the loop where people look (issue 19): the cases on the homes and in the digest
(escalated ones to the regional manager, most urgent first, each a link to its case), the
close-the-loop figures on the site manager's and the executive's homes and in the Excel
and PDF exports (never a contact reference), the addressed irritants' recent frequency on
the pilot pages, the irritant counts' findings trend, the daily purge task."""

from __future__ import annotations

import io
import re
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import openpyxl
import pypdfium2 as pdfium
import pytest
from flask_babel import force_locale
from sqlalchemy import select

from programme.feedback import queries, services
from programme.feedback.models import FeedbackCase, FeedbackResponse
from programme.home import digests
from programme.network import access
from programme.network.models import Site
from programme.reports import exports
from tests.diagnostics_factories import make_campaign, make_irritant, make_observation
from tests.factories import login_as, make_region, make_site, make_user
from tests.web.helpers import page

PARIS = ZoneInfo("Europe/Paris")
CONTACT = "06 98 76 54 32"


def _item(site, external_id, hours_ago=2, **values):
    received = datetime.now(PARIS) - timedelta(hours=hours_ago)
    base = {
        "source": "qualtrics",
        "external_id": external_id,
        "site": site,
        "received_at": received.isoformat(),
        "channel": "in_person",
        "score": 2,
        "scale": "nps",
        "contact_consent": True,
        "contact": CONTACT,
    }
    base.update(values)
    return base


@pytest.fixture
def world(session, app):
    """Two regions; PAR-001 and RBX-001 in the north (PAR-001 has a manager), TLS-001 in
    the south; a regional manager of the north; one open case at each site."""
    north, south = make_region("Hauts-de-France"), make_region("Occitanie")
    sites = {
        "PAR-001": make_site("PAR-001", region=north, name="Agence Lille"),
        "RBX-001": make_site("RBX-001", region=north, name="Agence Roubaix"),
        "TLS-001": make_site("TLS-001", region=south, name="Agence Toulouse"),
    }
    manager = make_user("site_manager", site_id=sites["PAR-001"].id, name="Camille Martin")
    regional = make_user("site_manager", region_id=north.id, name="Régis Régional")
    with app.test_request_context():
        services.record_responses(
            session, None, [_item(code, f"R-{code}") for code in sites], label="test"
        )
    session.commit()
    cases = {c.site.code: c for c in session.scalars(select(FeedbackCase))}
    return {
        "sites": sites,
        "cases": cases,
        "manager": manager,
        "regional": regional,
        "north": north,
        "south": south,
    }


def _late(session, case, due_hours_ago, escalated=False):
    """Move a case's deadline into the past (stored in UTC, as the intake does)."""
    now = datetime.now(UTC)
    case.due_at = now - timedelta(hours=due_hours_ago)
    case.escalate_at = now - timedelta(minutes=5) if escalated else now + timedelta(hours=5)
    session.commit()


# --- 1. escalated cases on the regional manager's home and in their digest ------------------


def test_escalated_cases_reach_the_regional_manager_most_urgent_first(client, session, world):
    par, rbx, tls = (world["cases"][c] for c in ("PAR-001", "RBX-001", "TLS-001"))
    _late(session, par, 30, escalated=True)
    _late(session, rbx, 60, escalated=True)  # the longer overdue: first
    _late(session, tls, 90, escalated=True)  # another region: never shown here

    login_as(client, world["regional"])
    text = page(client.get("/"))
    lines = re.findall(r'data-kind="case_escalated">\s*(.*?)</li>', text, re.S)
    assert len(lines) == 2
    assert f'href="/cases/{rbx.id}"' in lines[0] and "RBX-001" in lines[0]
    assert f'href="/cases/{par.id}"' in lines[1] and "PAR-001" in lines[1]
    assert "Overdue" in lines[0]
    assert "Camille Martin" in lines[1]  # the case's assignee: the site's manager
    assert "TLS-001" not in text
    # the escalated lines come before everything else on the list
    kinds = re.findall(r'data-kind="([a-z_]+)"', text)
    assert kinds[:2] == ["case_escalated", "case_escalated"]

    # a case no longer escalated (contacted) leaves the list
    client.post(f"/cases/{rbx.id}/contacted")
    text = page(client.get("/"))
    assert len(re.findall(r'data-kind="case_escalated"', text)) == 1


def test_a_case_not_yet_escalated_is_not_on_the_regional_home(client, session, world):
    _late(session, world["cases"]["RBX-001"], 3, escalated=False)
    login_as(client, world["regional"])
    assert 'data-kind="case_escalated"' not in page(client.get("/"))
    # the site manager of one site is never sent escalations
    _late(session, world["cases"]["PAR-001"], 30, escalated=True)
    login_as(client, world["manager"])
    assert 'data-kind="case_escalated"' not in page(client.get("/"))


def test_the_site_manager_home_lists_the_customers_to_call_back(client, session, world):
    login_as(client, world["manager"])
    text = page(client.get("/"))
    site_id = world["sites"]["PAR-001"].id
    assert "1 customer to call back at PAR-001." in text
    assert f'href="/cases?site={site_id}&amp;status=open"' in client.get("/").get_data(as_text=True)
    _late(session, world["cases"]["PAR-001"], 2)
    text = page(client.get("/"))
    assert "1 customer to call back at PAR-001, 1 past due." in text
    assert re.search(r'today-rank-0" data-kind="cases_to_call"', text)


def test_the_regional_managers_digest_lists_the_escalated_cases(app, session, world):
    par, rbx = world["cases"]["PAR-001"], world["cases"]["RBX-001"]
    _late(session, par, 30, escalated=True)
    _late(session, rbx, 60, escalated=True)
    regional = world["regional"]
    digests.save_preference(session, regional, "daily", 7, "Europe/Paris")
    pref = digests.preference_for(session, regional)
    with app.test_request_context("/", base_url="https://programme.example.org"):
        with force_locale("en"):
            digest = digests.build_digest(session, regional, pref, datetime.now(UTC))
        with force_locale("fr"):
            french = digests.build_digest(session, regional, pref, datetime.now(UTC))
    escalated = [line for line in digest.lines if line.kind == "case_escalated"]
    assert [line.params["case_id"] for line in escalated] == [rbx.id, par.id]
    assert f"https://programme.example.org/cases/{rbx.id}" in digest.text
    assert digest.text.index(f"/cases/{rbx.id}") < digest.text.index(f"/cases/{par.id}")
    assert "Escalated to you: case" in digest.text
    assert "Remonté vers vous" in french.text
    assert CONTACT not in digest.text and CONTACT not in digest.html


# --- 2. close-the-loop figures on the homes and in the exports ------------------------------


def _contact(session, case, hours_after_arrival):
    case.status = "contacted"
    case.contacted_at = case.response.received_at + timedelta(hours=hours_after_arrival)
    session.commit()


def test_the_figures_are_on_the_site_managers_and_executives_homes(client, session, world):
    par, rbx, tls = (world["cases"][c] for c in ("PAR-001", "RBX-001", "TLS-001"))
    _contact(session, par, 4)  # within the deadline
    _late(session, tls, 10)  # past due, still to contact
    login_as(client, world["manager"])
    text = page(client.get("/"))
    section = text[text.index('id="loop-title"') :]
    assert "Calling back unhappy customers" in section
    assert re.search(r'data-figure="share-in-time">100%<', section)
    assert re.search(r'data-figure="median-hours">4.0 h<', section)
    assert re.search(r'data-figure="past-due">0<', section)
    assert CONTACT not in text

    login_as(client, make_user("executive"))
    text = page(client.get("/"))
    section = text[text.index('id="loop-title"') :]
    # network: PAR-001 in time, TLS-001 past due (RBX-001 neither): 1 of 2 → 50 %
    assert re.search(r'data-figure="share-in-time">50%<', section)
    assert re.search(r'data-figure="past-due">1<', section)
    assert "Hauts-de-France" in section and "Occitanie" in section
    assert CONTACT not in text

    login_as(client, world["regional"])
    section = page(client.get("/"))
    section = section[section.index('id="loop-title"') :]
    assert "PAR-001 · Agence Lille" in section and "RBX-001 · Agence Roubaix" in section
    assert "Occitanie" not in section and "TLS-001" not in section


def test_the_homes_in_french(client, session, world):
    _late(session, world["cases"]["RBX-001"], 60, escalated=True)
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "fr"
    login_as(client, world["regional"])
    text = page(client.get("/"))
    assert "Rappel des clients mécontents" in text
    assert "Remonté vers vous" in text
    login_as(client, world["manager"])
    assert "1 client à rappeler à PAR-001." in page(client.get("/"))


def _export_data(session, user, region_id=None):
    scope = access.scope_for(session, user, region_id)
    return exports.gather(session, scope, user, date.today())


def test_the_exports_carry_the_figures_and_never_a_contact_reference(app, session, world):
    par, tls = world["cases"]["PAR-001"], world["cases"]["TLS-001"]
    _contact(session, par, 6)
    _late(session, tls, 10)
    admin = make_user("admin")
    with app.test_request_context(headers={"Accept-Language": "en"}):
        data = _export_data(session, admin)
        book = openpyxl.load_workbook(io.BytesIO(exports.build_xlsx(session, data)))
        pdf = exports.build_pdf(data)
    sheet = book["Close the loop"]
    header = [c.value for c in sheet[3]]
    assert header[:2] == ["Region", "Cases"]
    rows = {r[0]: r for r in sheet.iter_rows(min_row=4, values_only=True)}
    network = rows["Whole network"]
    assert network[1:5] == (3, 2, 1, 0.5)  # cases, decided, in time, share
    assert network[5] == pytest.approx(6.0) and network[6] == 1
    assert rows["Occitanie"][6] == 1 and rows["Hauts-de-France"][6] == 0
    assert sheet["E4"].number_format == "0.0%"
    for ws in book.worksheets:
        for row in ws.iter_rows(values_only=True):
            assert not any(CONTACT in str(v) for v in row if v is not None), ws.title

    text = "\n".join(p.get_textpage().get_text_range() for p in pdfium.PdfDocument(pdf))
    assert "Calling back unhappy customers" in text
    assert "Hauts-de-France" in text and "6.0 h" in text
    assert CONTACT not in text

    # a regional manager's export: their region, per site
    with app.test_request_context(headers={"Accept-Language": "fr"}), force_locale("fr"):
        data = _export_data(session, world["regional"])
        book = openpyxl.load_workbook(io.BytesIO(exports.build_xlsx(session, data)))
    sheet = book["Rappel des clients"]
    labels = [r[0] for r in sheet.iter_rows(min_row=4, values_only=True)]
    assert labels[1:] == ["PAR-001 · Agence Lille", "RBX-001 · Agence Roubaix"]
    assert not any("TLS-001" in str(label) for label in labels)


# --- 3. the pilot pages show each addressed irritant's recent frequency ----------------------


def test_the_pilot_pages_show_the_addressed_irritants_recent_frequency(client, session, world):
    from tests.kpi_factories import default_kpis
    from tests.pilot_factories import make_pilot

    campaign = make_campaign(start=date.today() - timedelta(days=200), end=date.today())
    waiting = make_irritant(campaign, name="Attente sans information")
    kiosk = make_irritant(campaign, name="Borne en panne")
    site = world["sites"]["PAR-001"]
    for days_ago, occurrences in ((10, 3), (40, 2), (120, 5)):
        make_observation(
            campaign,
            site,
            findings=[{"occurrences": occurrences, "severity": 2, "irritant": waiting}],
            observed_on=date.today() - timedelta(days=days_ago),
        )
    # one closed case in the last 90 days, two in the 90 days before
    now = datetime.now(UTC)
    for case, days_ago in zip(world["cases"].values(), (5, 100, 150), strict=True):
        case.status, case.outcome, case.cause = "closed", "resolved", "ergonomic"
        case.irritant_id, case.closed_at = waiting.id, now - timedelta(days=days_ago)
    session.commit()
    default_kpis()
    admin = make_user("admin")
    pilot = make_pilot(
        admin,
        pilot_sites=("PAR-001",),
        control_sites=("RBX-001",),
        irritant_ids=[waiting.id, kiosk.id],
    )

    login_as(client, make_user("coach"))  # anyone who sees the pilot sees the frequencies
    for path in (f"/pilots/{pilot.id}", f"/pilots/{pilot.id}/edit"):
        if path.endswith("/edit"):
            login_as(client, admin)  # the design form
        response = client.get(path)
        assert response.status_code == 200
        text = page(response)
        section = text[text.index('id="irritant-frequency-title"') :]
        cards = re.findall(r'data-irritant="(\d+)"(.*?)</li>', section, re.S)
        assert [int(ident) for ident, _ in cards] == [waiting.id, kiosk.id]  # most frequent first
        first = cards[0][1]
        # 2 findings (10 and 40 days ago) + 1 closed case; before: 1 finding + 2 cases
        assert "3 findings or cases" in first and "2 findings, 1 closed case" in first
        assert re.search(r'data-figure="trend">=\s*<small>\(3 before\)', first)
        assert "0 findings or cases" in cards[1][1]


def test_irritant_frequency_service_counts_each_source_and_the_period_before(session, world):
    campaign = make_campaign(start=date.today() - timedelta(days=200), end=date.today())
    waiting = make_irritant(campaign, name="Attente")
    make_observation(
        campaign,
        world["sites"]["PAR-001"],
        findings=[{"occurrences": 1, "severity": 2, "irritant": waiting}],
        observed_on=date.today() - timedelta(days=95),
    )
    (row,) = queries.irritant_frequency(session, [waiting.id], date.today())
    assert (row.findings, row.findings_before, row.cases, row.cases_before) == (0, 1, 0, 0)
    assert row.frequency_trend == -1
    assert queries.irritant_frequency(session, [], date.today()) == []
    assert queries.irritant_frequency(session, ["x", None, -3], date.today()) == []


# --- 4. the irritant counts: the findings' trend, the proposals in the page ------------------


def test_the_irritant_page_shows_the_findings_trend_and_the_proposals(client, session, world):
    campaign = make_campaign(start=date.today() - timedelta(days=60), end=date.today())
    waiting = make_irritant(campaign, name="Attente sans information")
    for days_ago in (5, 25):
        make_observation(
            campaign,
            world["sites"]["PAR-001"],
            findings=[{"occurrences": 1, "severity": 2, "irritant": waiting}],
            observed_on=date.today() - timedelta(days=days_ago),
        )
    case = world["cases"]["PAR-001"]
    case.status, case.outcome, case.cause = "closed", "resolved", "technical"
    case.closed_at, case.proposed_irritant = datetime.now(UTC), "Site web lent"
    session.commit()
    login_as(client, make_user("diagnostician"))
    since = (date.today() - timedelta(days=19)).isoformat()
    response = client.get(f"/cases/irritants?since={since}")
    text = page(response)
    # 20 days: one finding now, one in the 20 days before → "="
    assert re.search(r'data-figure="findings-trend">=</span> <small>\(1 before\)', text)
    title = re.search(r"<title>(.*?)</title>", text, re.S).group(1)
    assert "<" not in title and "New irritants" not in title
    assert "Site web lent · 1 case" in text.split("</title>")[1]
    # the campaign's irritant Pareto links to these counts since the campaign started
    response = client.get(f"/diagnostics/campaigns/{campaign.id}/irritants")
    assert response.status_code == 200
    ranking = page(response)
    assert f"/cases/irritants?since={campaign.start_date.isoformat()}" in ranking


# --- privacy: the purge runs daily under the job worker --------------------------------------


def test_the_daily_purge_task_deletes_old_contact_references(app, session, world):
    from programme.jobs.schedule import SCHEDULE

    assert "purge-contact-references" in {task.command for task in SCHEDULE}
    old = world["cases"]["PAR-001"]
    old.status, old.outcome, old.cause = "closed", "resolved", "technical"
    old.closed_at = datetime.now(UTC) - timedelta(days=91)
    recent = world["cases"]["RBX-001"]
    recent.status, recent.outcome, recent.cause = "closed", "resolved", "technical"
    recent.closed_at = datetime.now(UTC) - timedelta(days=89)
    session.commit()
    outcome = app.test_cli_runner().invoke(args=["purge-contact-references"])
    assert outcome.exit_code == 0, outcome.output
    assert "1 contact reference deleted" in outcome.output
    session.expire_all()
    refs = {
        r.site.code: r.contact_ref for r in session.scalars(select(FeedbackResponse).join(Site))
    }
    assert refs == {"PAR-001": None, "RBX-001": CONTACT, "TLS-001": CONTACT}


# --- settings: due time per channel and routing per site type from the environment ----------


def test_due_days_and_routing_are_read_from_the_environment(monkeypatch):
    from programme.config import Config

    monkeypatch.setenv("FEEDBACK_DUE_WORKING_DAYS", "phone=1, digital=3")
    monkeypatch.setenv("FEEDBACK_CASE_ROUTING", "call_centre=regional_manager")
    config = Config()
    assert config.FEEDBACK_DUE_WORKING_DAYS == {"phone": 1, "digital": 3}
    assert config.FEEDBACK_CASE_ROUTING == {"call_centre": "regional_manager"}
    for name, value, message in [
        ("FEEDBACK_DUE_WORKING_DAYS", "fax=1", "“fax=1” is not key=value"),
        ("FEEDBACK_DUE_WORKING_DAYS", "phone=0", "from 1 to 20"),
        ("FEEDBACK_DUE_WORKING_DAYS", "phone", "is not key=value"),
        ("FEEDBACK_CASE_ROUTING", "call_centre=coach", "site_manager or regional_manager"),
    ]:
        monkeypatch.setenv(name, value)
        with pytest.raises(ValueError, match=message):
            Config()
        monkeypatch.delenv(name)
    assert Config().FEEDBACK_DUE_WORKING_DAYS == {}
