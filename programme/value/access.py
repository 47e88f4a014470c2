"""Value drivers and stage gates: the programme office and finance work on the whole
network, so a record is checked against the role only (load once, 403 or 404)."""

from __future__ import annotations

from flask import abort
from flask_login import current_user

from programme.auth.permissions import can
from programme.extensions import db
from programme.pilots.models import Package
from programme.value.models import ValueDriver


def _loaded(model, record_id: int, action: str, user):
    user = user if user is not None else current_user
    if not can(user, action):
        abort(403)
    record = db.session.get(model, record_id) if 0 < record_id < 2**31 else None
    if record is None:
        abort(404)
    return record


def get_driver_or_403(driver_id: int, action: str = "manage_value_drivers", user=None):
    """A value driver: 403 unless `user` (default: the current user) may `action`, 404 when
    missing."""
    return _loaded(ValueDriver, driver_id, action, user)


def get_package_or_403(package_id: int, action: str = "move_gates", user=None):
    """A package, for its stage gates: 403 unless `user` may `action`, 404 when missing."""
    return _loaded(Package, package_id, action, user)
