"""Deployment rules against a real database, on fixed dates: waves and their sites,
assignments and capacity, checklist progress, visits, engagement and alerts."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from programme.deployment import services
from programme.deployment.access import may_edit_progress, may_record_engagement
from programme.deployment.models import (
    Assignment,
    ChecklistItem,
    Milestone,
    ProgressEvent,
    Visit,
    Wave,
)
from programme.errors import Invalid
from programme.extensions import db
from tests.deployment_factories import (
    GO_LIVE,
    START,
    assign,
    make_coach,
    make_package,
    make_sites,
    make_wave,
)
from tests.factories import make_user


@pytest.fixture(autouse=True)
def _english(app):
    with app.test_request_context(headers={"Accept-Language": "en"}):
        yield


def _count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def _items(wave, site):
    return services.site_items(db.session, wave.id, site.id)


# --- waves -------------------------------------------------------------------------------------


def test_a_wave_creates_one_checklist_item_per_site_and_element_and_the_default_plan(session):
    package = make_package(4)
    sites = make_sites(3)
    wave = make_wave(package, sites)
    assert _count(ChecklistItem) == 12
    assert {i.state for i in _items(wave, sites[0])} == {"not_started"}
    plan = [(m.kind, m.offset_days, m.due_on) for m in wave.milestones]
    assert plan == [
        ("customer_information", -30, GO_LIVE - timedelta(days=30)),
        ("bookings_new_process", -15, GO_LIVE - timedelta(days=15)),
        ("go_live", 0, GO_LIVE),
        ("stabilisation_review", 30, GO_LIVE + timedelta(days=30)),
    ]
    assert [m.offset_label for m in wave.milestones] == ["J−30", "J−15", "J0", "J+30"]


def test_go_live_before_start_is_refused_and_nothing_is_written(session):
    package = make_package()
    sites = make_sites(1)
    with pytest.raises(Invalid) as refused:
        make_wave(package, sites, start=GO_LIVE, go_live=START)
    assert "go_live" in refused.value.by_field
    db.session.rollback()
    assert _count(Wave) == 0 and _count(ChecklistItem) == 0


def test_unknown_site_codes_are_refused(session):
    package = make_package()
    with pytest.raises(Invalid) as refused:
        services.save_wave(
            db.session,
            services.WavePlan("V", package.id, START, GO_LIVE, site_codes=["NOPE-1"]),
        )
    assert "NOPE-1" in refused.value.by_field["sites"][0]


def test_a_site_is_in_at_most_one_active_wave_per_package(session):
    package = make_package()
    sites = make_sites(2)
    first = make_wave(package, sites, name="Vague 1")
    with pytest.raises(Invalid) as refused:
        make_wave(package, [sites[1]], name="Vague 2")
    assert "Vague 1" in refused.value.by_field["sites"][0]
    db.session.rollback()
    # Another package may deploy to the same site...
    make_wave(make_package(), [sites[1]], name="Vague autre package")
    # ...and once the first wave is closed, the site may join a new wave of the same package.
    first = db.session.get(Wave, first.id)
    first.status = "closed"
    db.session.commit()
    assert make_wave(package, [sites[1]], name="Vague 3").sites[0].site_id == sites[1].id


def test_editing_a_wave_adds_and_removes_sites_with_their_checklists(session):
    package = make_package(2)
    a, b, c = make_sites(3)
    wave = make_wave(package, [a, b])
    services.save_wave(
        db.session,
        services.WavePlan(wave.name, package.id, START, GO_LIVE, [b.code, c.code], "preparing"),
        wave,
    )
    db.session.commit()
    assert {ws.site_id for ws in wave.sites} == {b.id, c.id}
    assert _count(ChecklistItem) == 4
    assert wave.status == "preparing"


# --- assignments and capacity ------------------------------------------------------------------


def test_assignment_outside_the_wave_is_refused_with_the_reason(session):
    package = make_package()
    (site,) = make_sites(1)
    wave = make_wave(package, [site])
    coach = make_coach()
    with pytest.raises(Invalid) as refused:
        assign(wave, site, coach, start=START - timedelta(days=1))
    assert "within the wave" in refused.value.by_field["start"][0]
    with pytest.raises(Invalid):
        assign(wave, site, coach, end=GO_LIVE + timedelta(days=31))
    assert _count(Assignment) == 0


def test_assignment_outside_the_secondment_is_refused(session):
    package = make_package()
    (site,) = make_sites(1)
    wave = make_wave(package, [site])
    coach = make_coach(secondment_start=date(2026, 3, 15), name="Inès Martin")
    with pytest.raises(Invalid) as refused:
        assign(wave, site, coach)
    assert "Inès Martin" in refused.value.by_field["coach"][0]
    assert "secondment" in refused.value.by_field["coach"][0]


def test_assignment_to_a_site_outside_the_wave_is_refused(session):
    package = make_package()
    site, other = make_sites(2)
    wave = make_wave(package, [site])
    with pytest.raises(Invalid) as refused:
        assign(wave, other, make_coach())
    assert "site" in refused.value.by_field


def test_capacity_counts_overlapping_sites_only(session):
    package = make_package()
    sites = make_sites(4)
    wave = make_wave(package, sites)
    coach = make_coach(capacity=2)
    assign(wave, sites[0], coach, START, date(2026, 3, 31))
    assign(wave, sites[1], coach, START, date(2026, 3, 31))
    with pytest.raises(Invalid) as refused:
        assign(wave, sites[2], coach, date(2026, 3, 20), GO_LIVE)
    assert "capacity 2" in refused.value.by_field["coach"][0]
    # After the first two end, the coach is free again.
    assign(wave, sites[2], coach, date(2026, 4, 1), GO_LIVE)
    assert _count(Assignment) == 3


def test_default_capacity_is_four(session):
    package = make_package()
    sites = make_sites(5)
    wave = make_wave(package, sites)
    coach = make_coach(capacity=4)
    for site in sites[:4]:
        assign(wave, site, coach)
    with pytest.raises(Invalid):
        assign(wave, sites[4], coach)


def test_capacity_view_per_week(session):
    package = make_package()
    sites = make_sites(3)
    wave = make_wave(package, sites)
    busy = make_coach(capacity=2, name="Busy")
    make_coach(name="Free")
    assign(wave, sites[0], busy, START, date(2026, 3, 8))
    assign(wave, sites[1], busy, START, date(2026, 3, 15))
    loads = {
        load.coach.name: load for load in services.capacity(db.session, START, 3, date(2026, 3, 4))
    }
    assert loads["Busy"].weeks == [2, 1, 0]
    assert loads["Busy"].today == 2 and loads["Busy"].free == 0
    assert loads["Free"].weeks == [0, 0, 0] and loads["Free"].free == 4


# --- checklist progress ------------------------------------------------------------------------


def test_progress_keeps_history_and_refuses_backwards_without_note(session):
    package = make_package(2)
    (site,) = make_sites(1)
    wave = make_wave(package, [site])
    admin = make_user("admin")
    item = _items(wave, site)[0]
    services.set_item_state(db.session, item, "in_place", item.version, START, user=admin)
    db.session.commit()
    with pytest.raises(Invalid) as refused:
        services.set_item_state(db.session, item, "in_progress", item.version, START)
    assert "note" in refused.value.by_field
    services.set_item_state(
        db.session, item, "in_progress", item.version, START, note="borne en panne"
    )
    db.session.commit()
    moves = [(e.from_state, e.to_state, e.note) for e in item.events]
    assert moves == [
        ("not_started", "in_place", None),
        ("in_place", "in_progress", "borne en panne"),
    ]


def test_a_stale_version_is_a_conflict_with_the_current_state(session):
    package = make_package(1)
    (site,) = make_sites(1)
    wave = make_wave(package, [site])
    item = _items(wave, site)[0]
    seen = item.version
    services.set_item_state(db.session, item, "in_progress", seen, START)
    db.session.commit()
    with pytest.raises(services.Conflict) as conflict:
        services.set_item_state(db.session, item, "in_place", seen, START)
    assert conflict.value.current.state == "in_progress"
    assert _count(ProgressEvent) == 1


def test_site_progress_and_wave_progress(session):
    package = make_package(4)
    a, b = make_sites(2)
    wave = make_wave(package, [a, b])
    items = _items(wave, a)
    for item, state in zip(
        items, ("in_place", "sustained", "in_progress", "not_started"), strict=True
    ):
        services.set_item_state(db.session, item, state, None, START)
    db.session.commit()
    assert services.site_progress(db.session, wave.id) == {a.id: 0.5, b.id: 0.0}
    assert services.wave_progress(db.session) == {wave.id: 0.25}


def test_a_visit_updates_elements_in_the_same_save(session):
    package = make_package(3)
    (site,) = make_sites(1)
    wave = make_wave(package, [site])
    coach = make_coach()
    items = _items(wave, site)
    data = services.VisitInput(
        visited_on=date(2026, 3, 10),
        duration_minutes=90,
        worked_on="Accueil et prise de rendez-vous",
        blocker_category="tools",
        blockers="Agenda partagé indisponible",
        next_visit_on=date(2026, 3, 17),
        updates={items[0].element_id: ("in_place", items[0].version, None),
                 items[1].element_id: ("in_place", items[1].version, None)},
    )  # fmt: skip
    visit = services.record_visit(db.session, wave, site.id, data, coach)
    db.session.commit()
    assert services.site_progress(db.session, wave.id)[site.id] == pytest.approx(2 / 3)
    assert {e.visit_id for e in db.session.scalars(select(ProgressEvent))} == {visit.id}


def test_a_visit_with_unknown_elements_or_bad_fields_writes_nothing(session):
    package = make_package(2)
    (site,) = make_sites(1)
    wave = make_wave(package, [site])
    other_element = make_package(1).elements[0]
    data = services.VisitInput(
        visited_on=date(2026, 3, 10),
        duration_minutes=0,
        worked_on="",
        updates={other_element.id: ("in_place", None, None)},
    )
    with pytest.raises(Invalid) as refused:
        services.record_visit(db.session, wave, site.id, data, None)
    assert set(refused.value.by_field) == {"duration_minutes", "worked_on", "elements"}
    db.session.rollback()
    assert _count(Visit) == 0 and _count(ProgressEvent) == 0


def test_engagement_score_must_be_between_1_and_5(session):
    (site,) = make_sites(1)
    with pytest.raises(Invalid):
        services.record_engagement(db.session, site.id, 6, None, START, False)
    services.record_engagement(db.session, site.id, 5, "demande à passer", START, True)
    db.session.commit()
    assert services.latest_engagement(db.session)[site.id].asked_earlier is True


# --- record rules ------------------------------------------------------------------------------


def test_a_coach_edits_only_sites_assigned_in_an_active_wave(session):
    package = make_package()
    mine, other = make_sites(2)
    wave = make_wave(package, [mine, other])
    user = make_user("coach")
    coach = make_coach(user=user)
    assign(wave, mine, coach)
    assert may_edit_progress(db.session, user, mine.id)
    assert not may_edit_progress(db.session, user, other.id)
    assert may_record_engagement(db.session, user, mine.id)
    assert not may_record_engagement(db.session, user, other.id)
    wave.status = "closed"
    db.session.commit()
    assert not may_edit_progress(db.session, user, mine.id)


# --- alerts on fixed dates ---------------------------------------------------------------------


def _kinds(found) -> list[str]:
    return sorted(a.kind for a in found)


def test_alerts_on_fixed_dates(session):
    package = make_package(2)
    late, fine = make_sites(2)
    wave = make_wave(package, [late, fine])
    coach = make_coach(capacity=1, name="Surchargé")
    for item in _items(wave, fine):
        services.set_item_state(db.session, item, "in_place", None, date(2026, 4, 20))
    db.session.add_all(
        [
            Visit(wave_id=wave.id, site_id=fine.id, visited_on=date(2026, 4, 25),
                  duration_minutes=60, worked_on="x"),
            Visit(wave_id=wave.id, site_id=fine.id, visited_on=date(2026, 4, 10),
                  duration_minutes=60, worked_on="x"),
            Visit(wave_id=wave.id, site_id=late.id, visited_on=date(2026, 4, 1),
                  duration_minutes=60, worked_on="x"),
            # Two overlapping assignments for a capacity of one (written directly, as an
            # import or a lowered capacity would leave them).
            Assignment(wave_id=wave.id, site_id=late.id, coach_id=coach.id,
                       start_on=START, end_on=GO_LIVE),
            Assignment(wave_id=wave.id, site_id=fine.id, coach_id=coach.id,
                       start_on=START, end_on=GO_LIVE),
        ]
    )  # fmt: skip
    for milestone in wave.milestones:
        if milestone.offset_days < 0:
            milestone.done_on = milestone.due_on
    db.session.commit()

    # Before go-live: no late site; the late site has had no visit for 15 days.
    before = services.alerts(db.session, date(2026, 4, 16), wave.id)
    assert _kinds(before) == ["no_visit", "over_capacity"]
    assert before[0].site_id == late.id

    # Two days after go-live: the late site is below 80 %; the J0 milestone is overdue; the
    # assignments ended at go-live, so the coach is within capacity again.
    after = services.alerts(db.session, date(2026, 4, 29), wave.id)
    assert _kinds(after) == ["late_site", "milestone_overdue", "no_visit"]
    assert next(a for a in after if a.kind == "late_site").site_id == late.id

    # A regression from in place is flagged until the element is back in place.
    item = _items(wave, fine)[0]
    services.set_item_state(
        db.session, item, "in_progress", None, date(2026, 4, 28), note="nouvelle équipe"
    )
    db.session.commit()
    regressed = services.alerts(db.session, date(2026, 4, 29), wave.id)
    assert [a.site_id for a in regressed if a.kind == "regression"] == [fine.id]
    assert fine.id in {a.site_id for a in regressed if a.kind == "late_site"}
    services.set_item_state(db.session, item, "in_place", None, date(2026, 4, 30))
    db.session.commit()
    assert "regression" not in _kinds(services.alerts(db.session, date(2026, 5, 1), wave.id))

    # A closed wave raises nothing.
    wave.status = "closed"
    db.session.commit()
    assert services.alerts(db.session, date(2026, 4, 29)) == []


def test_ticking_a_milestone_clears_its_alert(session):
    package = make_package(1)
    (site,) = make_sites(1)
    wave = make_wave(package, [site], status="planned")
    first = db.session.scalars(select(Milestone).order_by(Milestone.offset_days)).first()
    day = first.due_on + timedelta(days=1)
    assert _kinds(services.alerts(db.session, day, wave.id)) == ["milestone_overdue"]
    services.tick_milestone(db.session, first, first.due_on)
    db.session.commit()
    assert services.alerts(db.session, day, wave.id) == []


def test_readiness_before_go_live(session):
    package = make_package(1)
    ready, missing = make_sites(2)
    wave = make_wave(package, [ready, missing])
    assign(wave, ready, make_coach())
    services.set_item_state(db.session, _items(wave, ready)[0], "in_place", None, START)
    services.record_engagement(db.session, ready.id, 4, None, START, False)
    services.record_engagement(db.session, missing.id, 3, None, START, False)
    db.session.commit()
    found = services.readiness(db.session, wave)
    assert found[ready.id].ready
    assert found[missing.id] == services.Readiness(False, False, False)


def test_s_curve_replays_the_history_week_by_week(session):
    package = make_package(2)
    a, b = make_sites(2)
    wave = make_wave(package, [a, b], start=date(2026, 3, 2), go_live=date(2026, 3, 30))
    first, second = _items(wave, a)
    services.set_item_state(db.session, first, "in_place", None, date(2026, 3, 4))
    services.set_item_state(db.session, second, "in_place", None, date(2026, 3, 10))
    services.set_item_state(db.session, second, "in_progress", None, date(2026, 3, 18), note="x")
    db.session.commit()
    points = services.s_curve(db.session, wave, today=date(2026, 3, 20))
    assert [p["week"] for p in points] == ["2026-03-02", "2026-03-09", "2026-03-16"]
    assert [p["actual"] for p in points] == [0.25, 0.5, 0.25]
    assert [round(p["planned"], 2) for p in points] == [0.21, 0.46, 0.64]


def test_engagement_by_region_uses_each_sites_latest_word(session):
    from tests.factories import make_region

    north, south = make_region("Nord"), make_region("Sud")
    a, b = make_sites(2, region=north)
    (c,) = make_sites(1, region=south)
    services.record_engagement(db.session, a.id, 2, None, date(2026, 1, 5), False)
    services.record_engagement(db.session, a.id, 5, None, date(2026, 2, 5), True)
    services.record_engagement(db.session, b.id, 3, None, date(2026, 2, 5), False)
    services.record_engagement(db.session, c.id, 4, None, date(2026, 2, 5), False)
    db.session.commit()
    rows = services.engagement_by_region(db.session)
    assert [(r.region, r.sites, r.mean_score, r.asked_earlier) for r in rows] == [
        ("Nord", 2, 4.0, 1),
        ("Sud", 1, 4.0, 0),
    ]
    assert [r.region for r in services.engagement_by_region(db.session, [c.id])] == ["Sud"]
