"""The irritant ranking (computed in SQL) against hand-computed values; the coverage matrix
and the completion rule; the demo campaign."""

from __future__ import annotations

import pytest
from flask_babel import force_locale
from sqlalchemy import func, select

from programme.demo.diagnostics import DEMO_CAMPAIGN
from programme.diagnostics import queries, services
from programme.diagnostics.models import Campaign, Finding, Irritant, ObservationSession
from tests.diagnostics_factories import make_campaign, make_irritant, make_observation
from tests.factories import make_region, make_site, make_user


@pytest.fixture(autouse=True)
def english(session):
    """Messages and labels in English, as the services produce them outside a request."""
    with force_locale("en"):
        yield


@pytest.fixture
def ranked(session):
    """Two sites, three sessions (40 interactions), three irritants and a stray finding.

    S1: site A (region R1, branch), in person, 20 interactions
        X seen 5× severity 3 (drop-off), X 2× sev 1, Y 4× sev 2
    S2: site B (region R2, shop), in person, 10 interactions
        X 3× sev 4 (drop-off), Z 10× sev 1
    S3: site A, phone, 10 interactions
        Y 1× sev 4 (drop-off), and 6× sev 4 not grouped into any irritant
    W has no finding."""
    r1, r2 = make_region("R1"), make_region("R2")
    a = make_site("A-001", r1, type="branch", channel_phone=True)
    b = make_site("B-001", r2, type="shop")
    campaign = make_campaign(sites=[a, b])
    x, y, z = (make_irritant(campaign, n) for n in ("X", "Y", "Z"))
    make_irritant(campaign, "W")
    make_observation(
        campaign,
        a,
        interactions=20,
        findings=[
            {"irritant": x, "occurrences": 5, "severity": 3, "outcome": "drop_off"},
            {"irritant": x, "occurrences": 2, "severity": 1},
            {"irritant": y, "occurrences": 4, "severity": 2},
        ],
    )
    make_observation(
        campaign,
        b,
        interactions=10,
        findings=[
            {"irritant": x, "occurrences": 3, "severity": 4, "outcome": "drop_off"},
            {"irritant": z, "occurrences": 10, "severity": 1},
        ],
    )
    make_observation(
        campaign,
        a,
        channel="phone",
        interactions=10,
        findings=[
            {"irritant": y, "occurrences": 1, "severity": 4, "outcome": "drop_off"},
            {"occurrences": 6, "severity": 4},
        ],
    )
    return {"campaign": campaign, "r1": r1, "r2": r2}


def _by_name(ranking):
    return {r.name: r for r in ranking.rows}


def test_priority_is_frequency_times_severity_over_the_campaign(session, ranked):
    ranking = queries.irritant_ranking(session, ranked["campaign"].id)

    assert [r.name for r in ranking.rows] == ["X", "Y", "Z"]  # W has no finding
    assert ranking.interactions == 40 and ranking.sessions == 3
    x, y, z = (_by_name(ranking)[n] for n in "XYZ")

    # X: Σo = 10, Σo·s = 15 + 2 + 12 = 29, customers affected = max(5, 2) + 3 = 8
    assert (x.findings, x.occurrences, x.weighted) == (3, 10, 29)
    assert x.frequency == pytest.approx(10 / 40)
    assert x.severity == pytest.approx(2.9)
    assert x.priority == pytest.approx(29 / 40) == pytest.approx(x.frequency * x.severity)
    assert x.customers_affected == 8 and x.share_affected == pytest.approx(8 / 40)
    assert (x.drop_offs, x.sites, x.sessions) == (8, 2, 2)

    # Y: Σo = 5, Σo·s = 8 + 4 = 12; seen in two sessions of the same site
    assert (y.occurrences, y.weighted, y.customers_affected) == (5, 12, 5)
    assert y.severity == pytest.approx(2.4)
    assert y.priority == pytest.approx(0.3)
    assert (y.drop_offs, y.sites, y.sessions) == (1, 1, 2)

    # Z: one finding seen in every interaction of its session
    assert z.priority == pytest.approx(0.25)
    assert z.share_affected == pytest.approx(0.25)

    # Pareto: cumulative share of the total Σo·s = 51
    assert [r.cumulative_share for r in ranking.rows] == pytest.approx([29 / 51, 41 / 51, 1.0])
    assert [r.rank for r in ranking.rows] == [1, 2, 3]


def test_filters_change_the_denominator_and_the_order(session, ranked):
    campaign_id = ranked["campaign"].id

    in_person = queries.irritant_ranking(
        session, campaign_id, queries.RankingFilters(channel="in_person")
    )
    assert in_person.interactions == 30
    assert [r.name for r in in_person.rows] == ["X", "Z", "Y"]  # Z overtakes Y
    rows = _by_name(in_person)
    assert rows["X"].priority == pytest.approx(29 / 30)
    assert rows["Z"].priority == pytest.approx(10 / 30)
    assert rows["Y"].priority == pytest.approx(8 / 30)
    assert rows["Y"].frequency == pytest.approx(4 / 30)

    r2 = queries.irritant_ranking(
        session, campaign_id, queries.RankingFilters(region_id=ranked["r2"].id)
    )
    assert [(r.name, round(r.priority, 6)) for r in r2.rows] == [("X", 1.2), ("Z", 1.0)]
    assert _by_name(r2)["X"].severity == pytest.approx(4.0)
    assert _by_name(r2)["Z"].share_affected == pytest.approx(1.0)

    shops = queries.irritant_ranking(session, campaign_id, queries.RankingFilters(site_type="shop"))
    assert [(r.name, r.priority) for r in shops.rows] == [(r.name, r.priority) for r in r2.rows]

    nothing = queries.irritant_ranking(
        session, campaign_id, queries.RankingFilters(channel="digital")
    )
    assert nothing.rows == [] and nothing.interactions == 0


def test_pareto_spec_has_title_axis_titles_and_the_ranking(session, ranked):
    ranking = queries.irritant_ranking(session, ranked["campaign"].id)
    spec = services.pareto_spec(ranking)
    assert spec["title"] and spec["$schema"].endswith("/v6.json")
    assert spec["encoding"]["x"]["title"] == "Irritant"
    bars, line = spec["layer"]
    assert bars["encoding"]["y"]["title"].startswith("Priority")
    assert line["encoding"]["y"]["title"] == "Cumulative share of priority"
    assert [v["irritant"] for v in spec["data"]["values"]] == ["X", "Y", "Z"]
    assert spec["data"]["values"][0]["priority"] == pytest.approx(0.725)


# --- coverage matrix and completion ---------------------------------------------------------


@pytest.fixture
def partial(session):
    """Scope: branches, shops and call centres; in person and phone; regions R1 and R2.
    Only site A has been observed, in person."""
    r1, r2, r3 = make_region("R1"), make_region("R2"), make_region("R3")
    a = make_site("A-001", r1, type="branch", channel_phone=True)
    b = make_site("B-001", r2, type="shop")
    c = make_site("C-001", r1, type="call_centre", channel_in_person=False, channel_phone=True)
    make_site("D-001", r3, type="branch")  # outside the scope's regions
    lead = make_user("diagnostician")
    campaign = make_campaign(sites=[a, b, c], regions=[r1, r2], lead=lead)
    make_observation(campaign, a, interactions=12)
    return {"campaign": campaign, "a": a, "b": b, "c": c, "lead": lead}


def test_coverage_matrix_shows_observed_missing_and_impossible_combinations(session, partial):
    cover = queries.coverage(session, partial["campaign"])
    status = {key: cell.status for key, cell in cover.cells.items()}
    assert status == {
        ("branch", "in_person"): "observed",
        ("branch", "phone"): "missing",  # A serves the phone but was not observed on it
        ("shop", "in_person"): "missing",
        ("shop", "phone"): "not_applicable",  # no shop in scope answers the phone
        ("call_centre", "in_person"): "not_applicable",
        ("call_centre", "phone"): "missing",
    }
    cell = cover.cell("branch", "in_person")
    # D-001 is a branch too, but in a region outside the scope
    assert (cell.sessions, cell.observed_sites, cell.sampled_sites, cell.network_sites) == (
        1,
        1,
        1,
        1,
    )
    assert [(r.name, r.status) for r in cover.regions] == [
        ("R1", "observed"),
        ("R2", "missing"),
    ]
    assert not cover.complete
    assert (cover.sessions, cover.interactions) == (1, 12)


def test_completion_is_refused_until_every_combination_is_observed(session, partial):
    campaign, lead = partial["campaign"], partial["lead"]
    with pytest.raises(services.CompletionRefused) as refused:
        services.complete_campaign(session, campaign, lead)
    assert "Branch × Phone" in str(refused.value)
    assert refused.value.missing == [
        "Branch × Phone",
        "Shop × In person",
        "Call centre × Phone",
        "R2",
    ]
    # a diagnostician cannot override, even with a reason
    with pytest.raises(services.CompletionRefused):
        services.complete_campaign(session, campaign, lead, "Site fermé pour travaux")
    session.rollback()
    assert session.get(Campaign, campaign.id).completed_at is None

    make_observation(campaign, partial["a"], channel="phone")
    make_observation(campaign, partial["b"])
    make_observation(campaign, partial["c"], channel="phone")
    services.complete_campaign(session, campaign, lead)
    session.commit()
    assert campaign.completed and campaign.completion_override_reason is None
    assert campaign.completed_by_id == lead.id
    with pytest.raises(services.CompletionRefused):
        services.complete_campaign(session, campaign, lead)


def test_an_admin_completes_with_gaps_only_by_recording_why(session, partial):
    admin = make_user("admin")
    campaign = partial["campaign"]
    with pytest.raises(services.CompletionRefused) as refused:
        services.complete_campaign(session, campaign, admin, "  ")
    assert "Record why" in str(refused.value)
    services.complete_campaign(session, campaign, admin, "Le magasin B-001 était fermé.")
    session.commit()
    assert campaign.completed
    assert campaign.completion_override_reason == "Le magasin B-001 était fermé."


# --- demo -------------------------------------------------------------------------------------


def test_demo_campaign_is_complete_sizeable_and_idempotent(app, session):
    runner = app.test_cli_runner()
    assert runner.invoke(args=["seed-demo"]).exit_code == 0
    # The completed spring campaign (the demo also has one in progress, see
    # tests/integration/test_demo_campaign_in_progress.py).
    campaign = session.scalar(select(Campaign).where(Campaign.name == DEMO_CAMPAIGN))
    assert campaign.completed and campaign.completion_override_reason is None
    assert len(campaign.sites) == 15
    spring = ObservationSession.campaign_id == campaign.id
    assert session.scalar(select(func.count(ObservationSession.id)).where(spring)) == 40
    findings = select(func.count(Finding.id)).join(ObservationSession).where(spring)
    assert session.scalar(findings) == 300
    assert session.scalar(select(func.count(Irritant.id))) == 10
    cover = queries.coverage(session, campaign)
    assert cover.complete and cover.sessions == 40
    ranking = queries.irritant_ranking(session, campaign.id)
    assert len(ranking.rows) == 10 and ranking.rows[-1].cumulative_share == pytest.approx(1.0)
    assert all(r.stakes for r in ranking.rows)
    assert campaign.stakes_text and campaign.service_aspiration

    assert runner.invoke(args=["seed-demo"]).exit_code == 0
    assert session.scalar(select(func.count(Campaign.id))) == 2
    assert session.scalar(findings) == 300
