"""/api/v1/feedback and /api/v1/cases: the round trip, permissions, bad input."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from programme.api.tokens import create_token
from programme.extensions import db
from programme.feedback.models import FeedbackCase, FeedbackResponse, as_utc
from programme.feedback.services import add_working_days
from tests.diagnostics_factories import make_campaign, make_irritant
from tests.factories import make_region, make_site, make_user

PARIS = ZoneInfo("Europe/Paris")


def _bearer(user) -> dict:
    _row, token = create_token(db.session, user, "survey-tool")
    db.session.commit()
    return {"Authorization": f"Bearer {token}"}


def _count(session, model) -> int:
    return session.scalar(select(func.count()).select_from(model))


def _received(hours_ago: int = 3) -> str:
    return (datetime.now(PARIS) - timedelta(hours=hours_ago)).replace(microsecond=0).isoformat()


def feedback(**values) -> dict:
    base = {
        "source": "qualtrics",
        "external_id": "Q-1001",
        "site": "PAR-001",
        "received_at": _received(),
        "channel": "in_person",
        "journey_step": "waiting",
        "score": 2,
        "scale": "nps",
        "comment": "45 minutes d'attente",
        "contact_consent": True,
        "contact": "06 12 34 56 78",
    }
    base.update(values)
    return {k: v for k, v in base.items() if v is not None}


@pytest.fixture
def world(session):
    region = make_region("Île-de-France")
    site = make_site("PAR-001", region=region, name="Agence Paris Opéra")
    other = make_site("LYO-001", name="Agence Lyon")
    manager = make_user("site_manager", site_id=site.id)
    return {"site": site, "other": other, "manager": manager, "admin": make_user("admin")}


def test_a_posted_detractor_opens_a_case_the_manager_closes(client, session, world):
    admin = _bearer(world["admin"])
    body = [
        feedback(),
        feedback(external_id="Q-1002", score=9, contact=None, contact_consent=False),
        feedback(external_id="Q-1003", scale="csat5", score=1, contact_consent=False, contact=None),
    ]
    response = client.post("/api/v1/feedback", json=body, headers=admin)
    assert response.status_code == 201, response.get_json()
    assert response.get_json() == {"created": 3, "unchanged": 0, "cases_opened": 1}
    # re-posting the same responses changes nothing
    again = client.post("/api/v1/feedback", json=body, headers=admin)
    assert again.get_json() == {"created": 0, "unchanged": 3, "cases_opened": 0}
    assert (_count(session, FeedbackResponse), _count(session, FeedbackCase)) == (3, 1)

    manager = _bearer(world["manager"])
    listed = client.get("/api/v1/cases?status=open", headers=manager)
    assert listed.status_code == 200
    (case,) = listed.get_json()
    assert (case["site"], case["status"], case["score"], case["external_id"]) == (
        "PAR-001",
        "open",
        2,
        "Q-1001",
    )
    received = datetime.fromisoformat(body[0]["received_at"])
    assert datetime.fromisoformat(case["due_at"]) == add_working_days(received, 2, PARIS)
    assert "contact" not in case  # contact references never leave through the list

    irritant = make_irritant(make_campaign(), name="Attente au guichet")
    closed = client.post(
        f"/api/v1/cases/{case['id']}/close",
        json={
            "outcome": "resolved",
            "cause": "ergonomic",
            "journey_step": "waiting",
            "irritant": irritant.id,
            "note": "Rappelé, excuses",
        },
        headers=manager,
    )
    assert closed.status_code == 200, closed.get_json()
    assert closed.get_json()["status"] == "closed"
    twice = client.post(
        f"/api/v1/cases/{case['id']}/close",
        json={"outcome": "explained", "cause": "technical", "journey_step": "", "note": ""},
        headers=manager,
    )
    assert twice.status_code == 409
    assert "already closed" in twice.get_json()["error"]
    session.expire_all()
    stored = session.get(FeedbackCase, case["id"])
    assert (stored.outcome, stored.cause, stored.irritant_id) == (
        "resolved",
        "ergonomic",
        irritant.id,
    )


@pytest.mark.parametrize(
    ("values", "field", "message"),
    [
        ({"score": 11}, "score", "At most 10."),
        ({"scale": "csat5", "score": 7}, "score", "On the csat5 scale, the score goes from 1 to 5."),
        ({"scale": "stars"}, "scale", "One of"),
        ({"site": "NOPE-404"}, "site", "Unknown site code."),
        ({"received_at": "2026-03-02T14:30:00"}, "received_at", "with its offset"),
        ({"received_at": (datetime.now(UTC) + timedelta(days=2)).isoformat()}, "received_at",
         "in the future"),
        ({"contact_consent": False}, "contact", "did not agree to be contacted"),
        ({"score": "2"}, "score", "A whole number is expected."),
    ],
)  # fmt: skip
def test_bad_feedback_writes_nothing(client, session, world, values, field, message):
    body = [feedback(external_id="Q-OK"), feedback(**values)]
    response = client.post("/api/v1/feedback", json=body, headers=_bearer(world["admin"]))
    assert response.status_code == 422
    errors = response.get_json()["errors"]
    assert [(e["index"], e["field"]) for e in errors] == [(1, field)], errors
    assert message in errors[0]["message"]
    assert _count(session, FeedbackResponse) == 0
    assert _count(session, FeedbackCase) == 0


def test_messages_in_the_users_language(client, session, world):
    world["admin"].language = "fr"
    session.commit()
    response = client.post(
        "/api/v1/feedback",
        json=[feedback(contact_consent=False)],
        headers={**_bearer(world["admin"]), "Accept-Language": "fr"},
    )
    assert response.status_code == 422
    assert "n’a pas accepté d’être recontacté" in response.get_json()["errors"][0]["message"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"cause": "technical", "journey_step": "waiting", "note": ""}, "outcome"),
        ({"outcome": "resolved", "journey_step": "waiting", "note": ""}, "cause"),
        ({"outcome": "resolved", "cause": "bad luck", "journey_step": "", "note": ""}, "cause"),
        ({"outcome": "resolved", "cause": "technical", "journey_step": "", "note": "",
          "irritant": 999}, "irritant"),
        ({"outcome": "resolved", "cause": "technical", "journey_step": "", "note": "",
          "proposed_irritant": "x" * 201}, "proposed_irritant"),
    ],
)  # fmt: skip
def test_closing_without_outcome_or_cause_is_refused(client, session, world, body, field):
    admin = _bearer(world["admin"])
    client.post("/api/v1/feedback", json=[feedback()], headers=admin)
    case_id = session.scalar(select(FeedbackCase.id))
    response = client.post(f"/api/v1/cases/{case_id}/close", json=body, headers=admin)
    assert response.status_code == 422
    assert [e["field"] for e in response.get_json()["errors"]] == [field]
    session.expire_all()
    assert session.get(FeedbackCase, case_id).status == "open"


def test_perimeter_and_roles(client, session, world):
    admin = _bearer(world["admin"])
    client.post(
        "/api/v1/feedback",
        json=[feedback(), feedback(external_id="Q-2", site="LYO-001")],
        headers=admin,
    )
    lyon_case = session.scalar(
        select(FeedbackCase.id).where(FeedbackCase.site_id == world["other"].id)
    )
    manager = _bearer(world["manager"])
    assert [c["site"] for c in client.get("/api/v1/cases", headers=manager).get_json()] == [
        "PAR-001"
    ]
    assert len(client.get("/api/v1/cases", headers=admin).get_json()) == 2
    # a site manager may not post for another site, nor close its cases
    refused = client.post(
        "/api/v1/feedback", json=[feedback(external_id="Q-3", site="LYO-001")], headers=manager
    )
    assert refused.status_code == 403
    assert refused.get_json()["errors"][0]["field"] == "site"
    close = {"outcome": "resolved", "cause": "technical", "journey_step": "", "note": ""}
    assert (
        client.post(f"/api/v1/cases/{lyon_case}/close", json=close, headers=manager).status_code
        == 403
    )
    assert client.post("/api/v1/cases/424242/close", json=close, headers=admin).status_code == 404
    for role in ("executive", "coach", "diagnostician", "pilot_team"):
        headers = _bearer(make_user(role))
        assert client.get("/api/v1/cases", headers=headers).status_code == 403
        assert (
            client.post("/api/v1/feedback", json=[feedback(external_id="X")], headers=headers)
        ).status_code == 403
    assert client.get("/api/v1/cases").status_code == 401
    assert _count(session, FeedbackResponse) == 2


def test_case_filters(client, session, world):
    admin = _bearer(world["admin"])
    client.post("/api/v1/feedback", json=[feedback()], headers=admin)
    today = datetime.now(UTC).date()
    assert len(client.get(f"/api/v1/cases?from={today}&to={today}", headers=admin).get_json()) == 1
    tomorrow = today + timedelta(days=1)
    assert client.get(f"/api/v1/cases?from={tomorrow}", headers=admin).get_json() == []
    assert client.get("/api/v1/cases?site=LYO-001", headers=admin).get_json() == []
    unknown = client.get("/api/v1/cases?site=NOPE", headers=admin)
    assert unknown.status_code == 422
    assert client.get("/api/v1/cases?status=lost", headers=admin).status_code == 422
    stored = session.scalars(select(FeedbackCase)).one()
    assert as_utc(stored.due_at) > as_utc(stored.opened_at)
