"""No silent new region: the site form picks its region from a list, a new region needs its
name and a confirmation; a site file with an unknown region is refused row by row unless
"create the regions that do not exist yet" is ticked."""

from __future__ import annotations

import io
import re

import pytest
from sqlalchemy import select

from programme.audit import AuditEvent
from programme.network.models import Person, Region, Site
from tests.factories import login_as, make_region, make_user
from tests.web.helpers import count, field_error, location, page

ARA = "Auvergne-Rhône-Alpes"


@pytest.fixture
def admin(client, session):
    user = make_user("admin", email="office@example.org")
    login_as(client, user)
    return user


def _form(**values):
    form = {
        "code": "LYO-010",
        "name": "Agence Lyon Bellecour",
        "type": "branch",
        "region": ARA,
        "new_region": "",
        "country": "FR",
        "city": "Lyon",
        "time_zone": "Europe/Paris",
        "operator": "internal",
        "provider": "",
        "channels": ["in_person"],
        "manager_name": "",
        "manager_email": "",
    }
    form.update(values)
    return {k: v for k, v in form.items() if v is not None}


def _snapshot(session):
    return (
        count(session, Site),
        count(session, Region),
        count(session, Person),
        count(session, AuditEvent),
    )


def test_the_site_form_lists_the_regions_and_a_new_region_choice(client, admin, session):
    make_region(ARA)
    make_region("Bretagne")
    text = page(client.get("/sites/new"))
    options = re.findall(r'<option[^>]*value="([^"]*)"[^>]*>([^<]*)</option>', text)
    assert ("", "— Choose a region —") in options
    assert (ARA, ARA) in options and ("Bretagne", "Bretagne") in options
    assert ("__new__", "New region…") in options
    assert 'name="new_region"' in text and 'name="confirm_new_region"' in text
    # nothing is chosen for the user
    assert not re.search(r'<option selected[^>]*value="[^"]+"', text)


def test_a_site_in_an_existing_region(client, admin, session):
    region = make_region(ARA)
    response = client.post("/sites/new", data=_form())
    assert response.status_code == 302
    assert session.scalars(select(Site)).one().region_id == region.id
    assert count(session, Region) == 1


def test_a_spelling_of_an_existing_region_without_accents_is_that_region(client, admin, session):
    region = make_region(ARA)
    response = client.post("/sites/new", data=_form(region="Auvergne-Rhone-Alpes"))
    assert response.status_code == 302
    assert session.scalars(select(Site)).one().region_id == region.id
    assert count(session, Region) == 1


@pytest.mark.parametrize(
    ("values", "field", "message"),
    [
        ({"region": ""}, "region", "Choose a region, or “New region…” to create one."),
        (
            {"region": "Atlantide"},
            "region",
            "Unknown region “Atlantide”: choose one from the list.",
        ),
        ({"region": "__new__", "new_region": ""}, "new_region", "Type the new region's name."),
        (
            {"region": "__new__", "new_region": "Occitanie"},
            "confirm_new_region",
            "Tick this box to confirm that “Occitanie” is a new region.",
        ),
        (
            {"region": "__new__", "new_region": "auvergne rhone alpes", "confirm_new_region": "y"},
            "new_region",
            f"The region “{ARA}” already exists: choose it in the list.",
        ),
    ],
    ids=["none chosen", "unknown", "new without name", "new not confirmed", "new but exists"],
)
def test_site_form_region_refused(client, admin, session, values, field, message):
    make_region(ARA)
    before = _snapshot(session)

    response = client.post("/sites/new", data=_form(**values))

    assert response.status_code == 422
    assert field_error(page(response), field) == message
    assert _snapshot(session) == before


def test_region_errors_come_with_the_other_errors(client, admin, session):
    response = client.post("/sites/new", data=_form(region="", name="", time_zone="Mars/Olympus"))
    assert response.status_code == 422
    text = page(response)
    assert field_error(text, "region") == "Choose a region, or “New region…” to create one."
    assert field_error(text, "name") == "This field is required."
    assert count(session, Site) == 0


def test_site_form_region_refused_in_french(session, new_client):
    browser = new_client(language="fr")
    login_as(browser, make_user("admin"))
    response = browser.post("/sites/new", data=_form(region="__new__", new_region="Occitanie"))
    assert response.status_code == 422
    assert (
        field_error(page(response), "confirm_new_region")
        == "Cochez cette case pour confirmer que «\u00a0Occitanie\u00a0» est une nouvelle région."
    )
    assert count(session, Region) == 0


def test_a_confirmed_new_region_is_created(client, admin, session):
    response = client.post(
        "/sites/new",
        data=_form(region="__new__", new_region="Occitanie", confirm_new_region="y"),
    )
    assert response.status_code == 302
    site = session.scalars(select(Site)).one()
    assert site.region.name == "Occitanie"


def test_editing_a_site_keeps_its_region_selected(client, admin, session):
    make_region("Bretagne")
    client.post(
        "/sites/new", data=_form(region="__new__", new_region="Occitanie", confirm_new_region="y")
    )
    site = session.scalars(select(Site)).one()
    text = page(client.get(f"/sites/{site.id}/edit"))
    assert re.search(r'<option selected value="Occitanie">', text)


# --- site import ---------------------------------------------------------------------------

FILE = (
    "code,name,type,region\n"
    "LYO-001,Agence Lyon Bellecour,branch,Auvergne-Rhône-Alpes\n"
    "LYO-002,Agence Lyon Part-Dieu,branch,Auvergne-Rhone-Alpes\n"  # same region, no accent
    "CLF-001,Agence Clermont Jaude,branch,Auvergne\n"  # line 4: unknown
    "TLS-001,Agence Toulouse Capitole,branch,Occitanie\n"  # line 5: unknown
)


def _upload(client, data: bytes, create_regions: bool = False):
    form = {"file": (io.BytesIO(data), "sites.csv")}
    if create_regions:
        form["create_regions"] = "y"
    return client.post("/sites/import", data=form, content_type="multipart/form-data")


def _error_rows(text: str) -> list[tuple[str, str, str]]:
    table = text.split('<table class="error-report">', 1)[1].split("</table>", 1)[0]
    return re.findall(r"<tr><td>(.*?)</td><td>(.*?)</td><td>(.*?)</td></tr>", table, re.S)


def test_import_with_unknown_regions_reports_each_row_and_imports_nothing(client, admin, session):
    make_region(ARA)
    before = _snapshot(session)

    response = _upload(client, FILE.encode())

    assert response.status_code == 422
    text = page(response)
    assert "2 problems found — nothing was imported" in text
    tick = "correct the name, or tick “Create the regions that do not exist yet” to add it to the network."
    assert _error_rows(text) == [
        ("4", "region", f"Unknown region “Auvergne”: {tick}"),
        ("5", "region", f"Unknown region “Occitanie”: {tick}"),
    ]
    assert _snapshot(session) == before


def test_import_unknown_regions_in_french(session, new_client):
    browser = new_client(language="fr")
    login_as(browser, make_user("admin"))
    make_region(ARA)
    response = _upload(browser, FILE.encode())
    assert response.status_code == 422
    rows = _error_rows(page(response))
    assert [r[0] for r in rows] == ["4", "5"]
    assert rows[0][2].startswith("Région inconnue «\u00a0Auvergne\u00a0»")
    assert count(session, Site) == 0


def test_import_creates_missing_regions_when_asked(client, admin, session):
    ara = make_region(ARA)
    response = _upload(client, FILE.encode(), create_regions=True)
    assert response.status_code == 200
    assert "Import done: 4 created, 0 updated, 0 unchanged." in page(response)
    names = sorted(session.scalars(select(Region.name)))
    assert names == ["Auvergne", ARA, "Occitanie"]
    lyon = session.scalars(select(Site).where(Site.code.like("LYO-%"))).all()
    assert {s.region_id for s in lyon} == {ara.id}  # the unaccented spelling joined it


def test_the_import_page_offers_to_create_missing_regions_unticked(client, admin, session):
    text = page(client.get("/sites/import"))
    box = re.search(r'<input[^>]*name="create_regions"[^>]*>', text).group(0)
    assert "checked" not in box
    assert location(client.get("/sites/import")) == ""
