"""The leadership figures against a small programme counted by hand (tests/reports_factories.py)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from flask_babel import force_locale
from werkzeug.exceptions import Forbidden, NotFound

from programme.auth.models import User
from programme.network import access
from programme.reports.screens import glance as glance_screen
from programme.reports.screens import region as region_screen
from programme.reports.screens import site as site_screen
from programme.reports.screens import stage as stage_screen
from programme.reports.screens import wave as wave_screen
from programme.reports.sections import alerts as alerts_section
from programme.reports.sections import coaches as coaches_section
from programme.reports.sections import completeness as completeness_section
from programme.reports.sections import funnel as funnel_section
from programme.reports.sections import waves as waves_section
from tests.factories import make_user
from tests.reports_factories import TODAY, WINDOW_START, build_programme


@pytest.fixture(autouse=True)
def _english(app):
    with app.test_request_context(headers={"Accept-Language": "en"}):
        yield


@pytest.fixture
def programme(session):
    return build_programme()


def _user(session, role="executive", **values) -> User:
    return make_user(role, **values)


def test_funnel_counts_each_stage_as_defined(session, programme):
    network = access.network_scope()
    assert funnel_section.funnel_counts(session, network, TODAY) == {
        "total": 6, "diagnosed": 3, "piloted": 2, "in_wave": 5, "live": 3, "sustained": 1,
    }  # fmt: skip
    nord = access.Scope("region:n", "Nord", programme.nord_id, None)
    assert funnel_section.funnel_counts(session, nord, TODAY) == {
        "total": 4, "diagnosed": 2, "piloted": 2, "in_wave": 4, "live": 3, "sustained": 1,
    }  # fmt: skip
    # The day before wave A's go-live, nothing is live or sustained yet.
    before = TODAY - timedelta(days=11)
    counts = funnel_section.funnel_counts(session, network, before)
    assert (counts["live"], counts["sustained"]) == (0, 0)


def test_stage_list_shows_the_sites_behind_a_count(session, programme):
    page = stage_screen.stage_sites(session, access.network_scope(), "live", TODAY)
    assert [code for _id, code, _name, _region in page.sites] == ["NOR-N1", "NOR-N2", "NOR-N3"]
    assert page.stage.count == 3 and page.stage.total == 6


def test_rag_rule():
    assert waves_section.rag(0.6, 0.35, 0, 0)[0] == "red"  # 25 points behind
    assert waves_section.rag(0.6, 0.45, 0, 0)[0] == "amber"  # 15 points behind
    assert waves_section.rag(0.6, 0.55, 0, 0)[0] == "green"  # 5 points behind
    assert waves_section.rag(0.6, 0.55, 0, 2)[0] == "amber"  # an alert
    assert waves_section.rag(1.0, 0.95, 1, 0)[0] == "red"  # a site past go-live below 80 %
    with force_locale("en"):
        assert waves_section.rag(0.6, 0.35, 0, 0)[1] == "25 points behind plan."


def test_waves_progress_and_rag(session, programme):
    alerts = alerts_section.scoped_alerts(session, access.network_scope(), TODAY)
    with force_locale("en"):
        waves = waves_section.wave_statuses(
            session, access.network_scope(), TODAY, alerts_section.alerts_per_wave(alerts)
        )
    by_name = {w.name: w for w in waves}
    a, b = by_name["Vague A"], by_name["Vague B"]
    assert a.n_sites == 3 and a.actual == pytest.approx(2.5 / 3)
    assert a.planned == 1.0 and a.late_sites == 1
    assert a.rag == "red" and "past go-live" in a.reason
    assert b.planned == pytest.approx(0.5) and b.actual == pytest.approx(0.5)
    assert b.rag == "amber" and "open alert" in b.reason


def test_alerts_most_important_first_and_scoped(session, programme):
    rows = alerts_section.scoped_alerts(session, access.network_scope(), TODAY)
    kinds = [a.kind for a in rows]
    assert kinds[0] == "late_site"  # N2, 50 % past go-live
    assert kinds.index("over_capacity") < kinds.index("no_visit")
    sud = access.Scope("region:s", "Sud", programme.sud_id, None)
    sud_rows = alerts_section.scoped_alerts(session, sud, TODAY)
    assert {a.site_id for a in sud_rows if a.site_id} == {programme.sites["S2"]}
    assert not any(a.kind == "over_capacity" for a in sud_rows)


def test_coach_capacity_in_one_line(session, programme):
    cap = coaches_section.coach_capacity(session, access.network_scope(), TODAY)
    assert (cap.coaches, cap.sites_assigned, cap.capacity, cap.over_capacity) == (2, 3, 5, 1)
    sud = access.Scope("region:s", "Sud", programme.sud_id, None)
    cap = coaches_section.coach_capacity(session, sud, TODAY)
    assert (cap.coaches, cap.sites_assigned, cap.capacity) == (1, 1, 4)


def test_completeness_over_the_last_four_full_weeks(session, programme):
    filled = completeness_section.completeness(session, access.network_scope(), TODAY)
    assert (filled.present, filled.expected) == (42, 84)
    assert filled.share == pytest.approx(0.5)
    assert filled.start == WINDOW_START
    sud = access.Scope("region:s", "Sud", programme.sud_id, None)
    assert completeness_section.completeness(session, sud, TODAY).expected == 0


def test_headline_figures_have_stable_keys(session, programme):
    figures = glance_screen.headline_figures(session, access.network_scope(), TODAY)
    assert figures["sites_total"] == 6
    assert figures["sites_sustained"] == 1
    assert figures["completeness_pct"] == 50.0
    assert figures["coach_load_pct"] == 60.0
    # Both waves are active: (1 + 0.5 + 1 + 0 + 1) / 5 sites.
    assert figures["wave_progress_pct"] == 70.0
    assert figures["open_alerts"] > 0


def test_scope_for_each_role(session, programme):
    executive = _user(session)
    assert access.scope_for(session, executive).whole_network
    assert access.scope_for(session, executive, programme.sud_id).region_id == programme.sud_id
    regional = _user(session, "site_manager", region_id=programme.nord_id)
    assert access.scope_for(session, regional).region_id == programme.nord_id
    with pytest.raises(Forbidden):
        access.scope_for(session, regional, programme.sud_id)
    with pytest.raises(NotFound):
        access.scope_for(session, executive, 999_999)
    manager = _user(session, "site_manager", site_id=programme.sites["S1"])
    scope = access.scope_for(session, manager)
    assert scope.site_ids == frozenset({programme.sites["S1"]})
    assert funnel_section.funnel_counts(session, scope, TODAY)["diagnosed"] == 1


def test_region_report(session, programme):
    report = region_screen.region_report(session, programme.nord_id, TODAY)
    assert [s.code for s in report.sites] == ["NOR-N1", "NOR-N2", "NOR-N3", "NOR-N4"]
    n1 = report.sites[0]
    assert (n1.wave_name, n1.progress, n1.engagement, n1.asked_earlier) == ("Vague A", 1.0, 5, True)
    assert report.engagement.sites == 2
    assert report.engagement.mean_score == pytest.approx(3.5)
    assert report.engagement.asked_earlier == 1
    wait = next(t for t in report.trends if t.code == "WAIT")
    by_week = {p["week"]: p["value"] for p in wait.points}
    # N1 (10 min, n=10 a day) and N2 (20 min, n=30 a day) the first two weeks: weighted 17.5.
    assert by_week[WINDOW_START.isoformat()] == pytest.approx(17.5)
    assert by_week[(WINDOW_START + timedelta(weeks=3)).isoformat()] == pytest.approx(10.0)
    assert [c.name for c in report.coaches] == ["Camille"]


def test_wave_report_restricted_to_a_perimeter(session, programme):
    network = access.network_scope()
    report = wave_screen.wave_report(session, programme.wave_b_id, network, TODAY)
    assert {s.code for s in report.sites} == {"NOR-N4", "SUD-S2"}
    assert report.s_curve
    sud = access.Scope("region:s", "Sud", programme.sud_id, None)
    report = wave_screen.wave_report(session, programme.wave_b_id, sud, TODAY)
    assert [s.code for s in report.sites] == ["SUD-S2"]
    assert report.s_curve is None
    with pytest.raises(Forbidden):
        wave_screen.wave_report(session, programme.wave_a_id, sud, TODAY)
    with pytest.raises(NotFound):
        wave_screen.wave_report(session, 999_999, network, TODAY)


def test_site_story(session, programme):
    executive = _user(session)
    story = site_screen.site_story(session, programme.sites["N1"], executive, TODAY)
    assert story.sessions == 1
    assert [f.irritant_name for f in story.findings] == ["Attente debout"]
    assert story.findings[0].description is None  # executives read irritants, not findings
    assert [(p.pilot_name, p.arm, p.decision) for p in story.pilots] == [("Accueil", "pilot", "go")]
    assert [(w.wave.name, w.progress) for w in story.waves] == [("Vague A", 1.0)]
    assert len(story.visits) == 1
    wait = next(k for k in story.kpis if k.code == "WAIT")
    assert wait.last_4_weeks == pytest.approx(10.0)
    admin = session.get(User, programme.admin_id)
    story = site_screen.site_story(session, programme.sites["N1"], admin, TODAY)
    assert story.findings[0].description == "Queue dehors"


def test_overview_gathers_everything(session, programme):
    executive = _user(session)
    overview = glance_screen.overview(session, access.network_scope(), executive, TODAY)
    assert [s.count for s in overview.funnel] == [3, 2, 5, 3, 1]
    assert [p.pilot_name for p in overview.pilots] == ["Accueil"]
    assert len(overview.top_alerts) == alerts_section.TOP_ALERTS
    assert [r.name for r in overview.regions] == ["Nord", "Sud"]
    assert overview.regions[0].live == 3


def test_cached_figures_follow_new_measurements(session, programme):
    """Completeness and trends are cached against the KPI data stamp: a new measurement
    (or a correction) shows at once."""
    from tests.kpi_factories import item, put

    network = access.network_scope()
    assert completeness_section.completeness(session, network, TODAY).present == 42
    admin = session.get(User, programme.admin_id)
    put(admin, [item("NOR-N3", day=WINDOW_START, value=9.0, n=4)])
    assert completeness_section.completeness(session, network, TODAY).present == 43
    report = region_screen.region_report(session, programme.nord_id, TODAY)
    wait = next(t for t in report.trends if t.code == "WAIT")
    first = next(p for p in wait.points if p["week"] == WINDOW_START.isoformat())
    assert first["n"] == 70 + 210 + 4  # N1 10 a day, N2 30 a day over 7 days; N3 4
