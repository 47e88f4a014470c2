"""Value drivers and stage gates: the programme office and finance work on the whole
network, so a record is checked against the role only (load once, 403 or 404)."""

from __future__ import annotations

from programme.auth.permissions import load_checked
from programme.pilots.models import Package
from programme.value.models import ValueDriver


def get_driver_or_403(driver_id: int, action: str = "manage_value_drivers", user=None):
    """A value driver: 403 unless `user` (default: the current user) may `action`, 404 when
    missing."""
    return load_checked(ValueDriver, driver_id, action, user)


def get_package_or_403(package_id: int, action: str = "move_gates", user=None):
    """A package, for its stage gates: 403 unless `user` may `action`, 404 when missing."""
    return load_checked(Package, package_id, action, user)
