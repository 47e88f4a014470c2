"""One mechanism records who changed what and when, for every audited model."""

from __future__ import annotations

from sqlalchemy import select

from programme.audit import AuditEvent, acting_as
from programme.network.models import Site
from programme.network.services import save_site
from tests.factories import make_user


def _events(session, entity):
    return session.scalars(
        select(AuditEvent).where(AuditEvent.entity == entity).order_by(AuditEvent.id)
    ).all()


def test_create_update_delete_are_recorded_with_old_and_new_values(session):
    with acting_as("tester@example.org"):
        site = save_site(
            session,
            {"code": "lyo-01", "name": "Agence Lyon", "type": "branch", "region": "Sud"},
            create_region=True,
        )
        session.commit()
        site.name = "Agence Lyon Bellecour"
        session.commit()
        session.delete(site)
        session.commit()
    events = _events(session, "site")
    assert [e.action for e in events] == ["create", "update", "delete"]
    created, updated, deleted = events
    assert created.actor == "tester@example.org"
    assert created.changes["code"] == [None, "LYO-01"]
    assert updated.changes == {"name": ["Agence Lyon", "Agence Lyon Bellecour"]}
    assert deleted.changes["name"] == ["Agence Lyon Bellecour", None]
    assert created.entity_id == updated.entity_id == deleted.entity_id == str(site.id)


def test_an_unchanged_save_records_nothing(session):
    raw = {"code": "LYO-02", "name": "Agence", "type": "branch", "region": "Sud"}
    site = save_site(session, raw, create_region=True)
    session.commit()
    before = len(_events(session, "site"))
    save_site(session, raw, site)
    session.commit()
    assert len(_events(session, "site")) == before


def test_password_hashes_never_reach_the_audit_trail(session):
    user = make_user("coach")
    user.password_hash = "new-hash-value"
    session.commit()
    events = _events(session, "user")
    assert events[-1].changes["password_hash"] == ["••••", "••••"]
    assert all("new-hash-value" not in str(e.changes) for e in events)


def test_changes_in_a_request_are_attributed_to_the_logged_in_user(app, client, session):
    from tests.factories import login_as, make_region

    admin = make_user("admin", email="office@example.org")
    region = make_region("Bretagne")
    login_as(client, admin)
    r = client.post(
        "/sites/new",
        data={
            "code": "BRE-900",
            "name": "Agence Brest",
            "type": "branch",
            "region": region.name,
            "country": "FR",
            "time_zone": "Europe/Paris",
            "operator": "internal",
            "channels": ["in_person"],
        },
    )
    assert r.status_code == 302
    site = session.scalar(select(Site).where(Site.code == "BRE-900"))
    event = session.scalar(
        select(AuditEvent).where(AuditEvent.entity == "site", AuditEvent.entity_id == str(site.id))
    )
    assert event.actor == "office@example.org"
    assert event.user_id == admin.id
