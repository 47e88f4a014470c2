"""The network screens (site list, site form, site import, regions) and the audit screen,
through the Flask test client: what a user sees, and what is (not) written."""

from __future__ import annotations

import csv
import io
import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import openpyxl
import pytest
from sqlalchemy import select

from programme.audit import AuditEvent
from programme.network.models import Person, Region, Site
from tests.factories import login_as, make_region, make_site, make_user
from tests.web.helpers import count, field_error, flashes, h1, hidden_value, location, page

CONFLICT = "Someone else saved this site while you were editing it."


@pytest.fixture
def admin(client, session):
    user = make_user("admin", email="office@example.org")
    login_as(client, user)
    return user


def site_form(**values):
    """A creation creates its region through "New region…" (confirmed); an edit (with a
    version) or an explicit `region` picks an existing one from the list."""
    form = {
        "code": "PAR-010",
        "name": "Agence Paris Bastille",
        "type": "branch",
        "region": "__new__",
        "new_region": "Île-de-France",
        "confirm_new_region": "y",
        "country": "FR",
        "city": "Paris",
        "time_zone": "Europe/Paris",
        "operator": "internal",
        "provider": "",
        "channels": ["in_person", "phone"],
        "manager_name": "Nadia Benali",
        "manager_email": "nadia.benali@example.org",
    }
    if "region" in values or "version" in values:
        form["region"] = values.pop("region", "Île-de-France")
        form.pop("new_region")
        form.pop("confirm_new_region")
    form.update(values)
    return form


def _codes(text: str) -> list[str]:
    """Site codes listed in the site table, in order."""
    return re.findall(r'<td><a href="/sites/\d+">([^<]+)</a></td>', text)


def _snapshot(session) -> tuple[int, int, int, int]:
    return (
        count(session, Site),
        count(session, Region),
        count(session, Person),
        count(session, AuditEvent),
    )


# --- site list -------------------------------------------------------------------------------


@pytest.fixture
def network(session):
    north = make_region("Hauts-de-France")
    south = make_region("Occitanie")
    make_site("LIL-001", region=north, name="Agence Lille Centre", city="Lille")
    make_site("LIL-002", region=north, name="Boutique Lille Europe", type="shop", city="Lille")
    make_site(
        "TLS-001",
        region=south,
        name="Centre d'appels Toulouse",
        type="call_centre",
        city="Toulouse",
        operator="outsourced",
        provider="Teleperf",
    )
    make_site("TLS-002", region=south, name="Agence Toulouse Capitole", city="Toulouse")
    return {"north": north.id, "south": south.id}


def test_site_list_full_page(client, admin, network):
    response = client.get("/sites")
    text = page(response)
    assert response.status_code == 200
    assert "<html" in text
    assert h1(text) == "Sites"
    assert _codes(text) == ["LIL-001", "LIL-002", "TLS-001", "TLS-002"]
    assert "4 sites" in text


def test_live_search_returns_only_the_fragment(client, admin, network):
    response = client.get("/sites?q=lille", headers={"HX-Request": "true"})
    text = page(response)
    assert response.status_code == 200
    assert "<html" not in text
    assert "<h1" not in text
    assert text.lstrip().startswith('<div id="site-results">')
    assert _codes(text) == ["LIL-001", "LIL-002"]
    assert "2 sites" in text
    assert "HX-Request" in response.headers.get("Vary", "")


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("q=TOULOUSE", ["TLS-001", "TLS-002"]),  # city, any case
        ("q=lil-002", ["LIL-002"]),  # code
        ("q=capitole", ["TLS-002"]),  # name
        ("q=nowhere", []),
        ("type=shop", ["LIL-002"]),
        ("operator=outsourced", ["TLS-001"]),
        ("operator=internal&q=toulouse", ["TLS-002"]),
        ("type=not-a-type", ["LIL-001", "LIL-002", "TLS-001", "TLS-002"]),  # ignored
    ],
)
def test_site_list_filters(client, admin, network, query, expected):
    text = page(client.get(f"/sites?{query}"))
    assert _codes(text) == expected
    if not expected:
        assert "No site matches these filters." in text


@pytest.mark.parametrize("query", ["opéra", "OPÉRA", "Évry", "évry", "ÉVRY"])
def test_live_search_ignores_case_of_accented_letters(client, admin, session, query):
    region = make_region("Île-de-France")
    make_site("PAR-001", region=region, name="Agence Paris Opéra", city="Paris")
    make_site("EVR-001", region=region, name="Agence Évry Centre", city="Évry-Courcouronnes")
    make_site("LIL-001", region=region, name="Agence Lille", city="Lille")
    expected = ["PAR-001"] if "p" in query.lower() else ["EVR-001"]
    assert _codes(page(client.get("/sites", query_string={"q": query}))) == expected


def test_site_list_region_filter(client, admin, network):
    assert _codes(page(client.get(f"/sites?region={network['south']}"))) == ["TLS-001", "TLS-002"]
    assert _codes(page(client.get(f"/sites?region={network['north']}&type=branch"))) == ["LIL-001"]


def test_site_list_pagination(app, client, admin, session, monkeypatch):
    monkeypatch.setitem(app.config, "SITE_PAGE_SIZE", 2)
    region = make_region("Bretagne")
    for number in range(1, 6):
        make_site(f"BRE-{number:03d}", region=region)

    first = page(client.get("/sites"))
    assert _codes(first) == ["BRE-001", "BRE-002"]
    assert "Page 1 of 3" in first
    assert "5 sites" in first
    assert 'rel="next"' in first and 'rel="prev"' not in first

    last = page(client.get("/sites?page=3", headers={"HX-Request": "true"}))
    assert _codes(last) == ["BRE-005"]
    assert "Page 3 of 3" in last
    assert 'rel="next"' not in last

    assert _codes(page(client.get("/sites?page=99"))) == ["BRE-005"]  # clamped to the last page
    assert _codes(page(client.get("/sites?page=abc"))) == ["BRE-001", "BRE-002"]


def test_pager_links_keep_the_filters(app, client, admin, session, monkeypatch):
    monkeypatch.setitem(app.config, "SITE_PAGE_SIZE", 1)
    region = make_region("Bretagne")
    make_site("BRE-001", region=region, type="shop")
    make_site("BRE-002", region=region, type="shop")
    make_site("BRE-003", region=region)
    text = page(client.get("/sites?type=shop"))
    assert "Page 1 of 2" in text
    next_link = re.search(r'href="([^"]+)" rel="next"', text).group(1)
    assert "type=shop" in next_link
    assert _codes(page(client.get(next_link))) == ["BRE-002"]


# --- site creation ---------------------------------------------------------------------------


def test_create_site(client, admin, session):
    response = client.post("/sites/new", data=site_form())

    assert response.status_code == 302
    site = session.scalars(select(Site)).one()
    assert location(response) == f"/sites/{site.id}"
    assert (site.code, site.name, site.type, site.region.name) == (
        "PAR-010",
        "Agence Paris Bastille",
        "branch",
        "Île-de-France",
    )
    assert site.channels == ["in_person", "phone"]
    assert site.manager.email == "nadia.benali@example.org"
    detail = page(client.get(location(response)))
    assert "Site PAR-010 created." in flashes(detail)
    assert h1(detail).startswith("Agence Paris Bastille")

    event = session.scalars(
        select(AuditEvent).where(AuditEvent.entity == "site", AuditEvent.entity_id == str(site.id))
    ).one()
    assert event.action == "create"
    assert event.actor == admin.email
    assert event.changes["name"] == [None, "Agence Paris Bastille"]


def test_create_site_code_is_normalised_and_region_reused(client, admin, session):
    region = make_region("Île-de-France")
    response = client.post("/sites/new", data=site_form(code="par-011", region="île-de-france"))
    assert response.status_code == 302
    site = session.scalars(select(Site)).one()
    assert site.code == "PAR-011"
    assert site.region_id == region.id
    assert count(session, Region) == 1


def test_create_outsourced_site(client, admin, session):
    response = client.post("/sites/new", data=site_form(operator="outsourced", provider="Teleperf"))
    assert response.status_code == 302
    site = session.scalars(select(Site)).one()
    assert (site.operator, site.provider) == ("outsourced", "Teleperf")


@pytest.mark.parametrize(
    ("values", "field", "message"),
    [
        (
            {"operator": "outsourced", "provider": ""},
            "provider",
            "An outsourced site needs the provider's name.",
        ),
        ({"code": "PAR-001"}, "code", "Another site already has this code."),
        ({"code": "par-001"}, "code", "Another site already has this code."),
        (
            {"time_zone": "Europe/Lutece"},
            "time_zone",
            "Unknown time zone “Europe/Lutece” (e.g. Europe/Paris).",
        ),
        ({"country": "France"}, "country", ""),
        ({"name": ""}, "name", "This field is required."),
        (
            {"code": "PAR 010!"},
            "code",
            "Use at most 40 letters, digits, dashes, dots or underscores.",
        ),
        ({"manager_email": "nadia"}, "manager_email", "Enter a valid email address."),
    ],
    ids=[
        "outsourced without provider",
        "duplicate code",
        "duplicate code other case",
        "bad time zone",
        "bad country",
        "missing name",
        "bad code",
        "bad manager email",
    ],
)
def test_create_site_refused(client, admin, session, values, field, message):
    make_site("PAR-001", region=make_region("Normandie"))
    before = _snapshot(session)

    response = client.post("/sites/new", data=site_form(new_region="Région toute neuve", **values))

    assert response.status_code == 422
    error = field_error(page(response), field)
    assert error is not None, f"no error shown next to {field}"
    assert message in error
    assert _snapshot(session) == before  # no site, no new region, no manager, no audit event
    # the form keeps what was typed
    assert 'value="Région toute neuve"' in page(response)


# --- site edit and optimistic locking --------------------------------------------------------


def test_edit_site(client, admin, session):
    site = make_site("PAR-001", region=make_region("Île-de-France"), name="Agence Opéra")
    form_page = page(client.get(f"/sites/{site.id}/edit"))
    assert hidden_value(form_page, "version") == "1"
    assert 'value="Agence Opéra"' in form_page

    response = client.post(
        f"/sites/{site.id}/edit",
        data=site_form(code="PAR-001", name="Agence Opéra Garnier", version="1"),
    )

    assert response.status_code == 302
    assert "Site PAR-001 saved." in flashes(page(client.get(location(response))))
    session.expire_all()
    saved = session.get(Site, site.id)
    assert (saved.name, saved.version) == ("Agence Opéra Garnier", 2)
    event = session.scalars(
        select(AuditEvent).where(AuditEvent.entity == "site", AuditEvent.action == "update")
    ).one()
    assert event.changes["name"] == ["Agence Opéra", "Agence Opéra Garnier"]


def test_edit_site_conflict(client, admin, session, new_client):
    site = make_site("PAR-001", region=make_region("Île-de-France"), name="Agence Opéra")
    colleague = new_client()
    login_as(colleague, make_user("admin"))
    mine = page(client.get(f"/sites/{site.id}/edit"))
    theirs = page(colleague.get(f"/sites/{site.id}/edit"))
    assert hidden_value(mine, "version") == hidden_value(theirs, "version") == "1"

    first = colleague.post(
        f"/sites/{site.id}/edit",
        data=site_form(code="PAR-001", name="Saved by the colleague", version="1"),
    )
    assert first.status_code == 302

    second = client.post(
        f"/sites/{site.id}/edit", data=site_form(code="PAR-001", name="Saved by me", version="1")
    )

    assert second.status_code == 409
    text = page(second)
    assert CONFLICT in text
    conflict_block = text.split('class="conflict"', 1)[1].split("</div>", 1)[0]
    assert "Saved by the colleague" in conflict_block  # the current saved state
    assert 'value="Saved by me"' in text  # my entries are kept
    assert hidden_value(text, "version") == "2"
    session.expire_all()
    assert session.get(Site, site.id).name == "Saved by the colleague"

    # saving again on purpose replaces it
    again = client.post(
        f"/sites/{site.id}/edit", data=site_form(code="PAR-001", name="Saved by me", version="2")
    )
    assert again.status_code == 302
    session.expire_all()
    assert session.get(Site, site.id).name == "Saved by me"


def test_edit_site_refused_keeps_the_site(client, admin, session):
    site = make_site("PAR-001", region=make_region("Île-de-France"), name="Agence Opéra")
    make_site("PAR-002")
    response = client.post(
        f"/sites/{site.id}/edit", data=site_form(code="PAR-002", name="Renamed", version="1")
    )
    assert response.status_code == 422
    assert field_error(page(response), "code") == "Another site already has this code."
    session.expire_all()
    assert (session.get(Site, site.id).code, session.get(Site, site.id).name) == (
        "PAR-001",
        "Agence Opéra",
    )


def test_edit_unknown_site_is_404(client, admin):
    assert client.get("/sites/424242/edit").status_code == 404


# --- site import -----------------------------------------------------------------------------

GOOD_CSV = (
    "code,name,type,region,city,operator,provider,channels\n"
    "LYO-001,Agence Lyon Bellecour,branch,Auvergne-Rhône-Alpes,Lyon,internal,,in_person\n"
    "LYO-002,Centre d'appels Villeurbanne,call_centre,Auvergne-Rhône-Alpes,Villeurbanne,outsourced,Teleperf,phone;digital\n"
    "MRS-001,Boutique Marseille Vieux-Port,shop,Provence-Alpes-Côte d'Azur,Marseille,,,\n"
)

FRENCH_CSV = (
    "Code site;Nom;Type de site;Région;Ville;Opérateur;Prestataire;Canaux\n"
    "NTE-001;Agence Nantes Graslin;agence bancaire;Pays de la Loire;Nantes;interne;;physique\n"
    "NTE-002;Centre de contacts Saint-Herblain;centre d'appels;Pays de la Loire;Saint-Herblain;externalisé;Téléperf;téléphone\n"
    "ANG-001;Magasin Angers Ralliement;magasin;Pays de la Loire;Angers;;;\n"
)


def _xlsx(rows: list[list]) -> bytes:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


GOOD_XLSX_ROWS = [
    ["code", "name", "type", "region", "country", "time_zone", "manager", "manager_email"],
    [
        "CAS-001",
        "Centre de visas Casablanca",
        "visa_centre",
        "Maroc",
        "MA",
        "Africa/Casablanca",
        "Karim Alaoui",
        "karim@example.org",
    ],
    [
        "RAB-001",
        "Centre de visas Rabat",
        "visa centre",
        "Maroc",
        "ma",
        "Africa/Casablanca",
        None,
        None,
    ],
    [
        "FES-001",
        "Force de vente Fès",
        "field sales",
        "Maroc",
        "MA",
        "Africa/Casablanca",
        None,
        None,
    ],
]


def _upload(
    client, data: bytes, filename: str, update_only: bool = False, create_regions: bool = True
):
    """Most files here bring new regions: "create missing regions" is ticked unless said."""
    form = {"file": (io.BytesIO(data), filename)}
    if update_only:
        form["update_only"] = "y"
    if create_regions:
        form["create_regions"] = "y"
    return client.post("/sites/import", data=form, content_type="multipart/form-data")


def _import_error_rows(text: str) -> list[tuple[str, str, str]]:
    table = text.split('<table class="error-report">', 1)[1].split("</table>", 1)[0]
    return [
        tuple(cell.strip() for cell in cells)
        for cells in re.findall(r"<tr><td>(.*?)</td><td>(.*?)</td><td>(.*?)</td></tr>", table, re.S)
    ]


@pytest.mark.parametrize(
    ("data", "filename", "names"),
    [
        (GOOD_CSV.encode("utf-8"), "sites.csv", {"LYO-002": "Centre d'appels Villeurbanne"}),
        (
            GOOD_CSV.encode("utf-8-sig"),
            "sites-bom.CSV",
            {"MRS-001": "Boutique Marseille Vieux-Port"},
        ),
        (
            FRENCH_CSV.encode("cp1252"),
            "sites-fr.csv",
            {"NTE-002": "Centre de contacts Saint-Herblain"},
        ),
        (_xlsx(GOOD_XLSX_ROWS), "sites.xlsx", {"CAS-001": "Centre de visas Casablanca"}),
    ],
    ids=[
        "csv comma utf-8",
        "csv utf-8 with BOM",
        "csv semicolon windows-1252 french headers",
        "xlsx",
    ],
)
def test_import_good_files_and_reimport_changes_nothing(
    client, admin, session, data, filename, names
):
    response = _upload(client, data, filename)

    assert response.status_code == 200, page(response)[-3000:]
    assert "Import done: 3 created, 0 updated, 0 unchanged." in page(response)
    assert count(session, Site) == 3
    for code, name in names.items():
        assert session.scalars(select(Site.name).where(Site.code == code)).one() == name
    summary = session.scalars(select(AuditEvent).where(AuditEvent.action == "import")).one()
    assert summary.changes == {"created": 3, "updated": 0, "unchanged": 0}

    events = count(session, AuditEvent)
    again = _upload(client, data, filename)
    assert again.status_code == 200
    assert "Import done: 0 created, 0 updated, 3 unchanged." in page(again)
    assert count(session, Site) == 3
    assert count(session, AuditEvent) == events + 1  # only the import summary


def test_import_windows_1252_keeps_the_accents(client, admin, session):
    assert _upload(client, FRENCH_CSV.encode("cp1252"), "sites.csv").status_code == 200
    site = session.scalars(select(Site).where(Site.code == "NTE-002")).one()
    assert (site.type, site.operator, site.provider, site.channels) == (
        "call_centre",
        "outsourced",
        "Téléperf",
        ["phone"],
    )
    assert site.region.name == "Pays de la Loire"
    assert session.scalars(select(Site.type).where(Site.code == "ANG-001")).one() == "shop"


def test_import_updates_existing_sites(client, admin, session):
    make_site("LYO-001", region=make_region("Auvergne-Rhône-Alpes"), name="Ancien nom")
    response = _upload(client, GOOD_CSV.encode(), "sites.csv")
    assert "Import done: 2 created, 1 updated, 0 unchanged." in page(response)
    assert (
        session.scalars(select(Site.name).where(Site.code == "LYO-001")).one()
        == "Agence Lyon Bellecour"
    )


def test_import_with_bad_rows_imports_nothing(client, admin, session):
    existing = make_site("LYO-001", region=make_region("Auvergne-Rhône-Alpes"), name="Ancien nom")
    bad = (
        "code,name,type,region\n"
        "LYO-001,Agence Lyon Bellecour,branch,Auvergne-Rhône-Alpes\n"  # row 2: fine (an update)
        "LYO-003,,hypermarket,Auvergne-Rhône-Alpes\n"  # row 3: missing name, unknown type
        "LYO-004,Agence Lyon Part-Dieu,branch,Nouvelle région\n"  # row 4: fine
        "lyo-001,Agence en double,branch,Auvergne-Rhône-Alpes\n"  # row 5: code already on row 2
    )
    before = _snapshot(session)

    response = _upload(client, bad.encode(), "sites.csv")

    assert response.status_code == 422
    text = page(response)
    assert "3 problems found — nothing was imported" in text
    assert _import_error_rows(text) == [
        ("3", "name", "This value is required."),
        (
            "3",
            "type",
            "Unknown site type “hypermarket”; expected one of: branch, shop, agency, call_centre, visa_centre, field_sales.",
        ),
        ("5", "code", "Code LYO-001 appears twice in this file (also on row 2)."),
    ]
    assert _snapshot(session) == before
    session.expire_all()
    assert session.get(Site, existing.id).name == "Ancien nom"


def test_import_row_numbers_match_the_file_with_blank_lines(client, admin, session):
    data = (
        "code,name,type,region\n"
        "A-1,Agence A,branch,Bretagne\n"
        "\n"
        "A-2,,branch,Bretagne\n"  # line 4 of the file
    )
    response = _upload(client, data.encode(), "sites.csv")
    assert response.status_code == 422
    assert _import_error_rows(page(response)) == [("4", "name", "This value is required.")]


def test_import_xlsx_bad_rows_are_reported_by_row(client, admin, session):
    rows = [
        ["code", "name", "type", "region"],
        ["A-1", "Agence A", "branch", "Bretagne"],
        ["A-2", "Agence B", "branch", None],
    ]
    response = _upload(client, _xlsx(rows), "sites.xlsx")
    assert response.status_code == 422
    assert _import_error_rows(page(response)) == [("3", "region", "This value is required.")]
    assert count(session, Site) == 0


def test_import_missing_required_column(client, admin, session):
    response = _upload(client, b"code,name,type\nA-1,Agence A,branch\n", "sites.csv")
    assert response.status_code == 422
    text = page(response)
    assert "Missing required column(s): region. Found: code, name, type." in text
    assert "Nothing was imported." in text
    assert count(session, Site) == 0


def test_import_wrong_extension(client, admin, session):
    response = _upload(client, GOOD_CSV.encode(), "sites.txt")
    assert response.status_code == 415
    assert "Upload a .csv or .xlsx file." in page(response)
    assert count(session, Site) == 0


def test_import_fake_xlsx(client, admin, session):
    response = _upload(client, GOOD_CSV.encode(), "sites.xlsx")
    assert response.status_code == 422
    assert "This file is not a valid XLSX workbook." in page(response)


def test_import_empty_file(client, admin, session):
    response = _upload(client, b"", "sites.csv")
    assert response.status_code == 422
    assert count(session, Site) == 0


def test_import_without_a_file(client, admin, session):
    response = client.post("/sites/import", data={}, content_type="multipart/form-data")
    assert response.status_code == 422
    assert field_error(page(response), "file")


def test_import_oversized_file(app, client, admin, session, monkeypatch):
    monkeypatch.setitem(app.config, "SITE_IMPORT_MAX_BYTES", 512 * 1024)
    header = b"code,name,type,region\n"
    row = b"BIG-%06d,Agence,branch,Bretagne\n"
    data = header + b"".join(row % n for n in range(15_500))
    assert 512 * 1024 < len(data) < 512 * 1024 + 64 * 1024

    response = _upload(client, data, "sites.csv")

    assert response.status_code == 413
    assert "The file is larger than 0.5 MB." in page(response)
    assert count(session, Site) == 0


def test_import_far_too_large_request_is_refused_early(app, client, admin, session, monkeypatch):
    monkeypatch.setitem(app.config, "SITE_IMPORT_MAX_BYTES", 1024)
    data = b"code,name,type,region\n" + b"X-1,Agence,branch,Bretagne\n" * 10_000
    response = _upload(client, data, "sites.csv")
    assert response.status_code == 413
    assert "The file is too large." in page(response)
    assert count(session, Site) == 0


def test_import_utf16_is_refused_clearly(client, admin, session):
    response = _upload(client, GOOD_CSV.encode("utf-16"), "sites.csv")
    assert response.status_code == 422
    assert "it looks like UTF-16" in page(response)
    assert "CSV UTF-8" in page(response)
    assert count(session, Site) == 0


def test_import_update_only_refuses_unknown_codes(client, admin, session):
    make_site("LYO-001", region=make_region("Auvergne-Rhône-Alpes"), name="Ancien nom")
    data = (
        "code,name,type,region\n"
        "LYO-001,Agence Lyon Bellecour,branch,Auvergne-Rhône-Alpes\n"
        "LYO-999,Agence inconnue,branch,Auvergne-Rhône-Alpes\n"
    )
    before = _snapshot(session)

    response = _upload(client, data.encode(), "sites.csv", update_only=True)

    assert response.status_code == 422
    assert _import_error_rows(page(response)) == [("3", "code", "Unknown site code LYO-999.")]
    assert _snapshot(session) == before
    assert session.scalars(select(Site.name).where(Site.code == "LYO-001")).one() == "Ancien nom"

    known_only = (
        "code,name,type,region\nLYO-001,Agence Lyon Bellecour,branch,Auvergne-Rhône-Alpes\n"
    )
    ok = _upload(client, known_only.encode(), "sites.csv", update_only=True)
    assert "Import done: 0 created, 1 updated, 0 unchanged." in page(ok)


# --- regions ---------------------------------------------------------------------------------


def test_add_region(client, admin, session):
    response = client.post("/regions", data={"name": "Grand Est"})
    assert response.status_code == 302
    assert location(response) == "/regions"
    text = page(client.get("/regions"))
    assert "Region Grand Est created." in flashes(text)
    assert "Grand Est" in text
    assert session.scalars(select(Region.name)).all() == ["Grand Est"]


@pytest.mark.parametrize("name", ["Île-de-France", "île-de-france", "  ÎLE-DE-FRANCE "])
def test_add_duplicate_region(client, admin, session, name):
    make_region("Île-de-France")
    response = client.post("/regions", data={"name": name})
    assert response.status_code == 422
    assert field_error(page(response), "name") == "This region already exists."
    assert count(session, Region) == 1


def test_add_region_without_a_name(client, admin, session):
    response = client.post("/regions", data={"name": ""})
    assert response.status_code == 422
    assert count(session, Region) == 0


def test_regions_page_counts(client, admin, session):
    north = make_region("Hauts-de-France")
    make_site(region=north)
    make_site(region=north, operator="outsourced", provider="Teleperf")
    make_region("Corse")
    text = page(client.get("/regions"))
    rows = re.findall(r"<tr><td><a [^>]+>([^<]+)</a></td><td>(\d+)</td><td>(\d+)</td></tr>", text)
    assert rows == [("Corse", "0", "0"), ("Hauts-de-France", "2", "1")]


# --- audit screen ----------------------------------------------------------------------------


def _event_count(text: str) -> int:
    match = re.search(r"<p aria-live=\"polite\">(\d+) events?</p>", text)
    assert match, "the audit table states how many events match"
    return int(match.group(1))


@pytest.fixture
def history(client, admin, session, new_client):
    """A site created and edited by the admin, a region added by a colleague."""
    response = client.post("/sites/new", data=site_form(manager_name="", manager_email=""))
    site_id = int(location(response).rsplit("/", 1)[1])
    client.post(
        f"/sites/{site_id}/edit",
        data=site_form(name="Agence Bastille", manager_name="", manager_email="", version="1"),
    )
    colleague = new_client()
    login_as(colleague, make_user("admin", email="colleague@example.org"))
    colleague.post("/regions", data={"name": "Bretagne"})
    return site_id


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        # 23:30 UTC on 6 December is 00:30 on the 7th in Paris (UTC+1 in winter)
        ("2026-12-07", "2026-12-07", ["just after midnight in Paris"]),
        ("2026-12-06", "2026-12-06", ["late evening in Paris"]),
        # 22:30 UTC on 28 March is 23:30 in Paris; the clocks go forward on the 29th
        ("2026-03-28", "2026-03-28", ["the evening before summer time"]),
        ("2026-03-29", "2026-03-29", []),
    ],
)
def test_audit_days_are_the_readers_days(client, admin, session, start, end, expected):
    """The audit's date filter reads the days in Paris time, the time the screen shows."""
    utc = ZoneInfo("UTC")
    for at, summary in [
        (datetime(2026, 12, 6, 23, 30, tzinfo=utc), "just after midnight in Paris"),
        (datetime(2026, 12, 6, 22, 30, tzinfo=utc), "late evening in Paris"),
        (datetime(2026, 3, 28, 22, 30, tzinfo=utc), "the evening before summer time"),
    ]:
        session.add(
            AuditEvent(
                at=at, actor="office@example.org", entity="site", action="update", summary=summary
            )
        )
    session.commit()

    shown = page(client.get(f"/audit?start={start}&end={end}&entity=site"))

    assert _event_count(shown) == len(expected)
    for summary in expected:
        assert summary in shown


def test_audit_list_and_filters(client, session, history):
    site_id = history
    everything = page(client.get("/audit"))
    total = _event_count(everything)
    assert total == count(session, AuditEvent)
    assert "Agence Bastille" in everything

    site_events = page(client.get("/audit?entity=site"))
    assert _event_count(site_events) == 2  # create, update
    assert _event_count(page(client.get("/audit?entity=site&action=update"))) == 1
    assert _event_count(page(client.get(f"/audit?entity=site&entity_id={site_id}"))) == 2
    assert _event_count(page(client.get("/audit?actor=colleague"))) == 1  # the region
    assert (
        _event_count(page(client.get("/audit?entity=region&actor=office@example.org"))) == 1
    )  # via the site form

    today = datetime.now(ZoneInfo("Europe/Paris")).date()
    assert _event_count(page(client.get(f"/audit?start={today}&end={today}"))) == total
    assert _event_count(page(client.get(f"/audit?start={today + timedelta(days=1)}"))) == 0
    assert _event_count(page(client.get(f"/audit?end={today - timedelta(days=1)}"))) == 0
    assert _event_count(page(client.get("/audit?start=not-a-date"))) == total  # ignored

    fragment = page(client.get("/audit?entity=site", headers={"HX-Request": "true"}))
    assert "<html" not in fragment
    assert _event_count(fragment) == 2


def _export(client, query: str = "") -> list[dict[str, str]]:
    response = client.get(f"/audit/export.csv{query}")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers.get("Content-Disposition", "")
    text = response.get_data(as_text=True)
    assert text.startswith("\ufeff")  # Excel opens it as UTF-8
    return list(csv.DictReader(io.StringIO(text.lstrip("\ufeff"))))


def test_audit_export_one_row_per_changed_field(client, session, history):
    rows = _export(client, "?entity=site")
    assert list(rows[0]) == [
        "at",
        "actor",
        "entity",
        "entity_id",
        "action",
        "field",
        "old",
        "new",
        "summary",
    ]
    update = [r for r in rows if r["action"] == "update"]
    assert [(r["field"], r["old"], r["new"]) for r in update] == [
        ("name", "Agence Paris Bastille", "Agence Bastille")
    ]
    create = [r for r in rows if r["action"] == "create"]
    stored = session.scalars(
        select(AuditEvent).where(AuditEvent.entity == "site", AuditEvent.action == "create")
    ).one()
    assert sorted(r["field"] for r in create) == sorted(stored.changes)
    assert {r["actor"] for r in rows} == {"office@example.org"}
    assert {r["entity"] for r in rows} == {"site"}


def test_audit_export_neutralises_formulas(client, admin, session):
    formula = '=HYPERLINK("http://evil.example","click")'
    response = client.post(
        "/sites/new",
        data=site_form(
            name=formula,
            city="@SUM(A1:A9)",
            operator="outsourced",
            provider="+33 1 23",
            manager_name="-1+1",
            manager_email="",
        ),
    )
    assert response.status_code == 302

    rows = _export(client, "?entity=site")
    cells = {r["field"]: r["new"] for r in rows}
    assert cells["name"] == "'" + formula
    assert cells["city"] == "'@SUM(A1:A9)"
    assert cells["provider"] == "'+33 1 23"
    person_rows = _export(client, "?entity=person")
    assert {r["field"]: r["new"] for r in person_rows}["full_name"] == "'-1+1"
    # every cell of the export is safe to open in a spreadsheet
    for row in rows + person_rows:
        for value in row.values():
            assert not value or value[0] not in "=+-@", row


def test_audit_export_respects_filters(client, session, history):
    rows = _export(client, "?actor=colleague")
    assert {(r["entity"], r["action"]) for r in rows} == {("region", "create")}


def test_audit_export_is_named_in_the_readers_language(client, session, history, admin):
    admin.language = "en"
    session.commit()
    english = client.get("/audit/export.csv").headers["Content-Disposition"]
    assert re.search(r'filename="audit-trail_\d{4}-\d{2}-\d{2}\.csv"', english), english
    admin.language = "fr"
    session.commit()
    french = client.get("/audit/export.csv").headers["Content-Disposition"]
    assert re.search(r'filename="journal-audit_\d{4}-\d{2}-\d{2}\.csv"', french), french
