"""Fault benchmark: the production stack keeps every acknowledged write through failures (#13).

On PostgreSQL + Redis, with the stack from the Procfile (gunicorn + RQ worker, `honcho`):

1. web worker killed: API writers push batches of 200 distinct rows while a gunicorn worker
   is killed with SIGKILL in the middle, 10 times. Every acknowledged batch must be present
   whole, and no batch may be present in part.
2. job worker killed: a large CSV import is confirmed, the RQ worker is killed with SIGKILL
   while it runs; after the heartbeat timeout the job must say failed, nothing written, and
   confirming again from the same upload imports it once.
3. PostgreSQL restarted during load (`pg_ctlcluster … restart -m fast` of the local cluster
   that serves --database, found by its port): no acknowledged write lost; requests succeed
   again within 5 s of the server accepting connections. On a shared machine, point
   --database at a cluster of your own (`pg_createcluster 15 faults --port 5439 --
   --auth=trust`) so that others' work is not cut.
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


def ensure_database(url: str) -> None:
    import psycopg

    admin, name = pg_admin(url)
    with psycopg.connect(admin, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
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
        port = free_port()  # a port of its own: never another case's stack
        # gunicorn writes its master's pid here: its workers are that process's children.
        self.pidfile = Path(f"/tmp/faults-gunicorn-{os.getpid()}-{port}.pid")
        self.pidfile.unlink(missing_ok=True)
        env = {**env, "PORT": str(port), "GUNICORN_CMD_ARGS": f"--pid {self.pidfile}"}
        self.env = env
        self.base = f"http://127.0.0.1:{port}"
        self.proc = subprocess.Popen(
            args,
            cwd=ROOT,
            env=env,
            stdout=open(os.environ.get("FAULTS_STACK_LOG", os.devnull), "ab"),  # noqa: SIM115
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            self.wait_ready()
        except BaseException:
            self.stop()  # never leave a stack behind, holding its port and taking jobs
            raise

    def wait_ready(self, seconds: float = 180) -> None:
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
        """gunicorn's worker processes: the children of its master (from its pidfile)."""
        try:
            master = int(self.pidfile.read_text().strip())
        except (OSError, ValueError):
            return []
        return children(master)

    def stop(self) -> None:
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout=20)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)


def children(parent: int) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and _ppid(int(entry.name)) == parent:
            pids.append(int(entry.name))
    return sorted(pids)


def cpu_ticks(pid: int) -> int:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().split(") ")[1].split()
        return int(fields[11]) + int(fields[12])  # utime + stime
    except (OSError, IndexError, ValueError):
        return -1


def expected_web_workers(env: dict) -> int:
    """What gunicorn.conf.py starts: WEB_CONCURRENCY, else two a core plus one."""
    value = env.get("WEB_CONCURRENCY", "").strip()
    return int(value) if value else 2 * len(os.sched_getaffinity(0)) + 1


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


# Each case writes CSAT rows on days of its own: after 2000 (the intake refuses older
# dates) and before the demo's data (the last two years), one value per site, KPI and day.
CASE_DAYS = {
    "kill-web-": (date(2005, 1, 1), date(2022, 12, 31)),
    "pg-restart-": (date(2000, 1, 1), date(2004, 12, 31)),
    "redis-down": (date(2023, 1, 1), date(2023, 12, 31)),
}


def batch_rows(site_codes: list[str], batch: int, size: int, source: str) -> list[dict] | None:
    """`size` distinct rows that belong to batch number `batch` of its case only; None when
    the case has used up its days."""
    start, end = next(
        (days for prefix, days in CASE_DAYS.items() if source.startswith(prefix)),
        (date(2000, 1, 1), date(2022, 12, 31)),
    )
    rows = []
    for i in range(size):
        k = batch * size + i
        day = start + timedelta(days=k // len(site_codes))
        if day > end:
            return None
        rows.append(
            {
                "site": site_codes[k % len(site_codes)],
                "kpi": "CSAT",
                "date": day.isoformat(),
                "value": 3.5,
                "n": 10,
                "source": source,
            }
        )
    return rows


def sql(env: dict, query: str, params: tuple = ()) -> list[tuple]:
    import psycopg
    from sqlalchemy.engine import make_url

    url = make_url(env["DATABASE_URL"]).set(drivername="postgresql")
    with psycopg.connect(url.render_as_string(hide_password=False)) as conn:
        return conn.execute(query, params).fetchall()


def stored_per_source(env: dict, prefix: str) -> dict[str, int]:
    return dict(
        sql(
            env,
            "SELECT source, count(*) FROM measurement WHERE source LIKE %s GROUP BY source",
            (prefix + "%",),
        )
    )


class Writers:
    """Threads pushing batches of `size` distinct rows through the API until stopped. Each
    batch is tagged with the round (`self.round`) in which it was sent."""

    def __init__(self, base: str, tok: str, site_codes, prefix: str, size=200, threads=4):
        self.base, self.tok, self.codes, self.prefix, self.size = (
            base,
            tok,
            site_codes,
            prefix,
            size,
        )
        self.round = 0
        self.acked: list[tuple[str, int, float]] = []  # (source, round, time)
        self.refused: list[tuple[str, str, str, int]] = []  # (source, status, body, round)
        self.sent: dict[str, int] = {}  # source -> round
        self.exhausted = False
        self._stop = threading.Event()
        self._counter = iter(range(10**9))
        self._lock = threading.Lock()
        self._threads = [threading.Thread(target=self._loop, daemon=True) for _ in range(threads)]
        for t in self._threads:
            t.start()

    def _loop(self) -> None:
        s = requests.Session()
        while not self._stop.is_set():
            with self._lock:
                b = next(self._counter)
            source = f"{self.prefix}{b}"
            rows = batch_rows(self.codes, b, self.size, source)
            if rows is None:
                self.exhausted = True
                return
            sent_in = self.round
            self.sent[source] = sent_in
            try:
                r = s.post(
                    self.base + "/api/v1/measurements",
                    json=rows,
                    headers={"Authorization": f"Bearer {self.tok}"},
                    timeout=30,
                )
            except requests.RequestException as e:
                self.refused.append((source, type(e).__name__, str(e)[:160], sent_in))
                s = requests.Session()
                continue
            if r.status_code == 201:
                self.acked.append((source, sent_in, time.monotonic()))
            else:
                self.refused.append((source, str(r.status_code), r.text[:300], sent_in))

    def stop(self) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(timeout=40)

    def refusals(self) -> str:
        """Refusals by status, with one body of each."""
        by_status: dict[str, list] = {}
        for _source, status, body, _r in self.refused:
            by_status.setdefault(status, []).append(body)
        return "; ".join(
            f"{len(bodies)} × {status} (e.g. {bodies[0].strip()[:140]!r})"
            for status, bodies in sorted(by_status.items())
        )


def check_batches(env: dict, w: Writers) -> tuple[list[str], dict[int, dict]]:
    """Every acknowledged batch present whole, no batch present in part; counts by round."""
    stored = stored_per_source(env, w.prefix)
    problems, rounds = [], {}
    for source, sent_in in w.sent.items():
        r = rounds.setdefault(sent_in, {"sent": 0, "acked": 0, "present": 0, "partial": 0})
        r["sent"] += 1
        n = stored.get(source, 0)
        if n not in (0, w.size):
            r["partial"] += 1
            problems.append(f"{source} stored in part: {n} rows of {w.size}")
    for source, sent_in, _t in w.acked:
        rounds[sent_in]["acked"] += 1
        if stored.get(source) == w.size:
            rounds[sent_in]["present"] += 1
        else:
            problems.append(f"acknowledged {source} has {stored.get(source, 0)} rows of {w.size}")
    return problems, rounds


# --- the cases ---------------------------------------------------------------------------------


def _heartbeat_ctime(pid: int) -> float | None:
    """The change time of the worker's heartbeat file (gunicorn's WorkerTmp, which the
    worker touches on every turn of its loop once the app is loaded)."""
    with contextlib.suppress(OSError):
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            with contextlib.suppress(OSError):
                if "wgunicorn-" in os.readlink(fd):
                    return os.stat(fd).st_ctime
    return None


_FIRST_BEAT: dict[int, float | None] = {}


def booted(pid: int) -> bool:
    """A gunicorn worker that has loaded the app and runs its loop: its heartbeat file
    changed since we first saw it."""
    now = _heartbeat_ctime(pid)
    first = _FIRST_BEAT.setdefault(pid, now)
    return now is not None and first is not None and now != first


def _wait_for_workers(stack: Stack, expected: int, not_in=(), seconds: float = 120) -> list[int]:
    """gunicorn's workers once it runs `expected` of them, none of them in `not_in`, all
    with the app loaded (a worker boots in seconds on a loaded machine: killing it then
    would kill nothing in the middle of a batch)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        workers = stack.web_workers()
        if (
            len(workers) >= expected
            and not set(workers) & set(not_in)
            and all(booted(pid) for pid in workers)
        ):
            return workers
        time.sleep(0.1)
    raise RuntimeError(f"gunicorn did not get back to {expected} booted workers in {seconds} s")


def _busiest(pids: list[int], seconds: float = 0.3) -> int:
    """The worker that used the most CPU over `seconds`: the one in the middle of a batch."""
    before = {pid: cpu_ticks(pid) for pid in pids}
    time.sleep(seconds)
    return max(pids, key=lambda pid: cpu_ticks(pid) - before[pid])


def case_web_worker(env: dict, rounds: int = 10) -> list[str]:
    """SIGKILL a gunicorn worker while batches are being written, `rounds` times, waiting
    for gunicorn to replace it before the next round."""
    stack = Stack(env)
    expected = expected_web_workers(env)
    try:
        tok = token(env)
        codes = sites(stack.base, tok)
        workers = _wait_for_workers(stack, expected)
        w = Writers(stack.base, tok, codes, "kill-web-")
        kills = []
        for k in range(1, rounds + 1):
            w.round = k
            time.sleep(1.0)  # batches in flight on every worker
            victim = _busiest(workers)
            os.kill(victim, signal.SIGKILL)
            killed_at = time.monotonic()
            workers = _wait_for_workers(stack, expected, not_in=[victim])
            kills.append((victim, time.monotonic() - killed_at))
        w.round = rounds + 1
        time.sleep(1.0)
        w.stop()
        problems, by_round = check_batches(env, w)
        for k, (victim, replaced) in enumerate(kills, start=1):
            r = by_round.get(k, {"sent": 0, "acked": 0, "present": 0, "partial": 0})
            print(
                f"  round {k:2}: worker {victim} killed, its replacement booted {replaced:.1f} s "
                f"later; "
                f"{r['acked']} batches acknowledged, {r['present']} present whole, "
                f"{r['partial']} partial, {r['sent'] - r['acked']} refused or cut"
            )
        if len(kills) < rounds:
            problems.append(f"only {len(kills)} kills of {rounds}")
        if w.exhausted:
            problems.append("the writers ran out of days (benchmark bug)")
        if not w.acked:
            problems.append("no batch acknowledged")
        print(
            f"web worker killed {len(kills)} times: {len(w.acked)} batches acknowledged "
            f"(all present whole: {'yes' if not problems else 'NO'}), "
            f"{sum(r['partial'] for r in by_round.values())} partial; refused or cut: "
            f"{w.refusals() or 'none'}; {'PASS' if not problems else 'FAIL'}"
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


def _start_worker(env: dict) -> subprocess.Popen:
    """The RQ worker on its own, as a supervisor would run it (honcho stops the whole stack
    when one of its processes dies)."""
    return subprocess.Popen(
        [str(VENV_BIN / "flask"), "--app", "app", "worker"],
        cwd=ROOT,
        env=env,
        stdout=open(os.environ.get("FAULTS_STACK_LOG", os.devnull), "ab"),  # noqa: SIM115
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def _job_row(env: dict, upload_id: int, column: str) -> tuple | None:
    rows = sql(
        env,
        f"SELECT j.id, j.status, j.progress, j.error FROM kpi_upload u "  # noqa: S608
        f"JOIN job j ON j.id = u.{column} WHERE u.id = %s",
        (upload_id,),
    )
    return rows[0] if rows else None


def _wait_job(env, upload_id, column, statuses, seconds) -> tuple | None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        row = _job_row(env, upload_id, column)
        if row and row[1] in statuses:
            return row
        time.sleep(0.1)
    return _job_row(env, upload_id, column)


def case_job_worker(env: dict, rows: int = 200_000) -> list[str]:
    """Kill the RQ worker during an import; the job fails on the heartbeat; confirm again."""
    env = {**env, "JOB_HEARTBEAT_TIMEOUT": "10", "JOB_HEARTBEAT_INTERVAL": "2"}
    stack = Stack(env, only_web=True)
    worker = _start_worker(env)
    problems: list[str] = []
    try:
        tok = token(env)
        codes = sites(stack.base, tok)
        csv = io.StringIO()
        csv.write("site,kpi,date,value,n\n")
        start = date(2010, 1, 1)
        for k in range(rows):
            day = start + timedelta(days=k // len(codes))
            csv.write(f"{codes[k % len(codes)]},FCR,{day.isoformat()},0.7,20\n")
        s = login(stack.base, ADMIN)
        page = s.get(stack.base + "/measurements/import")
        r = s.post(
            stack.base + "/measurements/import",
            data={"csrf_token": CSRF.search(page.text).group(1), "source": "fault-import"},
            files={"file": ("faults.csv", csv.getvalue().encode(), "text/csv")},
        )
        match = re.search(r"/measurements/import/(\d+)$", r.url)
        if r.status_code != 200 or not match:
            return [f"the upload answered {r.status_code} at {r.url}"]
        upload_id = int(match.group(1))
        check = _wait_job(env, upload_id, "check_job_id", ("done", "failed"), 300)
        if not check or check[1] != "done":
            return [f"the check did not end well: {check}"]
        text = s.get(r.url).text
        confirm = _form_action(text, "confirm")
        if not confirm:
            return ["no confirm button after the check"]
        s.post(stack.base + confirm, data={"csrf_token": CSRF.search(text).group(1)})
        running = _wait_job(env, upload_id, "import_job_id", ("running",), 60)
        if not running or running[1] != "running":
            return [f"the import did not start: {running}"]
        time.sleep(2.0)  # well into the import
        at = _job_row(env, upload_id, "import_job_id")
        if at[1] != "running":
            return [f"the import ended before the worker could be killed: {at}"]
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait()
        killed_at = time.monotonic()
        print(f"  RQ worker {worker.pid} killed during the import (job {at[0]}, {at[2]} %)")
        written = stored_per_source(env, "fault-import").get("fault-import", 0)
        # the heartbeat timeout passes; the status page (or a worker starting) notices
        failed = None
        while time.monotonic() - killed_at < 40:
            text = s.get(r.url).text
            failed = _job_row(env, upload_id, "import_job_id")
            if failed[1] == "failed":
                break
            time.sleep(1)
        noticed = time.monotonic() - killed_at
        shown = "nothing was written" in text or "rien n’a été enregistré" in text
        if failed[1] != "failed" or failed[3] != "interrupted":
            problems.append(f"the job is not marked interrupted after the timeout: {failed}")
        elif not shown:
            problems.append("the status page does not say 'interrupted — nothing was written'")
        if written:
            problems.append(f"{written} rows written by the killed import")
        print(
            f"  job marked {failed[1]} ({failed[3]}) {noticed:.0f} s after the kill "
            f"(heartbeat timeout 10 s); rows written by the killed import: {written}"
        )
        worker = _start_worker(env)  # the supervisor starts it again
        again = _form_action(text, "retry") or _form_action(text, "confirm")
        if not again:
            problems.append("no way to confirm the failed import again")
        else:
            s.post(stack.base + again, data={"csrf_token": CSRF.search(text).group(1)})
            clock = time.monotonic()
            done = _wait_job(env, upload_id, "import_job_id", ("done", "failed"), 300)
            after = stored_per_source(env, "fault-import").get("fault-import", 0)
            print(
                f"  confirmed again from its upload: job {done[0]} {done[1]} in "
                f"{time.monotonic() - clock:.0f} s, {after:,} rows of {rows:,} stored"
            )
            if done[1] != "done" or after != rows:
                problems.append(f"the import confirmed again: {done}, {after} rows of {rows}")
        print(
            f"job worker killed during a {rows:,}-row import: "
            f"{'PASS' if not problems else 'FAIL: ' + '; '.join(problems)}"
        )
        return problems
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(worker.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            worker.wait(timeout=20)
        stack.stop()


def _form_action(html: str, word: str) -> str | None:
    for action in re.findall(r'<form[^>]*action="([^"]+)"[^>]*method="post"', html, re.I):
        if word in action:
            return action
    for action in re.findall(r'<form[^>]*method="post"[^>]*action="([^"]+)"', html, re.I):
        if word in action:
            return action
    return None


def _pg_server(env: dict) -> tuple[str, str, int]:
    """(version, cluster, port) of the local PostgreSQL cluster serving DATABASE_URL."""
    from sqlalchemy.engine import make_url

    port = make_url(env["DATABASE_URL"]).port or 5432
    listing = subprocess.run(
        ["pg_lsclusters", "--no-header"], capture_output=True, text=True, check=True
    ).stdout
    for line in listing.splitlines():
        version, cluster, cluster_port, *_rest = line.split()
        if int(cluster_port) == port:
            return version, cluster, port
    raise RuntimeError(f"no local PostgreSQL cluster listens on port {port}")


def _pg_ready(port: int) -> bool:
    command = ["pg_isready", "-h", "127.0.0.1", "-p", str(port), "-q", "-t", "1"]
    return subprocess.run(command).returncode == 0


def case_postgres_restart(env: dict) -> list[str]:
    """Restart the local PostgreSQL once (fast shutdown) while writers push batches."""
    stack = Stack(env)
    problems: list[str] = []
    try:
        tok = token(env)
        codes = sites(stack.base, tok)
        w = Writers(stack.base, tok, codes, "pg-restart-")
        time.sleep(3)
        w.round = 1
        version, cluster, port = _pg_server(env)
        print(f"  restarting PostgreSQL {version}/{cluster} (port {port}) with writers running")
        restart = subprocess.Popen(
            [
                "pg_ctlcluster",
                "--skip-systemctl-redirect",
                version,
                cluster,
                "restart",
                "-m",
                "fast",
            ]
        )
        clock = time.monotonic()
        while _pg_ready(port) and time.monotonic() - clock < 30:
            time.sleep(0.02)  # until the server goes down
        down = time.monotonic()
        while not _pg_ready(port) and time.monotonic() - down < 60:
            time.sleep(0.02)
        accepting = time.monotonic()
        w.round = 2
        restart.wait(timeout=60)
        recovered = None
        while time.monotonic() - accepting < 30:
            try:
                r = requests.get(
                    stack.base + "/api/v1/kpis",
                    headers={"Authorization": f"Bearer {tok}"},
                    timeout=5,
                )
                if 200 <= r.status_code < 300:
                    recovered = time.monotonic() - accepting
                    break
            except requests.RequestException:
                pass
            time.sleep(0.02)
        time.sleep(3)
        w.stop()
        first_write = min((t for _s, _r, t in w.acked if t >= accepting), default=None)
        first_write = first_write - accepting if first_write is not None else None
        problems, by_round = check_batches(env, w)
        before, during, after = (by_round.get(k, {}).get("acked", 0) for k in (0, 1, 2))
        if recovered is None or recovered > 5:
            problems.append(f"reads succeeded again only after {recovered} s")
        if first_write is None or first_write > 5:
            problems.append(f"writes succeeded again only after {first_write} s")
        if not before or not after:
            problems.append("no batch acknowledged before or after the restart")
        print(
            f"  server down for {accepting - down:.1f} s; first 2xx {recovered:.2f} s (read) and "
            f"{first_write:.2f} s (API batch) after it accepts connections"
            if recovered is not None and first_write is not None
            else f"  server down for {accepting - down:.1f} s; no 2xx within 30 s"
        )
        print(
            f"  batches acknowledged: {before} before, {during} during, {after} after the "
            f"restart, all present whole: {'yes' if not problems else 'NO'}; refused: "
            f"{w.refusals() or 'none'}"
        )
        print(f"PostgreSQL restarted during load: {'PASS' if not problems else 'FAIL'}")
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
            f"Redis unreachable: login and API {'work: PASS' if not problems else 'FAIL'}; "
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
    sys.stdout.reconfigure(line_buffering=True)
    started = time.monotonic()
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--database", default="postgresql+psycopg://postgres@127.0.0.1:5432/programme_faults"
    )
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/4")
    parser.add_argument("--only", default=",".join(CASES))
    parser.add_argument(
        "--reuse", action="store_true", help="keep the seeded database (faster reruns)"
    )
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
    if args.reuse:
        ensure_database(args.database)
    else:
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
        if not args.reuse:
            drop_database(args.database)
    print(
        f"{len(args.only.split(','))} cases, {failures} failed "
        f"({time.monotonic() - started:.0f} s): {'PASS' if not failures else 'FAIL'}"
    )
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
