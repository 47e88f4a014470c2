"""Demo measurements: two years of daily WAIT, CONV and CSAT for every demo site (and
PICKUP for call centres), the daily volume as a count KPI (CONTACTS handled by call centres,
VISITS — customers received — elsewhere: the same customers as the other KPIs' n), with weekly seasonality, a slow trend, noise, gaps (missed days
and a few outages) and a few corrections — all through the intake pipeline's bulk path."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from programme.auth.models import User
from programme.demo.plan import FIRST_PILOT_SITES, go_lives
from programme.kpis.intake import ingest, records_frame
from programme.kpis.models import Measurement
from programme.kpis.services import assign_site, ensure_default_kpis
from programme.network.models import Site

SOURCE = "demo-seed"
DAYS = 730
# Sites the demo pilot team member may enter measurements for.
PILOT_SITES = ("IDF-001", "IDF-002", "ARA-001", "CC-LIL")
# Monday … Sunday: busier on Saturdays and Mondays, quiet on Sundays.
WAIT_BY_WEEKDAY = np.array([1.25, 0.95, 0.9, 0.95, 1.05, 1.4, 0.6])
VOLUME_BY_WEEKDAY = np.array([1.2, 1.0, 0.95, 1.0, 1.1, 1.3, 0.4])
# The first demo pilot's planted improvement: waiting time −25 % at its four pilot sites
# during its 12-week pilot period (see programme/demo/pilots.py), and the same −25 % at
# every site its package was deployed to, from the site's go-live (programme/demo/plan.py):
# the pilot and the roll-out tell one story.
PLANTED_SITES = FIRST_PILOT_SITES
PLANTED_FACTOR = 0.75
PILOT_WEEKS = 12


def demo_periods(end: date) -> tuple[date, date, date, date]:
    """(baseline start, baseline end, pilot start, pilot end) of the demo pilots: 12 whole
    ISO weeks of pilot ending on the last Sunday of the data, after 12 weeks of baseline."""
    pilot_end = end - timedelta(days=(end.weekday() + 1) % 7)
    pilot_start = pilot_end - timedelta(weeks=PILOT_WEEKS) + timedelta(days=1)
    baseline_end = pilot_start - timedelta(days=1)
    baseline_start = pilot_start - timedelta(weeks=PILOT_WEEKS)
    return baseline_start, baseline_end, pilot_start, pilot_end


def _frames(
    sites: list[tuple[str, str]], end: date, deployed: dict[str, date] | None = None
) -> list[pd.DataFrame]:
    """`deployed`: site code → go-live of its wave (the package's effect from then on)."""
    deployed = deployed or {}
    rnd = np.random.default_rng(20261123)
    days = pd.date_range(end - timedelta(days=DAYS - 1), end, freq="D")
    weekday = days.day_of_week.to_numpy()
    trend = np.linspace(0, 1, len(days))
    _bs, _be, pilot_start, pilot_end = demo_periods(end)
    in_pilot = (days >= pd.Timestamp(pilot_start)) & (days <= pd.Timestamp(pilot_end))
    frames = []
    for code, site_type in sites:
        level = rnd.uniform(0.8, 1.3)
        present = rnd.random(len(days)) > 0.03  # ~3 % of days missing
        if rnd.random() < 0.15:  # an outage of one to three weeks
            start = rnd.integers(0, len(days) - 21)
            present[start : start + rnd.integers(7, 22)] = False
        volume = np.maximum(5, rnd.poisson(60 * level * VOLUME_BY_WEEKDAY[weekday]))
        wait = np.clip(
            9 * level * WAIT_BY_WEEKDAY[weekday] * (1 - 0.15 * trend)
            + rnd.normal(0, 1.5, len(days)),
            0.5,
            90,
        )
        if code in PLANTED_SITES:
            wait = np.where(in_pilot, wait * PLANTED_FACTOR, wait)
        elif code in deployed:
            wait = np.where(days >= pd.Timestamp(deployed[code]), wait * PLANTED_FACTOR, wait)
        conv = np.clip(
            0.22 + 0.04 * trend - 0.02 * (weekday == 5) + rnd.normal(0, 0.03, len(days)), 0, 1
        )
        csat = np.clip(3.8 + 0.25 * trend + rnd.normal(0, 0.2, len(days)), 1, 5)
        series = {"WAIT": (wait, 2), "CONV": (conv, 3), "CSAT": (csat, 2)}
        if site_type == "call_centre":
            series["PICKUP"] = (
                np.clip(0.9 + 0.05 * trend + rnd.normal(0, 0.02, len(days)), 0, 1),
                3,
            )
            volume = volume * 8
        iso = days.strftime("%Y-%m-%d").to_numpy()
        for kpi, (values, digits) in series.items():
            frames.append(
                pd.DataFrame(
                    {
                        "site": code,
                        "kpi": kpi,
                        "date": iso[present],
                        "value": np.round(values[present], digits).astype(str),
                        "n": volume[present].astype(str),
                    }
                )
            )
        # the volume itself, a count KPI (its n is 1: a count is its own sample)
        frames.append(
            pd.DataFrame(
                {
                    "site": code,
                    "kpi": "CONTACTS" if site_type == "call_centre" else "VISITS",
                    "date": iso[present],
                    "value": volume[present].astype(str),
                    "n": "1",
                }
            )
        )
    return frames


def seed_measurements(session: Session) -> dict:
    """Idempotent: skipped when the demo measurements are already there."""
    ensure_default_kpis(session)
    admin = session.scalar(select(User).where(User.role == "admin").order_by(User.id))
    pilot = session.scalar(select(User).where(User.role == "pilot_team").order_by(User.id))
    if pilot is not None:
        for code in PILOT_SITES:
            site_id = session.scalar(select(Site.id).where(Site.code == code))
            if site_id:
                assign_site(session, pilot.id, site_id)
    if admin is None:
        return {"created": 0, "corrected": 0}
    if session.scalar(select(Measurement.id).where(Measurement.source == SOURCE).limit(1)):
        return {"created": 0, "corrected": 0}
    sites = session.execute(select(Site.code, Site.type).order_by(Site.code)).all()
    end = date.today() - timedelta(days=1)
    deployed = go_lives(session, end + timedelta(days=1))  # the deployment seed's "today"
    frame = pd.concat(_frames(list(sites), end, deployed), ignore_index=True)
    frame.insert(0, "line", np.arange(2, len(frame) + 2))
    chunks = (frame.iloc[i : i + 100_000] for i in range(0, len(frame), 100_000))
    created = ingest(session, admin, chunks, default_source=SOURCE, label="seed-demo").created
    # A few corrections, so that history pages have something to show.
    fixes = []
    for offset, code in enumerate(("IDF-001", "ARA-001", "BRE-001")):
        day = (end - timedelta(days=10 + offset)).isoformat()
        fixes.append({"site": code, "kpi": "WAIT", "date": day, "value": 12.5 + offset, "n": 80})
    corrected = ingest(
        session,
        admin,
        [records_frame(fixes)],
        default_source=SOURCE,
        label="seed-demo corrections",
        reason="Export QMS re-sent after a clock error",
    ).corrected
    return {"created": created, "corrected": corrected}
