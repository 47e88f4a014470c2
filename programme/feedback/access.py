"""Which cases a user may see and handle (the records beside the role table).

Admins: every case. A site manager: the cases of their site, and of their region when
they are a regional manager (the perimeter of `filter_sites`). Reassigning: admins, and a
regional manager for the sites of their region."""

from __future__ import annotations

from flask import abort
from flask_login import current_user
from sqlalchemy import Select, select

from programme.auth.permissions import can, load_checked
from programme.auth.roles import ADMIN
from programme.feedback.models import FeedbackCase
from programme.network.access import filter_sites, may_see_site
from programme.network.models import Site


def filter_cases(stmt: Select, user) -> Select:
    """Restrict a statement over FeedbackCase to the cases `user` may see."""
    if not can(user, "view_cases"):
        return stmt.where(FeedbackCase.id.is_(None))
    if user.role == ADMIN:
        return stmt
    visible = filter_sites(select(Site.id), user)
    return stmt.where(FeedbackCase.site_id.in_(visible.scalar_subquery()))


def may_handle_case(user, case: FeedbackCase) -> bool:
    if not can(user, "handle_cases"):
        return False
    return user.role == ADMIN or may_see_site(user, case.site)


def may_reassign_case(user, case: FeedbackCase) -> bool:
    if not can(user, "reassign_cases"):
        return False
    if user.role == ADMIN:
        return True
    return user.region_id is not None and case.site.region_id == user.region_id


def get_case_or_403(case_id: int, action: str = "view_cases", user=None) -> FeedbackCase:
    """403 unless `user` (default: the current user) may `action`, 404 when missing, 403
    outside the user's perimeter (or, to reassign, their region). The API passes its user."""
    case = load_checked(FeedbackCase, case_id, action, user)
    user = user if user is not None else current_user
    if not (user.role == ADMIN or may_see_site(user, case.site)):
        abort(403)
    if action == "reassign_cases" and not may_reassign_case(user, case):
        abort(403)
    return case
