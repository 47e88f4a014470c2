"""Pages kept in Redis a few seconds per person (the role homes, the leadership reports);
their own writes show at once.

Two `create_app` calls stand for two web workers sharing Redis database 13 of the test
machine (skipped when Redis is not there). The admin's home shows how many sites the
network has: a colleague's new site shows once the kept page expires, the admin's own new
site shows at once, whichever worker serves the next visit."""

from __future__ import annotations

import os
import re
import time

import pytest
from redis import Redis

from programme.api.tokens import create_token
from programme.extensions import db
from programme.home import views as home_views
from programme.reports import cache as report_cache
from tests.factories import login_as, make_region, make_site, make_user
from tests.kpi_factories import default_kpis, item
from tests.web.helpers import make_client, page
from tests.web.test_sites import site_form
from tests.web_workers import UNREACHABLE, redis_up, worker_app

REDIS = os.environ.get("TEST_REDIS_URL_HOME", "redis://127.0.0.1:6379/13")


def _worker(database_url: str, redis_url: str | None, seconds: float = 30):
    return worker_app(database_url, redis_url, IMPACT_REFRESH="inline", PAGE_CACHE_SECONDS=seconds)


@pytest.fixture
def redis_db():
    if not redis_up(REDIS):
        pytest.skip("Redis is not reachable at " + REDIS)
    Redis.from_url(REDIS).flushdb()
    yield
    Redis.from_url(REDIS).flushdb()


@pytest.fixture
def workers(app, database_url, redis_db, request):
    seconds = getattr(request, "param", 30)
    apps = [_worker(database_url, REDIS, seconds), _worker(database_url, REDIS, seconds)]
    yield apps
    for each in apps:
        with each.app_context():
            report_cache.get_cache().clear()
            db.engine.dispose()


@pytest.fixture
def admin(session):
    """The programme office's account, on a network of one site."""
    make_site()
    return make_user("admin", email="office@example.org")


@pytest.fixture
def computed(monkeypatch):
    """How many times a home page was computed (rather than served as kept)."""
    calls = []
    real = home_views._home_page

    def spy():
        calls.append(1)
        return real()

    monkeypatch.setattr(home_views, "_home_page", spy)
    return calls


def sites_shown(response) -> int:
    assert response.status_code == 200
    match = re.search(r'<span class="figure">(\d+)</span> sites?', page(response))
    assert match, "the home shows the network's site count"
    return int(match.group(1))


def logged_in(app, user, cookie_from=None):
    client = make_client(app)
    if cookie_from is None:
        login_as(client, user)
    else:  # the same browser, its next request served by another worker
        client.set_cookie("session", cookie_from.get_cookie("session").value)
    return client


@pytest.mark.parametrize("workers", [1], indirect=True)  # PAGE_CACHE_SECONDS = 1
def test_a_colleagues_write_shows_when_the_kept_page_expires(workers, session, admin):
    first, second = workers
    colleague = make_user("admin", email="colleague@example.org")
    mine = logged_in(first, admin)
    theirs = logged_in(second, colleague)
    assert sites_shown(mine.get("/")) == 1

    created = theirs.post("/sites/new", data=site_form(manager_name="", manager_email=""))
    assert created.status_code == 302

    assert sites_shown(mine.get("/")) == 1  # the kept page
    time.sleep(1.2)
    assert sites_shown(mine.get("/")) == 2


def test_own_write_shows_at_once_on_every_worker(workers, session, admin, computed):
    first, second = workers
    on_first = logged_in(first, admin)
    assert sites_shown(on_first.get("/")) == 1
    on_second = logged_in(second, admin, cookie_from=on_first)  # one browser, two workers
    assert sites_shown(on_second.get("/")) == 1  # what the first worker computed
    assert sites_shown(on_first.get("/")) == 1
    assert len(computed) == 1

    created = on_first.post("/sites/new", data=site_form(manager_name="", manager_email=""))
    assert created.status_code == 302

    on_second = logged_in(second, admin, cookie_from=on_first)
    with_message = on_second.get("/")  # "Site created": this visit is computed
    assert sites_shown(with_message) == 2
    on_first = logged_in(first, admin, cookie_from=on_second)
    assert sites_shown(on_first.get("/")) == 2  # not the page kept before the write
    assert sites_shown(on_second.get("/")) == 2
    assert len(computed) == 3


def test_a_refused_write_keeps_the_page(workers, session, admin, computed):
    first, _second = workers
    client = logged_in(first, admin)
    assert sites_shown(client.get("/")) == 1

    refused = client.post("/sites/new", data=site_form(code=""))
    assert refused.status_code == 422

    assert sites_shown(client.get("/")) == 1
    assert len(computed) == 1


def test_each_session_and_language_has_its_own_page(workers, session, admin, computed):
    first, _second = workers
    phone, desk = logged_in(first, admin), logged_in(first, admin)
    phone.get("/")
    desk.get("/")
    assert len(computed) == 2  # the page holds its session's form tokens

    french = make_client(first, language="fr")
    french.set_cookie("session", phone.get_cookie("session").value)
    assert "Le réseau" in page(french.get("/"))
    assert len(computed) == 3


def test_a_page_with_a_message_is_never_kept(workers, session, admin, computed):
    first, _second = workers
    client = logged_in(first, admin)
    client.get("/")
    with client.session_transaction() as sess:
        sess["_flashes"] = [("info", "Import finished: 12 sites.")]

    assert "Import finished: 12 sites." in page(client.get("/"))
    assert "Import finished: 12 sites." not in page(client.get("/"))
    assert len(computed) == 2  # the message's page was computed, and not kept


def test_redis_unreachable_computes_every_visit(app, database_url, session, admin, computed):
    worker = _worker(database_url, UNREACHABLE)
    client = logged_in(worker, admin)

    assert sites_shown(client.get("/")) == 1
    make_site()
    session.commit()
    assert sites_shown(client.get("/")) == 2
    assert len(computed) == 2
    with worker.app_context():
        db.engine.dispose()


def test_api_write_refreshes_the_token_owners_home(workers, session, computed):
    first, _second = workers
    default_kpis()
    make_site("BRE-001")
    admin = make_user("admin", email="office@example.org")
    client = logged_in(first, admin)
    client.get("/")
    client.get("/")
    assert len(computed) == 1
    _row, secret = create_token(db.session, admin, "qms-export")
    db.session.commit()

    posted = make_client(first).post(
        "/api/v1/measurements",
        json=[item("BRE-001", value=7.5, n=120)],
        headers={"Authorization": f"Bearer {secret}"},
    )
    assert posted.status_code == 201

    client.get("/")
    assert len(computed) == 2


def test_report_page_kept_and_refreshed_by_an_account_edit(workers, session):
    """A regional manager moved to another region by an administrator sees their new
    region's report at once; until then the region report is kept."""
    first, _second = workers
    north, south = make_region("Nord"), make_region("Sud")
    make_site(region=north)
    manager = make_user("site_manager", email="rm@example.org", region_id=north.id)
    admin = make_user("admin", email="office@example.org")
    reader, office = logged_in(first, manager), logged_in(first, admin)
    assert reader.get(f"/reports/regions/{north.id}").status_code == 200
    assert reader.get(f"/reports/regions/{south.id}").status_code == 403

    edit = page(office.get(f"/users/{manager.id}/edit"))
    version = re.search(r'name="version"[^>]*value="(\d+)"', edit).group(1)
    saved = office.post(
        f"/users/{manager.id}/edit",
        data={
            "email": "rm@example.org",
            "name": "",
            "role": "site_manager",
            "language": "",
            "site_id": "",
            "region_id": str(south.id),
            "active": "y",
            "version": version,
        },
    )
    assert saved.status_code == 302

    assert reader.get(f"/reports/regions/{north.id}").status_code == 403
    assert reader.get(f"/reports/regions/{south.id}").status_code == 200
