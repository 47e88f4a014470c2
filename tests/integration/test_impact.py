"""Deployment impact through the real tables: a planted effect is recovered.

60 sites measure WAIT daily; three waves of 10 sites go live three weeks apart; after its
go-live a deployed site's waiting time falls by 2.0 minutes. Every site also follows a
common trend (the season), so a naive before/after would be biased: the comparison with
sites not yet deployed removes it. Measurements go in with bulk inserts, the weekly
rollups are rebuilt as `flask rebuild-rollups` does, and the estimate is also checked
exactly against a brute-force recomputation from the raw rows."""

from __future__ import annotations

import re
import threading
from datetime import date, timedelta

import numpy as np
import pytest
from sqlalchemy import insert

from programme.errors import Invalid
from programme.extensions import db
from programme.kpis.models import Measurement
from programme.kpis.services import rebuild_rollups
from programme.reports import impact
from tests.deployment_factories import make_package, make_wave
from tests.factories import make_region, make_site, make_user
from tests.kpi_factories import default_kpis, item, put

EFFECT = -2.0
START = date(2025, 1, 6)  # a Monday
MONDAYS = [date(2025, 3, 3), date(2025, 3, 24), date(2025, 4, 14)]
END = date(2025, 6, 15)
TODAY = date(2025, 7, 1)


@pytest.fixture(autouse=True)
def _english(app):
    with app.test_request_context(headers={"Accept-Language": "en"}):
        yield


def build(go_lives: list[date], sites_per_wave: int = 10, never: int = 30, silent_site=True):
    """The network, the waves and the measurements; returns what the brute force needs."""
    kpis = default_kpis()
    regions = [make_region("Nord"), make_region("Sud")]
    sites = [
        make_site(f"IMP-{i:03d}", region=regions[i % 2])
        for i in range(sites_per_wave * len(go_lives) + never)
    ]
    package = make_package(name="Accueil au flux")
    live: dict[int, date] = {}
    for k, go in enumerate(go_lives):
        members = sites[k * sites_per_wave : (k + 1) * sites_per_wave]
        make_wave(package, members, start=go - timedelta(weeks=4), go_live=go, name=f"Vague {k}")
        live.update({s.id: go for s in members})
    rng = np.random.default_rng(42)
    rows = []
    silent = sites[0].id if silent_site else None  # a deployed site that stops reporting
    days = (END - START).days + 1
    for s in sites:
        level = 10 + rng.normal(0, 1.5)
        for i in range(days):
            day = START + timedelta(days=i)
            if s.id == silent and day >= live[s.id]:
                break
            trend = 0.03 * i  # the season: everyone drifts up
            effect = EFFECT if s.id in live and day >= live[s.id] else 0.0
            value = level + trend + effect + rng.normal(0, 1.0)
            rows.append(
                {
                    "site_id": s.id,
                    "kpi_id": kpis["WAIT"],
                    "period_date": day,
                    "source": "test",
                    "value": round(float(value), 3),
                    "n": int(rng.integers(20, 60)),
                    "revision": 1,
                    "entered_by": "test",
                }
            )
    db.session.execute(insert(Measurement), rows)
    rebuild_rollups(db.session)
    db.session.commit()
    return package, sites, live, rows


def brute_force(rows, live, go_lives, weeks=8):
    """The issue's estimator computed directly on the raw rows (no SQL, no rollups)."""
    by_site: dict[int, list] = {}
    for r in rows:
        by_site.setdefault(r["site_id"], []).append(r)

    def mean(site, lo, hi):
        picked = [r for r in by_site.get(site, []) if lo <= r["period_date"] < hi]
        n = sum(r["n"] for r in picked)
        return sum(r["value"] * r["n"] for r in picked) / n if n else None

    atts, weights = [], []
    all_sites = {r["site_id"] for r in rows}
    for go in go_lives:
        pre, post = (go - timedelta(weeks=weeks), go), (go, go + timedelta(weeks=weeks))

        def delta(site, pre=pre, post=post):
            a, b = mean(site, *pre), mean(site, *post)
            return None if a is None or b is None else b - a

        treated = [delta(s) for s, g in live.items() if g == go]
        comparison = [
            delta(s) for s in all_sites if s not in live or live[s] >= post[1] and live[s] != go
        ]
        treated = [d for d in treated if d is not None]
        comparison = [d for d in comparison if d is not None]
        atts.append(np.mean(treated) - np.mean(comparison))
        weights.append(len(treated))
    return float(np.average(atts, weights=weights)), atts, weights


def test_the_planted_effect_is_inside_the_interval(session):
    package, sites, live, rows = build(MONDAYS)
    result = impact.compute_impact(session, "WAIT", package.id, 8, today=TODAY)

    assert result.ci_low < EFFECT < result.ci_high
    assert result.estimate == pytest.approx(EFFECT, abs=0.3)
    assert result.ci_high < 0
    expected, atts, weights = brute_force(rows, live, MONDAYS)
    assert result.estimate == pytest.approx(expected, abs=1e-9)
    assert [w.att for w in result.waves] == pytest.approx(atts, abs=1e-9)
    # the silent deployed site is left out and counted; staggered waves are not comparisons
    assert [w.n_treated for w in result.waves] == [9, 10, 10] == weights
    assert [w.n_treated_missing for w in result.waves] == [1, 0, 0]
    assert [w.n_comparison for w in result.waves] == [30, 30, 30]
    assert result.n_sites == 29
    assert "lowered it by 2." in result.reading
    assert "over 8 weeks, 3 waves, 29 sites: an improvement." in result.reading
    # regions: same estimator, deployed sites of the region vs the same comparison pool
    assert sorted(r.region_name for r in result.by_region) == ["Nord", "Sud"]
    assert sum(r.n_sites for r in result.by_region) == 29
    for r in result.by_region:
        assert r.ci_low < EFFECT < r.ci_high
    # event time: both arms for weeks −8 … 7; the deployed sites drop at week 0
    weeks = {(p["week"], p["arm"]): p["value"] for p in result.event_time}
    assert {k for k, _arm in weeks} == set(range(-8, 8))
    gap_before = weeks[(-1, "deployed")] - weeks[(-1, "comparison")]
    gap_after = weeks[(1, "deployed")] - weeks[(1, "comparison")]
    assert gap_after - gap_before == pytest.approx(EFFECT, abs=0.6)
    spec = impact.impact_chart(result)
    drawn = spec["layer"][1]["data"]["values"]
    assert [{k: v for k, v in p.items() if k != "label"} for p in drawn] == result.event_time
    assert {p["label"] for p in drawn} == {"Deployed sites", "Sites not yet deployed"}

    # the API's shape
    api = result.as_api()
    assert set(api) == {
        "kpi",
        "window_weeks",
        "estimate",
        "ci_low",
        "ci_high",
        "n_sites",
        "waves",
        "reading",
    }
    assert api["waves"][0] == {
        "wave": result.waves[0].wave_id,
        "go_live": "2025-03-03",
        "att": pytest.approx(atts[0]),
        "n_treated": 9,
        "n_comparison": 30,
    }


def test_a_go_live_that_is_not_a_monday_reads_the_partial_weeks(session):
    wednesdays = [d + timedelta(days=2) for d in MONDAYS]
    package, sites, live, rows = build(wednesdays)
    result = impact.compute_impact(session, "WAIT", package.id, 8, today=TODAY)
    expected, atts, _weights = brute_force(rows, live, wednesdays)
    assert result.estimate == pytest.approx(expected, abs=1e-9)
    assert [w.att for w in result.waves] == pytest.approx(atts, abs=1e-9)
    assert result.ci_low < EFFECT < result.ci_high


def test_a_one_week_window_around_a_wednesday_has_no_whole_week(session):
    wednesdays = [d + timedelta(days=2) for d in MONDAYS]
    package, sites, live, rows = build(wednesdays, sites_per_wave=4, never=6)
    result = impact.compute_impact(session, "WAIT", package.id, 1, today=TODAY)
    expected, _atts, _weights = brute_force(rows, live, wednesdays, weeks=1)
    assert result.estimate == pytest.approx(expected, abs=1e-9)


def test_a_region_and_a_shorter_window(session):
    package, sites, live, rows = build(MONDAYS)
    result = impact.compute_impact(session, "WAIT", package.id, 4, today=TODAY)
    expected, _atts, _w = brute_force(rows, live, MONDAYS, weeks=4)
    assert result.estimate == pytest.approx(expected, abs=1e-9)
    region = result.by_region[0]
    restricted = impact.compute_impact(
        session, "WAIT", package.id, 4, region_id=region.region_id, today=TODAY
    )
    assert restricted.estimate == pytest.approx(region.estimate)
    assert (restricted.ci_low, restricted.ci_high) == pytest.approx((region.ci_low, region.ci_high))
    assert restricted.reading.startswith(f"Waiting time, {region.region_name}:")


def test_a_running_wave_uses_the_weeks_elapsed_and_says_so(session):
    package, sites, live, rows = build(MONDAYS)
    today = MONDAYS[2] + timedelta(weeks=3, days=3)  # wave 3 is 3 weeks into its window
    result = impact.compute_impact(session, "WAIT", package.id, 8, today=today)
    last = result.waves[2]
    assert last.included and last.post_weeks == 3
    assert "computed on the 3 weeks elapsed" in last.reason
    assert result.waves[1].post_weeks == 6  # wave 2 is 6 weeks in
    assert "2 waves are still within their post window" in result.reading
    future = impact.compute_impact(session, "WAIT", package.id, 8, today=MONDAYS[1])
    assert [w.included for w in future.waves] == [True, False, False]
    assert future.waves[2].reason.startswith("not live yet")


def test_not_computable_cases(session):
    default_kpis()
    none = impact.compute_impact(session, "WAIT", today=TODAY)
    assert none.estimate is None
    assert none.reading == "Not computable: no package has deployment waves yet."
    package, sites, live, rows = build(MONDAYS, never=0)
    result = impact.compute_impact(session, "CONV", package.id, today=TODAY)
    assert result.estimate is None and result.as_api()["estimate"] is None
    assert result.reading.startswith("Not computable:")
    with pytest.raises(Invalid) as bad:
        impact.compute_impact(session, "NOPE", package.id, 0)
    assert set(bad.value.by_field) == {"kpi", "window_weeks"}
    make_package(name="Autre")  # no wave: the package may still be left out
    assert impact.compute_impact(session, "WAIT", today=TODAY).package_id == package.id


def test_headline_impacts_are_cached_until_the_data_change(session):
    package, sites, live, rows = build(MONDAYS, sites_per_wave=6, never=12)
    impact.clear_cache()
    first = impact.headline_impacts(session, today=TODAY)
    assert [r.kpi_code for r in first] == ["CONV", "CSAT", "FCR", "NPS", "PICKUP", "WAIT"]
    assert impact.headline_impacts(session, today=TODAY) is first  # no recomputation
    # a new measurement (through the intake pipeline) invalidates the cache
    late = item(sites[-1], day=MONDAYS[0] + timedelta(days=1), value=300, n=1000)
    put(make_user("admin"), [late], source="late-file")
    second = impact.headline_impacts(session, today=TODAY)
    assert second is not first
    assert second[-1].waves[0].att != pytest.approx(first[-1].waves[0].att)
    assert impact.headline_impacts(session, today=TODAY) is second
    # so does a change to a wave (an audited record): here its go-live moves a week later
    from programme.deployment.models import Wave

    wave = session.get(Wave, second[-1].waves[0].wave_id)
    wave.go_live = MONDAYS[0] + timedelta(weeks=1)
    session.commit()
    third = impact.headline_impacts(session, today=TODAY)
    assert third is not second
    assert third[-1].waves[0].go_live == MONDAYS[0] + timedelta(weeks=1)
    # the executive home and the PDF need the chart, not the regions
    assert third[-1].by_region == [] and third[-1].event_time
    assert impact.impact_chart(third[0]) == {}  # CONV: nothing measured, nothing to draw


# --- stale-while-revalidate: the executive home never waits for the bootstrap -----------------


@pytest.fixture
def background_refresh(app, monkeypatch):
    """IMPACT_REFRESH = "thread" (production) for one test; refreshes joined afterwards.
    Refreshes start on reads only here (the refresh after each write has its own tests in
    test_report_cache.py)."""
    from programme.reports import freshness

    monkeypatch.setattr(freshness, "schedule_refresh", lambda app: None)
    impact.clear_cache()
    app.config["IMPACT_REFRESH"] = "thread"
    app.config["REPORT_REFRESH_SECONDS"] = 0  # no coalescing window (see test_report_cache.py)
    yield
    app.config["IMPACT_REFRESH"] = "inline"
    app.config.pop("REPORT_REFRESH_SECONDS")
    assert impact.wait_for_refresh(60)
    impact.clear_cache()


def late_measurement(sites, value=300):
    """A measurement through the intake pipeline that moves the first wave's WAIT estimate."""
    late = item(sites[-1], day=MONDAYS[0] + timedelta(days=1), value=value, n=1000)
    put(make_user("admin"), [late], source="late-file")


def test_inline_refresh_gives_fresh_figures_at_once(session):
    package, sites, live, rows = build(MONDAYS, sites_per_wave=6, never=12)
    impact.clear_cache()
    first = impact.headline_impacts(session, today=TODAY)
    late_measurement(sites)
    second = impact.headline_impacts(session, today=TODAY)
    assert not first.stale and not second.stale
    assert second[-1].waves[0].att != pytest.approx(first[-1].waves[0].att)
    assert second.computed_at >= first.computed_at


def test_after_a_data_change_the_previous_figures_come_at_once_then_fresh_ones(
    session, background_refresh
):
    package, sites, live, rows = build(MONDAYS, sites_per_wave=6, never=12)
    assert impact.headline_impacts(session, today=TODAY).pending  # nothing cached: computing
    assert impact.wait_for_refresh(60)
    first = impact.headline_impacts(session, today=TODAY)
    assert not first.stale and not first.pending
    late_measurement(sites)
    stale = impact.headline_impacts(session, today=TODAY)
    assert stale.stale and stale.computed_at == first.computed_at
    assert [r.waves[0].att for r in stale] == [r.waves[0].att for r in first]
    assert all(a is b for a, b in zip(stale, first, strict=True))  # the old figures, as they were
    assert impact.wait_for_refresh(60)
    fresh = impact.headline_impacts(session, today=TODAY)
    assert not fresh.stale and fresh.computed_at > first.computed_at
    assert fresh[-1].waves[0].att != pytest.approx(first[-1].waves[0].att)
    assert impact.headline_impacts(session, today=TODAY) is fresh  # cached again
    # exports ask for fresh figures: computed synchronously, never stale
    late_measurement(sites, value=200)  # a correction: the comparison site's spike is smaller
    exported = impact.headline_impacts(session, today=TODAY, fresh=True)
    assert not exported.stale and exported.computed_at > fresh.computed_at
    assert exported[-1].waves[0].att > fresh[-1].waves[0].att


def test_the_api_after_a_data_change_answers_at_once_with_its_as_of_time(
    session, client, background_refresh, monkeypatch
):
    """A network-scale recomputation never holds an integration's request: the API serves
    the previous figures with `as_of` while one background refresh runs."""
    from datetime import datetime

    from programme.api.tokens import create_token

    package, sites, live, rows = build(MONDAYS, sites_per_wave=6, never=12)
    _row, token = create_token(session, make_user("executive"), "impact")
    session.commit()
    computed = []
    real = impact.refresh._compute_impact
    monkeypatch.setattr(
        impact.refresh, "_compute_impact", lambda *a, **k: computed.append(1) or real(*a, **k)
    )

    def read():
        response = client.get(
            "/api/v1/impact",
            query_string={"kpi": "WAIT", "window_weeks": "8"},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert response.status_code == 200
        return response.get_json()

    first = read()  # nothing cached yet: computed in the request
    assert first["as_of"] is None and len(computed) == 1
    late_measurement(sites)
    stale = read()
    assert stale["waves"] == first["waves"]  # the previous figures at once...
    assert datetime.fromisoformat(stale["as_of"]).tzinfo is not None  # ...saying when
    assert impact.wait_for_refresh(60)
    assert len(computed) == 2  # one background recomputation
    fresh = read()
    assert fresh["as_of"] is None
    assert fresh["waves"][0]["att"] != pytest.approx(first["waves"][0]["att"])


def test_an_export_after_a_data_change_takes_the_previous_figures_and_says_as_of(
    app, session, background_refresh, monkeypatch
):
    """A network export never waits for the bootstrap: computed in the export only when
    nothing is cached, else the previous figures with their time."""
    import io

    import openpyxl

    from programme.network import access
    from programme.reports import exports

    package, sites, live, rows = build(MONDAYS, sites_per_wave=6, never=12)
    admin = make_user("admin")
    computed = []
    real = impact.refresh._recompute
    monkeypatch.setattr(
        impact.refresh, "_recompute", lambda *a, **k: computed.append(1) or real(*a, **k)
    )

    def workbook():
        with app.test_request_context(headers={"Accept-Language": "en"}):
            data = exports.gather(session, access.scope_for(session, admin, None), admin, TODAY)
            content = exports.build_xlsx(session, data)
        return data, openpyxl.load_workbook(io.BytesIO(content))

    data, book = workbook()  # nothing cached: computed for the export
    assert len(computed) == 1 and not data.overview.impacts.stale
    first_att = data.overview.impacts[-1].waves[0].att
    late_measurement(sites)
    data, book = workbook()  # the previous figures at once, with their time
    assert len(computed) == 1 or impact.wait_for_refresh(60)
    assert data.overview.impacts.stale
    assert data.overview.impacts[-1].waves[0].att == first_att
    cells = [c.value for row in book["Impact per KPI"].iter_rows() for c in row if c.value]
    assert any(isinstance(v, str) and "As of " in v and "updating" in v for v in cells)
    assert impact.wait_for_refresh(60)
    assert len(computed) == 2  # the background refresh, not the export
    data, book = workbook()
    assert not data.overview.impacts.stale
    assert data.overview.impacts[-1].waves[0].att != pytest.approx(first_att)


def test_only_one_refresh_runs_at_a_time_and_its_errors_are_logged(
    session, background_refresh, monkeypatch, caplog
):
    package, sites, live, rows = build(MONDAYS, sites_per_wave=3, never=6)
    first = impact.headline_impacts(session, today=TODAY, fresh=True)
    late_measurement(sites)
    started, release = [], threading.Event()
    real = impact.refresh._recompute

    def slow_then_broken(*args, **kwargs):
        started.append(threading.current_thread().name)
        release.wait(30)
        if len(started) == 1:
            raise RuntimeError("database went away")
        return real(*args, **kwargs)

    monkeypatch.setattr(impact.refresh, "_recompute", slow_then_broken)
    for _ in range(3):  # three screens while the first refresh is under way
        assert impact.headline_impacts(session, today=TODAY).stale
    release.set()
    assert impact.wait_for_refresh(60)
    assert started == ["impact-refresh"]  # one refresh, not three
    assert "background refresh of the headline impacts failed" in caplog.text
    again = impact.headline_impacts(session, today=TODAY)  # still the old figures, no error
    assert again.stale and again.computed_at == first.computed_at
    assert impact.wait_for_refresh(60) and len(started) == 2
    assert not impact.headline_impacts(session, today=TODAY).stale


def test_the_executive_home_says_when_its_impact_figures_are_updating(
    app, session, background_refresh
):
    from tests.factories import login_as
    from tests.web.helpers import make_client, page

    package, sites, live, rows = build(MONDAYS, sites_per_wave=3, never=6)
    client = make_client(app)
    login_as(client, make_user("executive", language="en"))
    client.get("/")  # the first request starts the computation (see test_impact_pages.py)
    assert impact.wait_for_refresh(60)
    home = page(client.get("/"))
    assert 'id="deployed-impact"' in home and "updating…" not in home
    late_measurement(sites)
    stale = client.get("/")
    assert stale.status_code == 200
    assert re.search(r"As of \d\d:\d\d, updating…", page(stale))
    assert impact.wait_for_refresh(60)
    assert "updating…" not in page(client.get("/"))


def test_the_first_request_gets_pending_figures_at_once_then_the_computed_ones(
    session, background_refresh, monkeypatch
):
    package, sites, live, rows = build(MONDAYS, sites_per_wave=3, never=6)
    release, real = threading.Event(), impact.refresh._recompute

    def slow(*args, **kwargs):
        release.wait(30)
        return real(*args, **kwargs)

    monkeypatch.setattr(impact.refresh, "_recompute", slow)
    first = impact.headline_impacts(session, today=TODAY)  # returns while the refresh waits
    assert first.pending and not first.stale and list(first) == [] and first.computed_at is None
    assert first.as_of() == ""
    assert impact.headline_impacts(session, today=TODAY).pending  # still computing: no 2nd run
    release.set()
    assert impact.wait_for_refresh(60)
    ready = impact.headline_impacts(session, today=TODAY)
    assert not ready.pending and not ready.stale
    assert [r.kpi_code for r in ready] == ["CONV", "CSAT", "FCR", "NPS", "PICKUP", "WAIT"]
    assert ready[-1].estimate is not None
    # exports and snapshots ask for fresh figures: computed at once even with nothing cached
    impact.clear_cache()
    exported = impact.headline_impacts(session, today=TODAY, fresh=True)
    assert not exported.pending and exported[-1].estimate == pytest.approx(ready[-1].estimate)


def test_compute_impact_is_cached_until_a_new_measurement(session, monkeypatch):
    package, sites, live, rows = build(MONDAYS, sites_per_wave=6, never=12)
    impact.clear_cache()
    computed = []
    real = impact.refresh._compute_impact
    monkeypatch.setattr(
        impact.refresh, "_compute_impact", lambda *a, **k: computed.append(a[1:6]) or real(*a, **k)
    )
    first = impact.compute_impact(session, "WAIT", package.id, 8, today=TODAY)
    again = impact.compute_impact(session, "WAIT", package.id, 8, today=TODAY)
    assert again.estimate == first.estimate and again.reading == first.reading
    assert len(computed) == 1  # the second request did not recompute
    impact.compute_impact(session, "WAIT", package.id, 4, today=TODAY)  # other parameters
    assert len(computed) == 2
    # a new measurement through the intake pipeline: recomputed at once, never stale
    late_measurement(sites)
    fresh = impact.compute_impact(session, "WAIT", package.id, 8, today=TODAY)
    assert len(computed) == 3
    assert fresh.waves[0].att != pytest.approx(first.waves[0].att)
    # the cache is bounded: the least recently used results go first
    monkeypatch.setattr(impact.refresh, "RESULT_CACHE_SIZE", 2)
    for weeks in (2, 3, 5):
        impact.compute_impact(session, "WAIT", package.id, weeks, today=TODAY)
    assert len(impact.refresh._results) == 2
    impact.compute_impact(session, "WAIT", package.id, 5, today=TODAY)
    assert len(computed) == 6  # 5 weeks was still cached; 2 weeks had been dropped


def test_the_cached_result_holds_numbers_and_codes_not_sentences(session):
    package, _sites, _live, _rows = build(MONDAYS, sites_per_wave=6, never=12)
    impact.clear_cache()
    result = impact.compute_impact(session, "WAIT", package.id, 8, today=MONDAYS[1])
    assert "reading" not in vars(result)  # worded when read
    assert all(w.note is None or isinstance(w.note, impact.Note) for w in result.waves)
    assert result.waves[2].note == impact.Note("not_live", day=MONDAYS[2])
    assert all(set(row) == {"week", "arm", "value", "n", "sites"} for row in result.event_time)
