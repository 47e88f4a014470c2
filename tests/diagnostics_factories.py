"""Test data for the diagnostics: plain functions, nothing shared between tests."""

from __future__ import annotations

import itertools
from datetime import date, time

from programme.diagnostics.models import (
    JOURNEY_STEPS,
    Campaign,
    Finding,
    Irritant,
    ObservationSession,
)
from programme.extensions import db

_counter = itertools.count(1)


def make_campaign(
    sites=(),
    regions=(),
    site_types=("branch", "shop", "call_centre"),
    channels=("in_person", "phone"),
    start=date(2026, 3, 2),
    end=date(2026, 3, 31),
    lead=None,
    **values,
) -> Campaign:
    campaign = Campaign(
        name=values.pop("name", f"Campagne {next(_counter)}"),
        start_date=start,
        end_date=end,
        lead_id=lead.id if lead else None,
        scope_site_types=list(site_types),
        scope_channels=list(channels),
        journey_steps=values.pop("journey_steps", list(JOURNEY_STEPS)),
        **values,
    )
    campaign.sites = list(sites)
    campaign.regions = list(regions)
    db.session.add(campaign)
    db.session.commit()
    return campaign


def make_observation(
    campaign: Campaign,
    site,
    observer=None,
    channel: str = "in_person",
    interactions: int = 20,
    findings=(),
    observed_on: date | None = None,
) -> ObservationSession:
    """`findings`: dicts with occurrences, severity and optionally irritant, outcome, step."""
    observation = ObservationSession(
        campaign_id=campaign.id,
        site_id=site.id,
        observer_id=observer.id if observer else None,
        observed_on=observed_on or campaign.start_date,
        start_time=time(9, 0),
        end_time=time(11, 0),
        channel=channel,
        interactions=interactions,
    )
    for position, spec in enumerate(findings, start=1):
        irritant = spec.get("irritant")
        observation.findings.append(
            Finding(
                position=position,
                journey_step=spec.get("step", "waiting"),
                description=spec.get("description", f"Constat {position}"),
                outcome=spec.get("outcome", "degraded"),
                cause=spec.get("cause", "ergonomic"),
                severity=spec["severity"],
                occurrences=spec["occurrences"],
                irritant_id=irritant.id if irritant else None,
            )
        )
    db.session.add(observation)
    db.session.commit()
    return observation


def make_irritant(campaign: Campaign, name: str | None = None, **values) -> Irritant:
    irritant = Irritant(
        campaign_id=campaign.id,
        name=name or f"Irritant {next(_counter)}",
        stakes=values.pop("stakes", []),
        determinants=values.pop("determinants", []),
        **values,
    )
    db.session.add(irritant)
    db.session.commit()
    return irritant
