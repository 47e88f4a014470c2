"""Pilot screens through the test client: design form with bad input, results, team feel,
decision and package, and measurement rights from pilot membership."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from programme.kpis.access import writable_site_ids
from programme.pilots.models import (
    Package,
    PackageElement,
    Pilot,
    PilotDecision,
    PilotSite,
    PulseAnswer,
)
from tests.factories import login_as, make_site, make_user
from tests.kpi_factories import assign
from tests.pilot_factories import (
    BASELINE_END,
    BASELINE_START,
    PILOT_END,
    PILOT_START,
    make_pilot,
    measured_sites,
)
from tests.web.helpers import DENIED, count, page


@pytest.fixture
def world(session):
    admin = make_user("admin")
    sites = measured_sites(admin)
    member = make_user("pilot_team")
    return {"admin": admin, "member": member, "sites": sites, "session": session}


def _form(**overrides) -> dict:
    data = {
        "name": "Rendez-vous en ligne",
        "baseline_start": BASELINE_START.isoformat(),
        "baseline_end": BASELINE_END.isoformat(),
        "pilot_start": PILOT_START.isoformat(),
        "pilot_end": PILOT_END.isoformat(),
        "pilot_sites": "PIL-1, PIL-2 PIL-3 PIL-4",
        "control_sites": "CTL-1 CTL-2 CTL-3 CTL-4",
        "kpi-WAIT": "on",
        "target-WAIT": "-20",
        "improvements": "Prise de rendez-vous: en ligne, 15 jours avant",
        "supporting_functions": ["it", "hr"],
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def test_admin_creates_a_pilot_and_sees_its_results(client, world):
    login_as(client, world["admin"])
    page_ = client.get("/pilots/new")
    assert page_.status_code == 200 and "Power estimate" in page(page_)
    response = client.post("/pilots/new", data=_form())
    assert response.status_code == 302, page(response)
    pilot = world["session"].scalars(select(Pilot)).one()
    assert pilot.site_ids("pilot") and len(pilot.site_ids("control")) == 4
    assert pilot.kpis[0].target_relative == pytest.approx(-0.2)
    assert pilot.supporting_functions == ["it", "hr"]
    assert pilot.improvements[0].title == "Prise de rendez-vous"

    detail = page(client.get(f"/pilots/{pilot.id}"))
    assert "Rendez-vous en ligne" in detail and "PIL-1" in detail
    results = client.get(f"/pilots/{pilot.id}/results")
    text = page(results)
    assert results.status_code == 200
    assert "Waiting time fell by" in text and "target +" not in text
    assert "target -20% reached" in text
    assert 'data-vl-spec="chart-pilot-wait"' in text
    assert "Show the figures as a table" in text
    assert "Rendez-vous en ligne" in page(client.get("/pilots"))


def test_results_show_the_randomization_test_beside_welch_in_both_languages(
    client, new_client, world
):
    login_as(client, world["admin"])
    pilot = make_pilot(world["admin"])
    text = page(client.get(f"/pilots/{pilot.id}/results"))
    rows = re.search(r'data-testid="methods-wait">(.*?)</table>', text, re.S).group(1)
    assert "Placebo-in-space test" in rows and "(leads: fewer than 10 sites in an arm)" in rows
    assert "Welch's t-test on the sites' changes" in rows and "(shown beside)" in rows
    assert "0.029" in rows  # exact p = 2 / C(8, 4), the smallest this design can give
    note = re.search(r'data-testid="randomization-note">(.*?)</p>', text, re.S).group(1)
    assert "Smallest possible p-value for this design: 0.029." in note
    assert "Exact: all 70 reassignments enumerated." in note
    # a design of 3 + 3 sites can never reach 5 %: the reading says so
    small = make_pilot(
        world["admin"], name="Petit", pilot_sites=("PIL-1", "PIL-2", "PIL-3"),
        control_sites=("CTL-1", "CTL-2", "CTL-3"),
    )  # fmt: skip
    text = page(client.get(f"/pilots/{small.id}/results"))
    assert "the smallest p-value this design can ever give is 0.1, above 5 %" in text
    french = new_client(language="fr")
    login_as(french, world["admin"])
    text = page(french.get(f"/pilots/{pilot.id}/results"))
    assert "Test placébo dans l’espace" in text and "Test t de Welch" in text


@pytest.mark.parametrize(
    ("overrides", "field_message"),
    [
        ({"baseline_end": PILOT_START.isoformat()},
         "The baseline must end before the pilot period starts."),
        ({"pilot_sites": ""}, "Choose at least one pilot site."),
        ({"control_sites": "CTL-1 PIL-2"}, "A site cannot be both a pilot site and a control site: PIL-2."),
        ({"target-WAIT": "20"}, "WAIT: lower is better, so the target must be a decrease."),
        ({"pilot_sites": "PIL-1 NOPE-9"}, "Unknown site codes: NOPE-9."),
    ],
)  # fmt: skip
def test_bad_design_is_refused_next_to_the_field_and_nothing_saved(
    client, world, overrides, field_message
):
    login_as(client, world["admin"])
    response = client.post("/pilots/new", data=_form(**overrides))
    assert response.status_code == 422
    assert field_message in page(response)
    assert 'class="field-error"' in page(response)
    assert count(world["session"], Pilot) == 0
    assert count(world["session"], PilotSite) == 0


def test_member_edits_their_pilot_but_not_others(client, world):
    mine = make_pilot(world["admin"], members=[world["member"]])
    other = make_pilot(world["admin"], name="Autre pilote", pilot_sites=("OTH-1",),
                       control_sites=())  # fmt: skip
    login_as(client, world["member"])
    assert client.get(f"/pilots/{mine.id}/edit").status_code == 200
    assert client.get(f"/pilots/{other.id}/edit").status_code == 403
    assert DENIED in page(client.post(f"/pilots/{other.id}/decision", data={}))
    data = _form(name="Accueil repensé v2", version=str(mine.version))
    response = client.post(f"/pilots/{mine.id}/edit", data=data)
    assert response.status_code == 302, page(response)
    world["session"].expire_all()
    assert world["session"].get(Pilot, mine.id).name == "Accueil repensé v2"
    assert client.get("/pilots/new").status_code == 403  # admins create


def test_power_estimate_and_control_proposal(client, world):
    login_as(client, world["admin"])
    args = {
        "pilot_sites": "PIL-1 PIL-2 PIL-3",
        "control_sites": "CTL-1 CTL-2 CTL-3",
        "pilot_start": PILOT_START.isoformat(),
        "pilot_end": PILOT_END.isoformat(),
        "baseline_start": BASELINE_START.isoformat(),
        "baseline_end": BASELINE_END.isoformat(),
        "kpi-WAIT": "on",
    }
    fragment = client.get("/pilots/power", query_string=args, headers={"HX-Request": "true"})
    assert fragment.status_code == 200
    assert "<html" not in fragment.get_data(as_text=True)
    assert 'id="power"' in page(fragment)
    proposal = page(client.get("/pilots/propose-controls", query_string=args))
    assert "CTL-1" in proposal and "PIL-1 " not in proposal.split("proposal-codes")[-1]


def test_team_feel_decision_and_package(client, world):
    pilot = make_pilot(world["admin"], members=[world["member"]])
    login_as(client, world["member"])
    bad = client.post(f"/pilots/{pilot.id}/team-feel", data={"comment": "?"})
    assert bad.status_code == 422 and "Choose a score from 1 to 5." in page(bad)
    assert count(world["session"], PulseAnswer) == 0
    ok = client.post(f"/pilots/{pilot.id}/team-feel", data={"score": "4", "comment": "Mieux"})
    assert ok.status_code == 302
    assert "4.0 / 5 from 1 answers" in page(client.get(f"/pilots/{pilot.id}/team-feel"))

    decision_page = page(client.get(f"/pilots/{pilot.id}/decision"))
    assert "Team feel" in decision_page and "Waiting time fell by" in decision_page
    refused = client.post(f"/pilots/{pilot.id}/decision", data={"decision": "go", "reason": " "})
    assert refused.status_code == 422
    assert "Say why: the decision needs a reason." in page(refused)
    assert count(world["session"], PilotDecision) == 0
    assert count(world["session"], Package) == 0

    done = client.post(
        f"/pilots/{pilot.id}/decision",
        data={"decision": "go", "reason": "−22 % et équipes satisfaites"},
    )
    assert done.status_code == 302 and done.headers["Location"].endswith(
        f"/pilots/{pilot.id}/package"
    )
    element = {"kind": "process", "title": "Accueil au flux", "description": "Un conseiller à l'entrée",
               "deployment_step": "train"}  # fmt: skip
    assert client.post(f"/pilots/{pilot.id}/package", data=element).status_code == 302
    missing = client.post(f"/pilots/{pilot.id}/package", data={**element, "description": ""})
    assert missing.status_code == 422 and "Describe the element." in page(missing)
    assert count(world["session"], PackageElement) == 1
    text = page(client.get(f"/pilots/{pilot.id}/package"))
    assert "Accueil au flux" in text and "Team training" in text


def test_pilot_membership_gives_measurement_rights_on_top_of_assignments(session, world):
    extra = make_site("EXT-1")
    assign(world["member"], extra)
    pilot = make_pilot(world["admin"], members=[world["member"]])
    writable = writable_site_ids(session, world["member"])
    assert writable == {extra.id, *pilot.site_ids("pilot"), *pilot.site_ids("control")}
    assert world["sites"]["OTH-1"].id not in writable


def test_site_manager_sees_only_pilots_of_their_perimeter(client, world):
    make_pilot(world["admin"])
    manager = make_user("site_manager", site_id=world["sites"]["OTH-1"].id)
    login_as(client, manager)
    assert "Accueil repensé" not in page(client.get("/pilots"))
    pilot = world["session"].scalars(select(Pilot)).one()
    assert client.get(f"/pilots/{pilot.id}").status_code == 403
    executive = make_user("executive")
    login_as(client, executive)
    assert client.get(f"/pilots/{pilot.id}/results").status_code == 200
    assert client.get(f"/pilots/{pilot.id}/edit").status_code == 403


def test_shareable_one_question_form(client, new_client, world):
    pilot = make_pilot(world["admin"], members=[world["member"]])
    login_as(client, world["member"])
    team_page = page(client.get(f"/pilots/{pilot.id}/team-feel"))
    url = re.search(r'value="https?://[^/]+(/pulse/[^"]+)"', team_page).group(1)

    anonymous = new_client()
    assert "Did the change make your work better?" in page(anonymous.get(url))
    bad = anonymous.post(url, data={"comment": "?"})
    assert bad.status_code == 422 and "Choose a score from 1 to 5." in page(bad)
    assert count(world["session"], PulseAnswer) == 0
    done = anonymous.post(url, data={"score": "5", "comment": "Clients plus calmes"})
    assert done.status_code == 200 and "has been recorded" in page(done)
    assert count(world["session"], PulseAnswer) == 1
    assert anonymous.get(url[:-2] + "xx").status_code == 404  # tampered link

    # A decided pilot closes its link.
    assert client.post(f"/pilots/{pilot.id}/decision",
                       data={"decision": "stop", "reason": "pas d'effet"}).status_code == 302  # fmt: skip
    assert anonymous.get(url).status_code == 404


def test_pages_render_in_french(new_client, world):
    pilot = make_pilot(world["admin"], members=[world["member"]])
    client = new_client(language="fr")
    login_as(client, world["admin"])
    for url in ("/pilots", f"/pilots/{pilot.id}", f"/pilots/{pilot.id}/edit", "/pilots/new",
                f"/pilots/{pilot.id}/results", f"/pilots/{pilot.id}/team-feel",
                f"/pilots/{pilot.id}/decision"):  # fmt: skip
        assert client.get(url).status_code == 200, url
    client.post(f"/pilots/{pilot.id}/decision", data={"decision": "go", "reason": "oui"})
    assert client.get(f"/pilots/{pilot.id}/package").status_code == 200


CANDIDATES = "PIL-1 PIL-2 PIL-3 PIL-4 CTL-1 CTL-2 CTL-3 CTL-4"


def _hidden(text: str, name: str) -> str:
    return re.search(rf'name="{name}" type="hidden" value="([^"]*)"', text).group(1)


def test_design_drawn_at_random_is_marked_until_an_arm_is_edited(client, world):
    session = world["session"]
    login_as(client, world["admin"])
    drawn = client.post(
        "/pilots/new",
        data=_form(
            pilot_sites="", control_sites="", candidate_sites=CANDIDATES, seed="7", draw="1"
        ),
    )
    text = page(drawn)
    assert drawn.status_code == 200 and count(session, Pilot) == 0  # a draw saves nothing
    result = re.search(r'data-testid="draw-result"(.*?)</div>\s*</div>', text, re.S).group(1)
    assert "Drawn with seed 7." in result
    pairs = re.findall(r"<tr><td>\d</td><td>([A-Z]+-\d)</td><td>([A-Z]+-\d)</td></tr>", result)
    assert len(pairs) == 4
    token = _hidden(text, "draw_record")
    pilots, controls = [a for a, _b in pairs], [b for _a, b in pairs]
    saved = client.post(
        "/pilots/new",
        data=_form(pilot_sites=" ".join(pilots), control_sites=" ".join(controls),
                   draw_record=token, seed="7"),
    )  # fmt: skip
    assert saved.status_code == 302, page(saved)
    pilot = session.scalars(select(Pilot)).one()
    assert pilot.randomized and pilot.randomization_seed == 7
    assert len(pilot.randomization_pairs) == 4
    results = page(client.get(f"/pilots/{pilot.id}/results"))
    assert "Design-based randomization test" in results and "Exact: all 16 reassignments" in results
    assert "Randomized design" in page(client.get(f"/pilots/{pilot.id}/edit"))

    # Editing an arm removes the mark, with a warning.
    swapped = " ".join([controls[0], *pilots[1:]])
    edited = client.post(
        f"/pilots/{pilot.id}/edit",
        data=_form(pilot_sites=swapped, control_sites=" ".join([pilots[0], *controls[1:]]),
                   version=str(pilot.version), stage="design"),
        follow_redirects=True,
    )  # fmt: skip
    assert "no longer marked as randomized" in page(edited)
    session.expire_all()
    assert session.get(Pilot, pilot.id).randomized is False
    assert "Placebo-in-space test" in page(client.get(f"/pilots/{pilot.id}/results"))


def test_a_forged_draw_does_not_mark_the_design(client, world):
    login_as(client, world["admin"])
    response = client.post("/pilots/new", data=_form(draw_record="forged.token"))
    assert response.status_code == 302
    assert world["session"].scalars(select(Pilot)).one().randomized is False


@pytest.mark.parametrize(
    ("overrides", "english", "french"),
    [
        ({"candidate_sites": "PIL-1 PIL-2 CTL-1"},
         "Give at least 4 candidate sites: the draw needs 2 pairs or more (you gave 3).",
         "Indiquez au moins 4 sites candidats"),
        ({"seed": "abc"}, "The seed is a whole number from 0 to 2,147,483,647.",
         "La graine est un nombre entier"),
        ({"baseline_start": "2001-01-01", "baseline_end": "2001-02-01"},
         "No measurement of WAIT at the candidate sites over the baseline period",
         "Aucune mesure de WAIT"),
    ],
)  # fmt: skip
def test_draw_bad_input_is_shown_in_both_languages_and_nothing_saved(
    client, new_client, world, overrides, english, french
):
    data = _form(pilot_sites="", control_sites="", candidate_sites=CANDIDATES, draw="1")
    data.update(overrides)
    login_as(client, world["admin"])
    response = client.post("/pilots/new", data=data)
    assert response.status_code == 422 and english in page(response)
    fr = new_client(language="fr")
    login_as(fr, world["admin"])
    response = fr.post("/pilots/new", data=data)
    assert response.status_code == 422 and french in page(response)
    assert count(world["session"], Pilot) == 0


def test_results_of_one_pilot_site_show_its_synthetic_twin(client, world):
    login_as(client, world["admin"])
    pilot = make_pilot(world["admin"], name="Un site", pilot_sites=("PIL-1",),
                       control_sites=("CTL-1", "CTL-2", "CTL-3", "CTL-4", "OTH-1"))  # fmt: skip
    text = page(client.get(f"/pilots/{pilot.id}/results"))
    section = re.search(r'data-testid="synthetic-wait"(.*?)</section>', text, re.S).group(1)
    assert 'data-vl-spec="chart-twin-wait"' in section
    assert 'data-vl-spec="chart-placebo-wait"' in section
    weights = re.search(r'data-testid="synthetic-weights">(.*?)</table>', section, re.S).group(1)
    for donor in ("CTL-1", "CTL-2", "CTL-3", "CTL-4", "OTH-1"):
        assert f'<th scope="row">{donor}</th>' in weights
    assert "Pre-period fit (RMSPE)" in weights
    assert "0.167" in section  # placebo p = 1 / 6
    assert "Placebo (control site)" in section


def _power_args(pilots, controls, **extra):
    from datetime import timedelta

    args = {
        "pilot_sites": pilots,
        "control_sites": controls,
        # a design made once the measured weeks are history: 4 weeks of baseline, 1 of pilot
        "baseline_start": PILOT_START.isoformat(),
        "baseline_end": PILOT_END.isoformat(),
        "pilot_start": (PILOT_END + timedelta(days=1)).isoformat(),
        "pilot_end": (PILOT_END + timedelta(days=7)).isoformat(),
        "kpi-WAIT": "on",
    }
    args.update(extra)
    return args


def test_power_panel_says_what_the_arms_can_prove(client, new_client, world):
    login_as(client, world["admin"])
    small = page(client.get("/pilots/power", query_string=_power_args("PIL-1 PIL-2 PIL-3",
                                                                       "CTL-1 CTL-2 CTL-3")))  # fmt: skip
    panel = re.search(r'data-testid="power-randomization-wait">(.*?)</p>', small, re.S).group(1)
    assert (
        "This design can never reach 5 %: the smallest p-value 3 pilot and 3 control sites "
        "can give is 0.100." in " ".join(panel.split())
    )
    big = page(client.get("/pilots/power", query_string=_power_args("PIL-1 PIL-2 PIL-3 PIL-4",
                                                                     "CTL-1 CTL-2 CTL-3 CTL-4")))  # fmt: skip
    panel = " ".join(
        re.search(r'data-testid="power-randomization-wait">(.*?)</p>', big, re.S).group(1).split()
    )
    assert "the smallest p-value these arms can give is 0.029, so the design can reach 5 %" in panel
    assert "Its smallest detectable effect (80% power) is" in panel
    assert "500 draws over 4 past windows" in panel
    fr = new_client(language="fr")
    login_as(fr, world["admin"])
    small = page(fr.get("/pilots/power", query_string=_power_args("PIL-1 PIL-2 PIL-3",
                                                                   "CTL-1 CTL-2 CTL-3")))  # fmt: skip
    assert "ne peut jamais atteindre 5" in small


def test_a_design_that_cannot_reach_five_percent_starts_only_with_a_reason(
    client, new_client, world
):
    session = world["session"]
    pilot = make_pilot(world["admin"], name="Trois sites", pilot_sites=("PIL-1", "PIL-2", "PIL-3"),
                       control_sites=("CTL-1", "CTL-2", "CTL-3"))  # fmt: skip
    data = _form(name="Trois sites", pilot_sites="PIL-1 PIL-2 PIL-3",
                 control_sites="CTL-1 CTL-2 CTL-3", version=str(pilot.version), stage="running")  # fmt: skip
    login_as(client, world["admin"])
    refused = client.post(f"/pilots/{pilot.id}/edit", data=data)
    assert refused.status_code == 422
    assert "This design can never reach 5 %: its smallest possible p-value is 0.100." in page(
        refused
    )
    fr = new_client(language="fr")
    login_as(fr, world["admin"])
    refused = fr.post(f"/pilots/{pilot.id}/edit", data=data)
    assert refused.status_code == 422 and "ne peut jamais atteindre 5" in page(refused)
    session.expire_all()
    assert session.get(Pilot, pilot.id).stage == "design"
    data["start_reason"] = "Essai qualitatif : trois agences seulement étaient prêtes."
    saved = client.post(f"/pilots/{pilot.id}/edit", data=data)
    assert saved.status_code == 302, page(saved)
    session.expire_all()
    started = session.get(Pilot, pilot.id)
    assert started.stage == "running" and started.start_reason.startswith("Essai qualitatif")
