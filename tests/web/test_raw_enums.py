"""No raw enum value on any page (issue 16, item 5): a site type reads "Agence", never
"branch"; a status "En cours", never "in_progress". The values are collected from the
models (every CHECK … IN (…) constraint and every label table: a module-level dict of
lazily translated labels), then a sample of pages of the demo programme — the role × route
matrix, every role in French, the widest roles in English too — is read as the person
sees it (text nodes only: attributes, code, scripts and templates are machine-readable on
purpose) and any value standing alone as a word where its label should be fails.

A value that is also an ordinary word of the page's language cannot be told from the
word, so it is left out there (`ORDINARY_WORDS`); a value with an underscore never is."""

from __future__ import annotations

import importlib
import pkgutil
import re
from functools import cache

import pytest
from flask_babel.speaklater import LazyString
from sqlalchemy import CheckConstraint

import programme
from programme.auth.models import User
from programme.auth.roles import (
    ADMIN,
    COACH,
    DIAGNOSTICIAN,
    FINANCE,
    PILOT_TEAM,
    ROLES,
    SITE_MANAGER,
)
from programme.demo import seed_demo
from programme.extensions import db
from tests.factories import PASSWORD, login_as, make_user
from tests.web.test_french_wording import _sample_pages, text_nodes

# Enum values that are ordinary words in the page's language (or a proper name / an
# abbreviation shown as is): "site" is French and English, "go" is the decision's name in
# both, "NPS"/"CSAT" are the scales' names; English pages say "open", "closed", "day"...
ORDINARY_WORDS = {
    "fr": {
        *("site", "contact", "coach", "audit", "admin", "finance", "satisfaction", "positive"),
        *("go", "stop", "nps", "L0", "L1", "L2", "L3", "L4", "L5"),
    },
    "en": None,  # English pages: only values that are no English word (underscores, codes)
}


@cache
def enum_values() -> frozenset[str]:
    """Every enumerated value the models store."""
    values: set[str] = set(ROLES)
    for info in pkgutil.walk_packages(programme.__path__, "programme."):
        if info.name.rsplit(".", 1)[-1] != "models":
            continue
        module = importlib.import_module(info.name)
        for table in vars(module).values():
            if not isinstance(table, dict) or not table:
                continue
            if all(isinstance(k, str) for k in table) and all(
                isinstance(v, LazyString) for v in table.values()
            ):
                values.update(table)
    for table in db.metadata.tables.values():
        for constraint in table.constraints:
            if isinstance(constraint, CheckConstraint) and " IN (" in str(constraint.sqltext):
                values.update(re.findall(r"'([A-Za-z0-9_]+)'", str(constraint.sqltext)))
    return frozenset(values)


# Names given by the role × route matrix's own records (tests/web/test_permissions.py).
FIXTURE_NAMES = re.compile(r"Matrix \w+")
# Where a value is the point: the values to type in a file, and the audit trail's record
# types (table names such as "pilot", the identifiers the trail and its CSV record; the
# stored values of its table are marked as code).
IDENTIFIERS_SHOWN = {
    ("/feedback/import", "csat5"),
    ("/feedback/import", "nps"),
    ("/audit", "pilot"),
}


def _looked_for(language: str) -> list[str]:
    values = enum_values()
    if language == "en":
        return sorted(v for v in values if "_" in v)
    return sorted(v for v in values if v not in ORDINARY_WORDS["fr"])


def raw_values_in(text: str, looked_for: list[str], language: str = "fr") -> list[str]:
    """The values standing as words in `text`; in English, also a text that is a value
    and nothing else (a table cell reading "branch" where "Branch" belongs)."""
    found = [
        value
        for value in looked_for
        if re.search(rf"(?<![\w\-/.:@]){re.escape(value)}(?![\w\-/.@])", text)
    ]
    if language == "en" and text.strip() in enum_values() and text.strip() not in found:
        found.append(text.strip())
    return found


def test_enum_values_are_collected_from_the_models():
    values = enum_values()
    assert {"branch", "call_centre", "in_progress", "not_started", "site_manager"} <= values
    assert {"cost", "revenue", "drop_off", "in_person", "daily"} <= values


def test_a_raw_value_is_found_as_a_word_only():
    looked_for = _looked_for("fr")
    assert raw_values_in("Type : branch", looked_for) == ["branch"]
    assert raw_values_in("Agence · en cours", looked_for) == []
    assert raw_values_in("branch-office.example.org", looked_for) == []
    english = _looked_for("en")
    assert raw_values_in("a branch of the network", english, "en") == []
    assert raw_values_in("branch", english, "en") == ["branch"]
    assert raw_values_in("in_progress", english, "en") == ["in_progress"]


CRAWLS = {"fr": ROLES, "en": (ADMIN, SITE_MANAGER)}  # every role in French
assert {COACH, DIAGNOSTICIAN, FINANCE, PILOT_TEAM} <= set(CRAWLS["fr"])


@pytest.mark.parametrize("language", sorted(CRAWLS))
def test_no_page_shows_a_raw_enum_value(app, client, language):
    from tests.browser.test_phone_crawl import _world

    with app.test_request_context():
        seed_demo(db.session, PASSWORD)
        db.session.commit()
        world = _world()
        plan = []
        for role in CRAWLS[language]:
            user = make_user(
                role,
                email=f"enums-{role}@example.org",
                language=language,
                site_id=world.site_id if role == SITE_MANAGER else None,
            )
            plan.append((user.id, role, _sample_pages(role, world)))
    looked_for = _looked_for(language)
    problems = []
    for user_id, role, urls in plan:
        with app.test_request_context():
            login_as(client, db.session.get(User, user_id))
        assert urls
        for url in urls:
            response = client.get(url)
            assert response.status_code == 200, url
            for text in text_nodes(response.get_data(as_text=True)):
                found = [
                    value
                    for value in raw_values_in(FIXTURE_NAMES.sub("", text), looked_for, language)
                    if (url, value) not in IDENTIFIERS_SHOWN
                ]
                if found:
                    problems.append(f"{role} {url}: {', '.join(found)} in “{text[:140]}”")
    assert problems == [], f"{len(problems)} raw values shown:\n" + "\n".join(problems)
