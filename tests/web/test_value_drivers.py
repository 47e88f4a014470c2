"""Value drivers through the screens (issue 18): finance creates and edits one; bad input
comes back 422 with the field's message in the user's language and nothing is saved."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from programme.audit import AuditEvent
from programme.value.models import ValueDriver
from tests.factories import login_as, make_region, make_site, make_user
from tests.kpi_factories import default_kpis
from tests.web.helpers import page
from tests.web.value_matrix import driver_form, package_id


class W:
    site_id = other_site_id = None


@pytest.fixture
def finance(session):
    default_kpis()
    region = make_region("Bretagne")
    W.site_id = make_site("BRE-001", region).id
    W.other_site_id = make_site("BRE-002", region).id
    return make_user("finance")


def _count(session):
    return session.scalar(select(func.count()).select_from(ValueDriver))


def test_finance_sets_a_driver_and_edits_it(client, session, finance):
    login_as(client, finance)
    form = driver_form(W)
    response = client.post("/value/drivers/new", data=form)
    assert response.status_code == 302 and response.headers["Location"].endswith("/value/drivers")
    driver = session.scalar(select(ValueDriver))
    assert (driver.kpi.code, driver.volume_kpi.code, driver.lever) == ("FCR", "CONTACTS", "cost")
    assert (driver.unit_low, driver.unit_most_likely, driver.unit_high) == (3.5, 4.2, 5.0)
    listing = page(client.get("/value/drivers"))
    assert "FCR" in listing and "4.20 €" in listing and "Finance 2026" in listing
    edited = client.post(
        f"/value/drivers/{driver.id}/edit", data={**form, "unit_high": "6,5", "version": "1"}
    )
    assert edited.status_code == 302
    session.refresh(driver)
    assert driver.unit_high == 6.5
    assert (
        session.scalar(
            select(func.count()).select_from(AuditEvent).where(AuditEvent.entity == "value_driver")
        )
        >= 2
    )


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"unit_low": "5", "unit_most_likely": "4.2"}, "unit_low", "The low value must not exceed the most likely value."),
        ({"unit_high": "4"}, "unit_high", "The high value must not be below the most likely value."),
        ({"volume_kpi": "WAIT"}, "volume_kpi", "The volume must be a count KPI (e.g. CONTACTS or VISITS), not WAIT."),
        ({"unit_most_likely": "abc"}, "unit_most_likely", "Not a number."),
        ({"unit_low": ""}, "unit_low", "A financial lever needs a unit value in euros."),
        ({"source": ""}, "source", "Say where the unit value comes from."),
        ({"lever": "gift"}, "lever", "Choose cost, revenue or non-financial."),
        ({"attribution": "1.5"}, "attribution", "The attribution share is a number above 0 and at most 1 (e.g. 0.6)."),
        ({"attribution": "0"}, "attribution", "The attribution share is a number above 0 and at most 1 (e.g. 0.6)."),
        ({"attribution": "moitié"}, "attribution", "Not a number."),
    ],
)  # fmt: skip
def test_bad_driver_input_is_refused_with_its_message_and_nothing_saved(
    client, session, finance, changes, field, message
):
    login_as(client, finance)
    response = client.post("/value/drivers/new", data={**driver_form(W), **changes})
    assert response.status_code == 422
    text = page(response)
    assert message in text
    assert (
        'aria-invalid="true"'
        in text.split(f'id="{field}"')[0][-400:] + text.split(f'id="{field}"')[1][:200]
    )
    assert _count(session) == 0


def test_the_refusal_is_in_french_for_a_french_user(client, session, finance):
    finance.language = "fr"
    session.commit()
    login_as(client, finance)
    response = client.post("/value/drivers/new", data={**driver_form(W), "unit_high": "4"})
    assert response.status_code == 422
    assert "La valeur haute ne peut pas être inférieure à la valeur la plus probable." in page(
        response
    )
    assert _count(session) == 0


def test_a_non_financial_lever_needs_no_money(client, session, finance):
    login_as(client, finance)
    form = {**driver_form(W), "kpi": "WAIT", "lever": "none", "unit_low": "", "unit_most_likely": "", "unit_high": "", "source": ""}  # fmt: skip
    assert client.post("/value/drivers/new", data=form).status_code == 302
    driver = session.scalar(select(ValueDriver))
    assert not driver.financial and driver.unit_most_likely is None
    assert "no money: effect and volume only" in page(client.get("/value/drivers"))


def test_package_fixture_is_reused(session, finance):
    assert package_id(W) > 0


def test_gate_page_moves_one_step_and_refuses_a_skip_without_reason(client, session, finance):
    login_as(client, finance)
    pid = package_id(W)
    url = f"/value/packages/{pid}/gate"
    assert "Current gate: L0 – idea (irritants)." in page(client.get(url))
    skipped = client.post(url, data={"to": "L3", "comment": "fast"})
    assert skipped.status_code == 422
    assert "Skipping from L0 to L3 needs a reason." in page(skipped)
    moved = client.post(url, data={"to": "L1", "comment": "pilot designed"})
    assert moved.status_code == 302
    text = page(client.get(url))
    assert "Current gate: L1 – pilot designed." in text
    # the history names the gates, never their bare codes
    assert "<td>L0 – idea (irritants)</td><td>L1 – pilot designed</td>" in text
    # L5 without a clear effect (no waves, no impact) and without a reason: refused
    client.post(url, data={"to": "L4", "comment": "go", "reason": "waves already running"})
    refused = client.post(url, data={"to": "L5", "comment": "done", "evidence": "memo"})
    assert refused.status_code == 422
    assert "record the reason for confirming the value" in page(refused)


def test_editing_a_frozen_driver_is_409_with_the_reason_and_nothing_saved(client, session, finance):
    from programme.pilots.models import Package
    from programme.value import services

    login_as(client, finance)
    form = driver_form(W)
    assert client.post("/value/drivers/new", data=form).status_code == 302
    driver = session.scalar(select(ValueDriver))
    admin = make_user("admin")
    package = session.get(Package, driver.package_id)
    for gate in ("L1", "L2", "L3"):
        services.move_gate(session, admin, package, gate, f"to {gate}")
    session.commit()
    response = client.post(
        f"/value/drivers/{driver.id}/edit",
        data={**form, "unit_most_likely": "4.5", "version": str(driver.version)},
    )
    assert response.status_code == 409
    assert "frozen since gate L3" in page(response)
    session.refresh(driver)
    assert driver.unit_most_likely == 4.2
