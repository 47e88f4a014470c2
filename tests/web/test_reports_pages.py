"""Leadership screens: the figures a reader sees, the perimeter, bad input
(the programme of tests/reports_factories.py)."""

from __future__ import annotations

import re

import pytest

from programme.auth.roles import EXECUTIVE, SITE_MANAGER
from tests.factories import login_as, make_user
from tests.reports_factories import build_programme
from tests.web.helpers import DENIED, make_client, page


@pytest.fixture
def programme(session):
    return build_programme()


@pytest.fixture
def en(app):
    return make_client(app, "en")


def _text(response) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page(response)))


def _stage_row(text: str, label: str) -> str:
    return text.split(label, 1)[1][:40]


@pytest.mark.parametrize("path", ["/", "/reports/"])
def test_executive_sees_the_programme_at_a_glance(en, session, programme, path):
    login_as(en, make_user(EXECUTIVE))
    response = en.get(path)
    assert response.status_code == 200
    text = _text(response)
    # Funnel table: stage, sites, share of the 6 sites.
    assert "Diagnosed 3 50%" in text
    assert "Piloted 2 33%" in text
    assert "In a wave 5 83%" in text
    assert "Live 3 50%" in text
    assert "Sustained 1 17%" in text
    assert "Sites with at least one observation session" in text  # definitions shown
    # RAG in words, with the reason.
    assert "Vague A" in text and "Red" in text and "past go-live" in text
    assert "Amber" in text
    assert (
        "Coaches: 2 · Sites assigned today: 3 · Capacity: 5 (60% used) · Over capacity: 1" in text
    )
    assert "50%" in text.split("Data completeness", 1)[1][:80]
    assert "Accueil" in text  # the pilot that led to the package
    body = page(response)
    assert f'href="/reports/regions/{programme.nord_id}"' in body
    assert 'href="/reports/stages/live"' in body
    assert f'href="/reports/waves/{programme.wave_a_id}"' in body
    assert 'data-vl-spec="funnel-spec"' in body and 'data-vl-spec="waves-spec"' in body


def test_top_alerts_are_at_most_five_and_link_to_the_wave(en, session, programme):
    login_as(en, make_user(EXECUTIVE))
    body = page(en.get("/reports/"))
    alerts = body.split('id="top-alerts"', 1)[1].split("</ol>", 1)[0]
    assert alerts.count("<li") == 5
    assert f"/reports/waves/{programme.wave_a_id}" in alerts
    assert "NOR-N2" in alerts.split("<li", 2)[1]  # the late site comes first


def test_drill_down_region_to_site_to_evidence(en, session, programme):
    login_as(en, make_user(EXECUTIVE))
    region = en.get(f"/reports/regions/{programme.nord_id}")
    assert region.status_code == 200
    text = _text(region)
    assert "Region report: Nord" in text
    assert (
        "Mean latest score: 3.5/5 · Sites with a score: 2 · Asked to be deployed earlier: 1" in text
    )
    assert "Camille" in text
    assert f'href="/reports/sites/{programme.sites["N1"]}"' in page(region)

    story = en.get(f"/reports/sites/{programme.sites['N1']}")
    assert story.status_code == 200
    text = _text(story)
    assert "The story of NOR-N1" in text
    assert "Pilot site of “Accueil”" in text
    assert "Attente debout" in text
    assert "Vague A" in text and "100% of the package in place" in text
    assert f'href="/sites/{programme.sites["N1"]}/kpis"' in page(story)
    assert f'href="/waves/{programme.wave_a_id}/sites/{programme.sites["N1"]}"' in page(story)

    stage = en.get(f"/reports/stages/live?region={programme.nord_id}")
    assert "3 sites" in _text(stage)


def test_wave_report_shows_progress_and_pre_post(en, session, programme):
    login_as(en, make_user(EXECUTIVE))
    response = en.get(f"/reports/waves/{programme.wave_b_id}")
    assert response.status_code == 200
    text = _text(response)
    assert "Wave report: Vague B" in text
    assert "Planned: 50% · Actual: 50% · Sites: 2" in text
    assert 'data-vl-spec="curve-spec"' in page(response)


def test_regional_manager_sees_their_region_only(en, session, programme):
    login_as(en, make_user(SITE_MANAGER, region_id=programme.nord_id))
    assert en.get(f"/reports/regions/{programme.nord_id}").status_code == 200
    other = en.get(f"/reports/regions/{programme.sud_id}")
    assert other.status_code == 403 and DENIED in page(other)
    assert en.get(f"/reports/sites/{programme.sites['N2']}").status_code == 200
    outside = en.get(f"/reports/sites/{programme.sites['S1']}")
    assert outside.status_code == 403 and "Agence S1" not in page(outside)
    # The glance covers the region only: 4 sites, Sud not listed.
    text = _text(en.get("/reports/"))
    assert "Diagnosed 2 50%" in text
    assert "SUD-S2" not in text
    # Wave B has N4 in Nord: only that site is shown; wave A too. No S-curve of the whole wave.
    wave = page(en.get(f"/reports/waves/{programme.wave_b_id}"))
    assert "NOR-N4" in wave and "SUD-S2" not in wave and "curve-spec" not in wave


def test_site_manager_wave_outside_the_perimeter_is_refused(en, session, programme):
    login_as(en, make_user(SITE_MANAGER, site_id=programme.sites["S1"]))
    assert en.get(f"/reports/waves/{programme.wave_b_id}").status_code == 403
    assert en.get(f"/reports/sites/{programme.sites['S1']}").status_code == 200
    assert en.get(f"/reports/regions/{programme.sud_id}").status_code == 403
    # No link leads them to a page they may not open.
    assert f"/reports/regions/{programme.sud_id}" not in page(en.get("/reports/"))
    story = page(en.get(f"/reports/sites/{programme.sites['S1']}"))
    assert f"/reports/regions/{programme.sud_id}" not in story


def test_executive_can_focus_the_glance_on_a_region(en, session, programme):
    login_as(en, make_user(EXECUTIVE))
    response = en.get(f"/reports/?region={programme.sud_id}")
    text = _text(response)
    assert "Headline figures · Sud" in text
    assert "Diagnosed 1 50%" in text
    assert f'href="/reports/stages/live?region={programme.sud_id}"' in page(response)


@pytest.mark.parametrize(
    "path",
    ["/reports/regions/999999", "/reports/waves/999999", "/reports/sites/999999",
     "/reports/stages/everything", "/reports/?region=999999"],
)  # fmt: skip
def test_unknown_records_are_404(en, session, programme, path):
    login_as(en, make_user(EXECUTIVE))
    assert en.get(path).status_code == 404


def test_bad_query_parameters_are_ignored_with_a_message(en, session, programme):
    login_as(en, make_user(EXECUTIVE))
    response = en.get("/reports/?region=abc")
    assert response.status_code == 200
    assert "“abc” is not a valid region: it was ignored." in page(response)
    assert "Diagnosed 3 50%" in _text(response)  # the whole network, as without the filter
    response = en.get("/reports/stages/live?page=-2")
    assert response.status_code == 200
    assert "“-2” is not a valid page: it was ignored." in page(response)


def test_empty_programme_still_renders(en, session):
    login_as(en, make_user(EXECUTIVE))
    for path in ("/", "/reports/"):
        response = en.get(path)
        assert response.status_code == 200
        assert "No wave yet." in page(response)


def test_every_report_renders_in_french(app, session, programme):
    fr = make_client(app, "fr")
    login_as(fr, make_user(EXECUTIVE, language="fr"))
    for path in (
        "/",
        "/reports/",
        "/reports/stages/sustained",
        f"/reports/regions/{programme.nord_id}",
        f"/reports/waves/{programme.wave_a_id}",
        f"/reports/sites/{programme.sites['N2']}",
    ):
        response = fr.get(path)
        assert response.status_code == 200, path
        assert 'lang="fr"' in page(response)


def test_cached_sections_follow_checklists_visits_and_engagement(en, session, programme):
    """The glance, the executive home and the region report are cached between requests: a
    checklist change, a coach visit, an engagement score and a new site show on the very
    next render."""
    from datetime import date

    from sqlalchemy import select

    from programme.deployment import services as deployment
    from programme.deployment.models import ChecklistItem, Coach, Wave
    from programme.network.models import Region
    from tests.factories import make_site

    login_as(en, make_user(EXECUTIVE))
    text = _text(en.get("/reports/"))
    assert "Sustained 1 17%" in text
    home = _text(en.get("/"))
    assert "Diagnostic 2026 3 sessions, 2 findings" in home and "The network 6 sites" in home
    no_visit = "No coach visit at SUD-S2"
    assert no_visit in page(en.get(f"/reports/regions/{programme.sud_id}"))
    assert no_visit in page(en.get(f"/reports/waves/{programme.wave_b_id}"))
    nord = _text(en.get(f"/reports/regions/{programme.nord_id}"))
    assert "Agence N4 Vague B" in nord and "asked to go earlier" in nord

    n3 = programme.sites["N3"]
    for item in session.scalars(select(ChecklistItem).where(ChecklistItem.site_id == n3)):
        deployment.set_item_state(session, item, "sustained", item.version)
    wave_b = session.get(Wave, programme.wave_b_id)
    coach = session.scalars(select(Coach)).first()
    deployment.record_visit(
        session,
        wave_b,
        programme.sites["S2"],
        deployment.VisitInput(date.today(), 60, "Accueil"),
        coach,
    )
    deployment.record_engagement(
        session, programme.sites["N4"], 3, None, date.today(), asked_earlier=True
    )
    make_site("SUD-S3", region=session.get(Region, programme.sud_id), name="Agence S3")
    session.commit()

    assert "Sustained 2 29%" in _text(en.get("/reports/"))
    home = _text(en.get("/"))
    assert "Sustained 2 29%" in home and "The network 7 sites" in home
    assert no_visit not in page(en.get(f"/reports/regions/{programme.sud_id}"))
    assert no_visit not in page(en.get(f"/reports/waves/{programme.wave_b_id}"))
    nord = _text(en.get(f"/reports/regions/{programme.nord_id}"))
    assert "Agence N4 Vague B" in nord and "3/5 · asked to go earlier" in nord


def test_report_pages_offer_the_downloads_of_what_they_show(en, session, programme):
    login_as(en, make_user(EXECUTIVE))
    body = page(en.get("/"))
    assert 'href="/reports/export.xlsx"' in body and 'href="/reports/export.pdf"' in body
    assert 'href="/reports/snapshots"' in body
    body = page(en.get(f"/reports/regions/{programme.nord_id}"))
    assert f'href="/reports/export.pdf?region={programme.nord_id}"' in body
    assert f'href="/reports/export.xlsx?region={programme.nord_id}"' in body


def test_regional_manager_downloads_their_own_perimeter(en, session, programme):
    login_as(en, make_user(SITE_MANAGER, region_id=programme.nord_id))
    body = page(en.get("/reports/"))
    # Their perimeter is implied: no region parameter to tamper with.
    assert 'href="/reports/export.pdf"' in body
    assert en.get(f"/reports/export.xlsx?region={programme.sud_id}").status_code == 403
