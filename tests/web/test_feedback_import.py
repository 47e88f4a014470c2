"""Importing a file of feedback responses: check, preview, confirm; all or nothing."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime, timedelta

import pytest
import xlsxwriter
from sqlalchemy import select

from programme.feedback.models import FeedbackCase, FeedbackImportMapping, FeedbackResponse
from tests.factories import login_as, make_region, make_site, make_user
from tests.web.helpers import count, page

WHEN = (datetime.now(UTC) - timedelta(hours=5)).replace(microsecond=0).isoformat()


def _csv(*lines: str, header="id;site;date;canal;note;echelle;consentement;contact") -> bytes:
    return ("\n".join([header, *lines]) + "\n").encode()


def _hidden(text: str, name: str) -> str:
    return re.search(rf'name="{name}" value="([^"]*)"', text).group(1)


@pytest.fixture
def world(session):
    site = make_site("PAR-001", region=make_region("Île-de-France"), name="Agence Paris")
    make_site("LYO-001", name="Agence Lyon")
    manager = make_user("site_manager", site_id=site.id)
    return {"manager": manager, "admin": make_user("admin")}


def _upload(client, data: bytes, name="export.csv", source="qualtrics"):
    return client.post(
        "/feedback/import",
        data={"source": source, "file": (io.BytesIO(data), name)},
        content_type="multipart/form-data",
    )


def test_check_then_import_and_the_mapping_is_remembered(client, session, world):
    login_as(client, world["admin"])
    data = _csv(
        f"Q-1;PAR-001;{WHEN};in_person;2;nps;oui;06 12 34 56 78",
        f"Q-2;PAR-001;{WHEN};phone;9;nps;non;",
        f"Q-3;LYO-001;{WHEN};digital;1;csat5;non;",
    )
    preview = _upload(client, data)
    assert preview.status_code == 200
    text = page(preview)
    assert "New responses: 3; already received: 0; cases to open: 1." in text
    assert count(session, FeedbackResponse) == 0  # nothing before the confirmation

    confirmed = client.post(
        "/feedback/import",
        data={
            "source": "qualtrics",
            "filename": _hidden(text, "filename"),
            "content": _hidden(text, "content"),
            "step": "confirm",
        },
        follow_redirects=True,
    )
    assert "New responses: 3; already received: 0; cases opened: 1." in page(confirmed)
    assert count(session, FeedbackResponse) == 3
    assert count(session, FeedbackCase) == 1
    mapping = session.scalars(select(FeedbackImportMapping)).one()
    assert mapping.source == "qualtrics" and mapping.columns["score"] == "note"
    # the same file again changes nothing
    again = page(_upload(client, data))
    assert "New responses: 0; already received: 3; cases to open: 0." in again


def test_bad_rows_are_listed_with_their_line_and_nothing_is_written(client, session, world):
    login_as(client, world["admin"])
    future = (datetime.now(UTC) + timedelta(days=3)).isoformat()
    data = _csv(
        f"Q-1;PAR-001;{WHEN};in_person;2;nps;oui;06 12 34 56 78",
        f"Q-2;PAR-001;{WHEN};in_person;12;nps;non;",
        f"Q-3;NOWHERE;{WHEN};in_person;4;nps;non;",
        "Q-4;PAR-001;2026-03-02 14:30;in_person;4;nps;non;",
        f"Q-5;PAR-001;{future};in_person;4;nps;non;",
        f"Q-6;PAR-001;{WHEN};in_person;4;stars;non;",
        f"Q-7;PAR-001;{WHEN};in_person;4;nps;non;07 00 00 00 00",
    )
    response = _upload(client, data)
    assert response.status_code == 422
    text = page(response)
    assert "6 problems: nothing was written." in text
    for line, message in [
        (3, "On the nps scale, the score goes from 0 to 10."),
        (4, "Unknown site code."),
        (5, "Give the time zone offset"),
        (6, "This date and time is in the future."),
        (7, "Unknown scale: use nps"),
        (8, "The customer did not agree to be contacted"),
    ]:
        assert re.search(rf"<td>{line}</td><td>\w+</td><td>{re.escape(message)}", text), line
    assert 'value="confirm"' not in text
    assert count(session, FeedbackResponse) == 0


def test_unknown_headers_ask_for_the_columns(client, session, world):
    login_as(client, world["admin"])
    data = _csv(
        f"Q-1,PAR-001,{WHEN},in_person,8,nps",
        header="ref,where,when,how,value,kind",
    )
    first = _upload(client, data, source="medallia")
    assert first.status_code == 200
    text = page(first)
    assert "Choose the column of “Response id”." in text
    mapped = client.post(
        "/feedback/import",
        data={
            "source": "medallia",
            "filename": _hidden(text, "filename"),
            "content": _hidden(text, "content"),
            "col_external_id": "ref",
            "col_site": "where",
            "col_received_at": "when",
            "col_channel": "how",
            "col_score": "value",
            "col_scale": "kind",
            "step": "confirm",
        },
        follow_redirects=True,
    )
    assert "New responses: 1" in page(mapped)
    # next time the columns of this source are remembered
    assert "cases to open: 0" in page(
        _upload(client, data.replace(b"Q-1", b"Q-2"), source="medallia")
    )


def test_an_xlsx_file(client, session, world):
    login_as(client, world["manager"])
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer)
    sheet = book.add_worksheet()
    for r, row in enumerate(
        [
            [
                "id",
                "site",
                "date",
                "canal",
                "note",
                "echelle",
                "reclamation",
                "consentement",
                "contact",
            ],
            ["X-1", "PAR-001", WHEN, "in_person", 10, "nps", "oui", "oui", "a@b.fr"],
        ]
    ):
        sheet.write_row(r, 0, row)
    book.close()
    response = _upload(client, buffer.getvalue(), name="export.xlsx")
    assert "New responses: 1; already received: 0; cases to open: 1." in page(response)


@pytest.mark.parametrize(
    ("form", "message"),
    [
        ({"source": "", "file": (io.BytesIO(b"a,b\n1,2\n"), "x.csv")}, "Name the source of the file."),
        ({"source": "q"}, "Choose a file."),
        ({"source": "q", "file": (io.BytesIO(b"a,b\n"), "x.pdf")}, "Upload a .csv or .xlsx file."),
    ],
)  # fmt: skip
def test_bad_uploads(client, session, world, form, message):
    login_as(client, world["admin"])
    response = client.post("/feedback/import", data=form, content_type="multipart/form-data")
    assert response.status_code == 422
    assert message in page(response)


def test_a_site_manager_cannot_import_for_another_site(client, session, world):
    login_as(client, world["manager"])
    response = _upload(client, _csv(f"Q-1;LYO-001;{WHEN};in_person;2;nps;non;"))
    assert response.status_code == 403
    assert "You may not record feedback for this site." in page(response)
    assert count(session, FeedbackResponse) == 0
