"""Diagnostic campaigns, sessions and irritants: who records, who leads, who reads."""

from __future__ import annotations

from flask import abort
from flask_login import current_user

from programme.auth.permissions import can, load_checked
from programme.auth.roles import ADMIN, DIAGNOSTICIAN
from programme.diagnostics.models import Campaign, Irritant, ObservationSession
from programme.network.access import get_site_or_403, may_see_site


def may_work_in_campaign(user, campaign) -> bool:
    """Recording in a campaign (sessions, determinants, customer voice, irritants): admins
    always; diagnosticians while the campaign is not complete."""
    if user.role == ADMIN:
        return True
    return user.role == DIAGNOSTICIAN and not campaign.completed


def may_lead_campaign(user, campaign) -> bool:
    """The synthesis and the completion belong to the campaign's lead (and admins)."""
    if user.role == ADMIN:
        return True
    return user.role == DIAGNOSTICIAN and campaign.lead_id == user.id and not campaign.completed


def may_edit_observation(user, observation) -> bool:
    """Diagnosticians edit only their own sessions, while the campaign is open."""
    if user.role == ADMIN:
        return True
    return (
        user.role == DIAGNOSTICIAN
        and observation.observer_id == user.id
        and not observation.campaign.completed
    )


CAMPAIGN_WORK = frozenset(
    {"record_sessions", "assess_determinants", "record_customer_voice", "manage_irritants"}
)
CAMPAIGN_LEAD = frozenset({"edit_synthesis", "complete_campaign"})


def may_in_campaign(user, campaign, action: str) -> bool:
    """The role may `action`, and the campaign allows it: recording needs
    `may_work_in_campaign`, the synthesis and the completion `may_lead_campaign`."""
    if not can(user, action):
        return False
    if action in CAMPAIGN_WORK:
        return may_work_in_campaign(user, campaign)
    if action in CAMPAIGN_LEAD:
        return may_lead_campaign(user, campaign)
    return True


def get_campaign_or_403(campaign_id: int, action: str, user=None):
    campaign = load_checked(Campaign, campaign_id, action, user)
    user = user if user is not None else current_user
    if not may_in_campaign(user, campaign, action):
        abort(403)
    return campaign


def get_campaign_site_or_403(campaign_id: int, site_id: int, action: str):
    """A site sampled by the campaign: 404 unless it is one of the campaign's sites."""
    campaign = get_campaign_or_403(campaign_id, action)
    site = get_site_or_403(site_id, action)
    if site not in campaign.sites:
        abort(404)
    return campaign, site


def get_observation_or_403(observation_id: int, action: str = "view_diagnostics", user=None):
    """A session of a site the user may see; editing it needs `may_edit_observation`."""
    observation = load_checked(ObservationSession, observation_id, action, user)
    user = user if user is not None else current_user
    if not may_see_site(user, observation.site):
        abort(403)
    if action == "record_sessions" and not may_edit_observation(user, observation):
        abort(403)
    return observation


def get_irritant_or_403(irritant_id: int, action: str, user=None):
    irritant = load_checked(Irritant, irritant_id, action, user)
    user = user if user is not None else current_user
    if not may_in_campaign(user, irritant.campaign, action):
        abort(403)
    return irritant
