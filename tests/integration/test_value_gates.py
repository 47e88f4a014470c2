"""Stage gates L0–L5 of a package (issue 18): one move with a comment, kept in the history
and audited; a skipped gate or a move backwards needs a reason; L5 is finance's, with
evidence, and needs an effect interval excluding 0 or a recorded reason."""

from __future__ import annotations

import pytest
from flask_babel import force_locale
from sqlalchemy import func, select

from programme.audit import AuditEvent
from programme.database import utcnow
from programme.errors import Invalid
from programme.extensions import db
from programme.pilots.models import Package
from programme.value import services
from programme.value.models import GateMove
from tests.factories import make_user


@pytest.fixture
def package(session):
    now = utcnow()
    package = Package(name="Accueil fluide", created_at=now, updated_at=now)
    session.add(package)
    session.commit()
    return package


def _refused(call) -> dict:
    with force_locale("en"), pytest.raises(Invalid) as refused:
        call()
    db.session.rollback()
    return {e.field: e.message for e in refused.value.errors}


def test_gates_move_one_step_at_a_time_with_a_comment_and_history(session, package):
    admin = make_user("admin")
    assert services.current_gate(session, package.id) == "L0"
    for gate in ("L1", "L2", "L3"):
        services.move_gate(session, admin, package, gate, f"to {gate}")
        session.commit()
    assert services.current_gate(session, package.id) == "L3"
    assert [(m.from_gate, m.to_gate) for m in services.gate_history(session, package.id)] == [
        ("L0", "L1"),
        ("L1", "L2"),
        ("L2", "L3"),
    ]
    assert services.planned_is_frozen(session, package.id)
    assert (
        session.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.entity == "value_gate_move")
        )
        == 3
    )


def test_skip_back_and_missing_comment_are_refused_and_nothing_saved(session, package):
    admin = make_user("admin")
    errors = _refused(lambda: services.move_gate(session, admin, package, "L3", "fast"))
    assert errors == {"reason": "Skipping from L0 to L3 needs a reason."}
    errors = _refused(lambda: services.move_gate(session, admin, package, "L1", " "))
    assert errors == {"comment": "Say in a comment why the gate moves."}
    assert session.scalar(select(func.count()).select_from(GateMove)) == 0
    services.move_gate(session, admin, package, "L3", "fast", reason="pilot already validated")
    session.commit()
    errors = _refused(lambda: services.move_gate(session, admin, package, "L2", "oops"))
    assert errors == {"reason": "Moving back from L3 to L2 needs a reason."}
    assert services.planned_is_frozen(session, package.id)  # still frozen at L3


def test_l5_is_signed_off_by_finance_with_evidence_and_a_clear_effect_or_a_reason(session, package):
    admin, finance = make_user("admin"), make_user("finance")
    services.move_gate(session, admin, package, "L4", "deploying", reason="waves planned")
    session.commit()
    errors = _refused(
        lambda: services.move_gate(session, admin, package, "L5", "ok", evidence="memo", effect_excludes_zero=True)
    )  # fmt: skip
    assert errors == {"to": "Only the management controller (finance) signs off L5."}
    errors = _refused(lambda: services.move_gate(session, finance, package, "L5", "ok", effect_excludes_zero=True))  # fmt: skip
    assert errors == {"evidence": "Signing off L5 needs the evidence (a document or a link)."}
    errors = _refused(
        lambda: services.move_gate(session, finance, package, "L5", "ok", evidence="memo", effect_excludes_zero=False)
    )  # fmt: skip
    assert list(errors) == ["reason"]
    assert services.current_gate(session, package.id) == "L4"
    services.move_gate(session, finance, package, "L5", "confirmed", evidence="https://ged/memo-42", effect_excludes_zero=True)  # fmt: skip
    session.commit()
    last = services.gate_history(session, package.id)[-1]
    assert (last.to_gate, last.evidence, last.moved_by_id) == (
        "L5",
        "https://ged/memo-42",
        finance.id,
    )
