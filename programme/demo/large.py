"""The reference large network: `flask --app app seed-demo --scale large`.

2,000 sites in 12 regions, 5 KPIs measured daily for 3 years (≈ 10.8 M measurements: WAIT,
CONV, CSAT, FCR and the volume CONTACTS, a count KPI), a
diagnostic campaign on ~100 sites, two pilots (one decided "go" with its package), 60
coaches and 10 waves of ~150 sites rolling the package out. It is the dataset the
leadership reports are benchmarked on (benchmarks/report_pages.py), so it is built for
speed: numpy generates the series SERIES_BLOCK sites at a time (memory does not grow with
the network), the measurements go in through the raw DBAPI connection as each block is
generated (executemany in key order on SQLite, one binary COPY packed by numpy on
PostgreSQL) and the weekly rollups are built once afterwards by one INSERT … SELECT …
GROUP BY (programme.kpis.services.rebuild_rollups). `--scale xlarge` (five times the
network, ≈ 54 M measurements) is refused on SQLite.

A known effect is planted so that the deployment impact can be checked against it: from
its go-live, a deployed site's waiting time falls by PLANTED_WAIT_EFFECT minutes and its
conversion rate rises by PLANTED_CONV_EFFECT (both additive, on every day after the
go-live; the first pilot's pilot sites carry the same effect during the pilot period).
Nothing else differs between deployed and other sites.

Everything is parameterisable (sites, days, waves, coaches) so tests run it at a tiny
scale; only an empty, migrated database is accepted."""

from __future__ import annotations

import time
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock

import numpy as np
from sqlalchemy import insert, inspect, select, text
from sqlalchemy.orm import Session

from programme.audit import record_event
from programme.auth.models import User
from programme.database import utcnow
from programme.demo.diagnostics import ASPIRATION, EVIDENCE, IRRITANTS, QUOTES, STAKES_TEXT
from programme.demo.network import FIRST_NAMES, LAST_NAMES
from programme.demo.network import REGIONS as DEMO_REGIONS
from programme.demo.pilots import PACKAGE_ELEMENTS
from programme.deployment.models import (
    DEFAULT_MILESTONES,
    STABILISATION_DAYS,
    Assignment,
    ChecklistItem,
    Coach,
    CoachTraining,
    Engagement,
    Milestone,
    ProgressEvent,
    Visit,
    Wave,
    WaveSite,
    coach_region,
)
from programme.diagnostics.models import (
    DETERMINANTS,
    JOURNEY_STEPS,
    Campaign,
    DeterminantAssessment,
    Finding,
    Irritant,
    ObservationSession,
    SurveyScore,
    Verbatim,
    campaign_site,
)
from programme.kpis.models import Kpi, Measurement
from programme.kpis.services import ensure_default_kpis, rebuild_rollups
from programme.network.models import Person, Site
from programme.network.services import upsert_sites
from programme.pilots import services as pilots

# --- the planted effect (what the impact estimate must recover) ------------------------------
PLANTED_WAIT_EFFECT = -1.5  # minutes of waiting time, from go-live on
PLANTED_CONV_EFFECT = 0.02  # conversion rate (0–1): +2 points, from go-live on
PLANTED = {"WAIT": PLANTED_WAIT_EFFECT, "CONV": PLANTED_CONV_EFFECT}

KPIS = ("WAIT", "CONV", "CSAT", "FCR", "CONTACTS")
# count KPIs (volumes): the value is the day's customers, n is 1
COUNT_KPIS = ("CONTACTS",)
SOURCE = "large-seed"
ACTOR = "seed-demo --scale large"
SEED = 20261123

DEFAULT_SITES = 2000
DEFAULT_DAYS = 3 * 365
DEFAULT_WAVES = 10
DEFAULT_COACHES = 60
# Named sizes of `seed-demo --scale …` (each a default that --sites/--days/--waves/--coaches
# override): the reference large network, and five times the network — 10,000
# sites × 5 KPIs × 3 years ≈ 54 M measurements (5 KPIs, with the
# CONTACTS volume), 50 waves of ~150 sites, 300 coaches.
SCALES = {
    "large": {"sites": DEFAULT_SITES, "days": DEFAULT_DAYS, "waves": DEFAULT_WAVES,
              "coaches": DEFAULT_COACHES},
    "xlarge": {"sites": 5 * DEFAULT_SITES, "days": DEFAULT_DAYS, "waves": 5 * DEFAULT_WAVES,
               "coaches": 5 * DEFAULT_COACHES},
}  # fmt: skip
# Scales that only PostgreSQL takes: ≈ 54 M measurements are a server database's job (the
# SQLite file would pass 10 GB and every report would scan it from one process).
POSTGRESQL_ONLY = frozenset({"xlarge"})
DEPLOYED_SHARE = 0.75  # of the sites are in a wave (≈ 1,500 of 2,000: 10 waves of 150)
PREPARATION_WEEKS = 8  # wave start → go-live
COACH_CAPACITY = 4
ANALYZE_FROM_ROWS = 1_000_000  # refresh planner statistics after loads at least this big

FIRST_PILOT = "Accueil au flux — réseau"
SECOND_PILOT = "Conseil augmenté — réseau"
PACKAGE_NAME = "Accueil au flux — paquet réseau"
CAMPAIGN = "Diagnostic réseau — sites témoins"

# Twelve regions: the demo's eight (so the demo accounts find Bretagne and GES-010) and four more.
EXTRA_REGIONS = {
    "Normandie": ("NOR", ["Rouen", "Caen", "Le Havre", "Cherbourg", "Évreux", "Alençon",
                          "Dieppe", "Lisieux", "Saint-Lô", "Fécamp"]),
    "Pays de la Loire": ("PDL", ["Nantes", "Angers", "Le Mans", "Saint-Nazaire", "Cholet",
                                 "Laval", "La Roche-sur-Yon", "Saumur", "Rezé", "Saint-Herblain"]),
    "Centre-Val de Loire": ("CVL", ["Orléans", "Tours", "Bourges", "Blois", "Chartres",
                                    "Châteauroux", "Dreux", "Vierzon", "Joué-lès-Tours", "Montargis"]),
    "Bourgogne-Franche-Comté": ("BFC", ["Dijon", "Besançon", "Belfort", "Chalon-sur-Saône",
                                        "Auxerre", "Mâcon", "Nevers", "Sens", "Montbéliard", "Dole"]),
}  # fmt: skip
QUARTERS = ["Centre", "Gare", "République", "Hôtel de Ville", "Les Halles", "Université",
            "Nord", "Sud", "Est", "Ouest", "Marché", "Port", "Cathédrale", "Zone commerciale",
            "Faubourg", "Liberté", "Jean Jaurès", "Victor Hugo", "Pasteur", "Gambetta"]  # fmt: skip

# Monday … Sunday.
WAIT_BY_WEEKDAY = np.array([1.25, 0.95, 0.9, 0.95, 1.05, 1.4, 0.7])
VOLUME_BY_WEEKDAY = np.array([1.2, 1.0, 0.95, 1.0, 1.1, 1.3, 0.4])
STATES = ("not_started", "in_progress", "in_place", "sustained")


class LargeSeedRefused(RuntimeError):
    """The database is not empty (or not migrated): the large network is not built."""


@dataclass
class Timings:
    """Seconds per step, printed as they happen."""

    echo: Callable[[str], None] = print
    steps: dict[str, float] = field(default_factory=dict)
    _started: float = field(default_factory=time.perf_counter)
    _last: float = field(default_factory=time.perf_counter)

    def done(self, step: str, detail: str = "") -> None:
        now = time.perf_counter()
        self.steps[step] = now - self._last
        self._last = now
        self.echo(f"  {step:<28} {self.steps[step]:7.2f} s  {detail}")

    @property
    def total(self) -> float:
        return time.perf_counter() - self._started


@dataclass(frozen=True)
class Plan:
    """The calendar of the large network, derived from its size and today's date."""

    today: date
    end: date  # last measured day (yesterday)
    start: date  # first measured day
    go_lives: list[date]  # one Monday per wave
    baseline: tuple[date, date]
    pilot: tuple[date, date]
    campaign: tuple[date, date]

    @staticmethod
    def build(today: date, days: int, waves: int) -> Plan:
        end = today - timedelta(days=1)
        start = end - timedelta(days=days - 1)
        this_monday = today - timedelta(days=today.weekday())
        # Go-lives on Mondays from a third into the data (two years ago at full size) to a
        # twelfth of the span ahead (three months), evenly spaced.
        first = start + timedelta(days=days // 3)
        first -= timedelta(days=first.weekday())
        last = this_monday + timedelta(weeks=max(1, round(days / 7 / 12)))
        span_weeks = (last - first).days // 7
        go_lives = [
            first + timedelta(weeks=round(k * span_weeks / max(1, waves - 1))) for k in range(waves)
        ]
        # The pilot that produced the package: 12 + 12 whole ISO weeks at full size, ending
        # a quarter of a year before the first go-live.
        weeks = max(1, min(12, days // 7 // 13))
        pilot_end = first - timedelta(weeks=weeks, days=1)  # a Sunday
        pilot_start = pilot_end - timedelta(weeks=weeks) + timedelta(days=1)
        baseline_start = pilot_start - timedelta(weeks=weeks)
        campaign_start = max(start, baseline_start - timedelta(weeks=weeks))
        return Plan(
            today=today,
            end=end,
            start=start,
            go_lives=go_lives,
            baseline=(baseline_start, pilot_start - timedelta(days=1)),
            pilot=(pilot_start, pilot_end),
            campaign=(campaign_start, campaign_start + timedelta(days=25)),
        )

    def wave_start(self, go_live: date) -> date:
        return go_live - timedelta(weeks=PREPARATION_WEEKS)

    def wave_status(self, go_live: date) -> str:
        """Consistent with the dates: planned → preparing (≤ 8 weeks before its start) →
        deploying (from its start) → stabilising (from go-live) → closed (after review)."""
        start = self.wave_start(go_live)
        if self.today < start:
            return "preparing" if (start - self.today).days <= 56 else "planned"
        if self.today < go_live:
            return "deploying"
        if self.today < go_live + timedelta(days=STABILISATION_DAYS):
            return "stabilising"
        return "closed"


def _ascii(value: str) -> str:
    return unicodedata.normalize("NFKD", value).encode("ascii", "ignore").decode().lower()


def large_site_rows(sites: int) -> list[tuple[int, dict]]:
    """`sites` sites spread over 12 regions: per region two call centres (one outsourced in
    the south), one visa centre, the rest branches and shops (2:1) named after their town
    and quarter. Codes: BRE-001…, CC-BRE-1, VC-BRE."""
    rnd = np.random.default_rng(SEED)
    regions = {**DEMO_REGIONS, **EXTRA_REGIONS}
    per_region = [sites // len(regions) + (1 if r < sites % len(regions) else 0)
                  for r in range(len(regions))]  # fmt: skip
    rows: list[dict] = []
    for (region, (prefix, cities)), count in zip(regions.items(), per_region, strict=True):
        specials = []
        if count >= 12:
            specials = [("call_centre", f"CC-{prefix}-1"), ("call_centre", f"CC-{prefix}-2"),
                        ("visa_centre", f"VC-{prefix}")]  # fmt: skip
        for number in range(1, count - len(specials) + 1):
            city = cities[(number - 1) % len(cities)]
            round_ = (number - 1) // len(cities)
            place = city if round_ == 0 else f"{city} {QUARTERS[(round_ - 1) % len(QUARTERS)]}"
            if round_ > len(QUARTERS):
                place = f"{place} {round_ // len(QUARTERS) + 1}"
            site_type = "branch" if number % 3 else "shop"
            first, last = rnd.choice(FIRST_NAMES), rnd.choice(LAST_NAMES)
            rows.append(
                {
                    "code": f"{prefix}-{number:03d}",
                    "name": f"{'Agence' if site_type == 'branch' else 'Boutique'} {place}",
                    "type": site_type,
                    "region": region,
                    "country": "FR",
                    "city": city,
                    "time_zone": "Europe/Paris",
                    "operator": "internal",
                    "channels": "in_person;phone" if number % 4 == 0 else "in_person",
                    "manager_name": f"{first} {last}",
                    "manager_email": f"{_ascii(first)}.{_ascii(last)}.{prefix.lower()}{number}"
                    "@large-reseau.fr",
                }
            )
        for k, (site_type, code) in enumerate(specials):
            outsourced = site_type == "visa_centre" or (k == 1 and prefix in ("OCC", "PAC"))
            city = cities[0]
            label = "Centre de contacts" if site_type == "call_centre" else "Centre de visas"
            rows.append(
                {
                    "code": code,
                    "name": f"{label} {city}{' 2' if k == 1 else ''}",
                    "type": site_type,
                    "region": region,
                    "country": "FR",
                    "city": city,
                    "time_zone": "Europe/Paris",
                    "operator": "outsourced" if outsourced else "internal",
                    "provider": (
                        "VisaServices Europe"
                        if site_type == "visa_centre"
                        else "Atlas Relation Client"
                    )
                    if outsourced
                    else None,  # fmt: skip
                    "channels": "phone;digital"
                    if site_type == "call_centre"
                    else "in_person;digital",
                    "manager_name": f"{FIRST_NAMES[k]} {LAST_NAMES[len(rows) % len(LAST_NAMES)]}",
                    "manager_email": f"direction.{code.lower()}@large-reseau.fr",
                }
            )
    return list(enumerate(rows, start=1))


# --- entry point -----------------------------------------------------------------------------


def refuse_unsupported_database(session: Session, scale: str) -> None:
    """Raise LargeSeedRefused (nothing written) when `scale` needs PostgreSQL and the
    session's database is another one (the embedded SQLite default)."""
    dialect = session.get_bind().dialect.name
    if scale in POSTGRESQL_ONLY and dialect != "postgresql":
        sizes = SCALES[scale]
        raise LargeSeedRefused(
            f"--scale {scale} ({sizes['sites']:,} sites, {sizes['days']:,} days) is built on "
            f"PostgreSQL only, and this database is {dialect}: set DATABASE_URL to an empty "
            "PostgreSQL database (postgresql+psycopg://…), run `flask --app app db upgrade`, "
            "then seed again; on SQLite use --scale large."
        )


def seed_large(
    session: Session,
    password: str,
    *,
    sites: int = DEFAULT_SITES,
    days: int = DEFAULT_DAYS,
    waves: int = DEFAULT_WAVES,
    coaches: int = DEFAULT_COACHES,
    today: date | None = None,
    echo: Callable[[str], None] = print,
) -> dict:
    """Build the large network in an empty, migrated database; commits step by step.

    Raises LargeSeedRefused when the database already holds sites, accounts or
    measurements (nothing is written then)."""
    from programme.demo import database_is_empty, seed_accounts

    tables = set(inspect(session.get_bind()).get_table_names())
    if not {"site", "measurement", "kpi_rollup_week", "wave"} <= tables:
        raise LargeSeedRefused(
            "The database is not migrated: run `flask --app app db upgrade` first."
        )
    if not database_is_empty(session) or session.scalar(select(Measurement.id).limit(1)):
        raise LargeSeedRefused(
            "The database is not empty: the large network is only built in an empty, "
            "migrated database (create a new one and run `flask db upgrade` first)."
        )
    today = today or date.today()
    # A small network gets fewer waves (at least three sites each).
    waves = max(1, min(waves, round(DEPLOYED_SHARE * sites) // 3))
    plan = Plan.build(today, days, waves)
    clock_ = Timings(echo)
    echo(f"Large network: {sites} sites, {days} days ({plan.start} → {plan.end}), {waves} waves.")

    report = {"sites": upsert_sites(session, large_site_rows(sites), source=ACTOR).created}
    session.flush()
    report["accounts"] = seed_accounts(session, password)["created"]
    ensure_default_kpis(session)
    session.commit()
    clock_.done("sites, accounts, KPIs", f"{report['sites']} sites")

    site_rows = session.execute(
        select(Site.id, Site.code, Site.type, Site.region_id).order_by(Site.id)
    ).all()
    kpi_ids = {code: session.scalar(select(Kpi.id).where(Kpi.code == code)) for code in KPIS}
    admin_id = session.scalar(select(User.id).where(User.role == "admin").order_by(User.id))
    rnd = np.random.default_rng(SEED)

    # Who is deployed when (needed by the series, to plant the effect).
    pilot_arms, wave_members = _choose_sites(site_rows, plan, waves, rnd)
    clock_.done("plan waves and pilots")

    draws = _site_draws(site_rows, wave_members, pilot_arms, plan, days, rnd)
    calendar = _calendar(plan, days)
    session.commit()
    # The series are generated block by block while they are written (bounded memory).
    blocks = _series(site_rows, draws, calendar, plan)
    report["measurements"] = _load_measurements(session, blocks, calendar, kpi_ids, admin_id,
                                                clock_)  # fmt: skip
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SET LOCAL work_mem = '256MB'"))  # one big GROUP BY, in memory
    report["rollups"] = rebuild_rollups(session)
    session.commit()
    clock_.done("weekly rollups", f"{report['rollups']:,} rows")

    report["diagnostics"] = _seed_diagnostics(session, site_rows, plan, rnd)
    session.commit()
    clock_.done("diagnostic campaign", f"{report['diagnostics']} sessions")
    package_id, element_ids = _seed_pilots(session, site_rows, pilot_arms, plan)
    session.commit()
    clock_.done("pilots and package")
    report.update(
        _seed_deployment(
            session, site_rows, wave_members, package_id, element_ids, plan, coaches, admin_id, rnd
        )  # fmt: skip
    )
    record_event(
        session,
        entity="demo",
        action="seed",
        summary=f"Large network: {len(site_rows)} sites, {report['measurements']} measurements, "
        f"{waves} waves, {coaches} coaches.",
    )
    session.commit()
    clock_.done("deployment", f"{report['waves']} waves, {report['visits']} visits")
    if report["measurements"] >= ANALYZE_FROM_ROWS:
        _analyze(session)
        clock_.done("planner statistics (ANALYZE)")
    report["seconds"] = round(clock_.total, 1)
    echo(f"  {'total':<28} {clock_.total:7.2f} s")
    return report


# --- who is where ----------------------------------------------------------------------------


def _choose_sites(site_rows, plan: Plan, waves: int, rnd) -> tuple[dict, list[list[int]]]:
    """Pilot arms (4 + 4 branches of the first regions; the second pilot 3 + 3) and the
    sites of each wave: a random, region-balanced draw among branches and shops; the
    first pilot's sites join wave 1."""
    outlets = [r for r in site_rows if r.type in ("branch", "shop")]
    branches = [r for r in outlets if r.type == "branch"]
    by_region: dict[int, list] = {}
    for r in branches:
        by_region.setdefault(r.region_id, []).append(r.id)
    regions = sorted(by_region)
    first_region, second_region = regions[0], regions[1 % len(regions)]
    picks = by_region[first_region][:4] + by_region[second_region][:4]
    arms = {
        "pilot": [picks[0], picks[1], picks[4], picks[5]] if len(picks) >= 8 else picks[:2],
        "control": [picks[2], picks[3], picks[6], picks[7]] if len(picks) >= 8 else picks[2:4],
    }
    last_region = by_region[regions[-1]]
    arms["second_pilot"] = last_region[:3]
    arms["second_control"] = last_region[3:6]
    total = min(len(outlets), round(DEPLOYED_SHARE * len(site_rows)))
    per_wave = max(1, total // waves)
    pool = [r.id for r in outlets if r.id not in arms["pilot"]]
    pool = list(rnd.permutation(pool))
    members: list[list[int]] = []
    first = list(arms["pilot"])
    for w in range(waves):
        size = max(0, per_wave - (len(first) if w == 0 else 0))
        chosen, pool = pool[:size], pool[size:]
        members.append(sorted(first + [int(s) for s in chosen]) if w == 0 else
                       sorted(int(s) for s in chosen))  # fmt: skip
    return arms, members


# --- measurements ----------------------------------------------------------------------------


# Sites per generated block: the series are drawn and loaded a block at a time, so the
# seed's memory does not grow with the network (≈ 60 MB of arrays per block of 100 sites
# over 3 years, whatever the number of sites).
SERIES_BLOCK = 100
PG_EPOCH = date(2000, 1, 1)  # PostgreSQL's binary dates and timestamps count from here


@dataclass
class Calendar:
    """What every site's series shares: the days and their seasonality."""

    days: np.ndarray  # ISO dates (text), one per day
    ordinal: np.ndarray
    weekday: np.ndarray
    trend: np.ndarray
    yearly: np.ndarray


@dataclass
class SiteDraws:
    """Per-site parameters, drawn once for the whole network (a few numbers per site)."""

    go_live: np.ndarray  # ordinal of the site's go-live (int64 max: never)
    in_pilot: np.ndarray  # bool: a pilot site of the first pilot
    volume: np.ndarray
    level: np.ndarray
    conv: np.ndarray
    csat: np.ndarray
    fcr: np.ndarray
    outage_first: np.ndarray  # first day index of a one-to-three-week outage, -1: none
    outage_days: np.ndarray


@dataclass
class Block:
    """Site × day matrices of SERIES_BLOCK sites (rows in site-id order)."""

    site_ids: np.ndarray
    values: dict[str, np.ndarray]  # KPI code → (sites, days) rounded values
    n: np.ndarray  # (sites, days) customers
    present: dict[str, np.ndarray]  # KPI code → (sites, days) bool


def _site_draws(site_rows, wave_members, arms, plan: Plan, days: int, rnd) -> SiteDraws:
    count = len(site_rows)
    index = {r.id: i for i, r in enumerate(site_rows)}
    go_live = np.full(count, np.iinfo(np.int64).max)
    for w, sites in enumerate(wave_members):
        for s in sites:
            go_live[index[s]] = plan.go_lives[w].toordinal()
    in_pilot = np.zeros(count, dtype=bool)
    for s in arms["pilot"]:
        in_pilot[index[s]] = True
    kind = np.array([r.type for r in site_rows])
    volume = np.where(kind == "call_centre", 480.0, np.where(kind == "shop", 45.0, 60.0))
    level = rnd.uniform(0.75, 1.35, count)
    conv = rnd.uniform(0.15, 0.3, count)
    csat = rnd.uniform(3.6, 4.3, count)
    fcr = rnd.uniform(0.6, 0.8, count)
    outage_first = np.full(count, -1)
    outage_days = np.zeros(count, dtype=np.int64)
    for i in np.flatnonzero(rnd.random(count) < 0.1):  # an outage of one to three weeks
        outage_first[i] = int(rnd.integers(0, max(1, days - 21)))
        outage_days[i] = int(rnd.integers(7, 22))
    return SiteDraws(go_live, in_pilot, volume, level, conv, csat, fcr, outage_first, outage_days)


def _calendar(plan: Plan, days: int) -> Calendar:
    dates = [plan.start + timedelta(days=d) for d in range(days)]
    return Calendar(
        days=np.array([d.isoformat() for d in dates], dtype=object),
        ordinal=np.array([d.toordinal() for d in dates]),
        weekday=np.array([d.weekday() for d in dates]),
        trend=np.linspace(0, 1, days),
        yearly=np.sin(2 * np.pi * np.array([d.timetuple().tm_yday for d in dates]) / 365.25),
    )


def _series(site_rows, draws: SiteDraws, calendar: Calendar, plan: Plan) -> Iterator[Block]:
    """Daily WAIT, CONV, CSAT, FCR and the volume (CONTACTS) for every site, SERIES_BLOCK
    sites at a time: site level, weekly and yearly seasonality, a slow network-wide trend,
    noise, gaps (~1.5 % missing days, an outage of one to three weeks at one site in ten)
    and the planted effect after each go-live. Each block draws its noise from its own
    generator (seeded by SEED and the block's first row), so a block is the same whatever
    the blocks before it."""
    c = calendar
    in_pilot_days = (c.ordinal >= plan.pilot[0].toordinal()) & (
        c.ordinal <= plan.pilot[1].toordinal()
    )
    for first in range(0, len(site_rows), SERIES_BLOCK):
        rows = slice(first, first + SERIES_BLOCK)
        rnd = np.random.default_rng([SEED, first])
        site_ids = np.array([r.id for r in site_rows[rows]])
        count = len(site_ids)
        shape = (count, len(c.ordinal))
        # Treated (site, day): from the site's go-live on; the first pilot's sites also
        # during the pilot period.
        treated = c.ordinal[None, :] >= draws.go_live[rows, None]
        treated |= draws.in_pilot[rows, None] & in_pilot_days[None, :]
        level = draws.level[rows, None]
        n = np.maximum(
            5, rnd.poisson(draws.volume[rows, None] * level * VOLUME_BY_WEEKDAY[c.weekday])
        )
        wait = (
            9 * level * WAIT_BY_WEEKDAY[c.weekday] * (1 - 0.1 * c.trend) * (1 + 0.08 * c.yearly)
            + rnd.normal(0, 1.2, shape)
            + PLANTED_WAIT_EFFECT * treated
        )
        conv = (
            draws.conv[rows, None]
            + 0.03 * c.trend
            - 0.02 * (c.weekday == 5)
            + rnd.normal(0, 0.03, shape)
            + PLANTED_CONV_EFFECT * treated
        )
        csat = draws.csat[rows, None] + 0.2 * c.trend + rnd.normal(0, 0.2, shape)
        fcr = draws.fcr[rows, None] + 0.03 * c.trend + rnd.normal(0, 0.04, shape)
        present = rnd.random(shape) > 0.015
        for i in np.flatnonzero(draws.outage_first[rows] >= 0):
            start = int(draws.outage_first[first + i])
            present[i, start : start + int(draws.outage_days[first + i])] = False
        yield Block(
            site_ids=site_ids,
            values={
                "WAIT": np.round(np.clip(wait, 0.5, 90), 2),
                "CONV": np.round(np.clip(conv, 0, 1), 3),
                "CSAT": np.round(np.clip(csat, 1, 5), 2),
                "FCR": np.round(np.clip(fcr, 0, 1), 3),
                "CONTACTS": n.astype(float),
            },
            n=n,
            present={code: present & (rnd.random(shape) > 0.002) for code in KPIS},
        )


def _copy_rows_dtype(admin_id) -> np.dtype:
    """One row of a binary COPY into measurement, as a packed big-endian record: the field
    count, then each field's byte length and value. The texts are constants of the seed."""
    fields = [("fields", ">i2"), ("id_len", ">i4"), ("id", ">i8"), ("site_len", ">i4"),
              ("site", ">i4"), ("kpi_len", ">i4"), ("kpi", ">i4"), ("date_len", ">i4"),
              ("date", ">i4"), ("source_len", ">i4"), ("source", f"S{len(SOURCE.encode())}"),
              ("value_len", ">i4"), ("value", ">f8"), ("n_len", ">i4"), ("n", ">i4"),
              ("revision_len", ">i4"), ("revision", ">i4"), ("by_id_len", ">i4")]  # fmt: skip
    if admin_id:
        fields.append(("by_id", ">i4"))
    fields += [("by_len", ">i4"), ("by", f"S{len(ACTOR.encode())}"), ("at_len", ">i4"),
               ("at", ">i8")]  # fmt: skip
    return np.dtype(fields)


def _copy_block(block: Block, kpis: list[str], kpi_ids, first_day: int, first_id: int,
                admin_id, at: int) -> bytes:  # fmt: skip
    """A block's measurements as binary COPY rows, in unique-key order (site, KPI, day)."""
    values = np.stack([block.values[code] for code in kpis], axis=1)  # (sites, KPIs, days)
    mask = np.stack([block.present[code] for code in kpis], axis=1)
    n = np.stack([np.ones_like(block.n) if code in COUNT_KPIS else block.n for code in kpis],
                 axis=1)  # fmt: skip
    shape = values.shape
    rows = np.zeros(int(mask.sum()), dtype=_copy_rows_dtype(admin_id))
    rows["id"] = np.arange(first_id, first_id + len(rows))
    rows["site"] = np.broadcast_to(block.site_ids[:, None, None], shape)[mask]
    rows["kpi"] = np.broadcast_to(np.array([kpi_ids[c] for c in kpis])[None, :, None], shape)[mask]
    rows["date"] = np.broadcast_to(first_day + np.arange(shape[2])[None, None, :], shape)[mask]
    rows["value"] = values[mask]
    rows["n"] = n[mask]
    rows["fields"] = 11
    for name, size in (("id", 8), ("site", 4), ("kpi", 4), ("date", 4), ("value", 8), ("n", 4),
                       ("revision", 4), ("at", 8)):  # fmt: skip
        rows[f"{name}_len"] = size
    rows["source_len"], rows["source"] = len(SOURCE.encode()), SOURCE.encode()
    rows["by_len"], rows["by"] = len(ACTOR.encode()), ACTOR.encode()
    rows["revision"] = 1
    if admin_id:
        rows["by_id_len"], rows["by_id"] = 4, int(admin_id)
    else:
        rows["by_id_len"] = -1  # NULL
    rows["at"] = at
    return rows.tobytes()


def _load_measurements(session, blocks: Iterator[Block], calendar: Calendar, kpi_ids, admin_id,
                       clock_) -> int:  # fmt: skip
    """Write every measurement through the raw DBAPI connection, block by block, in
    unique-key order (site, KPI, day), with any secondary index dropped during the load and
    rebuilt after. SQLite: executemany in big batches with journal and sync off;
    PostgreSQL: one binary COPY (rows packed by numpy, no per-row Python), with the table's
    unique key and foreign keys dropped during the load and re-added (validated) after."""
    engine = session.get_bind()
    dialect = engine.dialect.name
    now = utcnow()
    kpis = sorted(KPIS, key=lambda code: kpi_ids[code])
    ones = np.ones(len(calendar.days), dtype=np.int64)

    session.close()
    engine.dispose()
    raw = engine.raw_connection()
    total = 0
    try:
        cursor = raw.cursor()
        if dialect == "sqlite":
            cursor.execute("PRAGMA journal_mode=OFF")
            cursor.execute("PRAGMA synchronous=OFF")
            cursor.execute("PRAGMA cache_size=-262144")
            indexes = _secondary_indexes_sqlite(cursor)
            for name, _sql in indexes:
                cursor.execute(f'DROP INDEX "{name}"')
            stamp = now.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
            sql = (
                "INSERT INTO measurement (site_id, kpi_id, period_date, value, n, source, "
                "revision, entered_by_id, entered_by, entered_at) VALUES (?, ?, ?, ?, ?, "
                f"'{SOURCE}', 1, {int(admin_id) if admin_id else 'NULL'}, '{ACTOR}', '{stamp}')"
            )
            pending: list = []
            cursor.execute("BEGIN")  # the driver is in autocommit mode (programme/database.py)
            for block in blocks:
                for i, site in enumerate(block.site_ids.tolist()):
                    for code in kpis:
                        mask = block.present[code][i]
                        d = calendar.days[mask]
                        n = (ones if code in COUNT_KPIS else block.n[i])[mask]
                        pending.extend(zip([site] * len(d), [kpi_ids[code]] * len(d), d.tolist(),
                                           block.values[code][i][mask].tolist(), n.tolist(),
                                           strict=True))  # fmt: skip
                if len(pending) >= 500_000:
                    cursor.executemany(sql, pending)
                    total += len(pending)
                    pending = []
            if pending:
                cursor.executemany(sql, pending)
                total += len(pending)
            raw.commit()
            clock_.done("measurements (executemany)", f"{total:,} rows")
            for _name, ddl in indexes:
                cursor.execute(ddl)
            raw.commit()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            clock_.done("measurement indexes")
        else:
            cursor.execute("SET LOCAL synchronous_commit = off")
            cursor.execute("SET LOCAL maintenance_work_mem = '512MB'")
            # Unique key and foreign keys: dropped for the load, re-added (and so checked)
            # after it, unique key first; the primary key stays.
            constraints = cursor.execute(
                "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
                "WHERE conrelid = 'measurement'::regclass AND contype IN ('u', 'f') "
                "ORDER BY contype DESC, conname"
            ).fetchall()
            indexes = cursor.execute(
                "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'measurement' "
                "AND indexname NOT IN (SELECT conname FROM pg_constraint "
                "WHERE conrelid = 'measurement'::regclass)"
            ).fetchall()
            for name, _definition in constraints:
                cursor.execute(f'ALTER TABLE measurement DROP CONSTRAINT "{name}"')
            for name, _definition in indexes:
                cursor.execute(f'DROP INDEX "{name}"')
            last_id = cursor.execute("SELECT coalesce(max(id), 0) FROM measurement").fetchone()[0]
            first_day = (date.fromisoformat(calendar.days[0]) - PG_EPOCH).days
            since = now - datetime(2000, 1, 1, tzinfo=UTC)
            at = (since.days * 86_400 + since.seconds) * 1_000_000 + since.microseconds
            with cursor.copy(
                "COPY measurement (id, site_id, kpi_id, period_date, source, value, n, revision, "
                "entered_by_id, entered_by, entered_at) FROM STDIN (FORMAT BINARY)"
            ) as copy:
                copy.write(b"PGCOPY\n\xff\r\n\x00" + bytes(8))  # signature, flags, extension
                for block in blocks:
                    data = _copy_block(block, kpis, kpi_ids, first_day, last_id + total + 1,
                                       admin_id, at)  # fmt: skip
                    copy.write(data)
                    total += len(data) // _copy_rows_dtype(admin_id).itemsize
                copy.write(b"\xff\xff")  # trailer
            # The ids were given: the sequence continues after them.
            cursor.execute(
                "SELECT setval(pg_get_serial_sequence('measurement', 'id'), %s, %s)",
                (max(1, last_id + total), last_id + total > 0),
            )
            clock_.done("measurements (binary COPY)", f"{total:,} rows")
            for _name, definition in indexes:
                cursor.execute(definition)
            for name, definition in constraints:
                cursor.execute(f'ALTER TABLE measurement ADD CONSTRAINT "{name}" {definition}')
            raw.commit()
            clock_.done("indexes, unique key, foreign keys")
    finally:
        raw.close()
    return total


def _analyze(session: Session) -> None:
    """Planner statistics, as a database in service would have them after its bulk loads
    (≈ 5 s on SQLite at full size). Tiny seeds (tests) skip it so as not to steer the query
    plans of whatever runs next on the same file."""
    with session.get_bind().connect() as conn:
        conn.exec_driver_sql("ANALYZE")
        conn.commit()


def _secondary_indexes_sqlite(cursor) -> list[tuple[str, str]]:
    """The measurement table's own CREATE INDEX statements (not the constraint indexes)."""
    return cursor.execute(
        "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'measurement' "
        "AND sql IS NOT NULL ORDER BY name"
    ).fetchall()


# --- diagnostics -----------------------------------------------------------------------------


def _seed_diagnostics(session: Session, site_rows, plan: Plan, rnd) -> int:
    """One completed campaign before the pilots: ~100 sites (5 % of the network, every type),
    1–3 observation sessions each with 5–9 findings grouped into the demo's 10 irritants,
    determinants, verbatims and survey scores."""
    users = {u.role: u.id for u in session.scalars(select(User).order_by(User.id))}
    lead, admin = users.get("diagnostician"), users.get("admin")
    start, end = plan.campaign
    sample_size = min(100, max(4, len(site_rows) // 20))
    specials = [r for r in site_rows if r.type in ("call_centre", "visa_centre")][:8]
    others = [r for r in site_rows if r.type in ("branch", "shop")]
    picked = specials + [others[int(i)] for i in
                         rnd.choice(len(others), sample_size - len(specials), replace=False)]  # fmt: skip
    picked.sort(key=lambda r: r.id)
    campaign = Campaign(
        name=CAMPAIGN,
        start_date=start,
        end_date=end,
        lead_id=lead,
        scope_site_types=["branch", "shop", "call_centre", "visa_centre"],
        scope_channels=["in_person", "phone", "digital"],
        journey_steps=list(JOURNEY_STEPS),
        stakes_text=STAKES_TEXT,
        service_aspiration=ASPIRATION,
        completed_at=datetime.combine(end, clock(18, 0), UTC),
        completed_by_id=admin,
    )
    session.add(campaign)
    session.flush()
    session.execute(insert(campaign_site), [{"campaign_id": campaign.id, "site_id": r.id}
                                            for r in picked])  # fmt: skip
    irritant_ids = []
    for name, stakes, determinants, *_rest in IRRITANTS:
        irritant_ids.append(
            session.execute(
                insert(Irritant).values(campaign_id=campaign.id, name=name, stakes=stakes,
                                        determinants=determinants, created_at=utcnow(),
                                        updated_at=utcnow())
            ).inserted_primary_key[0]
        )  # fmt: skip
    now = utcnow()
    weekdays = [start + timedelta(days=d) for d in range((end - start).days + 1)
                if (start + timedelta(days=d)).weekday() < 5]  # fmt: skip
    sessions = []
    for r in picked:
        channels = (["phone", "digital", "phone"] if r.type == "call_centre" else
                    ["in_person", "digital"] if r.type == "visa_centre" else ["in_person"] * 3)  # fmt: skip
        for channel in channels[: int(rnd.integers(1, 4))]:
            hour = int(rnd.choice([9, 10, 11, 14, 15, 16]))
            low, high = {"in_person": (12, 30), "phone": (25, 60), "digital": (15, 40)}[channel]
            sessions.append({"campaign_id": campaign.id, "site_id": r.id, "observer_id": lead,
                             "observed_on": weekdays[len(sessions) % len(weekdays)],
                             "start_time": clock(hour, 0), "end_time": clock(hour + 2, 0),
                             "channel": channel, "interactions": int(rnd.integers(low, high)),
                             "version": 1, "created_at": now, "updated_at": now})  # fmt: skip
    session.execute(insert(ObservationSession), sessions)
    observed = session.execute(
        select(ObservationSession.id, ObservationSession.channel, ObservationSession.interactions)
        .where(ObservationSession.campaign_id == campaign.id)
        .order_by(ObservationSession.id)
    ).all()
    findings = []
    for session_id, channel, interactions in observed:
        candidates = [(i, spec) for i, spec in zip(irritant_ids, IRRITANTS, strict=True)
                      if channel in spec[4]]  # fmt: skip
        weights = np.array([spec[3] for _i, spec in candidates], dtype=float)
        for position in range(1, int(rnd.integers(5, 10))):
            irritant, spec = candidates[int(rnd.choice(len(candidates), p=weights / weights.sum()))]
            step, cause, drop_share, (low, high), description = spec[5][
                int(rnd.integers(0, len(spec[5])))
            ]
            share = rnd.uniform(0.05, 0.45) * spec[3] / 10 + 0.02
            findings.append({"session_id": session_id, "position": position, "journey_step": step,
                             "description": description,
                             "outcome": "drop_off" if rnd.random() < drop_share else "degraded",
                             "cause": cause, "severity": int(rnd.integers(low, high + 1)),
                             "occurrences": max(1, min(interactions, round(share * interactions))),
                             "irritant_id": None if rnd.random() < 0.05 else irritant,
                             "created_at": now, "updated_at": now})  # fmt: skip
    session.execute(insert(Finding), findings)
    assessments, verbatims, scores = [], [], []
    for r in picked:
        for key in DETERMINANTS:
            score = int(rnd.choice([1, 2, 3, 4, 5], p=[0.14, 0.28, 0.28, 0.22, 0.08]))
            texts = EVIDENCE[key]
            evidence = texts[0] if score <= 2 else texts[1] if score == 3 else texts[2]
            assessments.append({"campaign_id": campaign.id, "site_id": r.id, "determinant": key,
                                "score": score, "evidence": f"{evidence}.", "assessed_by_id": lead,
                                "created_at": now, "updated_at": now})  # fmt: skip
        for k in range(2):
            sentiment, step, quote = QUOTES[(r.id * 5 + k) % len(QUOTES)]
            verbatims.append({"campaign_id": campaign.id, "site_id": r.id, "quote": quote,
                              "channel": "phone" if r.type == "call_centre" else "in_person",
                              "journey_step": step, "sentiment": sentiment,
                              "collected_on": weekdays[(r.id + k) % len(weekdays)],
                              "fingerprint": f"large|{r.id}|{k}", "created_at": now,
                              "updated_at": now})  # fmt: skip
        scores.append({"campaign_id": campaign.id, "site_id": r.id, "survey": "Satisfaction à chaud",
                       "period_end": end, "score": round(float(rnd.uniform(5.8, 8.6)), 1),
                       "scale_max": 10.0, "respondents": int(rnd.integers(40, 320)),
                       "created_at": now, "updated_at": now})  # fmt: skip
    session.execute(insert(DeterminantAssessment), assessments)
    session.execute(insert(Verbatim), verbatims)
    session.execute(insert(SurveyScore), scores)
    record_event(session, "diagnostic_campaign", "seed",
                 f"large network campaign: {len(sessions)} sessions, {len(findings)} findings",
                 entity_id=str(campaign.id))  # fmt: skip
    session.flush()
    return len(sessions)


# --- pilots ----------------------------------------------------------------------------------


def _seed_pilots(session: Session, site_rows, arms, plan: Plan) -> tuple[int, list[int]]:
    """The pilot that produced the package (4 + 4 sites, WAIT and CONV, decided "go"), and a
    second one on conversion without a planted effect (decided "stop")."""
    code_of = {r.id: r.code for r in site_rows}
    admin = session.scalar(select(User).where(User.role == "admin").order_by(User.id))
    team = session.scalar(select(User).where(User.role == "pilot_team").order_by(User.id))
    members = [team.id] if team else []
    irritants = list(session.scalars(select(Irritant.id).order_by(Irritant.id)))[:2]
    first = pilots.save_pilot(
        session,
        pilots.Design(
            name=FIRST_PILOT,
            description="Réduire l'attente en agence : accueil au flux et rendez-vous en ligne.",
            stakes="Temps d'attente, taux de transformation",
            baseline_start=plan.baseline[0],
            baseline_end=plan.baseline[1],
            pilot_start=plan.pilot[0],
            pilot_end=plan.pilot[1],
            pilot_sites=[code_of[s] for s in arms["pilot"]],
            control_sites=[code_of[s] for s in arms["control"]],
            kpis=[("WAIT", -0.1), ("CONV", 0.05)],
            improvements=[
                ("Accueil au flux", "Un conseiller oriente chaque client dès l'entrée."),
                ("Rendez-vous en ligne", "Créneaux réservables 15 jours à l'avance."),
            ],
            supporting_functions=["it", "hr"],
            member_ids=members,
            irritant_ids=irritants,
            stage="decided",
            start_reason=(
                None
                if len(arms["pilot"]) >= 4
                else "Réseau de démonstration réduit : trop peu d'agences pour prouver l'effet "
                "à 5 %."
            ),
        ),
        user=admin,
    )
    pilot_sites = first.site_ids("pilot")
    for i, score in enumerate((5, 4, 4, 5, 3, 4, 5, 4)):
        pilots.add_pulse(session, first, score, None, pilot_sites[i % len(pilot_sites)],
                         plan.pilot[1] - timedelta(days=i), team or admin)  # fmt: skip
    pilots.decide(
        session,
        first,
        "go",
        "Attente en baisse nette par rapport aux sites témoins, transformation en hausse, "
        "et les équipes disent que leur travail s'est amélioré.",
        plan.pilot[1] + timedelta(days=1),
        team or admin,
    )
    package = pilots.ensure_package(session, first)
    package.name = PACKAGE_NAME
    elements = []
    for kind, title, description, step in PACKAGE_ELEMENTS:
        elements.append(pilots.add_element(session, package, kind, title, description, step))
    if arms["second_pilot"] and arms["second_control"]:
        second = pilots.save_pilot(
            session,
            pilots.Design(
                name=SECOND_PILOT,
                description="Mieux découvrir le besoin avant de proposer : guide d'entretien.",
                stakes="Taux de transformation",
                baseline_start=plan.baseline[0],
                baseline_end=plan.baseline[1],
                pilot_start=plan.pilot[0],
                pilot_end=plan.pilot[1],
                pilot_sites=[code_of[s] for s in arms["second_pilot"]],
                control_sites=[code_of[s] for s in arms["second_control"]],
                kpis=[("CONV", 0.1)],
                improvements=[("Guide de découverte du besoin", None)],
                supporting_functions=["hr"],
                member_ids=members,
                stage="decided",
                start_reason=(
                    "Trois agences seulement étaient prêtes : essai d'abord qualitatif, "
                    "l'effet ne pourra pas être prouvé à 5 % avec 3 sites pilotes et 3 "
                    "sites témoins."
                ),
            ),
            user=admin,
        )
        pilots.decide(session, second, "stop",
                      "Pas d'effet net sur la transformation : l'intervalle contient zéro.",
                      plan.pilot[1] + timedelta(days=1), team or admin)  # fmt: skip
    session.flush()
    element_ids = [element.id for element in elements]
    return package.id, element_ids


# --- deployment ------------------------------------------------------------------------------


def _seed_deployment(session, site_rows, wave_members, package_id, element_ids, plan: Plan,
                     coaches: int, admin_id, rnd) -> dict:  # fmt: skip
    """Coaches (capacity 4, two regions each), the waves with their sites, assignments,
    weekly visits, checklist states consistent with each wave's progress and history,
    engagement and communication milestones."""
    now = utcnow()
    today = plan.today
    region_of = {r.id: r.region_id for r in site_rows}
    regions = sorted({r.region_id for r in site_rows})
    coach_user = session.scalar(select(User.id).where(User.role == "coach").order_by(User.id))
    modules = ("Conduite du changement", "Posture de coach terrain", "Animation managériale")
    coach_ids: list[int] = []
    coach_regions: dict[int, list[int]] = {}
    for i in range(coaches):
        name = f"{FIRST_NAMES[i % len(FIRST_NAMES)]} {LAST_NAMES[(i * 7) % len(LAST_NAMES)]}"
        person = session.execute(
            insert(Person).values(full_name=name, job_title="Coach terrain",
                                  email=f"coach{i + 1:02d}@large-reseau.fr",
                                  created_at=now, updated_at=now)
        ).inserted_primary_key[0]  # fmt: skip
        home = site_rows[(i * 37) % len(site_rows)].id
        coach = session.execute(
            insert(Coach).values(person_id=person, user_id=coach_user if i == 0 else None,
                                 home_site_id=home, secondment_start=plan.start,
                                 secondment_end=today + timedelta(days=365),
                                 capacity=COACH_CAPACITY, created_at=now, updated_at=now)
        ).inserted_primary_key[0]  # fmt: skip
        coach_ids.append(coach)
        covered = [regions[i % len(regions)], regions[(i + 1) % len(regions)]]
        coach_regions[coach] = sorted(set(covered))
        session.execute(insert(CoachTraining),
                        [{"coach_id": coach, "module": m,
                          "completed_on": plan.start + timedelta(days=7 * k)}
                         for k, m in enumerate(modules)])  # fmt: skip
        session.execute(insert(coach_region), [{"coach_id": coach, "region_id": r}
                                                for r in coach_regions[coach]])  # fmt: skip
    by_region: dict[int, list[int]] = {}
    for coach, covered in coach_regions.items():
        for r in covered:
            by_region.setdefault(r, []).append(coach)

    visits, assignments, engagements, milestones, items = [], [], [], [], []
    wave_ids = []
    for w, (members, go_live) in enumerate(zip(wave_members, plan.go_lives, strict=True)):
        start = plan.wave_start(go_live)
        status = plan.wave_status(go_live)
        end = go_live + timedelta(days=STABILISATION_DAYS)
        month = go_live.strftime("%m/%Y")
        wave_id = session.execute(
            insert(Wave).values(name=f"Vague {w + 1} — go-live {month}", package_id=package_id,
                                start=start, go_live=go_live, status=status, version=1,
                                created_at=now, updated_at=now)
        ).inserted_primary_key[0]  # fmt: skip
        wave_ids.append(wave_id)
        session.execute(insert(WaveSite), [{"wave_id": wave_id, "site_id": s} for s in members])
        for kind, offset, audience in DEFAULT_MILESTONES:
            due = go_live + timedelta(days=offset)
            milestones.append({"wave_id": wave_id, "kind": kind, "offset_days": offset,
                               "audience": audience, "done_on": due if due <= today else None})  # fmt: skip
        # How far the wave is: 0 before its start, 1 at its stabilisation review.
        elapsed = (today - start).days / max(1, (end - start).days)
        load: dict[int, int] = {}
        for n, site in enumerate(members):
            pool = by_region.get(region_of[site]) or coach_ids
            coach = min(pool, key=lambda c: (load.get(c, 0), c))
            load[coach] = load.get(coach, 0) + 1
            assignments.append({"wave_id": wave_id, "site_id": site, "coach_id": coach,
                                "start_on": start, "end_on": end})  # fmt: skip
            for e, element in enumerate(element_ids):
                if elapsed <= 0:
                    reached = 0
                elif elapsed >= 1:
                    # closed: mostly sustained, some only in place; later waves less sustained
                    reached = 3 if rnd.random() < (0.85 if status == "closed" else 0.5) else 2
                else:
                    mean = 3 * elapsed - 0.3 * e / max(1, len(element_ids))
                    reached = int(np.clip(round(mean + rnd.normal(0, 0.6)), 0, 2))
                state_on = None
                if reached:
                    span = max(1, (min(end, today) - start).days)
                    state_on = min(start + timedelta(days=int(span * (0.3 + 0.15 * e))) +
                                   timedelta(days=7 * reached), today)  # fmt: skip
                items.append({"wave_id": wave_id, "site_id": site, "element_id": element,
                              "state": STATES[reached], "version": 1 + reached,
                              "state_on": state_on,
                              "updated_by": "Coach terrain" if reached else None})  # fmt: skip
            day = start + timedelta(days=int(rnd.integers(0, 5)))
            last = min(end, today)
            while day <= last:
                if rnd.random() < 0.85:
                    blocker = rnd.random() < 0.15
                    visits.append({
                        "wave_id": wave_id, "site_id": site, "coach_id": coach, "visited_on": day,
                        "duration_minutes": int(rnd.choice([60, 90, 120, 180])),
                        "worked_on": "Accueil au flux, point flux du matin avec l'équipe",
                        "blocker_category": str(rnd.choice(["staffing", "tools", "management"]))
                        if blocker else None,
                        "blockers": "Effectif réduit cette semaine" if blocker else None,
                        "next_visit_on": day + timedelta(days=7), "created_at": now,
                        "recorded_by_id": admin_id,
                    })  # fmt: skip
                day += timedelta(days=7)
            recorded = start + timedelta(days=21)
            if recorded <= today or n % 3 == 0:
                engagements.append({"site_id": site, "score": int(rnd.choice([2, 3, 4, 4, 5, 5])),
                                    "recorded_on": min(recorded, today),
                                    "asked_earlier": recorded > today,
                                    "note": "Demande à basculer plus tôt" if recorded > today else None,
                                    "created_at": now, "recorded_by_id": admin_id})  # fmt: skip
    session.execute(insert(Milestone), milestones)
    session.execute(insert(Assignment), assignments)
    for first in range(0, len(items), 5000):
        session.execute(insert(ChecklistItem), items[first : first + 5000])
    for first in range(0, len(visits), 5000):
        session.execute(insert(Visit), visits[first : first + 5000])
    session.execute(insert(Engagement), engagements)

    # History: one event per step reached, ending on the item's state date.
    events = []
    rows = session.execute(
        select(ChecklistItem.id, ChecklistItem.state, ChecklistItem.state_on).where(
            ChecklistItem.wave_id.in_(wave_ids), ChecklistItem.state != "not_started"
        )
    ).all()
    for item_id, state, state_on in rows:
        reached = STATES.index(state)
        for step in range(1, reached + 1):
            events.append({"item_id": item_id, "from_state": STATES[step - 1],
                           "to_state": STATES[step],
                           "happened_on": state_on - timedelta(days=7 * (reached - step)),
                           "by": "Coach terrain", "created_at": now})  # fmt: skip
    for first in range(0, len(events), 5000):
        session.execute(insert(ProgressEvent), events[first : first + 5000])
    session.flush()
    return {"waves": len(wave_ids), "coaches": coaches, "visits": len(visits),
            "checklist_items": len(items), "wave_sites": sum(map(len, wave_members))}  # fmt: skip
