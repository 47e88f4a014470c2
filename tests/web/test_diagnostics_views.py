"""Diagnostics screens: record rules, bad input (422, message next to the field, nothing
saved), the htmx entry rows, imports, completion, conflicts, charts and the synthesis."""

from __future__ import annotations

import io
import json
import re
from datetime import date

import pytest
from sqlalchemy import select

from programme.diagnostics.models import (
    Campaign,
    Finding,
    ObservationSession,
    Verbatim,
)
from tests.diagnostics_factories import make_campaign, make_irritant, make_observation
from tests.factories import login_as, make_region, make_site, make_user
from tests.web.helpers import DENIED, count, field_error, flashes, page


@pytest.fixture
def world(session):
    """Two regions, a branch in each (the first also answers the phone), a shop outside
    the sample, an open campaign led by `lead`, a session by `lead` at the Paris branch and
    one by `other` at the Lyon branch."""
    idf, ara = make_region("Île-de-France"), make_region("Auvergne-Rhône-Alpes")
    paris = make_site("PAR-001", idf, name="Agence Paris Opéra", channel_phone=True)
    lyon = make_site("LYO-001", ara, name="Agence Lyon Part-Dieu")
    shop = make_site("PAR-002", idf, name="Boutique Paris", type="shop")
    lead, other = make_user("diagnostician"), make_user("diagnostician")
    campaign = make_campaign(
        sites=[paris, lyon], site_types=("branch",), channels=("in_person", "phone"), lead=lead
    )
    irritant = make_irritant(campaign, "Attente sans information")
    mine = make_observation(
        campaign,
        paris,
        lead,
        interactions=12,
        findings=[
            {"occurrences": 4, "severity": 3, "irritant": irritant, "description": "Pas d'écran"}
        ],
    )
    theirs = make_observation(
        campaign,
        lyon,
        other,
        findings=[
            {
                "occurrences": 2,
                "severity": 2,
                "irritant": irritant,
                "description": "File unique à Lyon",
            }
        ],
    )
    return {
        "campaign": campaign.id,
        "paris": paris.id,
        "lyon": lyon.id,
        "shop": shop.id,
        "lead": lead,
        "other": other,
        "mine": mine.id,
        "theirs": theirs.id,
        "irritant": irritant.id,
    }


def session_form(site_id, **values):
    form = {
        "site_id": str(site_id),
        "observed_on": "2026-03-10",
        "start_time": "09:00",
        "end_time": "11:00",
        "channel": "in_person",
        "interactions": "12",
        "notes": "",
    }
    form.update(values)
    return form


def finding_fields(index, **values):
    row = {
        "journey_step": "waiting",
        "description": f"Constat {index}",
        "outcome": "degraded",
        "cause": "ergonomic",
        "severity": "2",
        "occurrences": "3",
        "attachment_ref": "",
        "notes": "",
    }
    row.update(values)
    return {f"findings-{index}-{key}": value for key, value in row.items()}


def _findings(session) -> int:
    return count(session, Finding)


# --- record rules -------------------------------------------------------------------------------


def test_a_diagnostician_edits_only_their_own_sessions(client, session, world):
    login_as(client, world["lead"])
    assert client.get(f"/diagnostics/sessions/{world['mine']}/edit").status_code == 200
    response = client.get(f"/diagnostics/sessions/{world['theirs']}/edit")
    assert response.status_code == 403 and DENIED in page(response)
    form = session_form(world["lyon"], version="1", **finding_fields(0))
    assert (
        client.post(f"/diagnostics/sessions/{world['theirs']}/edit", data=form).status_code == 403
    )
    assert client.post(f"/diagnostics/sessions/{world['theirs']}/delete").status_code == 403
    assert session.get(ObservationSession, world["theirs"]) is not None
    # both sessions are readable; only their own shows the edit button
    assert "Delete this session" in page(client.get(f"/diagnostics/sessions/{world['mine']}"))
    assert "Delete this session" not in page(client.get(f"/diagnostics/sessions/{world['theirs']}"))
    # "only my sessions"
    listing = page(client.get(f"/diagnostics/campaigns/{world['campaign']}?mine=1"))
    assert "PAR-001" in listing and "LYO-001" not in listing


def test_a_diagnostician_edits_and_deletes_their_own_session(client, session, world):
    login_as(client, world["lead"])
    finding_id = session.scalar(select(Finding.id).where(Finding.session_id == world["mine"]))
    form = session_form(
        world["paris"],
        version="1",
        **finding_fields(0, id=str(finding_id), occurrences="5"),
        **finding_fields(1, description="Nouveau constat"),
    )
    response = client.post(f"/diagnostics/sessions/{world['mine']}/edit", data=form)
    assert response.status_code == 302
    session.expire_all()
    findings = session.get(ObservationSession, world["mine"]).findings
    assert [(f.id == finding_id, f.occurrences) for f in findings] == [(True, 5), (False, 3)]
    assert client.post(f"/diagnostics/sessions/{world['mine']}/delete").status_code == 302
    assert session.get(ObservationSession, world["mine"]) is None


def test_a_completed_campaign_is_locked_for_diagnosticians_not_admins(client, session, world):
    campaign = session.get(Campaign, world["campaign"])
    campaign.completed_at = campaign.created_at
    session.commit()
    login_as(client, world["lead"])
    assert client.get(f"/diagnostics/sessions/{world['mine']}/edit").status_code == 403
    assert client.get(f"/diagnostics/campaigns/{world['campaign']}/sessions/new").status_code == 403
    assert client.get(f"/diagnostics/irritants/{world['irritant']}/edit").status_code == 403
    login_as(client, make_user("admin"))
    assert client.get(f"/diagnostics/sessions/{world['mine']}/edit").status_code == 200


def test_site_managers_read_only_their_sites_findings(client, session, world):
    login_as(client, make_user("site_manager", site_id=world["paris"]))
    detail = page(client.get(f"/diagnostics/campaigns/{world['campaign']}"))
    assert "PAR-001" in detail and "LYO-001" not in detail
    assert "Coverage" not in detail  # the matrix is analysis, not their site's findings
    assert "Pas d'écran" in page(client.get(f"/diagnostics/sessions/{world['mine']}"))
    assert client.get(f"/diagnostics/sessions/{world['theirs']}").status_code == 403
    for url in ("irritants", "synthesis"):
        assert client.get(f"/diagnostics/campaigns/{world['campaign']}/{url}").status_code == 403
    assert client.get(f"/diagnostics/irritants/{world['irritant']}").status_code == 403
    comparison = page(client.get(f"/diagnostics/campaigns/{world['campaign']}/determinants"))
    assert "PAR-001" in comparison and "LYO-001" not in comparison


def test_executives_read_rankings_and_syntheses_only(client, session, world):
    login_as(client, make_user("executive"))
    listing = page(client.get("/diagnostics/"))
    assert f"/diagnostics/campaigns/{world['campaign']}/synthesis" in listing
    assert f'href="/diagnostics/campaigns/{world["campaign"]}"' not in listing
    ranking = page(client.get(f"/diagnostics/campaigns/{world['campaign']}/irritants"))
    assert "Attente sans information" in ranking
    assert f"/diagnostics/irritants/{world['irritant']}" not in ranking  # no link to the findings
    assert client.get(f"/diagnostics/campaigns/{world['campaign']}/synthesis").status_code == 200
    for url in ("", "/determinants", "/voice"):
        assert client.get(f"/diagnostics/campaigns/{world['campaign']}{url}").status_code == 403
    assert client.get(f"/diagnostics/sessions/{world['mine']}").status_code == 403


def test_the_lead_edits_the_synthesis_other_diagnosticians_do_not(client, session, world):
    login_as(client, world["other"])
    assert (
        client.get(f"/diagnostics/campaigns/{world['campaign']}/synthesis/edit").status_code == 403
    )
    login_as(client, world["lead"])
    response = client.post(
        f"/diagnostics/campaigns/{world['campaign']}/synthesis/edit",
        data={
            "stakes_text": "Temps d'attente",
            "service_aspiration": "Accueil en une minute",
            "version": "1",
        },
    )
    assert response.status_code == 302
    text = page(client.get(f"/diagnostics/campaigns/{world['campaign']}/synthesis"))
    assert "Accueil en une minute" in text


# --- bad input: 422, the message next to the field, nothing saved -----------------------------


def _post_session(client, world, **values):
    data = session_form(world["paris"])
    data.update(values.pop("session", {}))
    data.update(values)
    return client.post(f"/diagnostics/campaigns/{world['campaign']}/sessions/new", data=data)


def test_finding_count_larger_than_interactions(client, session, world):
    login_as(client, world["lead"])
    before = (count(session, ObservationSession), _findings(session))
    response = _post_session(
        client, world, **finding_fields(0), **finding_fields(1, occurrences="13")
    )
    assert response.status_code == 422
    text = page(response)
    assert field_error(text, "findings-1-occurrences") == (
        "Seen 13 times, but only 12 interactions were observed."
    )
    assert field_error(text, "findings-0-occurrences") is None
    assert "Nothing was saved" in text
    assert 'value="Constat 0"' in text or "Constat 0</textarea>" in text  # entries kept
    assert (count(session, ObservationSession), _findings(session)) == before


def test_session_date_outside_the_campaign(client, session, world):
    login_as(client, world["lead"])
    before = count(session, ObservationSession)
    response = _post_session(
        client, world, session={"observed_on": "2026-04-02"}, **finding_fields(0)
    )
    assert response.status_code == 422
    assert field_error(page(response), "observed_on") == (
        "The campaign runs from 2026-03-02 to 2026-03-31."
    )
    assert count(session, ObservationSession) == before


def test_severity_out_of_range(client, session, world):
    login_as(client, world["lead"])
    before = _findings(session)
    response = _post_session(client, world, **finding_fields(0, severity="5"))
    assert response.status_code == 422
    assert field_error(page(response), "findings-0-severity") == (
        "Severity runs from 1 (minor) to 4 (critical)."
    )
    assert _findings(session) == before


def test_site_outside_the_sample_or_the_scope(client, session, world):
    login_as(client, world["lead"])
    before = count(session, ObservationSession)
    response = _post_session(
        client, world, session={"site_id": str(world["shop"])}, **finding_fields(0)
    )
    assert response.status_code == 422
    assert field_error(page(response), "site_id") == (
        "PAR-002 is not among the sites sampled for this campaign."
    )
    assert count(session, ObservationSession) == before

    login_as(client, make_user("admin"))
    campaigns = count(session, Campaign)
    response = client.post(
        "/diagnostics/campaigns/new",
        data={
            "name": "Nouvelle",
            "start_date": "2026-05-04",
            "end_date": "2026-05-29",
            "site_types": ["branch"],
            "channels": ["in_person"],
            "journey_steps": ["waiting"],
            "site_codes": "PAR-001 PAR-002",
        },
    )
    assert response.status_code == 422
    assert field_error(page(response), "site_codes") == (
        "PAR-002 is a shop, a site type outside the scope."
    )
    assert count(session, Campaign) == campaigns


def test_a_determinant_score_out_of_range(client, session, world):
    login_as(client, world["lead"])
    url = f"/diagnostics/campaigns/{world['campaign']}/sites/{world['paris']}/determinants"
    response = client.post(
        url, data={"roles-score": "7", "roles-evidence": "x", "tools-score": "3"}
    )
    assert response.status_code == 422
    text = page(response)
    assert field_error(text, "roles-score") == "Score from 1 to 5."
    assert field_error(text, "tools-evidence") == "Say what you saw that supports the score."
    response = client.post(
        url, data={"roles-score": "2", "roles-evidence": "Accueil à tour de rôle"}
    )
    assert response.status_code == 302
    comparison = page(client.get(f"/diagnostics/campaigns/{world['campaign']}/determinants"))
    assert 'title="Accueil à tour de rôle">2</span>' in comparison


# --- the entry screen: rows added inline ---------------------------------------------------------


def test_htmx_adds_a_blank_row_with_the_next_index(client, session, world):
    login_as(client, world["lead"])
    response = client.get(
        f"/diagnostics/campaigns/{world['campaign']}/finding-row?next_index=3",
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200
    text = page(response)
    assert "<html" not in text
    assert 'name="findings-3-description"' in text and "Finding 4" in text
    assert re.search(
        r'<select[^>]*autofocus[^>]*name="findings-3-journey_step"', text
    ) or re.search(r'<select[^>]*name="findings-3-journey_step"[^>]*autofocus', text)
    assert 'id="next_index" name="next_index" value="4" hx-swap-oob="true"' in text


def test_without_javascript_add_a_finding_posts_and_shows_one_more_row(client, session, world):
    login_as(client, world["lead"])
    before = count(session, ObservationSession)
    response = _post_session(client, world, add_row="1", **finding_fields(0))
    assert response.status_code == 200
    text = page(response)
    assert 'name="findings-1-description"' in text and 'name="findings-2-description"' not in text
    assert count(session, ObservationSession) == before


def test_ten_findings_in_one_post(client, session, world):
    login_as(client, world["lead"])
    data = {}
    for index in range(10):
        data.update(finding_fields(index, description=f"Constat n°{index + 1}"))
    data.update(
        finding_fields(
            10, journey_step="", description="", outcome="", cause="", severity="", occurrences=""
        )
    )
    response = _post_session(client, world, **data)
    assert response.status_code == 302
    observation = session.scalar(select(ObservationSession).order_by(ObservationSession.id.desc()))
    assert len(observation.findings) == 10
    assert "Session recorded with 10 findings." in flashes(page(client.get(response.location)))


def test_a_stale_session_edit_gets_409(client, session, world):
    login_as(client, world["lead"])
    finding_id = session.scalar(select(Finding.id).where(Finding.session_id == world["mine"]))
    observation = session.get(ObservationSession, world["mine"])
    observation.notes = "changed elsewhere"
    session.commit()
    form = session_form(world["paris"], version="1", **finding_fields(0, id=str(finding_id)))
    response = client.post(f"/diagnostics/sessions/{world['mine']}/edit", data=form)
    assert response.status_code == 409
    assert "Someone else saved this session" in page(response)


# --- completion --------------------------------------------------------------------------------


def test_completion_refused_then_overridden_by_an_admin(client, session, world):
    url = f"/diagnostics/campaigns/{world['campaign']}/complete"
    login_as(client, world["lead"])
    response = client.post(url, data={})
    assert response.status_code == 422
    text = page(response)
    assert "Branch × Phone" in text  # PAR-001 answers the phone: not observed on it
    assert session.get(Campaign, world["campaign"]).completed_at is None

    login_as(client, make_user("admin"))
    response = client.post(url, data={"override_reason": ""})
    assert response.status_code == 422
    assert "Record why" in field_error(page(response), "override_reason")
    response = client.post(
        url, data={"override_reason": "Pas de ligne téléphonique à Paris en mars"}
    )
    assert response.status_code == 302
    session.expire_all()
    campaign = session.get(Campaign, world["campaign"])
    assert campaign.completed and "téléphonique" in campaign.completion_override_reason
    assert "téléphonique" in page(client.get(f"/diagnostics/campaigns/{world['campaign']}"))


# --- customer voice ----------------------------------------------------------------------------


def test_customer_voice_csv_import_reports_every_row_and_imports_nothing(client, session, world):
    login_as(client, world["lead"])
    url = f"/diagnostics/campaigns/{world['campaign']}/voice/import"
    bad = (
        "site;verbatim;canal;étape;sentiment\n"
        "PAR-001;Trop d'attente;physique;attente;négatif\n"
        "PAR-002;Boutique;physique;attente;négatif\n"
        "LYO-001;Bien;en ligne;suivi;ravi\n"
    ).encode("cp1252")
    response = client.post(
        url,
        data={"kind": "verbatims", "file": (io.BytesIO(bad), "voix.csv")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 422
    text = page(response)
    assert "3 problems found — nothing was imported" in text
    assert "<td>3</td><td>site</td>" in text and "<td>4</td><td>sentiment</td>" in text
    assert count(session, Verbatim) == 0

    good = bad.decode("cp1252").splitlines()[:2]
    data = ("\n".join(good) + "\n").encode()
    for expected in ("1 created", "0 created"):
        response = client.post(
            url,
            data={"kind": "verbatims", "file": (io.BytesIO(data), "voix.csv")},
            content_type="multipart/form-data",
        )
        assert response.status_code == 200 and expected in page(response)
    assert count(session, Verbatim) == 1
    voice = page(client.get(f"/diagnostics/campaigns/{world['campaign']}/voice"))
    assert "Trop d'attente" in voice


# --- irritants, charts, synthesis -------------------------------------------------------------


def test_irritant_page_has_the_pareto_spec_its_table_and_the_vega_scripts(client, session, world):
    login_as(client, make_user("coach"))
    text = page(client.get(f"/diagnostics/campaigns/{world['campaign']}/irritants"))
    scripts = re.findall(r'<script src="/static/vendor/([\w-]+)/', text)
    assert scripts == ["htmx", "vega", "vega-lite", "vega-embed"]
    spec = json.loads(
        re.search(r'<template id="pareto-spec">(.*?)</template>', text, re.S).group(1)
    )
    assert spec["title"] == "Irritant Pareto"
    assert spec["data"]["values"][0]["irritant"] == "Attente sans information"
    assert 'data-vl-spec="pareto-spec"' in text
    assert "<caption>Irritants by priority</caption>" in text  # the table fallback
    assert not re.search(r"<script>(?!</script>)", text)  # no inline script
    # pages without charts do not load vega
    detail = page(client.get(f"/diagnostics/campaigns/{world['campaign']}"))
    assert "vega" not in detail


def test_filters_return_the_fragment_for_htmx(client, session, world):
    login_as(client, make_user("pilot_team"))
    lyon_region = session.get(ObservationSession, world["theirs"]).site.region_id
    url = f"/diagnostics/campaigns/{world['campaign']}/irritants?region={lyon_region}"
    text = page(client.get(url, headers={"HX-Request": "true"}))
    assert text.lstrip().startswith('<div id="ranking-results">')
    assert "1 session and 20 customer interactions observed" in text  # Lyon only
    assert '<template id="pareto-spec">' in text


def test_grouping_findings_into_an_irritant(client, session, world):
    login_as(client, world["other"])
    campaign = session.get(Campaign, world["campaign"])
    loose = make_observation(
        campaign,
        session.get(ObservationSession, world["theirs"]).site,
        world["other"],
        findings=[{"occurrences": 1, "severity": 4, "description": "Caisse en panne"}],
    )
    finding_id = loose.findings[0].id
    url = f"/diagnostics/irritants/{world['irritant']}"
    assert "Caisse en panne" in page(client.get(url))  # offered for grouping
    response = client.post(f"{url}/findings", data={"add": [str(finding_id)]})
    assert response.status_code == 302
    session.expire_all()
    assert session.get(Finding, finding_id).irritant_id == world["irritant"]


def test_synthesis_is_printable(client, session, world, app):
    login_as(client, make_user("executive"))
    text = page(client.get(f"/diagnostics/campaigns/{world['campaign']}/synthesis"))
    assert "Top irritants and the determinants behind them" in text
    assert "Attente sans information" in text
    assert "data-print" in text
    css = app.static_folder + "/app.css"
    with open(css, encoding="utf-8") as fh:
        stylesheet = fh.read()
    assert "@media print" in stylesheet and ".synthesis section" in stylesheet


def test_home_pages_link_to_the_campaigns(client, session, world):
    for role, expected in (
        ("diagnostician", "/diagnostics/campaigns/"),
        ("executive", "/synthesis"),
    ):
        login_as(client, make_user(role))
        assert expected in page(client.get("/"))


def test_campaign_created_by_an_admin(client, session, world):
    login_as(client, make_user("admin"))
    response = client.post(
        "/diagnostics/campaigns/new",
        data={
            "name": "Automne",
            "start_date": "2026-09-07",
            "end_date": "2026-10-02",
            "site_types": ["branch", "shop"],
            "channels": ["in_person"],
            "journey_steps": ["first_contact", "waiting"],
            "extra_steps": "Sortie du site",
            "site_codes": "par-001, PAR-002",
        },
    )
    assert response.status_code == 302
    campaign = session.scalar(select(Campaign).where(Campaign.name == "Automne"))
    assert [s.code for s in campaign.sites] == ["PAR-001", "PAR-002"]
    assert campaign.journey_steps == ["first_contact", "waiting", "Sortie du site"]
    assert campaign.start_date == date(2026, 9, 7)
