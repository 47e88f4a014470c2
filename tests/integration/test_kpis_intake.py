"""The intake pipeline: validate everything, write all or nothing, corrections keep history,
rollups equal a recomputation."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from programme.audit import AuditEvent
from programme.kpis.importing import iter_chunks
from programme.kpis.intake import IntakeRejected, ingest, iter_frame, records_frame
from programme.kpis.models import KpiWeekRollup, Measurement, MeasurementRevision
from programme.kpis.services import rebuild_rollups, recomputed_rollups, stored_rollups
from tests.factories import make_site, make_user
from tests.kpi_factories import MONDAY, TODAY, assign, csv_bytes, default_kpis, item, put
from tests.sql_plans import captured_statements, sqlite_plan


def _count(session, model):
    return session.scalar(select(func.count()).select_from(model))


@pytest.fixture(autouse=True)
def _english(app):
    with app.test_request_context(headers={"Accept-Language": "en"}):
        yield


@pytest.fixture
def admin(session):
    default_kpis()
    return make_user("admin")


def test_create_then_same_again_is_a_no_op(session, admin):
    site = make_site("PAR-001")
    first = put(admin, [item(site), item(site, "CONV", value=0.25, n=80)])
    assert (first.created, first.corrected, first.unchanged) == (2, 0, 0)
    again = put(admin, [item(site), item(site, "CONV", value=0.25, n=80)])
    assert (again.created, again.corrected, again.unchanged) == (0, 0, 2)
    assert _count(session, Measurement) == 2
    assert _count(session, MeasurementRevision) == 0


def test_a_different_value_is_a_correction_that_keeps_the_old_one(session, admin):
    site = make_site("PAR-001")
    put(admin, [item(site, value=7.5, n=100)])
    other = make_user("admin", email="second@example.org")
    result = put(other, [item(site, value=9.0, n=110, reason="typo in the QMS export")])
    assert (result.created, result.corrected) == (0, 1)
    m = session.scalar(select(Measurement))
    assert (m.value, m.n, m.revision) == (9.0, 110, 2)
    rev = session.scalar(select(MeasurementRevision))
    assert (rev.value, rev.n, rev.revision, rev.reason) == (7.5, 100, 1, "typo in the QMS export")
    assert rev.replaced_by_id == other.id
    assert (
        session.scalar(
            select(func.count()).select_from(AuditEvent).where(AuditEvent.entity == "measurement")
        )
        == 2
    )


def test_every_bad_row_is_reported_and_nothing_written(session, admin):
    site = make_site("PAR-001")
    items = [
        item(site),  # 0 fine
        item("NOPE"),  # 1 unknown site
        item(site, "XXX"),  # 2 unknown KPI
        item(site, value=700),  # 3 out of range
        item(site, "CONV", value=1.5),  # 4 rate above 1
        item(site, n=0),  # 5 n <= 0
        item(site, n=12.5),  # 6 n not whole
        item(site, day=TODAY + timedelta(days=1)),  # 7 future
        {**item(site), "date": "31-31-2024"},  # 8 unreadable date
        item(site),  # 9 duplicate of 0
        item(site, "NPS", day=MONDAY + timedelta(days=2), value=10),  # 10 weekly KPI, not Monday
        {**item(site), "value": "=1+1"},  # 11 formula
        {"site": "", "kpi": "", "date": "", "value": "", "n": ""},  # 12 everything missing
    ]
    with pytest.raises(IntakeRejected) as caught:
        ingest(session, admin, [records_frame(items)], default_source="api")
    session.rollback()
    found = {(e.row, e.field) for e in caught.value.errors}
    expected = {
        (1, "site"), (2, "kpi"), (3, "value"), (4, "value"), (5, "n"), (6, "n"), (7, "date"),
        (8, "date"), (9, "date"), (10, "date"), (11, "value"),
        (12, "site"), (12, "kpi"), (12, "date"), (12, "value"), (12, "n"),
    }  # fmt: skip
    assert found == expected
    messages = {(e.row, e.field): e.message for e in caught.value.errors}
    assert "row 0" in messages[(9, "date")]
    assert "between 0 and 1" in messages[(4, "value")]
    assert "Unknown site code" in messages[(1, "site")]
    assert _count(session, Measurement) == 0
    assert _count(session, KpiWeekRollup) == 0


def test_permissions_pilot_team_writes_only_assigned_sites(session, admin):
    mine, other = make_site("PAR-001"), make_site("LYO-001")
    pilot = make_user("pilot_team")
    assign(pilot, mine)
    assert put(pilot, [item(mine)]).created == 1
    with pytest.raises(IntakeRejected) as caught:
        ingest(
            session,
            pilot,
            [records_frame([item(mine, "CSAT", value=4), item(other)])],
            default_source="x",
        )
    session.rollback()
    assert [(e.row, e.field, e.permission) for e in caught.value.errors] == [(1, "site", True)]
    manager = make_user("site_manager", site_id=other.id)
    assert put(manager, [item(other)]).created == 1
    for role in ("coach", "executive", "diagnostician"):
        with pytest.raises(IntakeRejected):
            ingest(session, make_user(role), [records_frame([item(mine)])], default_source="x")
        session.rollback()


def test_rollups_equal_a_recomputation_after_a_mixed_sequence(session, admin):
    a, b = make_site("PAR-001"), make_site("LYO-001")
    days = [MONDAY - timedelta(days=d) for d in range(20)]
    put(admin, [item(a, "WAIT", d, 5 + i % 3, 50 + i) for i, d in enumerate(days)])
    put(
        admin,
        [item(b, "CONV", d, 0.2 + i / 100, 30) for i, d in enumerate(days)],
        source="file.csv",
    )
    # corrections, unchanged rows and new rows mixed in one batch
    put(admin, [item(a, "WAIT", days[0], 9, 60, reason="fix"), item(a, "WAIT", days[1], 5 + 1 % 3, 51),
                item(a, "CSAT", days[2], 4.2, 20)])  # fmt: skip
    # a file import (long layout, decimal commas, semicolons) correcting and adding rows
    data = csv_bytes(
        [[b.code, "CONV", days[3].isoformat(), "0,9", 31], [b.code, "CSAT", days[4].isoformat(), "4,5", 12]],
        sep=";",
    )  # fmt: skip
    chunks = iter_chunks(
        "file.csv", data, "long", {k: k for k in ("site", "kpi", "date", "value", "n")}
    )
    result = ingest(session, admin, chunks, default_source="file.csv")
    session.commit()
    assert (result.created, result.corrected) == (1, 1)
    # the same site/KPI/date from another source corrects the one value of that day
    again = put(admin, [item(a, "WAIT", days[0], 12, 10)], source="api-client")
    assert (again.created, again.corrected) == (0, 1)
    stored, recomputed = stored_rollups(session), recomputed_rollups(session)
    assert stored.keys() == recomputed.keys()
    for key, values in recomputed.items():
        assert stored[key] == pytest.approx(values), key
    count = rebuild_rollups(session)
    session.commit()
    assert count == len(recomputed)
    rebuilt = stored_rollups(session)
    assert rebuilt.keys() == recomputed.keys()
    for key, values in recomputed.items():
        assert rebuilt[key] == pytest.approx(values), key


def test_dry_run_counts_without_writing(session, admin):
    site = make_site("PAR-001")
    put(admin, [item(site)])
    preview = ingest(
        session, admin,
        [records_frame([item(site, source="b"), item(site, "CSAT", value=4),
                        item(site, day=MONDAY - timedelta(days=1), value=8, source="b")])],
        default_source="test", dry_run=True,
    )  # fmt: skip
    session.rollback()
    assert (preview.created, preview.corrected, preview.unchanged) == (2, 0, 1)
    corrected = ingest(
        session, admin, [records_frame([item(site, value=9)])], default_source="test", dry_run=True
    )
    session.rollback()
    assert (corrected.created, corrected.corrected, corrected.unchanged) == (0, 1, 0)
    assert _count(session, Measurement) == 1
    assert _count(session, MeasurementRevision) == 0


def test_rebuild_rollups_command_restores_damaged_rollups(app, session, admin):
    site = make_site("PAR-001")
    put(admin, [item(site, day=MONDAY - timedelta(days=d)) for d in range(10)])
    expected = recomputed_rollups(session)
    session.execute(KpiWeekRollup.__table__.update().values(sum_vn=0, count=99))
    session.commit()
    result = app.test_cli_runner().invoke(args=["rebuild-rollups"])
    assert result.exit_code == 0 and "Rebuilt" in result.output
    session.expire_all()
    rebuilt = stored_rollups(session)
    assert rebuilt.keys() == expected.keys()
    for key, values in expected.items():
        assert rebuilt[key] == pytest.approx(values)


def test_demo_seed_goes_through_the_pipeline(app, session):
    from programme.demo import seed_demo

    seed_demo(session, "demo-Programme-2026")
    session.commit()
    assert _count(session, Measurement) > 200_000
    assert _count(session, MeasurementRevision) >= 1
    stored, recomputed = stored_rollups(session), recomputed_rollups(session)
    assert stored.keys() == recomputed.keys()
    again = seed_demo(session, "demo-Programme-2026")["measurements"]
    assert again == {"created": 0, "corrected": 0}


def test_new_rows_over_several_chunks_keep_their_sources_reasons_and_weeks(session, admin):
    """A batch of new rows cut into chunks that split ISO weeks, with several sources and
    reasons: each row keeps its own source, the rollups (from the staged weekly sums) equal
    a recomputation, and a later correction batch keeps each row's own reason."""
    a, b = make_site("PAR-001"), make_site("LYO-001")
    days = [MONDAY + timedelta(days=6) - timedelta(days=d) for d in range(14)]  # two ISO weeks
    items = [
        item(a, "WAIT", d, 5 + i % 4, 40 + i, source="qms" if i % 2 else "manual")
        for i, d in enumerate(days)
    ] + [item(b, "CONV", d, 0.3, 20 + i) for i, d in enumerate(days)]
    result = ingest(session, admin, iter_frame(records_frame(items), 5), default_source="file.csv")
    session.commit()
    assert (result.created, result.corrected, result.unchanged) == (28, 0, 0)
    sources = dict(
        session.execute(
            select(Measurement.period_date, Measurement.source).where(Measurement.site_id == a.id)
        ).all()
    )
    assert sources[days[0]] == "manual" and sources[days[1]] == "qms"
    assert {
        source
        for (source,) in session.execute(
            select(Measurement.source).where(Measurement.site_id == b.id)
        )
    } == {"file.csv"}
    week = session.get(KpiWeekRollup, (a.id, default_kpis()["WAIT"], MONDAY))
    assert week.count == 7
    assert week.sum_n == sum(40 + i for i in range(7))
    stored, recomputed = stored_rollups(session), recomputed_rollups(session)
    assert stored.keys() == recomputed.keys()
    for key, values in recomputed.items():
        assert stored[key] == pytest.approx(values), key

    corrections = [
        item(b, "CONV", days[0], 0.5, 20, reason="wrong export"),
        item(b, "CONV", days[1], 0.6, 21, reason="late survey"),
        item(b, "CONV", days[2], 0.3, 22),  # unchanged
        item(b, "CONV", MONDAY - timedelta(days=20), 0.4, 9, reason="missing day"),  # new
    ]
    result = ingest(
        session, admin, iter_frame(records_frame(corrections), 2), default_source="file.csv"
    )
    session.commit()
    assert (result.created, result.corrected, result.unchanged) == (1, 2, 1)
    reasons = dict(
        session.execute(
            select(Measurement.period_date, MeasurementRevision.reason).join(
                Measurement, Measurement.id == MeasurementRevision.measurement_id
            )
        ).all()
    )
    assert reasons == {days[0]: "wrong export", days[1]: "late survey"}
    stored, recomputed = stored_rollups(session), recomputed_rollups(session)
    assert stored.keys() == recomputed.keys()
    for key, values in recomputed.items():
        assert stored[key] == pytest.approx(values), key


def test_completeness_reads_the_measurements_site_by_site(session, admin):
    """Completeness goes through the unique key (site, KPI, date), one range per
    site: never a scan of the measurement table (it has no (KPI, date) index)."""
    from programme.extensions import db
    from programme.kpis.completeness import by_site as completeness
    from programme.kpis.models import Kpi

    a, b = make_site("PAR-001"), make_site("LYO-001")
    put(admin, [item(a, "WAIT", TODAY - timedelta(days=d)) for d in range(1, 11)])
    put(admin, [item(b, "WAIT", TODAY - timedelta(days=d)) for d in range(1, 4)])
    put(admin, [item(b, "WAIT", TODAY - timedelta(days=2), 9)], source="other")  # corrects
    wait = db.session.query(Kpi).filter_by(code="WAIT").one()
    engine = session.get_bind()
    with captured_statements(engine) as statements:
        regions, sites, start, end = completeness(db.session, admin, wait, days=28)
    present = {row.site_id: (row.present, row.expected) for row in sites}
    assert present == {a.id: (10, 28), b.id: (3, 28)}  # one value per day, whatever the source
    assert sum(r.present for r in regions) == 13
    if engine.dialect.name != "sqlite":
        return
    reads = [(s, p) for s, p in statements if "measurement" in s]
    if TODAY.weekday() != 0:  # on a Monday the 28 days are four whole weeks
        assert reads  # the days of the partial weeks at the edges, from the measurements
    for statement, parameters in reads:
        details = sqlite_plan(engine, statement, parameters)
        assert "SCAN measurement" not in details, details
        assert "(site_id=? AND kpi_id=? AND period_date>? AND period_date<?)" in details


@pytest.mark.parametrize("in_memory", [True, False])
def test_xlsx_rows_are_reported_with_their_sheet_row_numbers(
    monkeypatch, session, admin, in_memory
):
    """Either XLSX reader: errors name the sheet rows (the header on row 2 here), nothing is
    written; once fixed, every row is imported."""
    import io

    import xlsxwriter

    from programme.kpis import importing

    if not in_memory:
        monkeypatch.setattr(importing, "XLSX_IN_MEMORY_BYTES", 0)
    site = make_site("PAR-001")

    def workbook(bad: bool) -> bytes:
        buffer = io.BytesIO()
        book = xlsxwriter.Workbook(buffer, {"in_memory": True})
        sheet = book.add_worksheet()
        sheet.write_row(1, 0, ["site", "kpi", "date", "value", "n"])
        for i in range(6):
            day = (MONDAY - timedelta(days=i)).isoformat()
            code = "NOPE" if bad and i == 2 else site.code
            value = 700 if bad and i == 4 else 5 + i
            sheet.write_row(2 + i, 0, [code, "WAIT", day, value, 30])
        book.close()
        return buffer.getvalue()

    columns = {k: k for k in ("site", "kpi", "date", "value", "n")}
    with pytest.raises(IntakeRejected) as caught:
        ingest(
            session,
            admin,
            iter_chunks("export.xlsx", workbook(True), "long", columns, chunksize=2),
            default_source="export.xlsx",
        )
    session.rollback()
    assert [(e.row, e.field) for e in caught.value.errors] == [(5, "site"), (7, "value")]
    assert _count(session, Measurement) == 0
    result = ingest(
        session,
        admin,
        iter_chunks("export.xlsx", workbook(False), "long", columns, chunksize=2),
        default_source="export.xlsx",
    )
    session.commit()
    assert result.created == 6 and _count(session, Measurement) == 6


# --- one value per site, KPI and date, whatever the source ----------------------------------


def _assert_rollups_match(session):
    stored, recomputed = stored_rollups(session), recomputed_rollups(session)
    assert stored.keys() == recomputed.keys()
    for key, values in recomputed.items():
        assert stored[key] == pytest.approx(values), key


def _current(session, site):
    m = session.scalar(select(Measurement).where(Measurement.site_id == site.id))
    return (m.value, m.n, m.source, m.revision)


def _history(session):
    return [
        (r.revision, r.source, r.value, r.n, r.reason)
        for r in session.scalars(select(MeasurementRevision).order_by(MeasurementRevision.revision))
    ]


def test_grid_file_and_api_count_one_value_with_every_source_in_the_history(session, admin):
    site = make_site("ARA-001")
    assert put(admin, [item(site, value=7.8, n=50)], source="seed-demo").created == 1
    grid = put(admin, [item(site, value=6.8, n=120, reason="Corrected in the entry grid")],
               source="form")  # fmt: skip
    assert (grid.created, grid.corrected) == (0, 1)
    data = csv_bytes([[site.code, "WAIT", MONDAY.isoformat(), "7,1", 90]], sep=";")
    chunks = iter_chunks(
        "qms.csv", data, "long", {k: k for k in ("site", "kpi", "date", "value", "n")}
    )
    with_file = ingest(session, admin, chunks, default_source="qms.csv")
    session.commit()
    assert (with_file.created, with_file.corrected) == (0, 1)
    assert _count(session, Measurement) == 1
    assert _current(session, site) == (7.1, 90, "qms.csv", 3)
    assert _history(session) == [
        (1, "seed-demo", 7.8, 50, "Corrected in the entry grid"),
        (2, "form", 6.8, 120, None),
    ]
    # the weekly rollup counts one value for the day
    rollup = session.scalar(select(KpiWeekRollup).where(KpiWeekRollup.site_id == site.id))
    assert (rollup.count, rollup.sum_n, rollup.sum_vn) == (1, 90, pytest.approx(7.1 * 90))
    _assert_rollups_match(session)


def test_a_feed_sent_again_never_flips_a_correction_back(session, admin):
    site = make_site("ARA-001")
    put(admin, [item(site, value=7.8, n=50)], source="qms")
    put(admin, [item(site, value=6.8, n=120, reason="typo")], source="form")
    # the feed sends exactly what it sent last: unchanged, the correction stays
    again = put(admin, [item(site, value=7.8, n=50)], source="qms")
    assert (again.created, again.corrected, again.unchanged) == (0, 0, 1)
    assert _current(session, site) == (6.8, 120, "form", 2)
    # a dry run says the same
    preview = ingest(
        session, admin, [records_frame([item(site, value=7.8, n=50)])], default_source="qms",
        dry_run=True,
    )  # fmt: skip
    session.rollback()
    assert (preview.corrected, preview.unchanged) == (0, 1)
    # another source sending that old value is a correction
    other = put(admin, [item(site, value=7.8, n=50)], source="api")
    assert other.corrected == 1
    assert _current(session, site) == (7.8, 50, "api", 3)
    # the feed sending a new value for the day is a correction too
    newer = put(admin, [item(site, value=8.0, n=55)], source="qms")
    assert newer.corrected == 1
    assert _current(session, site) == (8.0, 55, "qms", 4)
    # and from then on what the feed sent last is 8.0, no longer 7.8
    put(admin, [item(site, value=6.0, n=10)], source="form")
    assert put(admin, [item(site, value=7.8, n=50)], source="qms").corrected == 1
    assert [(r[0], r[1], r[2]) for r in _history(session)] == [
        (1, "qms", 7.8),
        (2, "form", 6.8),
        (3, "api", 7.8),
        (4, "qms", 8.0),
        (5, "form", 6.0),
    ]
    _assert_rollups_match(session)


def test_the_same_value_from_another_source_is_unchanged(session, admin):
    site = make_site("ARA-001")
    put(admin, [item(site, value=7.8, n=50)], source="qms")
    same = put(admin, [item(site, value=7.8, n=50)], source="api")
    assert (same.corrected, same.unchanged) == (0, 1)
    assert _current(session, site) == (7.8, 50, "qms", 1)


def test_one_batch_may_not_give_two_values_for_one_day_even_from_two_sources(session, admin):
    site = make_site("ARA-001")
    with pytest.raises(IntakeRejected) as rejected:
        put(admin, [item(site, source="qms"), item(site, value=8, source="api")])
    assert [(e.row, e.field, e.message) for e in rejected.value.errors] == [
        (1, "date", "Same site, KPI and date as row 0: keep one of them.")
    ]
    assert _count(session, Measurement) == 0
