"""Upload memory benchmark: what importing an upload costs a process, for accepted uploads
up to the 100 MB limit and for the malicious shapes of issue 13.

    .venv/bin/python benchmarks/upload_memory.py                 # every case, ≈ 3 minutes
    .venv/bin/python benchmarks/upload_memory.py --cases csv,bomb
    .venv/bin/python benchmarks/upload_memory.py --csv-rows 200000 --xlsx-rows 50000  # quick

Each case has its own SQLite database (sites and KPIs seeded in another process first) and
two processes, as in production: the **web** worker's (the upload request: format checks,
XLSX archive checks, headers, the file stored in the database: `create_upload`) and the
**job** worker's (the check job, a dry run over every row, then the import job, both
through `run_job` as the RQ worker runs them). Each process creates the app first (its idle
state: the **baseline** RSS), then reports its **peak** RSS (VmHWM), its RSS **after** the
work, and the ratio peak / baseline. RSS is read from /proc/self/status.

Cases:
- `csv`: a long-layout CSV of --csv-rows rows (default 1,800,000, ≈ 100 MB: the upload
  limit, under the 2,000,000-row cap) with a source column;
- `xlsx`: a workbook of --xlsx-rows rows (default 300,000: its sheet XML is past the
  32 MB that calamine reads in memory, so it goes through the streaming reader);
- `xlsx-strings`: a workbook whose shared strings are just under their cap (60 MB of
  distinct texts): the most any accepted workbook makes a reader hold;
- `bomb`: 972 MB of shared strings in a ≈ 1 MB file (refused with 413 before unpacking);
- `empty-rows`: 1,000,000 empty styled rows after two data rows (2.5 MB; accepted, read
  without keeping anything per row);
- `sparse`: cells at A1 and XFD1048576 (a whole-sheet reader's grid of 17 billion cells).

Target (issue 13): peak under 500 MB and RSS after within 50 MB of the baseline. Not a
test: it prints the figures and asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
os.environ.setdefault("SECRET_KEY", "benchmark")

SITES = 1000
CASES = ("csv", "xlsx", "xlsx-strings", "bomb", "empty-rows", "sparse")


def rss_mb(field: str = "VmRSS") -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return 0.0


def _day(i: int) -> str:
    return (date(2024, 1, 1) + timedelta(days=i % 700)).isoformat()


def make_csv(path: Path, rows: int) -> None:
    rnd = random.Random(1)
    kpis = ("WAIT", "CONV", "CSAT", "FCR")
    with path.open("w") as fh:
        fh.write("site_code,kpi_code,date,value,n,source\n")
        for i in range(rows):
            site, rest = divmod(i, 700 * len(kpis))
            kpi = kpis[rest % len(kpis)]
            value = (
                round(rnd.uniform(2, 30), 2) if kpi == "WAIT" else round(rnd.uniform(0.1, 0.9), 3)
            )
            if kpi == "CSAT":
                value = round(rnd.uniform(2.5, 5), 2)
            fh.write(
                f"B{site % SITES:05d},{kpi},{_day(rest // len(kpis))},{value},"
                f"{rnd.randint(5, 400)},qms-central-export-2026\n"
            )


def make_files(case: str, folder: Path, args) -> Path:
    from tests import xlsx_shapes

    if case == "csv":
        path = folder / "export.csv"
        make_csv(path, args.csv_rows)
    elif case == "xlsx":
        path = folder / "export.xlsx"

        def rows():
            yield xlsx_shapes.row_xml(1, ("site_code", "kpi_code", "date", "value", "n"))
            for i in range(args.xlsx_rows):
                site, day = divmod(i, 700)
                yield xlsx_shapes.row_xml(
                    i + 2, (f"B{site % SITES:05d}", "WAIT", _day(day), 5 + i % 17, 40)
                )

        xlsx_shapes.workbook(rows(), path=str(path))
    elif case == "xlsx-strings":
        path = folder / "export.xlsx"
        rnd = random.Random(2)
        alphabet = "abcdefghijklmnopqrstuvwxyz0123456789 "

        def strings():
            total = 0
            for _ in range(60 * 1024 * 1024 // 52):
                text = "".join(rnd.choices(alphabet, k=40))
                total += 52
                yield f"<si><t>{text}</t></si>"

        header = xlsx_shapes.row_xml(1, ("site_code", "kpi_code", "date", "value", "n"))
        data = xlsx_shapes.row_xml(2, ("B00001", "WAIT", _day(1), 7, 40))
        xlsx_shapes.workbook([header, data], strings(), path=str(path), level=1)
    elif case == "bomb":
        path = folder / "export.xlsx"
        xlsx_shapes.shared_strings_bomb(972 * 1024 * 1024, path=str(path))
    elif case == "empty-rows":
        path = folder / "export.xlsx"
        xlsx_shapes.empty_styled_rows(1_000_000, path=str(path))
    else:
        path = folder / "export.xlsx"
        path.write_bytes(xlsx_shapes.sparse_corners())
    return path


def _app(url: str):
    from import_measurements import app_for

    from programme.auth.models import User
    from programme.extensions import db

    app = app_for(url)
    app.config["JOB_RUNNER"] = "inline"
    with app.app_context():
        db.session.query(User).one()  # connect, load the models: the worker's idle state
        db.session.rollback()
    return app


def _figures(baseline: float, started: float, **extra) -> dict:
    import gc

    gc.collect()
    return {
        "baseline_mb": round(baseline),
        "peak_mb": round(rss_mb("VmHWM")),
        "after_mb": round(rss_mb()),
        "seconds": round(time.perf_counter() - started, 1),
        **extra,
    }


def phase_web(url: str, path: str) -> dict:
    """The web worker: the upload request (checks, headers, the file stored)."""
    import gc

    from flask_babel import force_locale

    from programme.auth.models import User
    from programme.extensions import db
    from programme.kpis import services
    from programme.kpis.importing import FileRejected

    app = _app(url)
    gc.collect()
    baseline, started = rss_mb(), time.perf_counter()
    outcome: dict = {}
    with app.test_request_context(), force_locale("en"):
        user = db.session.query(User).one()
        data = Path(path).read_bytes()  # what the request hands to the view
        size = len(data)
        try:
            upload = services.create_upload(db.session, user, Path(path).name, data, "benchmark")
            db.session.commit()
            outcome = {"upload_id": upload.upload.id}
        except FileRejected as rejected:
            db.session.rollback()
            outcome = {"refused": rejected.status or 422, "message": str(rejected)[:90]}
        del data
        db.session.remove()  # the request ends
    return _figures(baseline, started, size_mb=round(size / 1024 / 1024, 1), outcome=outcome)


def phase_worker(url: str, upload_id: str) -> dict:
    """The job worker: the check job (every row, dry run), then the import job."""
    import gc

    from programme.auth.models import User
    from programme.extensions import db
    from programme.jobs import services as jobs
    from programme.jobs.models import Job
    from programme.kpis.models import KpiUpload

    app = _app(url)
    gc.collect()
    baseline, started = rss_mb(), time.perf_counter()
    outcome: dict = {}
    with app.app_context():
        user_id = db.session.query(User.id).scalar()
        for kind in ("kpi_check", "kpi_import"):
            job = jobs.create_job(
                db.session, kind, {"upload_id": int(upload_id), "user_id": user_id}, user_id
            )
            column = "check_job_id" if kind == "kpi_check" else "import_job_id"
            db.session.query(KpiUpload).filter_by(id=int(upload_id)).update({column: job.id})
            db.session.commit()
            job_id = job.id
            jobs.start(job_id)  # run_job, as the RQ worker calls it
            db.session.expire_all()
            done = db.session.get(Job, job_id)
            outcome[kind] = done.result if done.status == "done" else done.error
            db.session.remove()
            if not (isinstance(outcome[kind], dict) and outcome[kind].get("ok")):
                break
    return _figures(baseline, started, outcome=outcome)


def run(*args: str) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, *args], check=True, capture_output=True, text=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def _summary(outcome: dict) -> str:
    if "upload_id" in outcome:
        return "stored"
    if "refused" in outcome:
        return f"refused {outcome['refused']}: {outcome['message']}"
    run_result = outcome.get("kpi_import") or outcome.get("kpi_check")
    if isinstance(run_result, dict):
        if run_result.get("ok"):
            return f"imported: {run_result.get('created', 0):,} created"
        return f"not imported: {run_result.get('problem') or run_result.get('total_errors')}"
    return str(run_result)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", default=",".join(CASES))
    parser.add_argument("--csv-rows", type=int, default=1_800_000)
    parser.add_argument("--xlsx-rows", type=int, default=300_000)
    parser.add_argument("--phase")
    parser.add_argument("--url")
    parser.add_argument("--path")
    args = parser.parse_args()
    if args.phase == "setup":
        from import_measurements import phase_setup

        print(json.dumps(phase_setup(args.url, SITES)))
        return
    if args.phase == "web":
        print(json.dumps(phase_web(args.url, args.path)))
        return
    if args.phase == "worker":
        print(json.dumps(phase_worker(args.url, args.path)))
        return
    cases = [c for c in args.cases.split(",") if c]
    print(f"{'case':<13} {'file':>9} {'process':<7} {'baseline':>9} {'peak':>8} {'after':>8} "
          f"{'peak/base':>9} {'after-base':>10} {'time':>7}  outcome")  # fmt: skip
    for case in cases:
        with tempfile.TemporaryDirectory(prefix="upload-memory-") as folder:
            folder = Path(folder)
            url = f"sqlite:///{folder / 'bench.db'}"
            run("--phase", "setup", "--url", url)
            path = make_files(case, folder, args)
            web = run("--phase", "web", "--url", url, "--path", str(path))
            lines = [("web", web)]
            upload_id = web["outcome"].get("upload_id")
            if upload_id:
                lines.append(
                    ("worker", run("--phase", "worker", "--url", url, "--path", str(upload_id)))
                )
        for process, figures in lines:
            ratio = figures["peak_mb"] / figures["baseline_mb"]
            grew = figures["after_mb"] - figures["baseline_mb"]
            print(
                f"{case:<13} {web['size_mb']:>6} MB {process:<7} {figures['baseline_mb']:>6} MB "
                f"{figures['peak_mb']:>5} MB {figures['after_mb']:>5} MB {ratio:>8.2f}x "
                f"{grew:>+7} MB {figures['seconds']:>6}s  {_summary(figures['outcome'])}",
                flush=True,
            )


if __name__ == "__main__":
    main()
