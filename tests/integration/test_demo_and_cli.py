"""The demo network and the command-line contract newcomers and CI rely on."""

from __future__ import annotations

from sqlalchemy import func, select

from programme.auth.models import User
from programme.auth.services import authenticate
from programme.kpis.models import Kpi, Measurement
from programme.network.models import Region, Site


def test_seed_demo_builds_the_network_and_is_idempotent(app, session):
    runner = app.test_cli_runner()
    first = runner.invoke(args=["seed-demo"])
    assert first.exit_code == 0, first.output
    sites = session.scalar(select(func.count(Site.id)))
    assert 110 <= sites <= 130
    assert session.scalar(select(func.count(Region.id))) == 8
    call_centres = session.scalars(select(Site).where(Site.type == "call_centre")).all()
    assert len(call_centres) == 3
    abroad = [s for s in call_centres if s.operator == "outsourced"]
    assert len(abroad) == 1 and abroad[0].country != "FR" and abroad[0].provider
    assert session.scalar(select(func.count(Site.id)).where(Site.type == "visa_centre")) == 2
    # the volumes are count KPIs: CONTACTS at call centres, VISITS elsewhere, n = 1
    volumes = session.execute(
        select(Kpi.code, func.count(func.distinct(Measurement.site_id)), func.max(Measurement.n))
        .join(Measurement, Measurement.kpi_id == Kpi.id)
        .where(Kpi.kind == "count")
        .group_by(Kpi.code)
    ).all()
    assert {code: (count, n) for code, count, n in volumes} == {
        "CONTACTS": (3, 1),
        "VISITS": (sites - 3, 1),
    }
    roles = set(session.scalars(select(User.role)))
    assert roles == {
        "admin",
        "diagnostician",
        "pilot_team",
        "coach",
        "site_manager",
        "executive",
        "finance",
    }

    second = runner.invoke(args=["seed-demo"])
    assert second.exit_code == 0, second.output
    assert "0 created, 0 updated" in second.output
    assert session.scalar(select(func.count(Site.id))) == sites

    third = runner.invoke(args=["seed-demo", "--if-empty"])
    assert "not seeded" in third.output


def test_create_user_reads_the_password_twice_from_stdin(app, session):
    runner = app.test_cli_runner()
    result = runner.invoke(
        args=["create-user", "Coach@Example.org", "--role", "coach"],
        input="Sturdy-Password-1\nSturdy-Password-1\n",
    )
    assert result.exit_code == 0, result.output
    user = authenticate(session, "coach@example.org", "Sturdy-Password-1")
    assert user is not None and user.role == "coach"


def test_create_user_refuses_bad_input(app, session):
    runner = app.test_cli_runner()
    bad_role = runner.invoke(
        args=["create-user", "a@example.org", "--role", "ceo"], input="Sturdy-Password-1\n"
    )
    assert bad_role.exit_code != 0 and "Unknown role" in bad_role.output
    mismatch = runner.invoke(
        args=["create-user", "b@example.org", "--role", "coach"],
        input="Sturdy-Password-1\nOther-Password-2\n",
    )
    assert mismatch.exit_code != 0 and "differ" in mismatch.output
    short = runner.invoke(
        args=["create-user", "c@example.org", "--role", "coach"], input="short\nshort\n"
    )
    assert short.exit_code != 0 and "at least 10" in short.output
    assert session.scalar(select(func.count(User.id))) == 0


def test_role_identifiers_accept_dashes(app, session):
    runner = app.test_cli_runner()
    result = runner.invoke(
        args=["create-user", "p@example.org", "--role", "pilot-team"],
        input="Sturdy-Password-1\nSturdy-Password-1\n",
    )
    assert result.exit_code == 0, result.output
    assert session.scalar(select(User.role)) == "pilot_team"
