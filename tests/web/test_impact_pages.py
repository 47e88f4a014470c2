"""/reports/impact/: the estimate, per wave and per region, the chart; bad input → 400.

Who may open the page is in the role × route matrix (tests/web/impact_matrix.py)."""

from __future__ import annotations

import re
import threading

import pytest

from programme.auth.roles import EXECUTIVE, PILOT_TEAM, SITE_MANAGER
from programme.reports import impact
from tests.deployment_factories import make_package
from tests.factories import login_as, make_user
from tests.integration.test_impact import MONDAYS, background_refresh, build  # noqa: F401
from tests.web.helpers import DENIED, h1, page

URL = "/reports/impact/"


@pytest.fixture
def network(session):
    """One wave of 4 deployed sites (one stops reporting) and 6 sites never deployed."""
    package, sites, _live, _rows = build(MONDAYS[:1], sites_per_wave=4, never=6)
    return {"package": package.id}


def test_executive_reads_the_estimate_per_wave_and_region(client, session, network):
    login_as(client, make_user(EXECUTIVE))
    response = client.get(URL)
    assert response.status_code == 200
    text = page(response)
    assert h1(text) == "Deployment impact"
    reading = re.search(r'data-testid="impact-reading">(.*?)</p>', text, re.S).group(1)
    assert reading.startswith("Waiting time: sites that deployed the package lowered it by")
    assert "over 8 weeks, 1 wave, 3 sites" in reading
    assert "1 deployed site without data in both windows was left out." in reading
    assert "Vague 0" in text  # the per-wave table
    assert "1 deployed, 0 comparison" in text  # left out for missing data, counted
    assert "Nord" in text and "Sud" in text  # the per-region table
    assert 'data-vl-spec="impact-chart-spec"' in text
    assert "Weeks since go-live" in text  # the chart's table fallback
    assert "Every KPI of the package" in text  # CONV, CSAT, … with links
    assert 'href="/reports/impact/?kpi=CONV&amp;package=' in response.get_data(as_text=True)


def test_the_form_changes_kpi_window_and_region(client, session, network):
    login_as(client, make_user(PILOT_TEAM))
    text = page(client.get(URL, query_string={"kpi": "conv", "window_weeks": "4"}))
    assert "Conversion rate" in text
    assert "Not computable" in text  # no conversion measured
    assert 'value="4"' in text
    from programme.network.models import Region

    nord = session.query(Region).filter_by(name="Nord").one()
    text = page(client.get(URL, query_string={"region": nord.id}))
    assert "Waiting time, Nord:" in text


def test_htmx_gets_only_the_result_region(client, session, network):
    login_as(client, make_user(EXECUTIVE))
    response = client.get(URL, query_string={"window_weeks": "6"}, headers={"HX-Request": "true"})
    text = page(response)
    assert response.status_code == 200
    assert text.lstrip().startswith('<div id="impact-result"')
    assert "<html" not in text
    assert "over 6 weeks" in text
    assert "<script" not in text  # htmx drops scripts: the chart spec is in a <template>
    assert '<template id="impact-chart-spec">' in text


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"window_weeks": "abc"}, "The window must be a whole number of weeks from 1 to 52."),
        ({"window_weeks": "0"}, "The window must be a whole number of weeks from 1 to 52."),
        ({"window_weeks": "53"}, "The window must be a whole number of weeks from 1 to 52."),
        ({"window_weeks": "2.5"}, "The window must be a whole number of weeks from 1 to 52."),
        ({"kpi": "NOPE"}, "Unknown KPI code: NOPE."),
        ({"package": "x"}, "Choose a package from the list."),
        ({"package": "999999"}, "No such package."),
        ({"region": "999999"}, "No such region."),
    ],
)
def test_bad_input_is_a_400_with_a_clear_message(client, session, network, query, message):
    login_as(client, make_user(EXECUTIVE))
    response = client.get(URL, query_string=query)
    assert response.status_code == 400
    text = page(response)
    assert message in text
    assert 'aria-invalid="true"' in text
    assert 'data-testid="impact-reading"' not in text


def test_several_packages_offer_a_choice(client, session, network):
    other = make_package(name="Autre paquet")
    from tests.deployment_factories import make_sites, make_wave

    make_wave(other, make_sites(2), name="Vague autre")
    login_as(client, make_user(EXECUTIVE))
    text = page(client.get(URL))
    assert '<select id="impact-package" name="package"' in text
    assert "Accueil au flux" in text and "Autre paquet" in text
    text = page(client.get(URL, query_string={"package": other.id}))
    assert "Autre paquet" in text and "Vague autre" in text


def test_site_manager_is_refused(client, session, network):
    login_as(client, make_user(SITE_MANAGER))
    response = client.get(URL)
    assert response.status_code == 403
    assert DENIED in page(response)


def test_french(client, session, network):
    login_as(client, make_user(EXECUTIVE, language="fr"))
    response = client.get(URL)
    assert response.status_code == 200
    assert '<html lang="fr"' in page(response)


@pytest.mark.usefixtures("background_refresh")
def test_the_home_says_the_impact_is_being_computed_then_loads_it(
    client, session, network, monkeypatch
):
    release, real = threading.Event(), impact.refresh._recompute

    def slow(*args, **kwargs):
        release.wait(30)
        return real(*args, **kwargs)

    monkeypatch.setattr(impact.refresh, "_recompute", slow)
    login_as(client, make_user(EXECUTIVE, language="en"))
    home = client.get("/")  # the process's first request: no figures yet, no waiting
    assert home.status_code == 200
    text = page(home)
    assert (
        "Deployment impact is being computed for the whole network; "
        "it will appear here in a few seconds." in text
    )
    assert 'hx-get="/reports/impact/headline"' in text
    assert 'hx-trigger="load delay:3s"' in text
    assert 'id="deployed-impact"' not in text
    polled = page(client.get("/reports/impact/headline", headers={"HX-Request": "true"}))
    assert "being computed" in polled and 'hx-get="/reports/impact/headline"' in polled
    assert "<html" not in polled and "<script" not in polled
    release.set()
    assert impact.wait_for_refresh(60)
    ready = page(client.get("/reports/impact/headline", headers={"HX-Request": "true"}))
    assert 'id="deployed-impact"' in ready and "being computed" not in ready
    assert "hx-get" not in ready  # no more polling
    assert "Waiting time: sites that deployed the package lowered it by" in ready
    assert 'id="deployed-impact"' in page(client.get("/"))


def test_the_impact_page_reuses_its_figures_until_the_data_change(
    client, session, network, monkeypatch
):
    impact.clear_cache()
    computed = []
    real = impact.refresh._compute_impact
    monkeypatch.setattr(
        impact.refresh, "_compute_impact", lambda *a, **k: computed.append(1) or real(*a, **k)
    )
    login_as(client, make_user(EXECUTIVE))
    first = page(client.get(URL))  # the estimate and the table of every KPI: computed
    assert computed
    count = len(computed)
    second = page(client.get(URL))  # the same request again: nothing recomputed
    reading = re.compile(r'data-testid="impact-reading">(.*?)</p>', re.S)
    assert reading.search(first).group(1) == reading.search(second).group(1)
    assert len(computed) == count


@pytest.mark.usefixtures("background_refresh")
def test_after_a_change_the_impact_page_shows_the_previous_result_as_of_its_time(client, session):
    from tests.integration.test_impact import late_measurement

    package, sites, _live, _rows = build(MONDAYS, sites_per_wave=6, never=12)
    login_as(client, make_user(EXECUTIVE, language="en"))
    reading = re.compile(r'data-testid="impact-reading">(.*?)</p>', re.S)
    first = page(client.get(URL))
    assert 'data-testid="report-as-of"' not in first
    late_measurement(sites)  # moves the first wave's estimate
    stale = page(client.get(URL))  # at once: the previous result, said to be updating
    assert re.search(r"As of \d\d:\d\d, updating…", stale)
    assert reading.search(stale).group(1) == reading.search(first).group(1)
    assert impact.wait_for_refresh(60)
    fresh = page(client.get(URL))
    assert 'data-testid="report-as-of"' not in fresh
    assert reading.search(fresh).group(1) != reading.search(first).group(1)


def test_one_computation_serves_french_and_english_readers(client, session, network, monkeypatch):
    """The cached results hold numbers and codes; the words come at render time."""
    impact.clear_cache()
    computed = []
    real = impact.refresh._compute_impact
    monkeypatch.setattr(
        impact.refresh, "_compute_impact", lambda *a, **k: computed.append(a[1:]) or real(*a, **k)
    )
    reading = re.compile(r'data-testid="impact-reading">(.*?)</p>', re.S)
    login_as(client, make_user(EXECUTIVE, language="fr"))
    french = page(client.get(URL))
    assert computed and len(set(computed)) == len(computed)  # each estimate once
    count = len(computed)
    login_as(client, make_user(EXECUTIVE, language="en"))
    english = page(client.get(URL))
    assert len(computed) == count  # nothing recomputed for the other language
    assert reading.search(french).group(1).startswith("Le temps d'attente a baissé de 2,1 min")
    assert "1 site déployé sans données dans les deux fenêtres a été écarté." in french
    assert "Sites déployés" in french  # the event-time table's arms
    assert (
        reading.search(english)
        .group(1)
        .startswith("Waiting time: sites that deployed the package lowered it by 2.1 min")
    )
    assert "Deployed sites" in english and "Sites déployés" not in english
