"""Feedback intake and cases, against the database (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from flask_babel import force_locale
from sqlalchemy import func, select

from programme.audit import AuditEvent
from programme.errors import Conflict, Invalid
from programme.feedback import services
from programme.feedback.models import FeedbackCase, FeedbackResponse, as_utc
from programme.feedback.services import FeedbackRefused, add_working_days
from programme.network.models import Site
from tests.factories import make_region, make_site, make_user

PARIS = ZoneInfo("Europe/Paris")
# Wednesday 4 March 2026, 14:30 in Paris.
NOW = datetime(2026, 3, 6, 12, 0, tzinfo=UTC)


def item(**values):
    base = {
        "source": "qualtrics",
        "external_id": "R-1",
        "site": "PAR-001",
        "received_at": "2026-03-04T14:30:00+01:00",
        "channel": "in_person",
        "score": 3,
        "scale": "nps",
        "contact_consent": True,
        "contact": "06 12 34 56 78",
    }
    base.update(values)
    return base


@pytest.fixture(autouse=True)
def _english(app, session):
    """Messages are translated: a request context in English."""
    with app.test_request_context(), force_locale("en"):
        yield


@pytest.fixture
def world(session):
    region = make_region("Île-de-France")
    site = make_site("PAR-001", region=region, name="Agence Paris Opéra")
    other = make_site("LYO-001", name="Agence Lyon")
    manager = make_user("site_manager", site_id=site.id, email="manager@example.org")
    regional = make_user("site_manager", region_id=region.id, email="regional@example.org")
    admin = make_user("admin")
    return {
        "site": site.id,
        "other": other.id,
        "manager": manager,
        "regional": regional,
        "admin": admin,
    }


def _count(session, model) -> int:
    return session.scalar(select(func.count()).select_from(model))


def test_working_days_skip_the_weekend_and_keep_the_local_time():
    thursday = datetime(2026, 3, 5, 16, 45, tzinfo=PARIS)
    due = add_working_days(thursday, 2, PARIS)
    assert due.astimezone(PARIS) == datetime(2026, 3, 9, 16, 45, tzinfo=PARIS)  # Monday
    saturday = datetime(2026, 3, 7, 10, 0, tzinfo=PARIS)
    assert add_working_days(saturday, 2, PARIS).astimezone(PARIS).date().isoformat() == "2026-03-10"
    # across the change to summer time (29 March 2026): same local time, one hour less in UTC
    friday = datetime(2026, 3, 27, 9, 0, tzinfo=PARIS)
    due = add_working_days(friday, 2, PARIS)
    assert due.astimezone(PARIS).hour == 9
    assert due.utcoffset() == timedelta(0) and due.hour == 7


def test_a_detractor_with_consent_opens_a_case_for_the_site_manager(session, world):
    summary = services.record_responses(session, world["admin"], [item()], now=NOW)
    session.commit()

    assert summary.as_dict() == {"created": 1, "unchanged": 0, "cases_opened": 1}
    case = session.scalars(select(FeedbackCase)).one()
    assert case.site_id == world["site"]
    assert case.assignee_id == world["manager"].id
    assert case.status == "open"
    # received Wednesday 14:30 in Paris → due Friday 14:30 in Paris, escalated Monday 14:30
    assert as_utc(case.due_at).astimezone(PARIS) == datetime(2026, 3, 6, 14, 30, tzinfo=PARIS)
    assert as_utc(case.escalate_at).astimezone(PARIS) == datetime(2026, 3, 9, 14, 30, tzinfo=PARIS)
    assert case.response.contact_ref == "06 12 34 56 78"
    assert (
        session.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.entity == "feedback_response")
        )
        == 1
    )


def test_the_deadline_is_configurable_per_channel(app, session, world):
    app.config["FEEDBACK_DUE_WORKING_DAYS"] = {"phone": 1}
    try:
        services.record_responses(
            session, None, [item(channel="phone"), item(external_id="R-2")], now=NOW
        )
        session.commit()
    finally:
        app.config.pop("FEEDBACK_DUE_WORKING_DAYS")
    dues = {
        c.response.channel: as_utc(c.due_at).astimezone(PARIS).date().isoformat()
        for c in session.scalars(select(FeedbackCase))
    }
    assert dues == {"phone": "2026-03-05", "in_person": "2026-03-06"}


@pytest.mark.parametrize(
    ("values", "opens"),
    [
        ({"score": 6}, True),  # NPS detractor
        ({"score": 7}, False),  # passive
        ({"score": 9}, False),
        ({"scale": "csat5", "score": 2}, True),
        ({"scale": "csat5", "score": 3}, False),
        ({"score": 10, "complaint": True}, True),  # a complaint, whatever the score
        ({"score": 0, "contact_consent": False, "contact": None}, False),  # no consent: no case
    ],
)
def test_which_responses_open_a_case(session, world, values, opens):
    summary = services.record_responses(session, None, [item(**values)], now=NOW)
    session.commit()
    assert summary.created == 1
    assert summary.cases_opened == int(opens)
    assert _count(session, FeedbackCase) == int(opens)


def test_the_same_source_and_id_again_changes_nothing(session, world):
    services.record_responses(session, None, [item()], now=NOW)
    session.commit()
    again = services.record_responses(session, None, [item(score=9), item()], now=NOW)
    session.commit()
    assert again.as_dict() == {"created": 0, "unchanged": 2, "cases_opened": 0}
    assert _count(session, FeedbackResponse) == 1
    assert _count(session, FeedbackCase) == 1
    assert session.scalars(select(FeedbackResponse.score)).one() == 3


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"score": 11}, "score"),
        ({"scale": "csat5", "score": 0}, "score"),
        ({"score": "seven"}, "score"),
        ({"scale": "stars"}, "scale"),
        ({"site": "NOPE-1"}, "site"),
        ({"received_at": "2026-03-04T14:30:00"}, "received_at"),  # no time zone
        ({"received_at": "2026-03-07T14:30:00+01:00"}, "received_at"),  # future
        ({"received_at": "04/03/2026"}, "received_at"),
        ({"contact_consent": False}, "contact"),  # a reference without consent
        ({"channel": "pigeon"}, "channel"),
        ({"source": ""}, "source"),
        ({"complaint": "perhaps"}, "complaint"),
    ],
)
def test_bad_input_writes_nothing(session, world, values, field):
    good = item(external_id="R-0")
    with pytest.raises(FeedbackRefused) as refused:
        services.record_responses(session, None, [good, item(**values)], now=NOW)
    session.rollback()
    assert [(e.row, e.field) for e in refused.value.errors] == [(1, field)]
    assert _count(session, FeedbackResponse) == 0
    assert _count(session, FeedbackCase) == 0


def test_a_site_manager_records_only_for_their_perimeter(session, world):
    with pytest.raises(FeedbackRefused) as refused:
        services.record_responses(session, world["manager"], [item(site="LYO-001")], now=NOW)
    assert refused.value.forbidden
    session.rollback()
    summary = services.record_responses(session, world["manager"], [item()], now=NOW)
    assert summary.created == 1


def test_contact_close_and_conflicts(session, world):
    services.record_responses(session, None, [item()], now=NOW)
    session.commit()
    case = session.scalars(select(FeedbackCase)).one()

    with pytest.raises(Invalid) as refused:
        services.close_case(session, case, outcome="", cause="")
    assert {e.field for e in refused.value.errors} == {"outcome", "cause"}
    assert case.status == "open"

    services.mark_contacted(session, case, now=NOW)
    with pytest.raises(Conflict):
        services.mark_contacted(session, case)
    services.close_case(
        session,
        case,
        outcome="resolved",
        cause="relational",
        journey_step="waiting",
        note="Rappelé",
    )
    session.commit()
    assert (case.status, case.outcome, case.cause, case.contacted_at is not None) == (
        "closed",
        "resolved",
        "relational",
        True,
    )
    with pytest.raises(Conflict):
        services.close_case(session, case, outcome="resolved", cause="technical")


def test_reassigning_checks_the_assignee(session, world):
    services.record_responses(session, None, [item()], now=NOW)
    session.commit()
    case = session.scalars(select(FeedbackCase)).one()
    services.reassign_case(session, case, world["regional"].id)
    assert case.assignee_id == world["regional"].id
    outsider = make_user("site_manager", site_id=world["other"])
    with pytest.raises(Invalid):
        services.reassign_case(session, case, outsider.id)
    with pytest.raises(Invalid):
        services.reassign_case(session, case, make_user("coach").id)


# --- measures from feedback ---------------------------------------------------------------------


def _measures(session, code):
    from programme.kpis.models import Kpi, Measurement

    return session.execute(
        select(Measurement.period_date, Measurement.value, Measurement.n, Measurement.source)
        .join(Kpi, Kpi.id == Measurement.kpi_id)
        .where(Kpi.code == code)
        .order_by(Measurement.period_date)
    ).all()


def test_a_weeks_responses_become_nps_and_csat_measurements(session, world):
    from tests.kpi_factories import default_kpis

    default_kpis()
    # week of Monday 2 March 2026 (Paris): 3 promoters, 1 passive, 2 detractors
    scores = [10, 9, 9, 8, 3, 6]
    items = [
        item(external_id=f"N-{i}", score=s, contact_consent=False, contact=None,
             received_at=f"2026-03-0{2 + i % 5}T10:00:00+01:00")
        for i, s in enumerate(scores)
    ] + [
        item(external_id=f"C-{i}", scale="csat5", score=s, contact_consent=False, contact=None)
        for i, s in enumerate([5, 4, 2])
    ] + [
        # Sunday 1 March 23:30 in Paris is the week before, though 22:30 UTC the same day
        item(external_id="N-prev", score=0, contact_consent=False, contact=None,
             received_at="2026-03-01T23:30:00+01:00"),
    ]  # fmt: skip
    services.record_responses(session, None, items, now=NOW)
    session.commit()

    nps = _measures(session, "NPS")
    assert [(d.isoformat(), v, n, src) for d, v, n, src in nps] == [
        ("2026-02-23", -100.0, 1, "feedback"),
        ("2026-03-02", pytest.approx(100 * (3 - 2) / 6), 6, "feedback"),
    ]
    csat = _measures(session, "CSAT")
    assert [(d.isoformat(), v, n) for d, v, n, _src in csat] == [
        ("2026-03-02", pytest.approx(11 / 3), 3)
    ]

    # a new response of the week recomputes it; the same responses again change nothing
    services.record_responses(
        session, None, [item(external_id="N-new", score=10, contact_consent=False, contact=None)],
        now=NOW,
    )  # fmt: skip
    session.commit()
    week = [row for row in _measures(session, "NPS") if row[0].isoformat() == "2026-03-02"]
    assert [(v, n) for _d, v, n, _s in week] == [(pytest.approx(100 * (4 - 2) / 7), 7)]
    services.record_responses(session, None, items, now=NOW)
    session.commit()
    assert len(_measures(session, "NPS")) == 2


def test_without_the_kpis_in_the_catalogue_nothing_is_measured(session, world):
    services.record_responses(session, None, [item()], now=NOW)
    session.commit()
    assert _measures(session, "NPS") == []


# --- privacy ------------------------------------------------------------------------------------


def test_contact_references_are_purged_after_the_retention(app, session, world):
    from programme.feedback.models import FeedbackCase as Case

    items = [
        item(external_id="closed-long-ago"),
        item(external_id="closed-recently"),
        item(external_id="still-open"),
        item(external_id="promoter", score=10),  # consent, no case
    ]
    services.record_responses(session, None, items, now=NOW)
    session.commit()
    cases = {c.response.external_id: c for c in session.scalars(select(Case))}
    later = NOW + timedelta(days=100)
    for key, days_ago in (("closed-long-ago", 91), ("closed-recently", 89)):
        services.close_case(
            session, cases[key], outcome="resolved", cause="technical",
            now=later - timedelta(days=days_ago),
        )  # fmt: skip
    session.commit()

    # the promoter's reference (no case) is older than 90 days too
    assert services.purge_contact_references(session, 90, now=later) == 1 + 1
    session.commit()
    refs = dict(
        session.execute(select(FeedbackResponse.external_id, FeedbackResponse.contact_ref)).all()
    )
    assert refs == {
        "closed-long-ago": None,
        "closed-recently": "06 12 34 56 78",
        "still-open": "06 12 34 56 78",
        "promoter": None,
    }
    comments = session.scalars(select(FeedbackResponse.score)).all()
    assert len(comments) == 4  # the responses stay

    runner = app.test_cli_runner()
    result = runner.invoke(args=["purge-contact-references", "--days", "1"])
    assert result.exit_code == 0, result.output
    assert "1 contact reference deleted" in result.output  # the one closed 89 days earlier


def test_a_response_recorded_meanwhile_by_another_request_is_refused_cleanly(
    session, world, monkeypatch
):
    services.record_responses(session, None, [item()], now=NOW)
    session.commit()
    # as if another request had written it between our lookup and our insert
    monkeypatch.setattr(services, "tuple_", lambda *c: _NeverMatches())
    with pytest.raises(FeedbackRefused) as refused:
        services.record_responses(session, None, [item(), item(external_id="R-9")], now=NOW)
    session.rollback()
    assert refused.value.errors[0].field == "external_id"
    assert "send them again" in refused.value.errors[0].message
    assert _count(session, FeedbackResponse) == 1


class _NeverMatches:
    def in_(self, _values):
        from sqlalchemy import false

        return false()


def test_cases_may_be_routed_per_site_type(app, session, world):
    centre = make_site("CC-001", type="call_centre", region=session.get(Site, world["site"]).region)
    app.config["FEEDBACK_CASE_ROUTING"] = {"call_centre": "regional_manager"}
    try:
        services.record_responses(
            session, None, [item(site="CC-001", channel="phone"), item(external_id="R-2")], now=NOW
        )
        session.commit()
    finally:
        app.config.pop("FEEDBACK_CASE_ROUTING")
    assignees = {c.site_id: c.assignee_id for c in session.scalars(select(FeedbackCase))}
    assert assignees == {centre.id: world["regional"].id, world["site"]: world["manager"].id}
