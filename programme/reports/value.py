"""Value read with the deployment impact (issue 18): what needs programme/reports/impact.py
sits here, in the reports layer (value → reports, never the other way round)."""

from __future__ import annotations

from programme.pilots.models import Package
from programme.reports import impact
from programme.value import services


def effect_excludes_zero(session, package: Package) -> bool:
    """True when the deployment impact of at least one of the package's valued KPIs has a
    95 % interval that excludes 0 (default window)."""
    for driver in services.drivers(session, package.id):
        result = impact.compute_impact(
            session, driver.kpi.code, package.id, with_regions=False, with_chart=False
        )
        if result.clear_effect:
            return True
    return False
