"""The header's navigation per role, and the helpers every page's templates use to ask
what the person may do (`can`) and to name roles and channels."""

from __future__ import annotations

from dataclasses import dataclass

from flask import Flask, request, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from programme.auth.permissions import can
from programme.auth.roles import ROLE_LABELS
from programme.network.models import CHANNELS


@dataclass(frozen=True)
class NavItem:
    endpoint: str
    label: object
    action: str


NAV = (
    NavItem("home.index", _l("Home"), "view_home"),
    NavItem("network.site_list", _l("Sites"), "view_network"),
    NavItem("network.region_list", _l("Regions"), "view_network"),
    NavItem("diagnostics.campaign_list", _l("Diagnostics"), "view_campaigns"),
    NavItem("kpis.kpi_list", _l("KPIs"), "view_kpis"),
    NavItem("feedback.case_list", _l("Customer cases"), "view_cases"),
    NavItem("pilots.pilot_list", _l("Pilots"), "view_pilots"),
    NavItem("deployment.wave_list", _l("Waves"), "view_deployment"),
    NavItem("reports.glance", _l("Reports"), "view_reports"),
    NavItem("value_report.value_page", _l("Value"), "view_value"),
    NavItem("users.user_list", _l("Users"), "manage_users"),
    NavItem("audit.event_list", _l("Audit trail"), "view_audit"),
)


def nav_items() -> list[dict]:
    if not current_user.is_authenticated:
        return []
    items = []
    for item in NAV:
        if can(current_user, item.action):
            url = url_for(item.endpoint)
            current = request.path == url or (url != "/" and request.path.startswith(url))
            items.append({"url": url, "label": item.label, "current": current})
    return items


def register_navigation(app: Flask) -> None:
    @app.context_processor
    def _navigation():
        return {
            "nav_items": nav_items,
            "role_labels": ROLE_LABELS,
            "channel_labels": CHANNELS,
            "can": lambda action: can(current_user, action),
        }
