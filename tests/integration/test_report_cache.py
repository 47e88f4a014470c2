"""Shared caches of report sections and headline impacts (issue 13, item 3).

Two `create_app` calls stand for two web workers; with REDIS_URL (Redis database 12 of the
test machine, skipped when Redis is not there) they share what one of them computed. After
a write, readers get the previous sections at once with their "as of" time while one
background refresh runs, at most once per REPORT_REFRESH_SECONDS."""

from __future__ import annotations

import os
import re

import pytest
from sqlalchemy import select

from programme.deployment.models import ChecklistItem
from programme.extensions import db
from programme.network.access import network_scope
from programme.reports import cache as report_cache
from programme.reports import freshness, impact
from programme.reports.screens import glance
from tests.factories import login_as, make_user
from tests.reports_factories import TODAY, build_programme
from tests.web.helpers import make_client, page
from tests.web_workers import UNREACHABLE, redis_up, worker_app

REDIS = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/12")


def _redis_up() -> bool:
    return redis_up(REDIS)


def _worker(database_url: str, redis_url: str | None, **config):
    return worker_app(
        database_url,
        redis_url,
        **{
            "IMPACT_REFRESH": "thread",  # production: stale at once, refreshed in the background
            "REPORT_REFRESH_SECONDS": 30,
            # The sections' layer alone: whole kept pages are tests/integration/test_page_cache.py.
            "PAGE_CACHE_SECONDS": 0,
            **config,
        },
    )


@pytest.fixture
def workers(app, database_url):
    """Two web workers sharing Redis database 12 (emptied of report entries first)."""
    if not _redis_up():
        pytest.skip("Redis is not reachable at " + REDIS)
    apps = [_worker(database_url, REDIS), _worker(database_url, REDIS)]
    with apps[0].app_context():
        report_cache.get_cache().clear()
    yield apps
    assert report_cache.wait_for_refresh(60)
    for each in apps:
        with each.app_context():
            report_cache.get_cache().clear()
            db.engine.dispose()


@pytest.fixture
def counted(monkeypatch):
    """How many times the overview's sections were computed."""
    calls = []
    real = glance.funnel_counts

    def spy(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(glance, "funnel_counts", spy)
    return calls


def _overview(worker):
    """The network sections as one worker's request sees them, and its "as of" time."""
    from flask import g

    with worker.test_request_context(headers={"Accept-Language": "en"}):
        sections = glance.sections(db.session, network_scope(), TODAY)
        return sections, g.get("report_as_of")


def _tick(session, programme) -> None:
    """A coach ticks a checklist item of wave B (an audited ORM write)."""
    item = session.scalars(
        select(ChecklistItem)
        .where(ChecklistItem.wave_id == programme.wave_b_id)
        .order_by(ChecklistItem.id)
    ).first()
    item.state = "not_started" if item.state == "in_place" else "in_place"
    session.commit()


def _gate() -> str:
    """The name of the refresh claim of the network overview."""
    key = ("overview", "network", None, TODAY)
    return "refresh:" + report_cache.key_text(key)


def test_two_workers_share_a_computed_section(workers, session, counted):
    build_programme()
    first, as_of = _overview(workers[0])
    assert len(counted) == 1 and as_of is None
    second, as_of = _overview(workers[1])  # a fresh worker: served from Redis
    assert len(counted) == 1 and as_of is None
    assert second == first and second is not first  # the same figures, read from Redis
    assert second.counts == {
        "total": 6, "diagnosed": 3, "piloted": 2, "in_wave": 5, "live": 3, "sustained": 1,
    }  # fmt: skip


def test_a_read_after_a_write_gets_the_previous_section_and_one_refresh(workers, session, counted):
    programme = build_programme()
    before, _ = _overview(workers[0])
    _tick(session, programme)
    stale, as_of = _overview(workers[1])  # within the window: no reader waits
    assert stale == before and as_of is not None
    assert report_cache.wait_for_refresh(60)
    assert len(counted) == 2  # one background refresh
    fresh, as_of = _overview(workers[0])
    assert as_of is None and len(counted) == 2
    assert [w.actual for w in fresh.waves] != [w.actual for w in before.waves]


def test_many_writes_cause_one_recomputation_per_window(workers, session, counted):
    programme = build_programme()
    _overview(workers[0])
    for _ in range(5):  # the network keeps writing; both workers keep reading
        _tick(session, programme)
        for worker in workers:
            section, as_of = _overview(worker)
            assert as_of is not None or len(counted) == 2
    assert report_cache.wait_for_refresh(60)
    assert len(counted) == 2  # the first computation, then one refresh in the window
    with workers[0].app_context():  # the window passes (the claim expires)
        report_cache.get_cache().release(_gate())
    _tick(session, programme)
    _overview(workers[1])
    assert report_cache.wait_for_refresh(60)
    assert len(counted) == 3


def test_without_redis_the_process_cache_coalesces_the_same_way(
    app, database_url, session, counted
):
    worker = _worker(database_url, None)
    try:
        programme = build_programme()
        _overview(worker)
        for _ in range(3):
            _tick(session, programme)
            assert _overview(worker)[1] is not None
        assert report_cache.wait_for_refresh(60)
        assert len(counted) == 2
    finally:
        with worker.app_context():
            db.engine.dispose()


def test_the_headline_impacts_are_recomputed_once_after_a_run_of_writes(
    workers, session, monkeypatch
):
    programme = build_programme()
    recomputed = []
    real = impact.refresh._recompute
    monkeypatch.setattr(
        impact.refresh, "_recompute", lambda *a, **k: recomputed.append(1) or real(*a, **k)
    )
    worker = workers[0]
    with worker.app_context():
        cache = report_cache.get_cache()
        gate = "refresh:" + report_cache.key_text(impact.headline_key(db.session))
        assert cache.claim(gate, 30)  # as if a refresh had just run: the window is closed
        for _ in range(10):  # ten commits touching checklists
            item = db.session.scalars(
                select(ChecklistItem).where(ChecklistItem.wave_id == programme.wave_b_id)
            ).first()
            item.state = "in_place" if item.state != "in_place" else "in_progress"
            db.session.commit()
        assert not cache.claim(freshness.SCHEDULED, 1)  # one refresh is scheduled, waiting
        assert recomputed == []
        cache.release(gate)  # the window ends
    assert report_cache.wait_for_refresh(60)
    assert len(recomputed) == 1  # once, for readers of every language
    # the next screen, on the other worker, finds them ready: not stale, not pending
    with workers[1].test_request_context(headers={"Accept-Language": "en"}):
        figures = impact.headline_impacts(db.session)
        assert not figures.stale and not figures.pending


def test_pages_say_as_of_when_they_show_a_previous_section(workers, session):
    programme = build_programme()
    executive = make_user("executive", language="en")
    clients = [make_client(worker) for worker in workers]
    for client in clients:
        login_as(client, executive)
    assert clients[0].get("/reports/").status_code == 200
    assert 'data-testid="report-as-of"' not in page(clients[1].get("/reports/"))
    _tick(session, programme)
    stale = clients[1].get("/reports/")
    assert stale.status_code == 200
    assert re.search(r"As of \d\d:\d\d, updating…", page(stale))
    assert report_cache.wait_for_refresh(60)
    assert "As of" not in page(clients[0].get(f"/reports/waves/{programme.wave_b_id}"))


def test_redis_unreachable_pages_still_answer(app, database_url, session, caplog):
    worker = _worker(database_url, UNREACHABLE)
    try:
        programme = build_programme()
        client = make_client(worker)
        login_as(client, make_user("executive", language="en"))
        for url in ("/", "/reports/", f"/reports/waves/{programme.wave_a_id}"):
            assert client.get(url).status_code == 200
        _tick(session, programme)  # a write: the refresh cannot be queued, the write stands
        assert client.get("/reports/").status_code == 200
        assert report_cache.wait_for_refresh(60)
        assert "Redis unavailable" in caplog.text
    finally:
        with worker.app_context():
            db.engine.dispose()


def test_french_and_english_readers_share_one_entry_in_their_own_words(workers, session, counted):
    programme = build_programme()
    english = make_user("executive", language="en")
    french = make_user("executive", language="fr")
    en_client, fr_client = make_client(workers[0], "en"), make_client(workers[1], "fr")
    login_as(en_client, english)
    login_as(fr_client, french)
    en_page = page(en_client.get("/reports/"))
    assert len(counted) == 1
    fr_page = page(fr_client.get("/reports/"))  # other worker, other language: same entry
    assert len(counted) == 1
    assert "No coach visit at SUD-S2 for 20 days." in en_page
    assert "Aucune visite de coach terrain sur SUD-S2 depuis 20 jours." in fr_page
    assert "Aucune visite" not in en_page and "No coach visit" not in fr_page
    assert re.search(r"\d+ open alerts?\.", en_page)
    assert re.search(r"\d+ alertes? ouvertes?\.", fr_page)
    # the wave report too: one cached entry, each reader's words
    wave_page = {
        "en": page(en_client.get(f"/reports/waves/{programme.wave_b_id}")),
        "fr": page(fr_client.get(f"/reports/waves/{programme.wave_b_id}")),
    }
    assert "No coach visit at SUD-S2" in wave_page["en"]
    assert "Aucune visite de coach terrain sur SUD-S2" in wave_page["fr"]


def test_words_render_as_gettext_would_in_each_language(app):
    import pickle
    from datetime import date

    from flask_babel import force_locale, format_date, gettext, ngettext

    from programme.web import words

    message = words.lazy_gettext(
        "not live yet (go-live %(date)s)", date=words.date(date(2026, 11, 2))
    )
    plural = words.ngettext("%(num)d open alert.", "%(num)d open alerts.", 3)
    joined = words.join([plural, message], " ")
    for text in (message, plural, joined):
        assert pickle.loads(pickle.dumps(text)) == text
    with app.test_request_context():
        for language in ("en", "fr"):
            with force_locale(language):
                expected = gettext(
                    "not live yet (go-live %(date)s)", date=format_date(date(2026, 11, 2))
                )
                assert str(message) == expected
                assert str(plural) == ngettext("%(num)d open alert.", "%(num)d open alerts.", 3)
                assert str(joined) == f"{plural} {expected}"
        with force_locale("fr"):
            assert "alertes ouvertes" in plural and plural.endswith(".")


def test_the_cache_falls_back_to_the_process_when_redis_fails(caplog):
    down = report_cache.ReportCache(UNREACHABLE)
    entry = report_cache.Entry(("stamp", 1), {"figures": [1, 2]}, 1.0)
    down.set(("section", 1), entry)  # no error: kept in the process
    assert down.get(("section", 1)) is entry
    assert down.claim("refresh:x", 30) and not down.claim("refresh:x", 30)  # in-process claim
    down.release("refresh:x")
    assert down.claim("refresh:x", 30)
    assert not down.shared
    assert caplog.text.count("Redis unavailable") == 1  # logged once, not per call


def test_keys_are_the_same_in_every_process():
    key = ("overview", "region:3", frozenset({"b", "a", "c"}), {"x": {2, 1}})
    same = ("overview", "region:3", frozenset({"c", "a", "b"}), {"x": {1, 2}})
    assert report_cache.key_text(key) == report_cache.key_text(same)
    assert report_cache.key_text(key) != report_cache.key_text(("overview", "region:4"))


def test_writes_inside_a_paused_bulk_load_schedule_no_refresh(app, database_url, session):
    worker = _worker(database_url, None)
    try:
        programme = build_programme()
        with worker.app_context():
            cache = report_cache.get_cache()
            item = (
                db.session.get(ChecklistItem, 1)
                or db.session.scalars(
                    select(ChecklistItem).where(ChecklistItem.wave_id == programme.wave_b_id)
                ).first()
            )
            with freshness.paused():  # e.g. the benchmark's seeding
                item.state = "in_place" if item.state != "in_place" else "in_progress"
                db.session.commit()
            assert cache.claim(freshness.SCHEDULED, 1)  # nothing was scheduled
            cache.release(freshness.SCHEDULED)
    finally:
        assert report_cache.wait_for_refresh(60)
        with worker.app_context():
            db.engine.dispose()
