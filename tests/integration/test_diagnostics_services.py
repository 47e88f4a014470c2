"""The rules of the diagnostics against a real database: every problem reported with its
field (and row), nothing partially saved."""

from __future__ import annotations

from datetime import date, time

import pytest
from flask_babel import force_locale
from sqlalchemy import func, select

from programme.audit import AuditEvent
from programme.diagnostics import queries, services
from programme.diagnostics.models import (
    Campaign,
    DeterminantAssessment,
    Finding,
    ObservationSession,
    SurveyScore,
    Verbatim,
)
from programme.errors import Invalid
from tests.diagnostics_factories import make_campaign, make_irritant, make_observation
from tests.factories import make_region, make_site, make_user


@pytest.fixture(autouse=True)
def english(session):
    with force_locale("en"):
        yield


@pytest.fixture
def setup(session):
    north, south = make_region("Nord"), make_region("Sud")
    a = make_site("A-001", north, type="branch", channel_phone=True)
    b = make_site("B-001", north, type="shop")
    outside = make_site("Z-001", south, type="branch")
    diagnostician = make_user("diagnostician")
    campaign = make_campaign(sites=[a, b], regions=[north], lead=diagnostician)
    return {
        "campaign": campaign,
        "a": a,
        "b": b,
        "outside": outside,
        "north": north,
        "diagnostician": diagnostician,
    }


def count(session, model) -> int:
    return session.scalar(select(func.count()).select_from(model))


def session_values(site, **values):
    data = {
        "site_id": site.id,
        "observed_on": date(2026, 3, 10),
        "start_time": time(9, 0),
        "end_time": time(11, 30),
        "channel": "in_person",
        "interactions": 12,
        "notes": "",
    }
    data.update(values)
    return data


def finding(**values):
    data = {
        "journey_step": "waiting",
        "description": "Aucun affichage du temps d'attente",
        "outcome": "degraded",
        "cause": "ergonomic",
        "severity": "3",
        "occurrences": "5",
        "attachment_ref": "",
        "notes": "",
    }
    data.update(values)
    return data


def errors_of(failure) -> set[tuple[int | None, str]]:
    return {(e.row, e.field) for e in failure.value.errors}


# --- observation sessions -----------------------------------------------------------------


def test_a_session_with_ten_findings_is_saved_in_order(session, setup):
    rows = [finding(description=f"Constat {n}", occurrences=str(n)) for n in range(1, 11)]
    rows.append(
        finding(journey_step="", description="", outcome="", cause="", severity="", occurrences="")
    )
    observation = services.save_observation(
        session, setup["campaign"], session_values(setup["a"]), rows, setup["diagnostician"]
    )
    session.commit()
    assert [f.description for f in observation.findings] == [f"Constat {n}" for n in range(1, 11)]
    assert [f.position for f in observation.findings] == list(range(1, 11))
    assert observation.observer_id == setup["diagnostician"].id
    # the audit trail has the session and each finding
    created = session.scalars(select(AuditEvent.entity).where(AuditEvent.action == "create")).all()
    assert created.count("finding") == 10 and created.count("observation_session") == 1


@pytest.mark.parametrize(
    ("values", "rows", "expected"),
    [
        pytest.param(
            {}, [finding(occurrences="13")], {(0, "occurrences")}, id="count > interactions"
        ),
        pytest.param(
            {"observed_on": date(2026, 4, 1)}, [finding()], {(None, "observed_on")}, id="date after"
        ),
        pytest.param(
            {"observed_on": date(2026, 3, 1)},
            [finding()],
            {(None, "observed_on")},
            id="date before",
        ),
        pytest.param({}, [finding(severity="5")], {(0, "severity")}, id="severity 5"),
        pytest.param({}, [finding(severity="0")], {(0, "severity")}, id="severity 0"),
        pytest.param(
            {"channel": "digital"}, [finding()], {(None, "channel")}, id="channel out of scope"
        ),
        pytest.param(
            {"end_time": time(8, 0)}, [finding()], {(None, "end_time")}, id="ends before it starts"
        ),
        pytest.param(
            {}, [finding(journey_step="checkout")], {(0, "journey_step")}, id="unknown step"
        ),
        pytest.param(
            {"interactions": 0}, [finding()], {(None, "interactions")}, id="no interaction"
        ),
        pytest.param(
            {},
            [finding(), finding(), finding(occurrences="40", cause="weather")],
            {(2, "occurrences"), (2, "cause")},
            id="third row wrong",
        ),
    ],
)
def test_bad_sessions_are_refused_whole(session, setup, values, rows, expected):
    with pytest.raises(Invalid) as failure:
        services.save_observation(
            session,
            setup["campaign"],
            session_values(setup["a"], **values),
            rows,
            setup["diagnostician"],
        )
    session.rollback()
    assert errors_of(failure) == expected
    assert count(session, ObservationSession) == 0 and count(session, Finding) == 0


def test_the_messages_say_what_is_wrong(session, setup):
    with pytest.raises(Invalid) as failure:
        services.save_observation(
            session,
            setup["campaign"],
            session_values(setup["b"], observed_on=date(2026, 4, 2), channel="phone"),
            [finding(occurrences="13", severity="7")],
            setup["diagnostician"],
        )
    messages = {e.field: e.message for e in failure.value.errors}
    assert messages["occurrences"] == "Seen 13 times, but only 12 interactions were observed."
    assert messages["severity"] == "Severity runs from 1 (minor) to 4 (critical)."
    assert messages["observed_on"] == "The campaign runs from 2026-03-02 to 2026-03-31."
    assert messages["channel"] == "B-001 does not serve this channel."


def test_a_site_not_sampled_is_refused(session, setup):
    with pytest.raises(Invalid) as failure:
        services.save_observation(
            session,
            setup["campaign"],
            session_values(setup["outside"]),
            [finding()],
            setup["diagnostician"],
        )
    assert failure.value.errors[0].field == "site_id"
    assert "not among the sites sampled" in failure.value.errors[0].message


def test_editing_updates_keeps_and_removes_findings(session, setup):
    campaign = setup["campaign"]
    irritant = make_irritant(campaign, "Attente")
    observation = make_observation(
        campaign,
        setup["a"],
        setup["diagnostician"],
        interactions=12,
        findings=[
            {"occurrences": 2, "severity": 2, "irritant": irritant},
            {"occurrences": 3, "severity": 3},
        ],
    )
    first, second = observation.findings
    version = observation.version
    services.save_observation(
        session,
        campaign,
        session_values(setup["a"], interactions=12),
        [
            finding(id=str(first.id), occurrences="4", description="Mise à jour"),
            finding(id=str(second.id), delete=True),
            finding(description="Nouveau"),
        ],
        setup["diagnostician"],
        observation,
    )
    session.commit()
    assert [f.description for f in observation.findings] == ["Mise à jour", "Nouveau"]
    assert observation.findings[0].id == first.id
    assert observation.findings[0].irritant_id == irritant.id  # grouping survives an edit
    assert count(session, Finding) == 2
    assert observation.version == version + 1  # findings changed: the session's version moves

    other = make_observation(campaign, setup["b"], findings=[{"occurrences": 1, "severity": 1}])
    with pytest.raises(Invalid):
        services.save_observation(
            session,
            campaign,
            session_values(setup["a"]),
            [finding(id=str(other.findings[0].id))],
            setup["diagnostician"],
            observation,
        )


# --- campaigns ---------------------------------------------------------------------------------


def campaign_values(**values):
    data = {
        "name": "Campagne printemps",
        "start_date": date(2026, 3, 2),
        "end_date": date(2026, 3, 31),
        "lead_id": None,
        "region_ids": [],
        "site_types": ["branch", "shop"],
        "channels": ["in_person"],
        "journey_steps": services.journey_steps_from(["waiting", "first_contact"], "Sortie\n"),
        "site_codes": "",
    }
    data.update(values)
    return data


def test_campaign_scope_and_sample(session, setup):
    campaign = services.save_campaign(
        session,
        campaign_values(region_ids=[setup["north"].id], site_codes="a-001, B-001\nA-001"),
    )
    session.commit()
    assert [s.code for s in campaign.sites] == ["A-001", "B-001"]
    assert campaign.journey_steps == ["first_contact", "waiting", "Sortie"]
    assert [r.name for r in campaign.regions] == ["Nord"]


@pytest.mark.parametrize(
    ("values", "field", "message"),
    [
        pytest.param(
            {"site_codes": "Z-001"},
            "site_codes",
            "Z-001 is in a region outside the scope.",
            id="region",
        ),
        pytest.param(
            {"site_codes": "A-001", "site_types": ["shop"]},
            "site_codes",
            "A-001 is a branch, a site type outside the scope.",
            id="type",
        ),
        pytest.param(
            {"site_codes": "B-001", "channels": ["phone"]},
            "site_codes",
            "B-001 serves none of the channels in scope.",
            id="channel",
        ),
        pytest.param(
            {"site_codes": "NOPE-1"}, "site_codes", "Unknown site code(s): NOPE-1.", id="unknown"
        ),
        pytest.param(
            {"end_date": date(2026, 3, 1)},
            "end_date",
            "The period ends before it starts.",
            id="period",
        ),
        pytest.param({"site_types": []}, "site_types", None, id="no site type"),
        pytest.param({"journey_steps": []}, "journey_steps", None, id="no step"),
    ],
)
def test_campaign_bad_input(session, setup, values, field, message):
    values.setdefault("region_ids", [setup["north"].id])
    before = count(session, Campaign)
    with pytest.raises(Invalid) as failure:
        services.save_campaign(session, campaign_values(**values))
    session.rollback()
    found = {e.field: e.message for e in failure.value.errors}
    assert field in found
    if message:
        assert message in found[field]
    assert count(session, Campaign) == before


def test_editing_a_campaign_keeps_what_was_recorded(session, setup):
    campaign = setup["campaign"]
    make_observation(
        campaign,
        setup["a"],
        observed_on=date(2026, 3, 20),
        findings=[{"occurrences": 1, "severity": 1, "step": "payment"}],
    )
    with pytest.raises(Invalid) as failure:
        services.save_campaign(
            session,
            campaign_values(
                name=campaign.name,
                end_date=date(2026, 3, 15),
                site_types=["branch", "shop"],
                region_ids=[setup["north"].id],
                site_codes="B-001",
                journey_steps=["waiting"],
            ),
            campaign,
        )
    assert {e.field for e in failure.value.errors} == {"end_date", "journey_steps", "site_codes"}


# --- determinants ----------------------------------------------------------------------------


def test_determinants_are_scored_with_evidence(session, setup):
    campaign, site, user = setup["campaign"], setup["a"], setup["diagnostician"]
    with pytest.raises(Invalid) as failure:
        services.save_determinants(
            session,
            campaign,
            site,
            {"roles": {"score": "6", "evidence": "x"}, "tools": {"score": "2", "evidence": ""}},
            user,
        )
    assert {e.field for e in failure.value.errors} == {"roles-score", "tools-evidence"}
    assert count(session, DeterminantAssessment) == 0

    services.save_determinants(
        session,
        campaign,
        site,
        {
            "roles": {"score": "2", "evidence": "Accueil tenu à tour de rôle"},
            "tools": {"score": "4", "evidence": "Outils fiables"},
        },
        user,
    )
    services.save_determinants(
        session,
        campaign,
        setup["b"],
        {"roles": {"score": "5", "evidence": "Rôles clairs"}},
        user,
    )
    session.commit()
    comparison = queries.determinant_comparison(session, campaign, user)
    assert comparison.means["roles"] == pytest.approx(3.5)
    assert comparison.assessed == {"roles": 2, "tools": 1}
    # clearing a determinant removes its assessment
    services.save_determinants(
        session, campaign, site, {"roles": {"score": "2", "evidence": "Idem"}}, user
    )
    session.commit()
    assert count(session, DeterminantAssessment) == 2


def test_determinants_behind_an_irritant(session, setup):
    campaign, user = setup["campaign"], setup["diagnostician"]
    irritant = make_irritant(campaign, "Attente", determinants=["staffing"])
    other = make_irritant(campaign, "Caisse")
    make_observation(
        campaign,
        setup["a"],
        findings=[
            {"occurrences": 2, "severity": 2, "irritant": irritant},
            {"occurrences": 2, "severity": 4, "irritant": other},
        ],
    )
    make_observation(
        campaign, setup["b"], findings=[{"occurrences": 1, "severity": 3, "irritant": irritant}]
    )
    services.save_determinants(
        session,
        campaign,
        setup["a"],
        {
            "staffing": {"score": "1", "evidence": "Un seul conseiller"},
            "tools": {"score": "2", "evidence": "TPE en panne"},
            "roles": {"score": "5", "evidence": "Clair"},
        },
        user,
    )
    services.save_determinants(
        session, campaign, setup["b"], {"staffing": {"score": "4", "evidence": "Complet"}}, user
    )
    session.commit()
    ranking = queries.irritant_ranking(session, campaign.id)
    behind = queries.determinants_behind(session, campaign.id, ranking.rows)
    named = behind[irritant.id]
    assert [(d.determinant, d.mean_score, d.sites, d.linked) for d in named] == [
        ("staffing", 2.5, 2, True)
    ]
    assert named[0].evidence == "Un seul conseiller" and named[0].evidence_site == "A-001"
    # no determinant named on "Caisse": the weakest scored where it was seen
    assert [(d.determinant, d.linked) for d in behind[other.id]] == [
        ("staffing", False),
        ("tools", False),
    ]


# --- irritants -------------------------------------------------------------------------------


def test_grouping_findings_stays_inside_the_campaign(session, setup):
    campaign = setup["campaign"]
    irritant = make_irritant(campaign, "Attente")
    observation = make_observation(
        campaign, setup["a"], findings=[{"occurrences": 1, "severity": 1}] * 2
    )
    elsewhere = make_campaign(sites=[setup["a"]], name="Autre")
    stranger = make_observation(elsewhere, setup["a"], findings=[{"occurrences": 1, "severity": 1}])
    ids = [f.id for f in observation.findings]
    assert services.group_findings(session, irritant, add=ids) == (2, 0)
    assert services.group_findings(session, irritant, add=ids[:1], remove=ids[1:]) == (0, 1)
    with pytest.raises(Invalid):
        services.group_findings(session, irritant, add=[stranger.findings[0].id])
    with pytest.raises(Invalid) as failure:
        services.save_irritant(session, campaign, {"name": "Attente", "stakes": ["weather"]})
    assert {e.field for e in failure.value.errors} == {"name", "stakes"}


# --- customer voice --------------------------------------------------------------------------


def test_verbatim_import_is_checked_row_by_row_and_atomic(session, setup):
    campaign = setup["campaign"]
    good = {
        "site": "A-001",
        "quote": "Trop d'attente",
        "channel": "physique",
        "journey_step": "attente",
        "sentiment": "négatif",
        "collected_on": "12/03/2026",
    }
    rows = [
        (2, good),
        (3, {**good, "site": "Z-001"}),
        (4, {**good, "channel": "en ligne"}),  # digital: outside the scope
        (5, {**good, "sentiment": "furieux", "journey_step": "parking"}),
    ]
    with pytest.raises(Invalid) as failure:
        services.import_customer_voice(session, campaign, "verbatims", rows)
    session.rollback()
    assert [(e.row, e.field) for e in failure.value.errors] == [
        (3, "site"),
        (4, "channel"),
        (5, "journey_step"),
        (5, "sentiment"),
    ]
    assert count(session, Verbatim) == 0

    rows = [
        (2, good),
        (3, {**good, "quote": "Accueil chaleureux", "sentiment": "positif"}),
        (4, good),
    ]
    result = services.import_customer_voice(session, campaign, "verbatims", rows, source="v.csv")
    session.commit()
    assert result.as_dict() == {"created": 2, "updated": 0, "unchanged": 0}
    stored = session.scalars(select(Verbatim).order_by(Verbatim.id)).all()
    assert [(v.channel, v.journey_step, v.sentiment) for v in stored] == [
        ("in_person", "waiting", "negative"),
        ("in_person", "waiting", "positive"),
    ]
    assert stored[0].collected_on == date(2026, 3, 12)
    again = services.import_customer_voice(session, campaign, "verbatims", rows)
    assert again.as_dict() == {"created": 0, "updated": 0, "unchanged": 2}
    assert count(session, Verbatim) == 2


def test_survey_scores_import_updates_and_refuses_bad_rows(session, setup):
    campaign = setup["campaign"]
    row = {
        "site": "A-001",
        "survey": "Satisfaction",
        "score": "7,5",
        "scale_max": "10",
        "respondents": "120",
        "period_end": "2026-03-31",
    }
    result = services.import_customer_voice(session, campaign, "survey_scores", [(2, row)])
    session.commit()
    assert result.created == 1
    changed = services.import_customer_voice(
        session, campaign, "survey_scores", [(2, {**row, "score": "8"})]
    )
    session.commit()
    assert changed.as_dict() == {"created": 0, "updated": 1, "unchanged": 0}
    assert session.scalar(select(SurveyScore.score)) == 8.0
    with pytest.raises(Invalid) as failure:
        services.import_customer_voice(
            session,
            campaign,
            "survey_scores",
            [(2, {**row, "score": "12"}), (3, {**row, "respondents": "0"}), (4, row), (5, row)],
        )
    assert [(e.row, e.field) for e in failure.value.errors] == [
        (2, "score"),
        (3, "respondents"),
        (5, "survey"),  # same site, survey and period as row 4
    ]
    summary = queries.survey_summary(session, campaign.id)
    assert [(s.survey, s.respondents, s.mean_share) for s in summary] == [
        ("Satisfaction", 120, 0.8)
    ]
