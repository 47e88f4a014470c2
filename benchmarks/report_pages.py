"""Report benchmark on the reference large network (issue #8, "Performance at network scale").

Builds the large network (`seed-demo --scale large`: 2,000 sites, 4 KPIs daily for 3 years,
≈ 8.6 M measurements, 10 waves) on SQLite and, with --postgres, on PostgreSQL — or reuses
one — then, in the same run and on the same database, times:

- the raw scan `SELECT site_id, kpi_id, count(*), sum(value), sum(n) FROM measurement
  GROUP BY site_id, kpi_id` (median of 3): the yardstick;
- through the Flask test client, logged in as the executive (direction@) or the regional
  manager (region@, for their own region): the executive home `/`, programme at a glance
  `/reports/`, a region report, a wave report, a site story, the first pilot's result page,
  the deployment impact `/reports/impact/?kpi=WAIT`, and the Excel and PDF exports.

Also the stage list, the site page, the site's KPIs, the KPI list and a KPI's page, and
the headline-impact block. Pages: cold (first request) and warm (median of 5), each as a
share of the scan (target < 5 %); exports: absolute seconds (target < 10 s), the first
byte, whether the body was streamed (more than one chunk) and the worker's peak RSS above
its RSS before the request (Linux: /proc/self/clear_refs resets the peak).

--scale xlarge builds five times the network (PostgreSQL only; docs/benchmarks.md, "Five
times the network"); --pages WORD… measures only the pages whose label has one of the
words; --refresh-wait N bounds the wait for a background refresh between pages. Pages that do not exist yet are reported
as "missing (404)". Not a test: nothing asserts.

With --redis URL (issue 13: shared caches), the report cache lives in that Redis database
(emptied of report entries first) and, for each page, two more figures are measured in the
same run, each as a share of the same raw scan:

- "after write": the first request after a write that changes the data stamps (a checklist
  item ticked and a measurement corrected, through the ORM and the intake pipeline), in
  production refresh mode (stale result at once, one background refresh; the refresh is
  joined before the next page);
- "fresh worker": the first request of a newly created application (another web worker,
  its own engine and empty process cache) reading what the first worker put in Redis.

    .venv/bin/python benchmarks/report_pages.py                                   # SQLite, built here
    .venv/bin/python benchmarks/report_pages.py --sqlite /tmp/large/bench.sqlite --reuse
    .venv/bin/python benchmarks/report_pages.py --copy-from /tmp/large/programme-large.sqlite
    .venv/bin/python benchmarks/report_pages.py --postgres postgresql://postgres@127.0.0.1/bench_large
    .venv/bin/python benchmarks/report_pages.py --only postgres --postgres ... --reuse --keep
    .venv/bin/python benchmarks/report_pages.py --sites 200 --days 365               # smaller
    .venv/bin/python benchmarks/report_pages.py --sqlite /tmp/large/bench.sqlite --reuse \
        --redis redis://127.0.0.1:6379/12                                     # shared caches

--postgres names a database that the benchmark creates (and drops at the end unless --keep;
with --reuse an existing, seeded one is kept as it is).
"""

from __future__ import annotations

import argparse
import gc
import os
import shutil
import statistics
import sys
import tempfile
import time
import traceback
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("SECRET_KEY", "benchmark")

SCAN = (
    "SELECT site_id, kpi_id, count(*), sum(value), sum(n) FROM measurement GROUP BY site_id, kpi_id"
)
PAGE_TARGET = 0.05  # share of the raw scan
EXPORT_TARGET = 10.0  # seconds
WARM_RUNS = 5
EXPORT_RUNS = 3
# Seconds to let a background refresh (headline impacts after a write) finish before the
# next measurement; --refresh-wait lowers it where a refresh takes minutes (xlarge).
REFRESH_WAIT = 300.0
EXPORT_MEMORY_TARGET = 500  # MB above the worker's RSS before the request
EXECUTIVE = "direction@demo.programme.fr"
REGION_MANAGER = "region@demo.programme.fr"


@dataclass
class Timing:
    label: str
    who: str
    url: str
    status: int | str
    cold: float | None = None
    warm: float | None = None
    export: bool = False
    after_write: float | None = None
    fresh_worker: float | None = None
    # exports: the worst of the runs (peak RSS above the RSS before the request, MB), the
    # first byte of the cold run, and whether the body was streamed (not one bytes object)
    peak_mb: float | None = None
    first_byte: float | None = None
    streamed: bool | None = None
    size_mb: float | None = None


def _status_kb(field: str) -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def reset_peak_rss() -> None:
    """Linux: writing 5 to clear_refs resets VmHWM (the peak RSS) to the current RSS."""
    with open("/proc/self/clear_refs", "w") as refs:
        refs.write("5")


def app_for(url: str, redis_url: str | None = None):
    from programme import create_app

    return create_app(
        {
            "SQLALCHEMY_DATABASE_URI": url,
            "TESTING": True,
            "WTF_CSRF_ENABLED": False,
            "RATELIMIT_STORAGE_URI": "memory://",
            "SERVER_NAME": None,
            "REDIS_URL": redis_url,
            "IMPACT_REFRESH": "thread",  # production: stale at once, refreshed in the background
            # Refreshes coalesced over 5 s rather than 30 s: the benchmark writes before
            # each page and joins the refresh (which waits for the window) before the next.
            "REPORT_REFRESH_SECONDS": 5,
            "JOB_RUNNER": "thread",  # the refresh after a write runs in this process
            # The report machinery itself: a kept page (30 s, per person) would answer the
            # warm and after-write requests of the homes and reports from its copy.
            "PAGE_CACHE_SECONDS": 0,
        }
    )


# --- databases --------------------------------------------------------------------------------


def _pg_admin(url: str):
    """(psycopg URL of the maintenance database, database name) for a SQLAlchemy/libpq URL."""
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    name = parsed.database
    admin = parsed.set(drivername="postgresql", database="postgres")
    return admin.render_as_string(hide_password=False), name


def pg_exists(url: str) -> bool:
    import psycopg

    admin, name = _pg_admin(url)
    with psycopg.connect(admin, autocommit=True) as conn:
        return conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()


def pg_create(url: str) -> None:
    import psycopg

    admin, name = _pg_admin(url)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')


def pg_drop(url: str) -> None:
    import psycopg

    admin, name = _pg_admin(url)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def seeded(app) -> bool:
    from sqlalchemy import inspect, text

    from programme.extensions import db

    with app.app_context():
        if "measurement" not in inspect(db.engine).get_table_names():
            return False
        with db.engine.connect() as conn:
            return conn.execute(text("SELECT 1 FROM measurement LIMIT 1")).first() is not None


def build(app, scale: str, sizes: dict) -> float:
    """Migrate and seed the large network; the seed's wall-clock seconds."""
    from flask_babel import force_locale
    from flask_migrate import upgrade

    from programme.audit import acting_as
    from programme.demo.large import SCALES, refuse_unsupported_database, seed_large
    from programme.extensions import db
    from programme.reports.freshness import paused

    options = {**SCALES[scale], **{k: v for k, v in sizes.items() if v}}
    with app.app_context():
        refuse_unsupported_database(db.session, scale)
        upgrade()
        started = time.perf_counter()
        with force_locale("en"), acting_as("benchmark"), paused():
            seed_large(db.session, app.config["DEMO_PASSWORD"], echo=print, **options)
        seconds = time.perf_counter() - started
        db.session.remove()
    return seconds


# --- measuring --------------------------------------------------------------------------------


def scan_seconds(app) -> tuple[float, list[float], int]:
    from sqlalchemy import text

    from programme.extensions import db

    runs = []
    with app.app_context(), db.engine.connect() as conn:
        rows = conn.execute(text("SELECT count(*) FROM measurement")).scalar()
        for _ in range(3):
            started = time.perf_counter()
            conn.execute(text(SCAN)).all()
            runs.append(time.perf_counter() - started)
    return statistics.median(runs), runs, rows


def targets(app) -> dict:
    """Ids the pages need: the regional manager's region, a wave, a site, the first pilot."""
    from sqlalchemy import select

    from programme.api.tokens import create_token
    from programme.auth.models import User
    from programme.demo.large import FIRST_PILOT
    from programme.deployment.models import Wave, WaveSite
    from programme.extensions import db
    from programme.kpis.models import Kpi
    from programme.pilots.models import Pilot

    with app.app_context():
        s = db.session
        region = s.scalar(select(User.region_id).where(User.email == REGION_MANAGER))
        pilot = s.scalar(select(Pilot.id).where(Pilot.name == FIRST_PILOT))
        if pilot is None:
            pilot = s.scalar(select(Pilot.id).order_by(Pilot.id))
        # The wave live most recently (closed or stabilising) and one of its sites.
        wave = s.scalar(
            select(Wave.id)
            .where(Wave.status.in_(("stabilising", "closed")))
            .order_by(Wave.go_live.desc())
        )
        site = s.scalar(select(WaveSite.site_id).where(WaveSite.wave_id == wave).limit(1))
        kpi = s.scalar(select(Kpi.id).where(Kpi.code == "WAIT"))
        # The JSON API takes bearer tokens only: one for the executive.
        executive = s.scalar(select(User).where(User.email == EXECUTIVE))
        _token, secret = create_token(s, executive, "report benchmark")
        s.commit()
        db.session.remove()
    return {"region": region, "pilot": pilot, "wave": wave, "site": site, "kpi": kpi,
            "token": secret}  # fmt: skip


def client_for(app, email: str):
    client = app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    response = client.post("/login", data={"email": email, "password": app.config["DEMO_PASSWORD"]})
    if response.status_code not in (302, 303):
        raise RuntimeError(f"login as {email} failed ({response.status_code})")
    return client


def wait_for_refresh(timeout: float) -> bool:
    from programme.reports.impact import wait_for_refresh as wait

    return wait(timeout)


def write(app, step: int) -> None:
    """What the network does all day: a coach ticks a checklist item (its state flips) and
    a measurement is corrected through the intake pipeline; both change the data stamps."""
    from flask_babel import force_locale
    from sqlalchemy import select

    from programme.audit import acting_as
    from programme.auth.models import User
    from programme.deployment.models import ChecklistItem
    from programme.extensions import db
    from programme.kpis.intake import ingest, records_frame
    from programme.kpis.models import Kpi, Measurement
    from programme.network.models import Site

    with app.app_context(), force_locale("en"), acting_as("benchmark"):
        s = db.session
        item = s.scalar(select(ChecklistItem).order_by(ChecklistItem.id).limit(1))
        item.state = "in_progress" if item.state != "in_progress" else "in_place"
        s.commit()
        latest = s.execute(
            select(Site.code, Kpi.code, Measurement.period_date, Measurement.value, Measurement.n)
            .join(Site, Site.id == Measurement.site_id)
            .join(Kpi, Kpi.id == Measurement.kpi_id)
            .where(Kpi.code == "WAIT")  # a rate: any positive value is valid
            .order_by(Measurement.id.desc())
            .limit(1)
        ).one()
        site, kpi, day, value, n = latest
        record = {"site": site, "kpi": kpi, "date": day.isoformat(),
                  "value": float(value) * (0.9 if step % 2 else 0.8), "n": n,
                  "reason": "benchmark correction"}  # fmt: skip
        admin = s.scalar(select(User).where(User.role == "admin").limit(1))
        ingest(s, admin, [records_frame([record])], default_source="benchmark")
        s.commit()
        db.session.remove()


def time_page(
    client, label: str, who: str, url: str, export: bool = False, headers: dict | None = None
) -> Timing:
    def once() -> tuple[int, float]:
        started = time.perf_counter()
        response = client.get(url, headers=headers)
        response.get_data()
        return response.status_code, time.perf_counter() - started

    if export:
        return time_export(client, label, who, url, headers)
    try:
        status, cold = once()
        # A first executive home starts the deployment-impact computation in a background
        # thread and answers at once ("being computed"); let it finish so that it does not
        # compete with the warm runs and the next pages for the two cores.
        started = time.perf_counter()
        if wait_for_refresh(REFRESH_WAIT) and time.perf_counter() - started > 0.05:
            print(f"    … {label}: background impact refresh finished "
                  f"{time.perf_counter() - started:.1f} s after the cold response", flush=True)  # fmt: skip
        if status == 404:
            return Timing(label, who, url, "missing (404)", export=export)
        if status != 200:
            return Timing(label, who, url, status, cold, export=export)
        warm = statistics.median(once()[1] for _ in range(WARM_RUNS))
        return Timing(label, who, url, status, cold, warm, export=export)
    except Exception as error:  # noqa: BLE001 - a crashing page is a result, not the end
        traceback.print_exc(limit=3)
        return Timing(label, who, url, f"error: {type(error).__name__}", export=export)


def time_export(client, label: str, who: str, url: str, headers: dict | None) -> Timing:
    """An export: cold and warm (median of EXPORT_RUNS) wall-clock seconds to the last
    byte, the first byte of the cold run, the peak RSS of this (web worker) process above
    its RSS before the request, and whether the response was streamed."""

    def once() -> tuple[int, float, float, float, bool, int]:
        gc.collect()
        reset_peak_rss()
        before = _status_kb("VmRSS")
        started = time.perf_counter()
        response = client.get(url, headers=headers, buffered=False)
        first, size, chunks = None, 0, 0
        for chunk in response.response:
            if first is None:
                first = time.perf_counter() - started
            size += len(chunk)
            chunks += 1
        streamed = chunks > 1  # a body built whole arrives as one chunk
        response.close()
        seconds = time.perf_counter() - started
        peak = (_status_kb("VmHWM") - before) / 1024
        return response.status_code, seconds, first or seconds, peak, streamed, size

    try:
        status, cold, first, peak, streamed, size = once()
        if status != 200:
            return Timing(label, who, url, "missing (404)" if status == 404 else status,
                          cold, export=True)  # fmt: skip
        runs = [once() for _ in range(EXPORT_RUNS)]
        return Timing(label, who, url, status, cold, statistics.median(r[1] for r in runs),
                      export=True, peak_mb=max([peak] + [r[3] for r in runs]),
                      first_byte=first, streamed=streamed, size_mb=size / 1e6)  # fmt: skip
    except Exception as error:  # noqa: BLE001 - a crashing export is a result, not the end
        traceback.print_exc(limit=3)
        return Timing(label, who, url, f"error: {type(error).__name__}", export=True)


def measure(app, redis_url: str | None = None, only: list[str] | None = None) -> list[Timing]:
    ids = targets(app)
    executive = client_for(app, EXECUTIVE)
    manager = client_for(app, REGION_MANAGER)
    api = app.test_client()
    bearer = {"Authorization": f"Bearer {ids['token']}"}
    region = ids["region"]
    pages = [
        ("executive home", "executive", executive, "/", False),
        ("programme at a glance", "executive", executive, "/reports/", False),
        ("stage: live sites", "executive", executive, "/reports/stages/live", False),
        ("region report", "executive", executive, f"/reports/regions/{region}", False),
        ("region report (own region)", "region mgr", manager, f"/reports/regions/{region}", False),
        ("wave report", "executive", executive, f"/reports/waves/{ids['wave']}", False),
        ("site story", "executive", executive, f"/reports/sites/{ids['site']}", False),
        ("site page", "executive", executive, f"/sites/{ids['site']}", False),
        ("site KPIs", "executive", executive, f"/sites/{ids['site']}/kpis", False),
        ("KPI list", "executive", executive, "/kpis", False),
        ("KPI WAIT", "executive", executive, f"/kpis/{ids['kpi']}", False),
        ("pilot results", "executive", executive, f"/pilots/{ids['pilot']}/results", False),
        ("impact WAIT", "executive", executive, "/reports/impact/?kpi=WAIT", False),
        ("impact headline", "executive", executive, "/reports/impact/headline", False),
        ("impact API CONV", "executive", api, "/api/v1/impact?kpi=CONV", False),
        ("export.xlsx", "executive", executive, "/reports/export.xlsx", True),
        ("export.pdf", "executive", executive, "/reports/export.pdf", True),
        ("export.pdf (own region)", "region mgr", manager, f"/reports/export.pdf?region={region}",
         True),
    ]  # fmt: skip
    if only:
        pages = [page for page in pages if any(word in page[0] for word in only)]
    results = []
    for label, who, client, url, export in pages:
        headers = bearer if client is api else None
        timing = time_page(client, label, who, url, export, headers)
        results.append(timing)
        if redis_url and timing.warm is not None and not export:
            shared_cache_figures(app, redis_url, timing, client, headers, len(results))
        print(f"    … {label}: {timing.status} cold {fmt(timing.cold)} warm {fmt(timing.warm)}"
              f" after write {fmt(timing.after_write)} fresh worker {fmt(timing.fresh_worker)}",
              flush=True)  # fmt: skip
    return results


def shared_cache_figures(app, redis_url, timing: Timing, client, headers, step: int) -> None:
    """The first request after a write, then the first request of a fresh worker (a new
    application sharing the Redis cache), for one page."""

    def once(c) -> float:
        started = time.perf_counter()
        response = c.get(timing.url, headers=headers)
        response.get_data()
        return time.perf_counter() - started

    write(app, step)
    timing.after_write = once(client)
    wait_for_refresh(REFRESH_WAIT)  # the background refresh, before the next measurement
    worker = app_for(app.config["SQLALCHEMY_DATABASE_URI"], redis_url)
    try:
        if headers:  # the API client: bearer token, no login
            fresh = worker.test_client()
        else:
            fresh = client_for(worker, EXECUTIVE if timing.who == "executive" else REGION_MANAGER)
        timing.fresh_worker = once(fresh)
        wait_for_refresh(REFRESH_WAIT)
    finally:
        with worker.app_context():
            from programme.extensions import db

            db.engine.dispose()


def fmt(seconds: float | None) -> str:
    return "—" if seconds is None else f"{seconds:.3f} s"


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def report(name: str, seed: str, scan: tuple[float, list[float], int], timings: list[Timing]):
    _report(name, seed, scan, timings)
    if any(t.after_write is not None for t in timings):
        median = scan[0]
        print("\n  shared caches (Redis): each as a share of the same raw scan")
        print(f"  {'page':<28} {'user':<11} {'warm':>9} {'after write':>12} {'fresh worker':>13} "
              f"{'warm':>7} {'write':>7} {'fresh':>7}  result")  # fmt: skip
        for t in timings:
            if t.after_write is None:
                continue
            shares = [x / median for x in (t.warm, t.after_write, t.fresh_worker)]
            ok = all(x < PAGE_TARGET for x in shares)
            print(f"  {t.label:<28} {t.who:<11} {fmt(t.warm):>9} {fmt(t.after_write):>12} "
                  f"{fmt(t.fresh_worker):>13} " + " ".join(f"{x:>7.1%}" for x in shares)
                  + f"  {verdict(ok)} (all < 5 %)")  # fmt: skip


def _report(name: str, seed: str, scan: tuple[float, list[float], int], timings: list[Timing]):
    median, runs, rows = scan
    print(f"\n=== {name} ===")
    print(f"  seed: {seed}")
    print(f"  raw scan over {rows:,} measurements: {median:.2f} s median of 3 "
          f"({', '.join(f'{r:.2f}' for r in runs)}); page target 5 % = {median * PAGE_TARGET:.3f} s")  # fmt: skip
    header = f"  {'page':<28} {'user':<11} {'status':<15} {'cold':>9} {'warm':>9} "
    print(header + f"{'cold/scan':>10} {'warm/scan':>10}  result")
    for t in timings:
        line = f"  {t.label:<28} {t.who:<11} {t.status!s:<15} {fmt(t.cold):>9} {fmt(t.warm):>9} "
        if t.warm is None:
            print(line + f"{'':>10} {'':>10}  —")
        elif t.export:
            memory_ok = t.peak_mb < EXPORT_MEMORY_TARGET
            print(line + f"{'':>10} {'':>10}  cold {verdict(t.cold < EXPORT_TARGET)}, "
                         f"warm {verdict(t.warm < EXPORT_TARGET)} (< {EXPORT_TARGET:.0f} s); "
                         f"first byte {t.first_byte:.2f} s, {t.size_mb:.1f} MB, "
                         f"{'streamed' if t.streamed else 'NOT streamed'}, peak RSS "
                         f"+{t.peak_mb:.0f} MB {verdict(memory_ok)} "
                         f"(< {EXPORT_MEMORY_TARGET} MB)")  # fmt: skip
        else:
            cold, warm = t.cold / median, t.warm / median
            print(line + f"{cold:>9.1%} {warm:>10.1%}  cold {verdict(cold < PAGE_TARGET)}, "
                         f"warm {verdict(warm < PAGE_TARGET)} (< 5 %)")  # fmt: skip


def run(name: str, url: str, fresh: bool, args) -> None:
    app = app_for(url, args.redis)
    if args.redis:
        from programme.reports.cache import get_cache

        with app.app_context():
            get_cache().clear()  # this run's figures, not a previous run's
    if fresh or not seeded(app):
        print(f"\n{name}: building the large network …", flush=True)
        sizes = {"sites": args.sites, "days": args.days, "waves": args.waves,
                 "coaches": args.coaches}  # fmt: skip
        seed = f"{build(app, args.scale, sizes):.1f} s (built in this run, --scale {args.scale})"
    else:
        seed = "reused an existing database (not timed)"
    print(f"{name}: raw scan …", flush=True)
    scan = scan_seconds(app)
    print(f"{name}: raw scan {scan[0]:.2f} s (median of 3: {scan[1]}) over {scan[2]:,} rows",
          flush=True)  # fmt: skip
    print(f"{name}: pages …", flush=True)
    timings = measure(app, args.redis, args.pages)
    with app.app_context():
        from programme.extensions import db

        db.engine.dispose()
    report(name, seed, scan, timings)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sqlite", help="SQLite file to build (or reuse with --reuse)")
    parser.add_argument("--copy-from", help="copy this prebuilt SQLite file first")
    parser.add_argument("--postgres", help="PostgreSQL URL of a database to create and use")
    parser.add_argument("--reuse", action="store_true", help="reuse seeded databases")
    parser.add_argument("--keep", action="store_true", help="keep the PostgreSQL database")
    parser.add_argument("--only", choices=("sqlite", "postgres"))
    parser.add_argument(
        "--scale",
        choices=("large", "xlarge"),
        default="large",
        help="sizes of the network built (xlarge: PostgreSQL only)",
    )
    parser.add_argument("--sites", type=int, help="sites (default: the scale's)")
    parser.add_argument("--days", type=int, help="days of measurements (default 3 years)")
    parser.add_argument("--waves", type=int, help="waves (default: the scale's)")
    parser.add_argument("--coaches", type=int, help="coaches (default: the scale's)")
    parser.add_argument(
        "--refresh-wait",
        type=float,
        default=REFRESH_WAIT,
        help="seconds to let a background refresh finish between pages",
    )
    parser.add_argument(
        "--pages",
        nargs="+",
        help="only the pages whose label contains one of these words (e.g. --pages home export)",
    )
    parser.add_argument("--redis", help="Redis URL of the shared report cache (its own database)")
    args = parser.parse_args()
    globals()["REFRESH_WAIT"] = args.refresh_wait

    if args.only != "postgres":
        folder = None
        path = Path(args.sqlite) if args.sqlite else None
        if path is None:
            folder = tempfile.mkdtemp(prefix="programme-bench-")
            path = Path(folder) / "large.sqlite"
        if args.copy_from:
            shutil.copyfile(args.copy_from, path)
            path.chmod(0o644)
        fresh = not (args.reuse or args.copy_from) or not path.exists()
        if fresh:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
        try:
            run(f"SQLite ({path})", f"sqlite:///{path}", fresh, args)
        finally:
            if folder:
                shutil.rmtree(folder, ignore_errors=True)

    if args.postgres and args.only != "sqlite":
        url = args.postgres
        if url.startswith("postgresql://"):
            url = "postgresql+psycopg://" + url[len("postgresql://") :]
        existed = pg_exists(url)
        if existed and not args.reuse:
            pg_drop(url)
            existed = False
        if not existed:
            pg_create(url)
        try:
            run(f"PostgreSQL ({url.rsplit('/', 1)[-1]})", url, not existed, args)
        finally:
            if not args.keep and not (existed and args.reuse):
                pg_drop(url)


if __name__ == "__main__":
    main()
