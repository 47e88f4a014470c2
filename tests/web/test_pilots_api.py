"""/api/v1/pilots: create with per-field errors, read, results; same permission rules."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from programme.api.tokens import create_token
from programme.extensions import db
from programme.pilots.models import Pilot, PilotSite
from tests.factories import make_user
from tests.pilot_factories import (
    BASELINE_END,
    BASELINE_START,
    PILOT_END,
    PILOT_START,
    make_pilot,
    measured_sites,
)


def _bearer(user) -> dict:
    _row, token = create_token(db.session, user, "pilots")
    db.session.commit()
    return {"Authorization": f"Bearer {token}"}


def _count(session, model):
    return session.scalar(select(func.count()).select_from(model))


def _body(**overrides) -> dict:
    body = {
        "name": "API pilot",
        "kpis": [{"kpi": "WAIT", "target_relative": -0.2}],
        "pilot_sites": ["PIL-1", "PIL-2", "PIL-3", "PIL-4"],
        "control_sites": ["CTL-1", "CTL-2", "CTL-3", "CTL-4"],
        "baseline_start": BASELINE_START.isoformat(),
        "baseline_end": BASELINE_END.isoformat(),
        "pilot_start": PILOT_START.isoformat(),
        "pilot_end": PILOT_END.isoformat(),
    }
    body.update(overrides)
    return body


@pytest.fixture
def world(session):
    admin = make_user("admin")
    measured_sites(admin)
    return {"admin": admin}


def test_create_read_and_results(client, session, world):
    headers = _bearer(world["admin"])
    created = client.post("/api/v1/pilots", json=_body(), headers=headers)
    assert created.status_code == 201, created.get_json()
    pilot_id = created.get_json()["id"]
    assert created.get_json()["control_sites"] == ["CTL-1", "CTL-2", "CTL-3", "CTL-4"]
    got = client.get(f"/api/v1/pilots/{pilot_id}", headers=headers).get_json()
    assert got["kpis"] == [{"kpi": "WAIT", "target_relative": -0.2}]
    results = client.get(f"/api/v1/pilots/{pilot_id}/results", headers=headers).get_json()
    assert results["pilot"] == pilot_id
    (wait,) = results["results"]
    assert set(wait) == {
        "kpi", "baseline_mean", "pilot_mean", "effect", "relative_effect", "ci_low", "ci_high",
        "p_value", "n_pilot_sites", "n_control_sites", "completeness", "target_reached", "reading",
        "leading_method", "randomization", "synthetic_control",
    }  # fmt: skip
    assert wait["kpi"] == "WAIT" and wait["ci_high"] < 0 and wait["target_reached"] is True
    assert wait["n_pilot_sites"] == 4 and wait["n_control_sites"] == 4
    assert wait["leading_method"] == "randomization"
    rand = wait["randomization"]
    assert set(rand) == {
        "effect", "theta", "p_value", "ci_low", "ci_high", "min_p", "n_assignments", "exact",
        "randomized_design",
    }  # fmt: skip
    assert rand["n_assignments"] == 70 and rand["exact"] is True
    assert rand["min_p"] == pytest.approx(2 / 70) and rand["p_value"] == pytest.approx(2 / 70)
    assert rand["ci_low"] < rand["effect"] < rand["ci_high"] < 0
    assert rand["randomized_design"] is False
    assert wait["completeness"] == pytest.approx(1.0)


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"baseline_end": PILOT_START.isoformat()}, "baseline_end"),
        ({"control_sites": ["CTL-1", "PIL-1"]}, "control_sites"),
        ({"pilot_sites": ["PIL-1", "XXX-1"]}, "pilot_sites"),
        ({"pilot_sites": []}, "pilot_sites"),
        ({"kpis": [{"kpi": "WAIT", "target_relative": 0.2}]}, "kpis"),
        ({"kpis": [{"kpi": "NOPE"}]}, "kpis"),
        ({"pilot_start": "31/01/2026"}, "pilot_start"),
    ],
)
def test_bad_bodies_get_per_field_errors_and_write_nothing(
    client, session, world, overrides, field
):
    response = client.post(
        "/api/v1/pilots", json=_body(**overrides), headers=_bearer(world["admin"])
    )
    assert response.status_code == 422
    assert field in {e["field"] for e in response.get_json()["errors"]}
    assert _count(session, Pilot) == 0 and _count(session, PilotSite) == 0


def test_permissions_follow_the_screens(client, session, world):
    pilot = make_pilot(world["admin"])
    member = make_user("pilot_team")
    assert (
        client.post("/api/v1/pilots", json=_body(name="x"), headers=_bearer(member)).status_code
        == 403
    )
    assert client.get(f"/api/v1/pilots/{pilot.id}", headers=_bearer(member)).status_code == 200
    manager = make_user("site_manager", site_id=None)
    assert (
        client.get(f"/api/v1/pilots/{pilot.id}/results", headers=_bearer(manager)).status_code
        == 403
    )
    assert client.get("/api/v1/pilots/999", headers=_bearer(world["admin"])).status_code == 404
    assert client.get(f"/api/v1/pilots/{pilot.id}").status_code == 401


def _randomized_body(**overrides) -> dict:
    body = _body(pilot_sites=[], control_sites=[], randomize=True, seed=7)
    body.pop("pilot_sites")
    body.pop("control_sites")
    body["candidate_sites"] = ["PIL-1", "PIL-2", "PIL-3", "PIL-4", "CTL-1", "CTL-2", "CTL-3",
                               "CTL-4", "OTH-1"]  # fmt: skip
    body.update(overrides)
    return body


def test_randomized_pilot_draws_matched_pairs_and_swaps_within_them(client, session, world):
    import itertools

    import numpy as np

    from programme.pilots.results import read_sites
    from programme.pilots.services import periods

    headers = _bearer(world["admin"])
    created = client.post("/api/v1/pilots", json=_randomized_body(), headers=headers)
    assert created.status_code == 201, created.get_json()
    body = created.get_json()
    assert body["randomized"] is True and body["randomization"]["seed"] == 7
    pairs = body["randomization"]["pairs"]
    assert len(pairs) == 4  # 9 candidates: 4 pairs, one site left out
    assert body["pilot_sites"] == [p["pilot"] for p in pairs]
    assert body["control_sites"] == [p["control"] for p in pairs]
    # The same seed draws the same arms.
    again = client.post("/api/v1/pilots", json=_randomized_body(name="Again"), headers=headers)
    assert again.get_json()["randomization"]["pairs"] == pairs

    results = client.get(f"/api/v1/pilots/{body['id']}/results", headers=headers).get_json()
    rand = results["results"][0]["randomization"]
    assert rand["randomized_design"] is True and rand["n_assignments"] == 2**4
    assert rand["min_p"] == pytest.approx(2 / 16)
    assert "design-based randomization test" in results["results"][0]["reading"].lower()

    # Brute force: θ by least squares, then every one of the 16 swap patterns.
    pilot = session.get(Pilot, body["id"])
    sites = {s.site_id: s for s in read_sites(session, pilot.kpis[0].kpi_id, pilot.site_ids(
        "pilot"), pilot.site_ids("control"), periods(pilot))}  # fmt: skip
    pid = {ps.site.code: ps.site_id for ps in pilot.sites}
    x = np.array([sites[pid[c]].baseline.mean for p in pairs for c in (p["pilot"], p["control"])])
    y = np.array([sites[pid[c]].pilot.mean for p in pairs for c in (p["pilot"], p["control"])])
    theta = np.polyfit(x, y, 1)[0]
    z = y - theta * (x - x.mean())
    d = z[0::2] - z[1::2]
    t = d.mean()
    null = [np.mean(np.array(s) * d) for s in itertools.product((1, -1), repeat=4)]
    brute = sum(abs(v) >= abs(t) - 1e-12 for v in null) / 16
    assert rand["theta"] == pytest.approx(theta, abs=1e-8)
    assert rand["effect"] == pytest.approx(t, abs=1e-9)
    assert rand["p_value"] == pytest.approx(brute, abs=1e-12)


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"candidate_sites": ["PIL-1", "PIL-2", "CTL-1"]}, "candidate_sites",
         "Give at least 4 candidate sites: the draw needs 2 pairs or more (you gave 3)."),
        ({"candidate_sites": "PIL-1 PIL-2"}, "candidate_sites", "A list is expected."),
        ({"pilot_sites": ["PIL-1"]}, "candidate_sites",
         "To draw the arms at random, give candidate_sites instead of pilot_sites and "
         "control_sites."),
        ({"seed": "abc"}, "seed", "A whole number is expected."),
        ({"baseline_start": "2001-01-01", "baseline_end": "2001-02-01"}, "baseline_start",
         "No measurement of WAIT at the candidate sites over the baseline period: the pairs "
         "cannot be matched on their baseline level."),
    ],
)  # fmt: skip
def test_randomized_pilot_bad_input_is_refused_and_nothing_saved(
    client, session, world, overrides, field, message
):
    headers = _bearer(world["admin"])
    before = _count(session, Pilot)
    response = client.post("/api/v1/pilots", json=_randomized_body(**overrides), headers=headers)
    assert response.status_code == 422, response.get_json()
    errors = response.get_json()["errors"]
    assert {"index": None, "field": field, "message": message} in errors
    assert not any(e["field"] in ("pilot_sites", "control_sites") for e in errors)
    assert _count(session, Pilot) == before and _count(session, PilotSite) == 0


def test_one_pilot_site_gets_a_synthetic_control_and_an_honest_randomization_floor(
    client, session, world
):
    headers = _bearer(world["admin"])
    body = _body(name="Un site", pilot_sites=["PIL-1"],
                 control_sites=["CTL-1", "CTL-2", "CTL-3", "CTL-4", "OTH-1"])  # fmt: skip
    created = client.post("/api/v1/pilots", json=body, headers=headers)
    assert created.status_code == 201, created.get_json()
    results = client.get(f"/api/v1/pilots/{created.get_json()['id']}/results", headers=headers)
    (wait,) = results.get_json()["results"]
    synth = wait["synthetic_control"]
    assert set(synth) == {"effect", "p_value", "weights", "pre_rmspe", "post_rmspe"}
    assert synth["effect"] == pytest.approx(-3.0, abs=0.3)  # the planted fall
    weights = synth["weights"]["PIL-1"]
    assert set(weights) == {"CTL-1", "CTL-2", "CTL-3", "CTL-4", "OTH-1"}
    assert sum(weights.values()) == pytest.approx(1) and min(weights.values()) >= 0
    assert synth["p_value"] == pytest.approx(1 / 6)  # the largest post/pre ratio of six
    assert synth["post_rmspe"] > synth["pre_rmspe"]
    # 1 pilot and 5 control sites: the randomization test can never go below 2/6
    rand = wait["randomization"]
    assert rand["min_p"] == pytest.approx(1 / 3) and rand["ci_low"] is None
    assert "the smallest p-value this design can ever give is 0.333" in wait["reading"]
    assert (
        "Synthetic control (each pilot site against a weighted mix of 5 control sites)"
        in (wait["reading"])
    )
    assert wait["target_reached"] is False


def test_synthetic_control_needs_four_donors_and_says_so(client, session, world):
    headers = _bearer(world["admin"])
    body = _body(name="Deux témoins", pilot_sites=["PIL-1", "PIL-2"],
                 control_sites=["CTL-1", "CTL-2"])  # fmt: skip
    created = client.post("/api/v1/pilots", json=body, headers=headers)
    results = client.get(f"/api/v1/pilots/{created.get_json()['id']}/results", headers=headers)
    (wait,) = results.get_json()["results"]
    assert wait["synthetic_control"] == {
        "effect": None, "p_value": None, "weights": {}, "pre_rmspe": None, "post_rmspe": None,
    }  # fmt: skip
    assert (
        "Synthetic control not computable: it needs at least 4 control sites with data in "
        "every week, there are 2." in wait["reading"]
    )
    # four pilot sites: no synthetic control at all
    many = client.post("/api/v1/pilots", json=_body(name="Quatre"), headers=headers)
    results = client.get(f"/api/v1/pilots/{many.get_json()['id']}/results", headers=headers)
    assert results.get_json()["results"][0]["synthetic_control"] is None
