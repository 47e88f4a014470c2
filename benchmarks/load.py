"""Load benchmark: the production stack from the Procfile under a realistic mix (issue #13).

Starts `honcho start -f Procfile` (gunicorn with gunicorn.conf.py + the RQ job worker) on a
PostgreSQL database seeded with the demo and on Redis, then drives it with Locust used as a
library, in the same run:

1. the mix with ONE client (the baseline);
2. the same mix with N clients (default 50) for the same time, a fifth of them writing all
   the time (coach checklist ticks and visits, grid cells, API batches of distinct rows),
   the others reading with a think time (executive home and reports, region and wave
   reports, site manager home, coach home and site page).

Prints req/s, p50/p95/p99 and errors for both, the throughput ratio (target ≥ 2×) and the
readers' p95 ratio (target ≤ 5×). Then checks the data: every acknowledged API row is
present exactly once, every acknowledged grid cell holds its value, and the weekly rollups
equal a recomputation from the raw rows. Not a test: nothing asserts; the exit code is 1
when a data check fails.

    .venv/bin/python benchmarks/load.py                       # 50 clients, 60 s each phase
    .venv/bin/python benchmarks/load.py --clients 20 --seconds 30 --keep
"""

from __future__ import annotations

from gevent import monkey

monkey.patch_all()

import argparse  # noqa: E402
import contextlib  # noqa: E402
import itertools  # noqa: E402
import os  # noqa: E402
import random  # noqa: E402
import re  # noqa: E402
import signal  # noqa: E402
import socket  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from datetime import date, timedelta  # noqa: E402
from pathlib import Path  # noqa: E402

import gevent  # noqa: E402
from locust import HttpUser, between, constant, task  # noqa: E402
from locust.env import Environment  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
PASSWORD = os.environ.get("DEMO_PASSWORD", "demo-Programme-2026")
EXECUTIVE = "direction@demo.programme.fr"
MANAGER = "manager@demo.programme.fr"
REGION = "region@demo.programme.fr"
COACH = "coach@demo.programme.fr"
PILOT = "pilote@demo.programme.fr"
ADMIN = "admin@demo.programme.fr"
CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"|"X-CSRFToken":\s*"([^"]+)"')

# Shared state filled in by setup() and by the writers (one process, gevent greenlets).
STATE: dict = {
    "token": None,
    "sites": [],  # site codes the admin token may write
    "links": {},  # role -> list of report/site URLs discovered at setup
    "acked_rows": [],  # (site, kpi, date, value) acknowledged by the API
    "acked_cells": {},  # (site, kpi, date) -> value acknowledged by the grid (last wins)
    "logged_in": 0,  # web users whose login is done (the measured window starts after)
}
API_DAYS = itertools.count()  # distinct days for API rows: never two batches on one key
CELL_DAYS = itertools.count()


# --- the stack ---------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def flask(env: dict, *args: str, stdin: str | None = None) -> str:
    result = subprocess.run(
        [str(VENV_BIN / "flask"), "--app", "app", *args],
        cwd=ROOT,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout


def prepare_database(url: str, reuse: bool) -> None:
    import psycopg
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    admin = parsed.set(drivername="postgresql", database="postgres").render_as_string(
        hide_password=False
    )
    with psycopg.connect(admin, autocommit=True) as conn:
        exists = conn.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", (parsed.database,)
        ).fetchone()
        if exists and not reuse:
            conn.execute(f'DROP DATABASE "{parsed.database}" WITH (FORCE)')
            exists = None
        if not exists:
            conn.execute(f'CREATE DATABASE "{parsed.database}"')


def start_stack(env: dict) -> subprocess.Popen:
    """`honcho start` on the Procfile in its own process group (stopped as a whole)."""
    return subprocess.Popen(
        [str(VENV_BIN / "honcho"), "start", "-f", "Procfile"],
        cwd=ROOT,
        env=env,
        stdout=open(os.environ.get("LOAD_STACK_LOG", os.devnull), "ab"),  # noqa: SIM115
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def wait_ready(base: str, seconds: float = 180) -> None:
    import urllib.request

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(base + "/healthz", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.5)
    raise SystemExit(f"the stack did not answer {base}/healthz within {seconds:.0f} s")


def stop_stack(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=20)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)


# --- the users ---------------------------------------------------------------------------------


class WebUser(HttpUser):
    abstract = True
    email = ""
    csrf = ""

    def on_start(self) -> None:
        page = self.client.get("/login", name="login form")
        token = _csrf(page.text)
        self.client.post(
            "/login",
            data={"email": self.email, "password": PASSWORD, "csrf_token": token},
            name="login",
        )
        home = self.client.get("/", name="home (after login)")
        self.csrf = _csrf(home.text)
        STATE["logged_in"] += 1

    def read(self, url: str, name: str) -> None:
        with self.client.get(url, name=name, catch_response=True) as r:
            if r.status_code != 200:
                r.failure(f"{r.status_code}")


def _csrf(text: str) -> str:
    match = CSRF.search(text)
    return (match.group(1) or match.group(2)) if match else ""


class Executive(WebUser):
    email = EXECUTIVE
    wait_time = between(0.5, 1.5)

    @task(3)
    def home(self):
        self.read("/", "executive home")

    @task(2)
    def glance(self):
        self.read("/reports/", "programme at a glance")

    @task(1)
    def region(self):
        self.read(random.choice(STATE["links"]["regions"]), "region report")

    @task(1)
    def wave(self):
        self.read(random.choice(STATE["links"]["waves"]), "wave report")

    @task(1)
    def impact(self):
        self.read("/reports/impact/?kpi=WAIT", "deployment impact")


class SiteManager(WebUser):
    email = MANAGER
    wait_time = between(0.5, 1.5)

    @task
    def home(self):
        self.read("/", "site manager home")


class CoachReader(WebUser):
    email = COACH
    wait_time = between(0.5, 1.5)

    @task(2)
    def home(self):
        self.read("/", "coach home")

    @task(1)
    def site(self):
        self.read(random.choice(STATE["links"]["coach_sites"]), "coach site page")


class CoachWriter(WebUser):
    """Ticks checklist items (with their version) and records visits, all the time."""

    email = COACH
    wait_time = constant(0)
    ITEM = re.compile(
        r'action="(/waves/\d+/sites/\d+/items/\d+)".*?name="version" value="(\d+)"', re.S
    )

    @task(4)
    def tick(self):
        url = random.choice(STATE["links"]["coach_sites"])
        page = self.client.get(url, name="coach site page (writer)")
        items = self.ITEM.findall(page.text)
        if not items:
            return
        action, version = random.choice(items)
        state = random.choice(["in_progress", "in_place", "sustained"])
        with self.client.post(
            action,
            data={
                "state": state,
                "version": version,
                "note": "Load test: state set by the coach",
                "csrf_token": self.csrf,
            },
            headers={"HX-Request": "true", "X-CSRFToken": self.csrf},
            name="checklist tick",
            catch_response=True,
        ) as r:
            # 409 is the optimistic lock doing its job (another writer ticked it first).
            if r.status_code in (200, 409):
                r.success()
            else:
                r.failure(f"{r.status_code}")

    @task(1)
    def visit(self):
        url = random.choice(STATE["links"]["coach_sites"])
        with self.client.post(
            url + "/visits",
            data={
                "visited_on": date.today().isoformat(),
                "duration_minutes": "45",
                "worked_on": "Rituel d'équipe du matin",
                "csrf_token": self.csrf,
            },
            name="visit",
            catch_response=True,
        ) as r:
            if r.status_code == 200 and r.url and "/login" not in r.url:
                r.success()
            else:
                r.failure(f"{r.status_code}")


class GridWriter(WebUser):
    """Types grid cells: a value and its n, on distinct days going back from last week."""

    email = ADMIN
    wait_time = constant(0)

    @task
    def cell(self):
        site = random.choice(STATE["sites"])
        day = (date.today() - timedelta(days=8 + next(CELL_DAYS))).isoformat()
        value = round(random.uniform(2, 20), 1)
        with self.client.post(
            "/measurements/grid/cell",
            data={
                "kpi": "WAIT",
                "site": site,
                "date": day,
                "value": str(value),
                "n": "40",
                "reason": "Load test",
                "csrf_token": self.csrf,
            },
            headers={"HX-Request": "true", "X-CSRFToken": self.csrf},
            name="grid cell",
            catch_response=True,
        ) as r:
            if r.status_code == 200:
                STATE["acked_cells"][(site, "WAIT", day)] = value
                r.success()
            else:
                r.failure(f"{r.status_code}: {r.text[:200]}")


class ApiWriter(HttpUser):
    """Pushes batches of 50 measurements on keys no one else writes (CSAT, years back)."""

    wait_time = constant(0)

    @task
    def batch(self):
        start = date(2016, 1, 1)
        rows = []
        for _ in range(50):
            i = next(API_DAYS)
            site = STATE["sites"][i % len(STATE["sites"])]
            day = start + timedelta(days=i // len(STATE["sites"]))
            rows.append(
                {
                    "site": site,
                    "kpi": "CSAT",
                    "date": day.isoformat(),
                    "value": round(random.uniform(1, 5), 2),
                    "n": 30,
                    "source": "load-test",
                }
            )
        with self.client.post(
            "/api/v1/measurements",
            json=rows,
            headers={"Authorization": f"Bearer {STATE['token']}"},
            name="API batch (50 rows)",
            catch_response=True,
        ) as r:
            if r.status_code == 201:
                STATE["acked_rows"].extend(
                    (x["site"], x["kpi"], x["date"], x["value"]) for x in rows
                )
                r.success()
            else:
                r.failure(f"{r.status_code}: {r.text[:200]}")


class OneClient(HttpUser):
    """The same mix played by one client: 4 reads for 1 write, the same think times."""

    wait_time = constant(0)

    def on_start(self):
        self.users = {
            "executive": _bind(Executive, self),
            "manager": _bind(SiteManager, self),
            "coach": _bind(CoachReader, self),
            "coach_writer": _bind(CoachWriter, self),
            "grid": _bind(GridWriter, self),
        }
        self.api = ApiWriter(self.environment)
        self.api.client = self.client

    @task
    def step(self):
        if random.random() < 0.8:
            who = random.choices(["executive", "manager", "coach"], weights=[20, 10, 10])[0]
            user = self.users[who]
            _run_weighted(user)
            gevent.sleep(random.uniform(0.5, 1.5))
        else:
            which = random.choices(["coach_writer", "grid", "api"], weights=[3, 3, 4])[0]
            if which == "api":
                self.api.batch()
            else:
                _run_weighted(self.users[which])


def _bind(cls, parent):
    """A user of `cls` logged in on its own cookie jar, sharing the parent's environment."""
    user = cls(parent.environment)
    user.on_start()
    return user


def _run_weighted(user) -> None:
    tasks = user.tasks
    random.choice(tasks)(user)


# --- setup, runs and checks --------------------------------------------------------------------


def discover(base: str) -> None:
    """Links the readers follow and the sites the writers use, read from the running app."""
    import requests

    s = requests.Session()
    page = s.get(base + "/login")
    s.post(
        base + "/login",
        data={"email": EXECUTIVE, "password": PASSWORD, "csrf_token": _csrf(page.text)},
    )
    glance = s.get(base + "/reports/").text
    regions = sorted(set(re.findall(r'href="(/reports/regions/\d+)"', glance)))
    waves = sorted(set(re.findall(r'href="(/reports/waves/\d+)"', glance)))
    c = requests.Session()
    page = c.get(base + "/login")
    c.post(
        base + "/login", data={"email": COACH, "password": PASSWORD, "csrf_token": _csrf(page.text)}
    )
    home = c.get(base + "/").text
    coach_sites = sorted(set(re.findall(r'href="(/waves/\d+/sites/\d+)"', home)))
    sites = s.get(base + "/api/v1/sites", headers={"Authorization": f"Bearer {STATE['token']}"})
    STATE["sites"] = [x["code"] for x in sites.json()][:200]
    STATE["links"] = {"regions": regions, "waves": waves, "coach_sites": coach_sites}
    missing = [k for k, v in STATE["links"].items() if not v] + (
        [] if STATE["sites"] else ["sites"]
    )
    if missing:
        raise SystemExit(f"setup found no {', '.join(missing)} in the demo")


def run(base: str, classes: dict, seconds: int) -> dict:
    for cls in (Executive, SiteManager, CoachReader, CoachWriter, GridWriter, ApiWriter, OneClient):
        cls.host = base
    users = []
    for cls, count in classes.items():
        cls.fixed_count = count
        users.append(cls)
    env = Environment(user_classes=users, host=base)
    runner = env.create_local_runner()
    total = sum(classes.values())
    web_users = sum(n for cls, n in classes.items() if issubclass(cls, WebUser))
    if OneClient in classes:
        web_users = 5 * classes[OneClient]  # it logs in as five people
    STATE["logged_in"] = 0
    runner.start(total, spawn_rate=max(total, 1))
    # The window measures the mix, not 50 password checks at once (each one is made slow
    # on purpose): it starts once every client has logged in (at most 60 s).
    deadline = time.monotonic() + 60
    while STATE["logged_in"] < web_users and time.monotonic() < deadline:
        gevent.sleep(0.2)
    gevent.sleep(1)
    env.stats.reset_all()
    gevent.sleep(seconds)
    runner.quit()
    return summarise(env.stats)


READ_NAMES = {
    "executive home",
    "programme at a glance",
    "region report",
    "wave report",
    "deployment impact",
    "site manager home",
    "coach home",
    "coach site page",
}


def summarise(stats) -> dict:
    total = stats.total
    reads = [e for (name, _m), e in stats.entries.items() if name in READ_NAMES]
    read_times = []
    for e in reads:
        for rt, count in e.response_times.items():
            read_times.extend([rt] * count)
    read_times.sort()

    def pct(values, q):
        return values[min(len(values) - 1, int(q * len(values)))] if values else float("nan")

    return {
        "requests": total.num_requests,
        "failures": total.num_failures,
        "rps": total.num_requests / max(total.last_request_timestamp - total.start_time, 1e-9)
        if total.num_requests
        else 0.0,
        "p50": total.get_response_time_percentile(0.5),
        "p95": total.get_response_time_percentile(0.95),
        "p99": total.get_response_time_percentile(0.99),
        "read_p95": pct(read_times, 0.95),
        "errors": {f"{e.method} {e.name}: {e.error}": e.occurrences for e in stats.errors.values()},
        "by_name": {
            name: (e.num_requests, e.num_failures, e.get_response_time_percentile(0.95))
            for (name, _m), e in sorted(stats.entries.items())
        },
    }


def check_data(env: dict) -> list[str]:
    """Every acknowledged row once, grid cells hold their values, rollups = recomputation."""
    sys.path.insert(0, str(ROOT))
    os.environ.update({k: v for k, v in env.items() if k in ("DATABASE_URL", "SECRET_KEY")})
    from sqlalchemy import text

    from programme import create_app
    from programme.extensions import db
    from programme.kpis.services import recomputed_rollups, stored_rollups

    problems = []
    app = create_app({"SQLALCHEMY_DATABASE_URI": env["DATABASE_URL"]})
    with app.app_context():
        counts = {
            (r[0], r[1], str(r[2])[:10]): (r[3], r[4])
            for r in db.session.execute(
                text(
                    "SELECT s.code, k.code, m.period_date, count(*), max(m.value) "
                    "FROM measurement m JOIN site s ON s.id = m.site_id "
                    "JOIN kpi k ON k.id = m.kpi_id WHERE k.code = 'CSAT' AND m.source = 'load-test' "
                    "GROUP BY s.code, k.code, m.period_date"
                )
            )
        }
        acked = STATE["acked_rows"]
        keys = [(s, k, d) for s, k, d, _v in acked]
        if len(set(keys)) != len(keys):
            problems.append("the generator sent one key twice (benchmark bug)")
        lost = [k for k in keys if k not in counts]
        doubled = [k for k, (n, _v) in counts.items() if n != 1]
        if lost:
            problems.append(f"{len(lost)} acknowledged API rows missing, e.g. {lost[:3]}")
        if doubled:
            problems.append(f"{len(doubled)} API keys stored more than once")
        for (site, kpi, day), value in STATE["acked_cells"].items():
            stored = db.session.execute(
                text(
                    "SELECT count(*) FROM measurement m JOIN site s ON s.id = m.site_id "
                    "JOIN kpi k ON k.id = m.kpi_id WHERE s.code = :s AND k.code = :k "
                    "AND m.period_date = :d AND abs(m.value - :v) < 1e-9"
                ),
                {"s": site, "k": kpi, "d": day, "v": value},
            ).scalar()
            if not stored:
                problems.append(f"grid cell {site} {kpi} {day} = {value} not stored")
                break
        recomputed, stored = recomputed_rollups(db.session), stored_rollups(db.session)
        off = [
            k
            for k in set(recomputed) | set(stored)
            if k not in recomputed
            or k not in stored
            or any(abs(float(a) - float(b)) > 1e-6 * max(1.0, abs(float(a)))
                   for a, b in zip(recomputed[k], stored[k], strict=True))
        ]  # fmt: skip
        if off:
            problems.append(f"{len(off)} weekly rollups differ from recomputation, e.g. {off[:3]}")
        print(
            f"data: {len(keys)} API rows acknowledged, {len(keys) - len(lost)} present once; "
            f"{len(STATE['acked_cells'])} grid cells; {len(stored)} rollup rows checked"
        )
    return problems


def show(label: str, r: dict) -> None:
    print(
        f"{label}: {r['requests']} requests, {r['rps']:.1f} req/s, p50 {r['p50']:.0f} ms, "
        f"p95 {r['p95']:.0f} ms, p99 {r['p99']:.0f} ms, readers' p95 {r['read_p95']:.0f} ms, "
        f"{r['failures']} errors"
    )
    for name, (n, f, p95) in r["by_name"].items():
        print(f"    {name:32} {n:6} req {f:4} err  p95 {p95:6.0f} ms")
    for what, n in r["errors"].items():
        print(f"    error ×{n}: {what[:160]}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--database", default="postgresql+psycopg://postgres@127.0.0.1:5432/programme_load"
    )
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/3")
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--reuse", action="store_true", help="keep an already seeded database")
    parser.add_argument("--keep", action="store_true", help="do not drop the database at the end")
    args = parser.parse_args()

    started = time.monotonic()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "DATABASE_URL": args.database,
        "REDIS_URL": args.redis,
        "PORT": str(port),
        "SECRET_KEY": os.environ.get("SECRET_KEY", "load-benchmark-secret"),
        "PYTHONPATH": str(ROOT),
        # One token for all API writers: the per-token limit (600 a minute) would answer
        # most batches 429. The benchmark measures the stack, not the limiter.
        "API_RATE_LIMIT": os.environ.get("API_RATE_LIMIT", "1000000 per minute"),
        "PATH": f"{VENV_BIN}:{os.environ.get('PATH', '')}",
    }
    prepare_database(args.database, args.reuse)
    import redis

    redis.Redis.from_url(args.redis).flushdb()
    t = time.monotonic()
    flask(env, "db", "upgrade")
    flask(env, "seed-demo", "--if-empty")
    flask(env, "demo-accounts")
    STATE["token"] = flask(env, "create-token", ADMIN, "--name", "load-test").strip().split()[-1]
    print(f"database ready in {time.monotonic() - t:.0f} s")

    stack = start_stack(env)
    try:
        wait_ready(base)
        discover(base)
        writers = max(1, args.clients // 5)
        readers = args.clients - writers
        one = run(base, {OneClient: 1}, args.seconds)
        api_w = max(1, round(writers * 0.4))
        coach_w = max(1, round(writers * 0.3))
        grid_w = max(1, writers - api_w - coach_w)
        many = run(
            base,
            {
                Executive: readers // 2,
                SiteManager: readers // 4,
                CoachReader: readers - readers // 2 - readers // 4,
                CoachWriter: coach_w,
                GridWriter: grid_w,
                ApiWriter: api_w,
            },
            args.seconds,
        )
    finally:
        stop_stack(stack)

    show("1 client", one)
    show(f"{args.clients} clients ({args.clients - writers} readers, {writers} writers)", many)
    throughput = many["rps"] / one["rps"] if one["rps"] else float("nan")
    latency = many["read_p95"] / one["read_p95"] if one["read_p95"] else float("nan")
    problems = check_data(env)
    errors = one["failures"] + many["failures"]
    for p in problems:
        print("  -", p)

    def verdict(ok: bool) -> str:
        return "PASS" if ok else "FAIL"

    print(
        f"throughput {args.clients} clients / 1 client: {throughput:.2f}× (target ≥ 2×): "
        f"{verdict(throughput >= 2)}"
    )
    print(
        f"readers' p95 {args.clients} clients / 1 client: {latency:.2f}× (target ≤ 5×): "
        f"{verdict(latency <= 5)}"
    )
    print(f"errors: {errors} (target 0): {verdict(errors == 0)}")
    print(f"lost or duplicated rows: {len(problems)} problems (target 0): {verdict(not problems)}")
    print(f"wall time of the benchmark: {time.monotonic() - started:.0f} s")
    if not args.keep:
        import psycopg
        from sqlalchemy.engine import make_url

        parsed = make_url(args.database)
        admin = parsed.set(drivername="postgresql", database="postgres").render_as_string(
            hide_password=False
        )
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)')
    return 1 if problems or errors else 0


if __name__ == "__main__":
    sys.exit(main())
