"""Every page of every role fits a 375 px phone and passes axe-core.

The crawl seeds the demo programme (so charts, tables and timelines carry data), then, for
each role, logs in once (one browser context per role) and opens every GET page of the
role × route matrix (tests/web/test_permissions.py and its *_matrix.py rows) that the role
may open, each distinct route once, with the URLs built by the matrix's own builders. On
each page: `document.documentElement.scrollWidth` must not exceed the viewport and axe-core
must find no serious or critical violation (tests/browser/support.py's `check_page`). All
failures are collected and reported together."""

from __future__ import annotations

import os
import re

import pytest
from sqlalchemy import select

from programme.auth.models import User
from programme.auth.roles import ROLES, SITE_MANAGER
from programme.demo import seed_demo
from programme.extensions import db
from programme.network.models import Site
from tests.browser.support import check_page, save_screenshot
from tests.factories import PASSWORD
from tests.web.test_permissions import API_PREFIX, ROUTES, World

# Pages that are files, not screens (exports and downloads): nothing to lay out.
NOT_A_SCREEN = re.compile(r"(\.csv|\.xlsx|\.pdf|/download|/export|/template)")


# What sticks out on the right of the screen (the deepest elements first), for the report.
WIDEST = """() => Array.from(document.querySelectorAll("body *"))
  .filter((el) => el.getBoundingClientRect().right > window.innerWidth + 1)
  .slice(-3)
  .map((el) => `${el.tagName.toLowerCase()}.${el.className} (${Math.round(el.getBoundingClientRect().right)}px)`)"""


SHOTS = re.compile(os.environ["CRAWL_SHOTS"]) if os.environ.get("CRAWL_SHOTS") else None
ONLY = re.compile(os.environ["CRAWL_ONLY"]) if os.environ.get("CRAWL_ONLY") else None


def _world() -> World:
    manager = db.session.scalar(select(User).where(User.email == "manager@demo.programme.fr"))
    site = db.session.get(Site, manager.site_id)
    other = db.session.scalar(
        select(Site).where(Site.region_id != site.region_id).order_by(Site.code).limit(1)
    )
    coach = db.session.scalar(select(User).where(User.role == "coach").order_by(User.id))
    pilot = db.session.scalar(select(User).where(User.role == "pilot_team").order_by(User.id))
    return World(site.region_id, site.id, other.id, coach.id, pilot.id)


def _account_for(role: str) -> str:
    query = select(User.email).where(User.role == role).order_by(User.id)
    if role == SITE_MANAGER:
        query = query.where(User.site_id.is_not(None))
    return db.session.scalar(query.limit(1))


def _pages(role: str, w: World) -> list[str]:
    urls = []
    for route in ROUTES:
        if ONLY and not ONLY.search(route.rule):
            continue
        if route.method != "GET" or role not in route.allowed:
            continue
        if route.rule.startswith(API_PREFIX) or NOT_A_SCREEN.search(route.rule):
            continue
        if route.expected_status != 200:
            continue
        urls.append(route.build_url(w))
        db.session.commit()  # records a builder created on demand are seen by the server
    return urls


def test_every_page_of_every_role_fits_a_phone_and_passes_axe(app, open_page):
    with app.test_request_context():
        seed_demo(db.session, PASSWORD)
        db.session.commit()
        world = _world()
        plan = {role: (_account_for(role), _pages(role, world)) for role in ROLES}

    problems: list[str] = []
    visited = 0
    for role, (email, urls) in plan.items():
        page = open_page("mobile")
        # htmx fragments (no <link rel=icon>) make Chromium ask for /favicon.ico.
        page.route("**/favicon.ico", lambda route: route.fulfill(status=204))
        # A chart without data is not drawn (static/app.js): Vega never warns about it.
        page.on(
            "console",
            lambda message, role=role, page=page: (
                problems.append(f"{role} {page.url}: Vega warned: {message.text}")
                if message.type == "warning" and "Infinite extent" in message.text
                else None
            ),
        )
        page.goto("/login")
        page.locator("#email").fill(email)
        page.locator("#password").fill(PASSWORD)
        page.locator("main form button[type=submit]").click()
        page.wait_for_url(re.compile(r"/$"))
        for url in urls:
            response = page.goto(url)
            visited += 1
            if response is None or response.status != 200:
                problems.append(f"{role} {url}: HTTP {response.status if response else '?'}")
                continue
            if page.evaluate("document.doctype === null"):
                continue  # an htmx fragment (a form row, a picker), not a page of its own
            page.wait_for_load_state("networkidle")
            if SHOTS and SHOTS.search(url):
                save_screenshot(page, f"phone-{role}-{re.sub(r'[^a-z0-9]+', '-', url)}")
            try:
                check_page(page, "mobile")
            except (AssertionError, pytest.fail.Exception) as failure:
                problems.append(f"{role} {url}: {failure} {page.evaluate(WIDEST)}")
        page.context.close()
    print(f"{visited} pages visited")
    assert ONLY or visited > 100
    assert not problems, f"{len(problems)} of {visited} pages fail:\n" + "\n".join(problems)
