"""French that a French programme director signs (issue 16, item 5).

- The French catalogue never hedges a plural with "(s)": plurals go through ngettext.
- Rendered as a French user, the pages of the demo programme carry no ISO date
  (2026-11-06) and no English month name in their text: dates are formatted by Babel
  ("6 nov. 2026"). Only text nodes are read: attributes (<input value>, <time datetime>,
  data-*), <code>, scripts and templates are machine-readable on purpose."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from programme.auth.roles import ADMIN, SITE_MANAGER
from programme.demo import seed_demo
from programme.extensions import db
from tests.factories import PASSWORD, login_as, make_user

CATALOGUE = Path(__file__).parents[2] / "programme/translations/fr/LC_MESSAGES/messages.po"
HEDGED_PLURAL = re.compile(r"\w\(s\)")
ISO_DATE = re.compile(r"\b\d{4}-\d{2}-\d{2}\b")
ENGLISH_MONTH = re.compile(
    r"\b(January|February|March|April|May|June|July|August|September|October|November|"
    r"December|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec)\b"
)
SKIPPED_TAGS = {"script", "style", "code", "pre", "template", "textarea", "svg"}


def test_the_french_catalogue_has_no_hedged_plural():
    with CATALOGUE.open("rb") as handle:
        catalogue = read_po(handle, locale="fr")
    hedged = []
    for message in catalogue:
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        hedged += [text for text in strings if text and HEDGED_PLURAL.search(text)]
    assert hedged == [], "use ngettext instead of “(s)”:\n" + "\n".join(hedged)


class _Text(HTMLParser):
    def __init__(self):
        super().__init__()
        self.skipping = 0
        self.texts: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag in SKIPPED_TAGS:
            self.skipping += 1

    def handle_endtag(self, tag):
        if tag in SKIPPED_TAGS and self.skipping:
            self.skipping -= 1

    def handle_data(self, data):
        if not self.skipping and data.strip():
            self.texts.append(" ".join(data.split()))


def text_nodes(html: str) -> list[str]:
    parser = _Text()
    parser.feed(html)
    return parser.texts


def test_text_nodes_skip_attributes_and_code():
    html = (
        '<p>Échéance le <time datetime="2026-11-06">6 nov. 2026</time></p>'
        '<input value="2026-11-06"><code>2026-11-06</code><script>"2026-11-06"</script>'
    )
    assert text_nodes(html) == ["Échéance le", "6 nov. 2026"]


def _sample_pages(role: str, world) -> list[str]:
    from tests.browser.test_phone_crawl import NOT_A_SCREEN
    from tests.web.test_permissions import API_PREFIX, ROUTES

    urls = []
    for route in ROUTES:
        if route.method != "GET" or role not in route.allowed or route.expected_status != 200:
            continue
        if route.rule.startswith(API_PREFIX) or NOT_A_SCREEN.search(route.rule):
            continue
        urls.append(route.build_url(world))
    db.session.commit()
    return urls


@pytest.mark.parametrize("role", [ADMIN, SITE_MANAGER])
def test_french_pages_carry_no_iso_date_nor_english_month(app, client, role):
    from tests.browser.test_phone_crawl import _world

    with app.test_request_context():
        seed_demo(db.session, PASSWORD)
        db.session.commit()
        world = _world()
        user = make_user(
            role, language="fr", site_id=world.site_id if role == SITE_MANAGER else None
        )
        urls = _sample_pages(role, world)
        login_as(client, user)
    problems = []
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200, url
        for text in text_nodes(response.get_data(as_text=True)):
            if ISO_DATE.search(text) or ENGLISH_MONTH.search(text):
                problems.append(f"{url}: {text[:160]}")
    assert len(urls) > 20
    assert problems == [], (
        f"{len(problems)} French texts with an ISO date or an English month:\n"
        + "\n".join(problems)
    )
