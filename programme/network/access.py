"""Who sees which sites: the perimeter of a user (whole network, a region, a site), as a
filter on queries (`filter_sites`), a check on one site (`may_see_site`), a loader
(`get_site_or_403`) and the `Scope` of the leadership reports (`scope_for`)."""

from __future__ import annotations

from dataclasses import dataclass

from flask import abort
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import Select, and_, false, or_, select, true
from sqlalchemy.orm import Session

from programme.auth.permissions import WHOLE_NETWORK, can, load_checked
from programme.network.models import Region, Site


def filter_sites(stmt: Select, user) -> Select:
    """Restrict a statement over `Site` to the sites `user` may see."""
    if user.role in WHOLE_NETWORK:
        return stmt
    clauses = []
    if user.site_id:
        clauses.append(Site.id == user.site_id)
    if user.region_id:
        clauses.append(Site.region_id == user.region_id)
    return stmt.where(or_(*clauses) if clauses else false())


def may_see_site(user, site) -> bool:
    if user.role in WHOLE_NETWORK:
        return True
    return site.id == user.site_id or (
        user.region_id is not None and site.region_id == user.region_id
    )


def get_site_or_403(site_id: int, action: str = "view_network", user=None):
    """Load a site, 404 if it does not exist, 403 if `user` (default: the current user) may
    not perform `action` on it. The API passes the token's user."""
    site = load_checked(Site, site_id, action, user)
    user = user if user is not None else current_user
    if not may_see_site(user, site):
        abort(403)
    return site


def get_site_or_404(session: Session, site_id: int) -> Site:
    site = session.get(Site, site_id)
    if site is None:
        abort(404)
    return site


def get_region_or_404(session: Session, region_id: int) -> Region:
    region = session.get(Region, region_id)
    if region is None:
        abort(404)
    return region


# --- the scope of a report ---------------------------------------------------------------


@dataclass(frozen=True)
class Scope:
    """Which part of the network a report covers. `region_id` and `site_ids` both restrict
    (None = no restriction on that axis)."""

    key: str  # "network" | "region:<id>" | "site:<id>" | "wave:<id>"
    label: str
    region_id: int | None
    site_ids: frozenset[int] | None

    @property
    def whole_network(self) -> bool:
        return self.region_id is None and self.site_ids is None


def network_scope() -> Scope:
    return Scope("network", _("Whole network"), None, None)


def region_scope(region: Region) -> Scope:
    return Scope(f"region:{region.id}", region.name, region.id, None)


def scope_for(session: Session, user, region_id: int | None = None) -> Scope:
    """The scope of `user`'s reports: the whole network for whole-network roles (or one
    region when `region_id` is given); a site manager's region, or their site. A region
    outside the user's perimeter is a 403, an unknown region a 404."""
    if region_id is not None:
        region = get_region_or_404(session, region_id)
        if user.role not in WHOLE_NETWORK and user.region_id != region_id:
            abort(403)
        return region_scope(region)
    if user.role in WHOLE_NETWORK:
        return network_scope()
    if user.region_id is not None:
        region = session.get(Region, user.region_id)
        label = region.name if region else ""
        own = session.get(Site, user.site_id) if user.site_id is not None else None
        if own is not None and own.region_id != user.region_id:
            # A regional manager who also manages a site elsewhere: the region plus that site.
            ids = set(session.scalars(select(Site.id).where(Site.region_id == user.region_id)))
            return Scope(
                f"region:{user.region_id}",
                f"{label} + {own.code}",
                None,
                frozenset(ids | {own.id}),
            )
        return Scope(f"region:{user.region_id}", label, user.region_id, None)
    if user.site_id is not None:
        site = session.get(Site, user.site_id)
        label = f"{site.code} – {site.name}" if site else ""
        return Scope(f"site:{user.site_id}", label, None, frozenset({user.site_id}))
    return Scope("site:none", _("No site"), None, frozenset())


def may_open_region(user, region_id: int) -> bool:
    """Whether `user` may open the report of a region (the rule `scope_for` enforces)."""
    if not can(user, "view_reports"):
        return False
    return user.role in WHOLE_NETWORK or user.region_id == region_id


def regions_to_choose(session: Session, user) -> list[tuple[int, str]]:
    """(id, name) of the regions `user` may pick a report for: every region for
    whole-network roles, none otherwise (their scope is fixed)."""
    if user.role not in WHOLE_NETWORK:
        return []
    return [
        tuple(row) for row in session.execute(select(Region.id, Region.name).order_by(Region.name))
    ]


def scope_clause(scope: Scope, site_col=Site.id, region_col=Site.region_id):
    """A WHERE clause restricting `Site` (already joined) to the scope."""
    clauses = []
    if scope.region_id is not None:
        clauses.append(region_col == scope.region_id)
    if scope.site_ids is not None:
        clauses.append(site_col.in_(sorted(scope.site_ids)))
    return and_(*clauses) if clauses else true()


def scope_sites(scope: Scope):
    """A subquery of the ids of the scope's sites."""
    return select(Site.id).where(scope_clause(scope)).scalar_subquery()


def restrict(stmt, site_col, scope: Scope):
    """Restrict `stmt` on a column holding site ids; a no-op for the whole network."""
    if scope.whole_network:
        return stmt
    if scope.region_id is None and scope.site_ids is not None:
        return stmt.where(site_col.in_(sorted(scope.site_ids)))
    return stmt.where(site_col.in_(scope_sites(scope)))
