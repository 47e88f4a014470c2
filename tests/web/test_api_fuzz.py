"""A bounded property-based fuzz of /api/v1 from its own OpenAPI document (schemathesis).

Valid and invalid requests are generated for every operation, sent with an admin's token,
and every answer must: not be a 500, match the documented status codes and schemas, and
refuse invalid data with a 4xx. About a minute in all (FUZZ_EXAMPLES per operation and
mode); a longer run: `API_FUZZ_EXAMPLES=500 pytest tests/web/test_api_fuzz.py`."""

from __future__ import annotations

import os

import pytest
import schemathesis
import schemathesis.specs.openapi.checks  # noqa: F401  (registers the OpenAPI checks)
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import CHECKS as REGISTERED_CHECKS
from schemathesis.generation import GenerationMode

from programme.api.tokens import create_token
from programme.extensions import db
from tests.deployment_factories import make_package, make_wave
from tests.factories import make_user
from tests.pilot_factories import make_pilot, measured_sites

FUZZ_EXAMPLES = int(os.environ.get("API_FUZZ_EXAMPLES", "30"))
# Every check schemathesis has (no 500, documented statuses, content types, headers and
# schemas, invalid data and invalid credentials refused, 405 with Allow, ...) except
# positive_data_acceptance: a schema-valid body may still name an unknown site or KPI, or
# a future date, which the domain refuses with 422 (documented).
CHECKS = [
    check
    for check in REGISTERED_CHECKS.get_all()
    if check.__name__ not in {"positive_data_acceptance"}
]
assert {"not_a_server_error", "negative_data_rejection", "response_schema_conformance"} <= {
    check.__name__ for check in CHECKS
}


@pytest.fixture
def admin_headers(app):
    """A small network (sites, KPIs, measurements, a pilot, a package and its wave) and an
    admin's token; the rate limit is lifted for the run. No application context is kept
    open, so each request gets its own, as in production."""
    with app.app_context():
        admin = make_user("admin")
        sites = measured_sites(admin)
        make_pilot(admin)
        make_wave(make_package(), [sites["OTH-1"], sites["CTL-1"]])
        _row, token = create_token(db.session, admin, "fuzz")
        db.session.commit()
        db.session.remove()
    names = ("API_RATE_LIMIT", "API_ANONYMOUS_RATE_LIMIT")
    previous = {name: app.config.get(name) for name in names}
    app.config.update(dict.fromkeys(names, "1000000 per minute"))
    yield {"Authorization": f"Bearer {token}"}
    app.config.update(previous)


def test_the_api_holds_to_its_document(app, admin_headers):
    # The schema is loaded from the running app (schemathesis' pytest plugin, whose lazy
    # loader needs pytest < 9, is not used: each operation and mode runs here).
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    # The admin's token on every call, never a generated Authorization header.
    schema.config.generation.update(with_security_parameters=False)
    # Invalid data is refused with a 4xx; more than 10,000 items is refused with 413.
    rejection = schema.config.checks.negative_data_rejection
    rejection.expected_statuses = [*rejection.expected_statuses, "413"]
    failures: list[str] = []
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 14
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @given(case=operation.as_strategy(generation_mode=mode))
            @settings(
                max_examples=FUZZ_EXAMPLES,
                deadline=None,
                database=None,
                derandomize=True,
                phases=[Phase.explicit, Phase.generate],
                suppress_health_check=list(HealthCheck),
            )
            def run(case):
                case.call_and_validate(headers=admin_headers, checks=CHECKS)

            try:
                run()
            except Unsatisfiable:  # nothing to make invalid (no parameters, no body)
                continue
            except Exception as failure:  # noqa: BLE001  (every operation is reported)
                failures.append(f"{operation.label} ({mode.value}): {failure}")
    assert not failures, "\n\n".join(failures)
