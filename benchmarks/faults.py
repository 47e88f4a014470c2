"""Fault benchmark: the production stack keeps every acknowledged write through failures (#13).

On PostgreSQL + Redis, with the stack from the Procfile (gunicorn + RQ worker, `honcho`):

1. web worker killed: API writers push batches of 200 distinct rows while a gunicorn worker
   is killed with SIGKILL in the middle, 10 times. Every acknowledged batch must be present
   whole, and no batch may be present in part.
2. job worker killed: a large CSV import is confirmed, the RQ worker is killed with SIGKILL
   while it runs; after the heartbeat timeout the job must say failed, nothing written, and
   confirming again from the same upload imports it once.
3. PostgreSQL restarted during load: no acknowledged write lost; requests succeed again
   within 5 s of the server accepting connections.
4. Redis unreachable: login and the API work (the stack started with REDIS_URL on a closed
   port, job runner on threads).

Prints what happened in each case; exit code 1 when a case fails. Not a test.

    .venv/bin/python benchmarks/faults.py                 # every case
    .venv/bin/python benchmarks/faults.py --only web,redis
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from datetime import date, timedelta
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
PASSWORD = os.environ.get("DEMO_PASSWORD", "demo-Programme-2026")
ADMIN = "admin@demo.programme.fr"
CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def flask(env: dict, *args: str) -> str:
    return subprocess.run(
        [str(VENV_BIN / "flask"), "--app", "app", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout


def pg_admin(url: str) -> tuple[str, str]:
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    admin = parsed.set(drivername="postgresql", database="postgres")
    return admin.render_as_string(hide_password=False), parsed.database


def recreate_database(url: str) -> None:
    import psycopg

    admin, name = pg_admin(url)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def drop_database(url: str) -> None:
    import psycopg

    admin, name = pg_admin(url)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


class Stack:
    """`honcho start` on the Procfile (or only its web process), in its own process group."""

    def __init__(self, env: dict, only_web: bool = False):
        args = [str(VENV_BIN / "honcho"), "start", "-f", "Procfile"]
        if only_web:
            args.append("web")
        self.env = env
        self.base = f"http://127.0.0.1:{env['PORT']}"
        self.proc = subprocess.Popen(
            args,
            cwd=ROOT,
            env=env,
            stdout=open(os.environ.get("FAULTS_STACK_LOG", os.devnull), "ab"),  # noqa: SIM115
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.wait_ready()

    def wait_ready(self, seconds: float = 60) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            with contextlib.suppress(requests.RequestException):
                if requests.get(self.base + "/healthz", timeout=2).status_code == 200:
                    return
            time.sleep(0.3)
        raise RuntimeError("the stack did not start")

    def descendants(self) -> list[tuple[int, int, str]]:
        """(pid, parent pid, command line) of every process under this stack's honcho."""
        table = {}
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    cmd = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
                except OSError:
                    continue
                table[int(entry.name)] = (_ppid(int(entry.name)), cmd)
        mine, frontier = [], [self.proc.pid]
        while frontier:
            parent = frontier.pop()
            for pid, (ppid, cmd) in table.items():
                if ppid == parent:
                    mine.append((pid, ppid, cmd))
                    frontier.append(pid)
        return mine

    def pids(self, pattern: str) -> list[int]:
        return [pid for pid, _ppid_, cmd in self.descendants() if pattern in cmd]

    def web_workers(self) -> list[int]:
        """gunicorn's worker processes: gunicorn processes whose parent is gunicorn."""
        procs = self.descendants()
        gunicorns = {pid for pid, _p, cmd in procs if "gunicorn" in cmd}
        return [pid for pid, ppid, _c in procs if pid in gunicorns and ppid in gunicorns]

    def stop(self) -> None:
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout=20)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)


def _ppid(pid: int) -> int:
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().split(") ")[1].split()[1])
    except (OSError, IndexError, ValueError):
        return -1


def token(env: dict) -> str:
    return flask(env, "create-token", ADMIN, "--name", f"faults-{time.time_ns()}").strip()


def sites(base: str, tok: str) -> list[str]:
    r = requests.get(base + "/api/v1/sites", headers={"Authorization": f"Bearer {tok}"})
    return [s["code"] for s in r.json()]


CASE_START = {"kill-web-": date(2012, 1, 1), "pg-restart-": date(1995, 1, 1)}


def batch_rows(site_codes: list[str], batch: int, size: int, source: str) -> list[dict]:
    """`size` distinct rows (CSAT, years back) that belong to batch number `batch` of its
    case only (one value per site, KPI and day: each case writes its own days)."""
    start = next(
        (day for prefix, day in CASE_START.items() if source.startswith(prefix)),
        date(1980, 1, 1),
    )
    rows = []
    for i in range(size):
        k = batch * size + i
        rows.append(
            {
                "site": site_codes[k % len(site_codes)],
                "kpi": "CSAT",
                "date": (start + timedelta(days=k // len(site_codes))).isoformat(),
                "value": 3.5,
                "n": 10,
                "source": source,
            }
        )
    return rows


def stored_per_source(env: dict, prefix: str) -> dict[str, int]:
    import psycopg
    from sqlalchemy.engine import make_url

    url = make_url(env["DATABASE_URL"]).set(drivername="postgresql")
    with psycopg.connect(url.render_as_string(hide_password=False)) as conn:
        return dict(
            conn.execute(
                "SELECT source, count(*) FROM measurement WHERE source LIKE %s GROUP BY source",
                (prefix + "%",),
            ).fetchall()
        )


def writers(base: str, tok: str, site_codes, prefix: str, stop: threading.Event, size=200):
    """Threads pushing batches until `stop`; returns (acknowledged, refused) lists of sources."""
    acked, refused = [], []
    counter = iter(range(10**9))
    lock = threading.Lock()

    def loop():
        s = requests.Session()
        while not stop.is_set():
            with lock:
                b = next(counter)
            source = f"{prefix}{b}"
            try:
                r = s.post(
                    base + "/api/v1/measurements",
                    json=batch_rows(site_codes, b, size, source),
                    headers={"Authorization": f"Bearer {tok}"},
                    timeout=30,
                )
                (acked if r.status_code == 201 else refused).append((source, r.status_code))
            except requests.RequestException as e:
                refused.append((source, type(e).__name__))

    threads = [threading.Thread(target=loop, daemon=True) for _ in range(4)]
    for t in threads:
        t.start()
    return threads, acked, refused


def check_batches(env, prefix, acked, size) -> list[str]:
    stored = stored_per_source(env, prefix)
    problems = []
    for source, _status in acked:
        if stored.get(source) != size:
            problems.append(f"acknowledged {source} has {stored.get(source, 0)} rows of {size}")
    partial = {s: n for s, n in stored.items() if n != size}
    if partial:
        problems.append(f"partial batches stored: {list(partial.items())[:5]}")
    return problems


# --- the cases ---------------------------------------------------------------------------------


def case_web_worker(env: dict) -> list[str]:
    stack = Stack(env)
    try:
        tok = token(env)
        codes = sites(stack.base, tok)
        stop = threading.Event()
        threads, acked, refused = writers(stack.base, tok, codes, "kill-web-", stop)
        kills = 0
        for _ in range(10):
            time.sleep(1.5)
            workers = stack.web_workers()
            if workers:
                os.kill(workers[kills % len(workers)], signal.SIGKILL)
                kills += 1
        time.sleep(2)
        stop.set()
        for t in threads:
            t.join(timeout=40)
        problems = check_batches(env, "kill-web-", acked, 200)
        print(
            f"web worker killed {kills} times: {len(acked)} batches acknowledged, "
            f"{len(refused)} refused or cut ({sorted({str(s) for _b, s in refused})}); "
            f"{'OK' if not problems else 'FAIL'}"
        )
        return problems
    finally:
        stack.stop()


def login(base: str, email: str) -> requests.Session:
    s = requests.Session()
    page = s.get(base + "/login")
    token_ = CSRF.search(page.text).group(1)
    r = s.post(base + "/login", data={"email": email, "password": PASSWORD, "csrf_token": token_})
    r.raise_for_status()
    if "/login" in r.url:
        raise RuntimeError(f"login as {email} failed")
    return s


def case_job_worker(env: dict) -> list[str]:
    """Kill the RQ worker during an import; the job fails on the heartbeat; confirm again."""
    env = {**env, "JOB_HEARTBEAT_TIMEOUT": "10"}
    stack = Stack(env)
    problems: list[str] = []
    try:
        tok = token(env)
        codes = sites(stack.base, tok)
        rows = 200_000
        csv = io.StringIO()
        csv.write("site,kpi,date,value,n\n")
        start = date(2010, 1, 1)
        for k in range(rows):
            day = start + timedelta(days=k // len(codes))
            csv.write(f"{codes[k % len(codes)]},FCR,{day.isoformat()},0.7,20\n")
        s = login(stack.base, ADMIN)
        page = s.get(stack.base + "/measurements/import")
        form = {"csrf_token": CSRF.search(page.text).group(1), "source": "fault-import"}
        r = s.post(
            stack.base + "/measurements/import",
            data=form,
            files={"file": ("faults.csv", csv.getvalue().encode(), "text/csv")},
        )
        upload_url = r.url
        confirm = _form_action(r.text, "confirm")
        if not confirm:
            return [f"no confirm button after upload ({r.status_code} {upload_url})"]
        r = s.post(stack.base + confirm, data={"csrf_token": CSRF.search(r.text).group(1)})
        job_page = r.url
        killed = False
        for _ in range(600):
            text = s.get(job_page).text
            if re.search(r'value="(\d+)"', text) and "running" in text.lower() or "cours" in text:
                pids = stack.pids("app worker")
                if pids:
                    for p in pids:
                        os.kill(p, signal.SIGKILL)
                    killed = True
                    break
            time.sleep(0.1)
        if not killed:
            return ["the import finished or never ran before the worker could be killed"]
        before = stored_per_source(env, "fault-import").get("fault-import", 0)
        time.sleep(15)
        # a worker starts again (as the supervisor would) and checks for stale jobs
        subprocess.Popen(
            [str(VENV_BIN / "flask"), "--app", "app", "worker", "--burst"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        ).wait(timeout=60)
        text = s.get(job_page).text
        failed = "interrupted" in text.lower() or "interrompu" in text.lower()
        if not failed:
            problems.append("the job is not marked interrupted after the heartbeat timeout")
        if before:
            problems.append(f"{before} rows written by the killed import")
        retry = _form_action(text, "retry") or _form_action(text, "confirm")
        if not retry:
            problems.append("no way to confirm the failed import again")
        else:
            s.post(stack.base + retry, data={"csrf_token": CSRF.search(text).group(1)})
            subprocess.Popen(
                [str(VENV_BIN / "flask"), "--app", "app", "worker", "--burst"],
                cwd=ROOT,
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            ).wait(timeout=600)
            after = stored_per_source(env, "fault-import").get("fault-import", 0)
            if after != rows:
                problems.append(f"the import confirmed again stored {after} rows of {rows}")
        print(
            f"job worker killed during a {rows:,}-row import: "
            f"{'OK' if not problems else 'FAIL: ' + '; '.join(problems)}"
        )
        return problems
    finally:
        stack.stop()


def _form_action(html: str, word: str) -> str | None:
    for action in re.findall(r'<form[^>]*action="([^"]+)"[^>]*method="post"', html, re.I):
        if word in action:
            return action
    for action in re.findall(r'<form[^>]*method="post"[^>]*action="([^"]+)"', html, re.I):
        if word in action:
            return action
    return None


def case_postgres_restart(env: dict) -> list[str]:
    stack = Stack(env)
    try:
        tok = token(env)
        codes = sites(stack.base, tok)
        stop = threading.Event()
        threads, acked, refused = writers(stack.base, tok, codes, "pg-restart-", stop)
        time.sleep(3)
        cluster = sorted(os.listdir("/etc/postgresql"))[0]
        subprocess.run(
            [
                "pg_ctlcluster",
                "--skip-systemctl-redirect",
                cluster,
                "main",
                "restart",
                "-m",
                "fast",
            ],
            check=True,
        )
        while subprocess.run(["pg_isready", "-h", "127.0.0.1", "-q"]).returncode != 0:
            time.sleep(0.05)
        accepting = time.monotonic()
        recovered = None
        while time.monotonic() - accepting < 30:
            try:
                r = requests.get(
                    stack.base + "/api/v1/kpis",
                    headers={"Authorization": f"Bearer {tok}"},
                    timeout=5,
                )
                if r.status_code == 200:
                    recovered = time.monotonic() - accepting
                    break
            except requests.RequestException:
                pass
            time.sleep(0.05)
        time.sleep(3)
        stop.set()
        for t in threads:
            t.join(timeout=40)
        problems = check_batches(env, "pg-restart-", acked, 200)
        if recovered is None or recovered > 5:
            problems.append(f"requests succeeded again only after {recovered} s")
        print(
            f"PostgreSQL restarted: requests succeed again {recovered:.2f} s after it accepts "
            f"connections; {len(acked)} batches acknowledged, {len(refused)} refused during "
            f"the restart; {'OK' if not problems else 'FAIL'}"
        )
        return problems
    finally:
        stack.stop()


def case_redis_down(env: dict) -> list[str]:
    env = {**env, "REDIS_URL": "redis://127.0.0.1:1/0", "JOB_RUNNER": "thread"}
    stack = Stack(env, only_web=True)
    problems = []
    try:
        try:
            login(stack.base, ADMIN)
        except Exception as e:  # noqa: BLE001 - reported as the case's failure
            problems.append(f"login failed: {e}")
        tok = token(env)
        codes = sites(stack.base, tok)
        r = requests.post(
            stack.base + "/api/v1/measurements",
            json=batch_rows(codes, 0, 50, "redis-down"),
            headers={"Authorization": f"Bearer {tok}"},
        )
        if r.status_code != 201:
            problems.append(f"API write answered {r.status_code}")
        ready = requests.get(stack.base + "/readyz")
        if ready.status_code != 503:
            problems.append(f"/readyz answered {ready.status_code}, not 503")
        print(
            f"Redis unreachable: login and API {'work' if not problems else 'FAIL'}; "
            f"/readyz {ready.status_code} {ready.text.strip()[:120]}"
        )
        return problems
    finally:
        stack.stop()


CASES = {
    "web": case_web_worker,
    "job": case_job_worker,
    "postgres": case_postgres_restart,
    "redis": case_redis_down,
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--database", default="postgresql+psycopg://postgres@127.0.0.1:5432/programme_faults"
    )
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/4")
    parser.add_argument("--only", default=",".join(CASES))
    args = parser.parse_args()
    env = {
        **os.environ,
        "DATABASE_URL": args.database,
        "REDIS_URL": args.redis,
        "PORT": str(free_port()),
        "SECRET_KEY": os.environ.get("SECRET_KEY", "faults-benchmark-secret"),
        "PYTHONPATH": str(ROOT),
        # The writers share one token: its rate limit would refuse most batches (429).
        "API_RATE_LIMIT": os.environ.get("API_RATE_LIMIT", "1000000 per minute"),
        "PATH": f"{VENV_BIN}:{os.environ.get('PATH', '')}",
    }
    recreate_database(args.database)
    flask(env, "db", "upgrade")
    flask(env, "seed-demo", "--if-empty")
    flask(env, "demo-accounts")
    failures = 0
    try:
        for name in args.only.split(","):
            try:
                problems = CASES[name](env)
            except Exception as e:  # noqa: BLE001 - a crashed case is a failed case
                problems = [f"{type(e).__name__}: {e}"]
                print(f"{name}: crashed: {problems[0]}")
            for p in problems:
                print("  -", p)
            failures += bool(problems)
    finally:
        drop_database(args.database)
    print(f"{len(args.only.split(','))} cases, {failures} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
