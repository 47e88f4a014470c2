"""Each role's home says what needs the person today, most urgent first, each line a link
to where it gets done (issue 16, item 1)."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest

from programme.deployment.models import ChecklistItem, Visit
from programme.extensions import db
from programme.jobs.models import Job
from tests.deployment_factories import assign, make_coach, make_package, make_sites, make_wave
from tests.diagnostics_factories import make_campaign, make_observation
from tests.factories import login_as, make_region, make_site, make_user
from tests.kpi_factories import default_kpis, item, put
from tests.web.helpers import page

TODAY = date.today()


def _today_lines(text: str) -> list[str]:
    """The lines of "What needs you today", in order, tags stripped."""
    section = re.search(r'<ol class="today-lines">(.*?)</ol>', text, re.S)
    if not section:
        return []
    items = re.findall(r"<li[^>]*>(.*?)</li>", section.group(1), re.S)
    return [re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", i)).strip() for i in items]


def _visit(wave, site, coach, on, next_on=None):
    db.session.add(
        Visit(
            wave_id=wave.id,
            site_id=site.id,
            coach_id=coach.id,
            visited_on=on,
            duration_minutes=60,
            worked_on="Accueil",
            next_visit_on=next_on,
        )
    )
    db.session.commit()


@pytest.fixture
def coach_world(session):
    package = make_package(3)
    late, fine, soon = make_sites(3, prefix="HOM")
    start = TODAY - timedelta(days=40)
    wave = make_wave(package, [late, fine, soon], start=start, go_live=TODAY + timedelta(days=20))
    user = make_user("coach", name="Camille Coach")
    coach = make_coach(user=user, capacity=4, secondment_end=None)
    for site in (fine, late, soon):
        assign(wave, site, coach, start=start, end=TODAY + timedelta(days=50))
    _visit(wave, late, coach, TODAY - timedelta(days=18))
    _visit(wave, fine, coach, TODAY - timedelta(days=2))
    _visit(wave, soon, coach, TODAY - timedelta(days=9), next_on=TODAY + timedelta(days=0))
    return {"user": user, "late": late, "fine": fine, "soon": soon, "wave": wave}


def test_coach_sees_the_overdue_visit_first_and_sites_by_urgency(client, coach_world):
    w = coach_world
    login_as(client, w["user"])
    text = page(client.get("/"))
    lines = _today_lines(text)
    assert lines, text
    assert lines[0].startswith("Overdue Visit overdue at " + w["late"].code)
    assert "4 days ago" in lines[0]
    assert any(line.startswith("Visit due at " + w["soon"].code) for line in lines)
    assert not any(w["fine"].code in line for line in lines)
    # The line links to the site's checklist, where the visit gets logged.
    assert f'href="/waves/{w["wave"].id}/sites/{w["late"].id}"' in text
    # The site list: the overdue site first, the site visited two days ago last.
    sites = text.split('id="my-sites-title"')[1]
    order = [sites.index(s.code) for s in (w["late"], w["soon"], w["fine"])]
    assert order == sorted(order)


def test_coach_sees_late_checklist_items_after_go_live_and_regressions(client, session):
    package = make_package(2)
    (site,) = make_sites(1, prefix="GOL")
    start = TODAY - timedelta(days=60)
    wave = make_wave(package, [site], start=start, go_live=TODAY - timedelta(days=5))
    user = make_user("coach")
    coach = make_coach(user=user, secondment_end=None)
    assign(wave, site, coach, start=start, end=TODAY + timedelta(days=25))
    _visit(wave, site, coach, TODAY - timedelta(days=1))
    login_as(client, user)
    lines = _today_lines(page(client.get("/")))
    assert any(
        line.startswith(f"2 checklist items are not in place at {site.code}") for line in lines
    ), lines


def test_coach_with_nothing_due_is_told_so(client, session):
    package = make_package(1)
    (site,) = make_sites(1, prefix="CAL")
    wave = make_wave(
        package, [site], start=TODAY - timedelta(days=10), go_live=TODAY + timedelta(days=30)
    )
    user = make_user("coach")
    coach = make_coach(user=user, secondment_end=None)
    assign(wave, site, coach, start=TODAY - timedelta(days=10), end=TODAY + timedelta(days=60))
    _visit(wave, site, coach, TODAY - timedelta(days=1), next_on=TODAY + timedelta(days=20))
    login_as(client, user)
    text = page(client.get("/"))
    assert "Nothing needs you today." in text


def test_site_manager_home_shows_wave_checklist_kpis_alerts_and_only_their_region(client, session):
    admin = make_user("admin")
    default_kpis()
    region = make_region("Bretagne")
    other_region = make_region("Occitanie")
    site = make_site("BRE-001", region, name="Boutique Rennes")
    other = make_site("OCC-001", other_region, name="Boutique Toulouse")
    package = make_package(4)
    wave = make_wave(
        package, [site], start=TODAY - timedelta(days=60), go_live=TODAY - timedelta(days=10)
    )
    items = session.query(ChecklistItem).filter_by(wave_id=wave.id).order_by(ChecklistItem.id).all()
    items[0].state = "in_place"
    session.commit()
    # Daily WAIT at the site for the last 6 weeks, except yesterday and the day before.
    rows = []
    day = TODAY - timedelta(days=42)
    while day < TODAY - timedelta(days=2):
        rows.append(item(site, day=day, value=10.0, n=50))
        day += timedelta(days=1)
    put(admin, rows)
    make_campaign(sites=[site], name="Campagne Bretagne")
    make_campaign(sites=[other], name="Campagne Occitanie")
    manager = make_user("site_manager", site_id=site.id)
    login_as(client, manager)
    text = page(client.get("/"))
    lines = _today_lines(text)
    # The wave's alert for the site (past go-live below 80 %) and its late checklist.
    assert any("BRE-001 is past go-live with 25" in line for line in lines), lines
    assert any(line.startswith("3 checklist items are not in place at BRE-001") for line in lines)
    # Wave and checklist progress, KPIs against baseline.
    assert wave.name in text
    assert "Checklist: 1 of 4 elements in place" in text
    assert "Last 4 weeks" in text and "Baseline (8 weeks before go-live)" in text
    # Measurements missing in the entry week link to the grid on that KPI and week.
    if TODAY.weekday() >= 1:
        assert re.search(r'href="/measurements/grid\?kpi=WAIT&week=\d{4}-W\d{2}"', text)
        assert any("Waiting time:" in line and "missing" in line for line in lines), lines
    # Only the campaigns of their perimeter.
    assert "Campagne Bretagne" in text
    assert "Campagne Occitanie" not in text


def test_pilot_team_sees_missing_days_with_a_grid_link_and_the_latest_reading(client, session):
    from sqlalchemy import delete

    from programme.extensions import db as _db
    from programme.home.services import entry_week
    from programme.kpis.models import Measurement
    from programme.pilots.models import Pilot
    from tests.pilot_factories import make_pilot, measured_sites

    admin = make_user("admin")
    sites = measured_sites(admin)
    # A day left empty in the entry week: this week up to yesterday has no data anyway; on
    # a Monday the entry week is last week, which the factories fill.
    _monday, days = entry_week(TODAY)
    _db.session.execute(
        delete(Measurement).where(
            Measurement.site_id == sites["PIL-1"].id, Measurement.period_date == days[0]
        )
    )
    _db.session.commit()
    member = make_user("pilot_team")
    pilot = make_pilot(admin, members=[member])
    pilot = _db.session.get(Pilot, pilot.id)
    pilot.stage = "running"
    pilot.pilot_end = TODAY + timedelta(days=14)
    _db.session.commit()
    login_as(client, member)
    text = page(client.get("/"))
    lines = _today_lines(text)
    monday = TODAY - timedelta(days=TODAY.weekday())
    if TODAY.weekday() == 0:
        monday -= timedelta(days=7)
    iso = monday.isocalendar()
    week = f"{iso[0]}-W{iso[1]:02d}"
    assert any(
        line.startswith("Accueil repensé:") and "missing for Waiting time" in line for line in lines
    ), lines
    assert f'href="/measurements/grid?kpi=WAIT&week={week}"' in text
    assert "Latest reading of the results" in text
    assert "Waiting time" in text.split("Latest reading of the results")[1]


def test_diagnostician_sees_campaigns_in_progress_with_empty_cells_and_own_sessions(
    client, session
):
    region = make_region()
    branch = make_site("DIA-001", region, type="branch", channel_in_person=True)
    make_site("DIA-002", region, type="shop", channel_in_person=True)
    me = make_user("diagnostician")
    campaign = make_campaign(
        sites=[branch],
        site_types=("branch", "shop"),
        channels=("in_person",),
        start=TODAY - timedelta(days=5),
        end=TODAY + timedelta(days=20),
        name="Campagne printemps",
    )
    from datetime import UTC, datetime

    make_campaign(
        name="Campagne close",
        start=TODAY - timedelta(days=100),
        end=TODAY - timedelta(days=70),
        completed_at=datetime.now(UTC),
    )
    obs = make_observation(campaign, branch, observer=me, observed_on=TODAY - timedelta(days=1))
    login_as(client, me)
    text = page(client.get("/"))
    lines = _today_lines(text)
    assert any(
        line.startswith("Campagne printemps") and "Shop × In person" in line for line in lines
    ), lines
    assert any("has no finding recorded yet" in line for line in lines)
    assert f'href="/diagnostics/sessions/{obs.id}/edit"' in text
    in_progress = text.split('id="in-progress-title"')[1].split('id="own-sessions-title"')[0]
    assert "Campagne printemps" in in_progress and "Campagne close" not in in_progress


def test_admin_sees_alerts_pilots_awaiting_a_decision_and_failed_jobs(client, coach_world):
    from tests.pilot_factories import make_pilot

    admin = make_user("admin")
    from programme.pilots.models import Pilot

    default_kpis()
    for code in ("PIL-1", "PIL-2", "PIL-3", "PIL-4", "CTL-1", "CTL-2", "CTL-3", "CTL-4"):
        make_site(code)
    pilot = make_pilot(admin)
    db.session.get(Pilot, pilot.id).stage = "evaluating"
    db.session.add(Job(kind="kpi_import", status="failed", error="Traceback\nValueError: bad file"))
    db.session.commit()
    login_as(client, admin)
    text = page(client.get("/"))
    lines = _today_lines(text)
    assert any(
        f"No coach visit at {coach_world['late'].code} for 18 days" in line for line in lines
    ), lines
    assert any("Accueil repensé ended on" in line and "awaits a decision" in line for line in lines)
    assert any("(kpi_import) failed" in line and "ValueError: bad file" in line for line in lines)
    assert f'href="/pilots/{pilot.id}/decision"' in text


def test_executive_home_keeps_the_headline(client, session):
    login_as(client, make_user("executive"))
    text = page(client.get("/"))
    assert "Programme at a glance" in text
    assert "What needs you today" not in text


def test_home_in_french(client, coach_world):
    from tests.web.helpers import make_client

    user = coach_world["user"]
    user.language = "fr"
    db.session.commit()
    french = make_client(client.application, language="fr")
    login_as(french, user)
    text = page(french.get("/"))
    assert "Ce qui vous attend aujourd’hui" in text
    assert "Visite en retard à " + coach_world["late"].code in text


# --- the digest preferences on the account page ------------------------------------------------


def test_account_page_offers_the_digest_and_says_when_smtp_is_missing(client, session):
    from programme.home.models import DigestPreference
    from tests.web.helpers import count

    user = make_user("coach")
    login_as(client, user)
    text = page(client.get("/account"))
    assert "E-mail digest" in text
    assert "E-mail is not set up on this server yet" in text
    response = client.post(
        "/account/digest", data={"frequency": "weekly", "hour": "8", "time_zone": "Europe/Paris"}
    )
    assert response.status_code == 302
    assert count(session, DigestPreference) == 1
    text = page(client.get(response.headers["Location"]))
    assert "Digest saved: every Monday at 8:00 (Europe/Paris)." in text
    assert "Currently: every Monday at 8:00 (Europe/Paris)." in text
    # The form shows the saved choice.
    assert re.search(r'value="weekly"\s+checked', text)
    assert 'name="hour" min="0" max="23" step="1" inputmode="numeric" value="8"' in text
    assert 'value="Europe/Paris"' in text
    # Opting out removes the preference.
    client.post("/account/digest", data={"frequency": "off", "hour": "", "time_zone": ""})
    assert count(session, DigestPreference) == 0


@pytest.mark.parametrize(
    ("form", "message"),
    [
        (
            {"frequency": "daily", "hour": "24", "time_zone": "Europe/Paris"},
            "Choose an hour between 0 and 23.",
        ),
        (
            {"frequency": "daily", "hour": "", "time_zone": "Europe/Paris"},
            "Choose an hour between 0 and 23.",
        ),
        (
            {"frequency": "daily", "hour": "7", "time_zone": "Mars/Olympus"},
            "Unknown time zone “Mars/Olympus”",
        ),
        (
            {"frequency": "sometimes", "hour": "7", "time_zone": "UTC"},
            "Choose every day, every Monday or no e-mail.",
        ),
    ],
)
def test_bad_digest_preferences_get_422_a_clear_message_and_nothing_saved(
    client, session, form, message
):
    from programme.home.models import DigestPreference
    from tests.web.helpers import count

    login_as(client, make_user("site_manager"))
    response = client.post("/account/digest", data=form)
    assert response.status_code == 422
    text = page(response)
    assert message in text
    assert 'aria-invalid="true"' in text or "frequency-error" in text
    # What was typed stays in the form.
    assert f'value="{form["time_zone"]}"' in text
    assert count(session, DigestPreference) == 0


def test_account_page_does_not_warn_when_smtp_is_configured(client, session, app):
    app.config["MAIL_SERVER"] = "smtp.example.org"
    try:
        login_as(client, make_user("admin"))
        text = page(client.get("/account"))
    finally:
        app.config["MAIL_SERVER"] = None
    assert "E-mail digest" in text and "not set up" not in text


def test_a_long_list_shows_ten_lines_and_folds_the_rest(client, session):
    admin = make_user("admin")
    for n in range(13):
        db.session.add(Job(kind="kpi_import", status="failed", error=f"ValueError: fichier {n}"))
    db.session.commit()
    login_as(client, admin)
    text = page(client.get("/"))
    assert len(_today_lines(text)) == 10
    assert "<summary>3 more</summary>" in text
    assert text.count('class="today-line today-rank') == 13


def _home_statements(client, user) -> int:
    from tests.sql_plans import captured_statements

    login_as(client, user)
    with captured_statements(db.engine) as statements:
        assert client.get("/").status_code == 200
    return len(statements)


@pytest.mark.parametrize("role", ["coach", "site_manager", "admin"])
def test_the_home_runs_as_many_queries_for_ten_sites_as_for_two(client, session, role):
    """Aggregated in SQL: no query per site (N+1)."""
    counts = []
    for n in (2, 10):
        package = make_package(3)
        sites = make_sites(n, prefix=f"N{n}")
        start = TODAY - timedelta(days=40)
        wave = make_wave(package, sites, start=start, go_live=TODAY - timedelta(days=3))
        coach_user = make_user("coach")
        coach = make_coach(user=coach_user, capacity=12, secondment_end=None)
        for k, site in enumerate(sites):
            assign(wave, site, coach, start=start, end=TODAY + timedelta(days=20))
            _visit(wave, site, coach, TODAY - timedelta(days=5 + 3 * k))
        user = {
            "coach": coach_user,
            "site_manager": make_user("site_manager", region_id=sites[0].region_id),
            "admin": make_user("admin"),
        }[role]
        counts.append(_home_statements(client, user))
        # The next round starts from an empty programme.
        from tests.conftest import _clean

        _clean(client.application)
    assert counts[0] == counts[1], counts
