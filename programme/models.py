"""Imports every domain's models so the metadata (and Alembic) sees them all."""

from programme.audit import AuditEvent  # noqa: F401
from programme.auth.models import User  # noqa: F401
from programme.network.models import Person, Region, Site  # noqa: F401
