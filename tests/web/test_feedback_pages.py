"""The close-the-loop screens: perimeter, contact references, closing, bad input."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from programme.audit import AuditEvent
from programme.feedback import services
from programme.feedback.models import FeedbackCase, FeedbackResponse
from programme.network.models import Site
from tests.diagnostics_factories import make_campaign, make_irritant
from tests.factories import login_as, make_region, make_site, make_user
from tests.web.helpers import DENIED, count, page

PARIS = ZoneInfo("Europe/Paris")
CONTACT = "06 12 34 56 78"


def _post(session, *items):
    """Responses through the intake, as a survey tool would send them."""
    summary = services.record_responses(session, None, list(items))
    session.commit()
    return summary


def _item(site="PAR-001", **values):
    received = datetime.now(PARIS) - timedelta(hours=2)
    base = {
        "source": "qualtrics",
        "external_id": f"R-{site}-{values.get('score', 2)}-{values.get('external_id', '')}",
        "site": site,
        "received_at": received.isoformat(),
        "channel": "in_person",
        "score": 2,
        "scale": "nps",
        "comment": "Personne ne m'a rappelé",
        "contact_consent": True,
        "contact": CONTACT,
    }
    base.update(values)
    return base


@pytest.fixture
def world(session, app):
    north = make_region("Hauts-de-France")
    south = make_region("Occitanie")
    make_site("PAR-001", region=north, name="Agence Lille")
    make_site("RBX-001", region=north, name="Agence Roubaix")
    make_site("TLS-001", region=south, name="Agence Toulouse")
    with app.test_request_context():
        _post(session, _item("PAR-001"), _item("RBX-001"), _item("TLS-001"))
    cases = {c.site.code: c.id for c in session.scalars(select(FeedbackCase)).all()}
    sites = {s.code: s for s in session.scalars(select(Site))}
    return {"cases": cases, "sites": sites, "north": north.id}


def _manager(world, code="PAR-001"):
    return make_user("site_manager", site_id=world["sites"][code].id)


def test_a_site_manager_lists_and_opens_only_their_cases(client, session, world):
    login_as(client, _manager(world))
    text = page(client.get("/cases"))
    assert "Agence Lille" in text
    assert "Agence Roubaix" not in text and "Agence Toulouse" not in text
    assert "1 case" in text

    own = client.get(f"/cases/{world['cases']['PAR-001']}")
    assert own.status_code == 200
    assert CONTACT in page(own)
    other = client.get(f"/cases/{world['cases']['TLS-001']}")
    assert other.status_code == 403 and DENIED in page(other)
    assert client.get("/cases/999999").status_code == 404


def test_a_regional_manager_sees_their_region_and_reassigns(client, session, world):
    regional = make_user("site_manager", region_id=world["north"])
    manager = _manager(world, "RBX-001")
    login_as(client, regional)
    text = page(client.get("/cases"))
    assert "Agence Lille" in text and "Agence Roubaix" in text
    assert "Agence Toulouse" not in text

    case_id = world["cases"]["RBX-001"]
    response = client.post(f"/cases/{case_id}/reassign", data={"assignee": str(manager.id)})
    assert response.status_code == 302
    session.expire_all()
    assert session.get(FeedbackCase, case_id).assignee_id == manager.id
    # someone from elsewhere cannot be chosen
    outsider = _manager(world, "TLS-001")
    refused = client.post(f"/cases/{case_id}/reassign", data={"assignee": str(outsider.id)})
    assert refused.status_code == 422
    assert "This person does not manage the case's site." in page(refused)
    session.expire_all()
    assert session.get(FeedbackCase, case_id).assignee_id == manager.id


def test_the_status_filter_and_htmx_fragment(client, session, world):
    login_as(client, make_user("admin"))
    case_id = world["cases"]["PAR-001"]
    client.post(f"/cases/{case_id}/contacted")
    fragment = page(client.get("/cases?status=contacted", headers={"HX-Request": "true"}))
    assert "<html" not in fragment
    assert "Agence Lille" in fragment and "Agence Roubaix" not in fragment
    site = world["sites"]["TLS-001"].id
    htmx = {"HX-Request": "true"}
    assert "Agence Toulouse" in page(client.get(f"/cases?site={site}", headers=htmx))
    assert "Agence Lille" not in page(client.get(f"/cases?site={site}", headers=htmx))


def test_an_overdue_case_is_flagged_then_escalated(client, session, world):
    case = session.get(FeedbackCase, world["cases"]["PAR-001"])
    # stored in UTC, as the intake does (SQLite keeps no offset)
    case.due_at = datetime.now(UTC) - timedelta(hours=1)
    case.escalate_at = datetime.now(UTC) + timedelta(hours=5)
    session.commit()
    login_as(client, make_user("admin"))
    assert "1 case" in page(client.get("/cases?status=overdue"))
    assert "0 cases" in page(client.get("/cases?status=escalated"))
    case = session.get(FeedbackCase, world["cases"]["PAR-001"])
    case.escalate_at = datetime.now(UTC) - timedelta(minutes=1)
    session.commit()
    assert "1 case" in page(client.get("/cases?status=escalated"))


def test_each_view_of_a_contact_reference_is_audited(client, session, world):
    manager = _manager(world)
    login_as(client, manager)
    case_id = world["cases"]["PAR-001"]
    client.get(f"/cases/{case_id}")
    client.get(f"/cases/{case_id}")
    views = session.scalars(
        select(AuditEvent).where(
            AuditEvent.entity == "feedback_case", AuditEvent.action == "view_contact"
        )
    ).all()
    assert len(views) == 2
    assert {v.user_id for v in views} == {manager.id}
    assert views[0].entity_id == str(case_id)


def test_mark_contacted_then_close_with_cause_and_irritant(client, session, world):
    irritant = make_irritant(make_campaign(), name="Attente trop longue")
    login_as(client, _manager(world))
    case_id = world["cases"]["PAR-001"]
    assert client.post(f"/cases/{case_id}/contacted").status_code == 302
    again = client.post(f"/cases/{case_id}/contacted")
    assert again.status_code == 409
    assert "already contacted or closed" in page(again)

    closed = client.post(
        f"/cases/{case_id}/close",
        data={
            "outcome": "explained",
            "cause": "ergonomic",
            "journey_step": "waiting",
            "irritant": str(irritant.id),
            "note": "Expliqué le nouveau système de tickets",
        },
        follow_redirects=True,
    )
    assert closed.status_code == 200
    text = page(closed)
    assert "Case closed." in text and "Attente trop longue" in text
    session.expire_all()
    case = session.get(FeedbackCase, case_id)
    assert (case.status, case.outcome, case.cause, case.irritant_id) == (
        "closed",
        "explained",
        "ergonomic",
        irritant.id,
    )
    twice = client.post(
        f"/cases/{case_id}/close", data={"outcome": "resolved", "cause": "technical"}
    )
    assert twice.status_code == 409
    assert "This case is already closed." in page(twice)
    session.expire_all()
    assert session.get(FeedbackCase, case_id).outcome == "explained"


@pytest.mark.parametrize(
    ("form", "message"),
    [
        ({"outcome": "", "cause": "technical"}, "Choose the outcome."),
        ({"outcome": "resolved", "cause": ""}, "Choose the root cause."),
        ({"outcome": "won", "cause": "technical"}, "One of: resolved, explained, unreachable."),
        ({"outcome": "resolved", "cause": "technical", "irritant": "424242"}, "Unknown irritant."),
    ],
)
def test_closing_without_outcome_or_cause_is_refused(client, session, world, form, message):
    login_as(client, _manager(world))
    case_id = world["cases"]["PAR-001"]
    response = client.post(f"/cases/{case_id}/close", data=form)
    assert response.status_code == 422
    assert message in page(response)
    session.expire_all()
    assert session.get(FeedbackCase, case_id).status == "open"


def test_closing_in_french(new_client, session, world):
    client = new_client(language="fr")
    login_as(client, _manager(world))
    response = client.post(
        f"/cases/{world['cases']['PAR-001']}/close", data={"outcome": "", "cause": ""}
    )
    assert response.status_code == 422
    assert "Choisissez le résultat." in page(response)
    assert "Dossiers clients" in page(response)


def test_other_roles_never_see_contact_references(client, session, world):
    for role in ("executive", "coach", "diagnostician", "pilot_team"):
        login_as(client, make_user(role))
        response = client.get(f"/cases/{world['cases']['PAR-001']}")
        assert response.status_code == 403
        assert CONTACT not in page(response)


# --- the counter note ---------------------------------------------------------------------------


def _counter(**values):
    local = datetime.now(PARIS) - timedelta(hours=1)
    form = {
        "site": "PAR-001",
        "received_at": local.strftime("%Y-%m-%dT%H:%M"),
        "channel": "in_person",
        "scale": "nps",
        "score": "4",
        "journey_step": "waiting",
        "comment": "Trop d'attente au guichet",
        "contact_consent": "y",
        "contact": "07 00 00 00 01",
    }
    form.update(values)
    return {k: v for k, v in form.items() if v is not None}


def test_a_counter_note_from_an_unhappy_customer_opens_a_case(client, session, world):
    manager = _manager(world)
    login_as(client, manager)
    form_page = page(client.get("/feedback/counter"))
    assert "A note taken at the counter" in form_page
    response = client.post("/feedback/counter", data=_counter(), follow_redirects=True)
    assert "a case was opened" in page(response)
    new = session.scalars(
        select(FeedbackResponse).where(FeedbackResponse.source == "counter")
    ).one()
    assert (new.score, new.contact_ref, new.created_by_id) == (4, "07 00 00 00 01", manager.id)
    case = session.scalars(select(FeedbackCase).where(FeedbackCase.response_id == new.id)).one()
    assert case.assignee_id == manager.id


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"score": "11"}, "On the nps scale, the score goes from 0 to 10."),
        ({"scale": "csat5", "score": "0"}, "On the csat5 scale, the score goes from 1 to 5."),
        ({"score": ""}, "Required."),
        ({"contact_consent": None}, "did not agree to be contacted"),
        ({"received_at": (datetime.now(PARIS) + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")},
         "This date and time is in the future."),
        ({"site": "TLS-001"}, "Not a valid choice"),
    ],
)  # fmt: skip
def test_bad_counter_notes_write_nothing(client, session, world, values, message):
    login_as(client, _manager(world))
    before = count(session, FeedbackResponse), count(session, FeedbackCase)
    response = client.post("/feedback/counter", data=_counter(**values))
    assert response.status_code == 422
    assert message in page(response)
    assert (count(session, FeedbackResponse), count(session, FeedbackCase)) == before


# --- close-the-loop figures ---------------------------------------------------------------------


def test_close_the_loop_figures_per_site_and_region(client, session, world):
    from datetime import UTC

    from programme.feedback.queries import loop_figures

    now = datetime.now(UTC)
    cases = {code: session.get(FeedbackCase, ident) for code, ident in world["cases"].items()}
    # Lille: contacted 3 h after the answer, in time; Roubaix: contacted 30 h after, late;
    # Toulouse: still to contact, past due.
    for code, hours, due_in in (("PAR-001", 3, 24), ("RBX-001", 30, -48)):
        c = cases[code]
        received = now - timedelta(hours=40)
        c.response.received_at = received
        c.due_at = received + timedelta(hours=24 if due_in > 0 else 20)
        c.contacted_at = received + timedelta(hours=hours)
        c.status = "contacted"
    cases["TLS-001"].due_at = now - timedelta(hours=1)
    session.commit()
    admin = make_user("admin")

    by_site = {r.label.split(" · ")[0]: r for r in loop_figures(session, admin, by="site")}
    assert (by_site["PAR-001"].in_time, by_site["PAR-001"].decided) == (1, 1)
    assert (by_site["RBX-001"].in_time, by_site["RBX-001"].decided) == (0, 1)
    assert by_site["TLS-001"].past_due == 1 and by_site["TLS-001"].median_hours is None
    (north,) = [
        r for r in loop_figures(session, admin, by="region") if r.label == "Hauts-de-France"
    ]
    assert north.share_in_time == 0.5
    assert north.median_hours == pytest.approx((3 + 30) / 2, abs=0.01)
    (network,) = loop_figures(session, admin, by="network")
    assert (network.cases, network.decided, network.in_time, network.past_due) == (3, 3, 1, 1)

    login_as(client, make_user("executive"))
    text = page(client.get("/cases/figures?by=region"))
    assert "Hauts-de-France" in text and "50%" in text and "16.5 h" in text
    assert CONTACT not in text
    # a site manager sees their perimeter only
    login_as(client, _manager(world))
    text = page(client.get("/cases/figures"))
    assert "PAR-001" in text and "RBX-001" not in text and "TLS-001" not in text


# --- root causes feed the irritants -------------------------------------------------------------


def test_closing_a_case_moves_its_irritants_count(client, session, world):
    from datetime import date

    from tests.diagnostics_factories import make_observation

    campaign = make_campaign(start=date.today() - timedelta(days=20), end=date.today())
    waiting = make_irritant(campaign, name="Attente sans information")
    make_irritant(campaign, name="Borne en panne")
    make_observation(
        campaign,
        world["sites"]["PAR-001"],
        findings=[{"occurrences": 4, "severity": 3, "irritant": waiting}],
        observed_on=date.today() - timedelta(days=10),
    )
    # a case closed long ago counts in the previous period
    old = session.get(FeedbackCase, world["cases"]["TLS-001"])
    old.status, old.outcome, old.cause, old.irritant_id = (
        "closed",
        "resolved",
        "ergonomic",
        waiting.id,
    )
    old.closed_at = datetime.now(UTC) - timedelta(days=100)
    session.commit()

    login_as(client, make_user("executive"))
    before = page(client.get("/cases/irritants"))
    assert re.search(r"Attente sans information.*?<td>0</td>\s*<td>−1", before, re.S)
    assert "Borne en panne" not in before  # neither a finding nor a case in the period

    admin = make_user("admin")
    login_as(client, admin)
    client.post(
        f"/cases/{world['cases']['PAR-001']}/close",
        data={"outcome": "explained", "cause": "ergonomic", "irritant": str(waiting.id)},
    )
    client.post(
        f"/cases/{world['cases']['RBX-001']}/close",
        data={
            "outcome": "unreachable",
            "cause": "technical",
            "proposed_irritant": "Site web indisponible le soir",
        },
    )
    login_as(client, make_user("executive"))
    after = page(client.get("/cases/irritants"))
    assert re.search(r"Attente sans information.*?<td>1</td>\s*<td>=", after, re.S)
    assert "1 finding · seen 4 times" in after
    assert "Ergonomic · 1" in after and "Technical · 1" in after
    assert "Site web indisponible le soir · 1 case" in after
    since = (date.today() - timedelta(days=5)).isoformat()
    narrow = page(client.get(f"/cases/irritants?since={since}"))
    assert "1 finding" not in narrow  # the observation was 10 days ago
    assert client.get("/cases/irritants?since=garbage").status_code == 200
