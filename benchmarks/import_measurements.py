"""Import benchmark: 1,000,000 measurement rows from CSV through the intake pipeline
(full validation, staging, rollups, audit) against the raw speed of the database, measured
in the same run.

    .venv/bin/python benchmarks/import_measurements.py                  # SQLite, 1,000,000 rows
    .venv/bin/python benchmarks/import_measurements.py --rows 200000
    .venv/bin/python benchmarks/import_measurements.py --postgres postgresql://postgres@127.0.0.1/bench
    .venv/bin/python benchmarks/import_measurements.py --xlsx   # also the same rows as XLSX

Baselines (same file, same run):
- SQLite: the same chunked pandas reader + a plain `executemany` into a bare table;
- PostgreSQL: `COPY ... FROM STDIN (FORMAT csv)` of the file into a bare table.

A third line, "straight into measurement", writes the same rows into the real
`measurement` table and nothing else: codes resolved to ids, no validation, no rollups, no
history (SQLite: the same reader + `executemany`; PostgreSQL: the bare `COPY` into a
temporary table + one `INSERT ... SELECT` joining the codes). No pipeline can be faster
than that: its ratio is the ceiling that the table's own keys and foreign keys leave.

Each phase runs in its own process so that its peak memory (max RSS) is its own.
Prints rows/s, the ratios against the raw load, and peak memory. Not a test: nothing
asserts.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("SECRET_KEY", "benchmark")

KPIS = ("WAIT", "CONV", "CSAT", "FCR")


def make_csv(path: Path, rows: int) -> int:
    days = 500
    sites = max(1, rows // (days * len(KPIS)))
    rnd = random.Random(1)
    start = date.today() - timedelta(days=days + 1)
    written = 0
    with path.open("w") as fh:
        fh.write("site_code,kpi_code,date,value,n\n")
        for s in range(sites):
            code = f"B{s:05d}"
            for d in range(days):
                day = (start + timedelta(days=d)).isoformat()
                for kpi in KPIS:
                    if written >= rows:
                        return sites
                    if kpi == "WAIT":
                        value = round(rnd.uniform(2, 30), 2)
                    elif kpi == "CSAT":
                        value = round(rnd.uniform(2.5, 5), 2)
                    else:
                        value = round(rnd.uniform(0.1, 0.9), 3)
                    fh.write(f"{code},{kpi},{day},{value},{rnd.randint(5, 400)}\n")
                    written += 1
    return sites


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def app_for(url: str):
    from programme import create_app

    return create_app({"SQLALCHEMY_DATABASE_URI": url, "TESTING": True})


def phase_setup(url: str, sites: int) -> dict:
    from flask_migrate import upgrade
    from sqlalchemy import insert

    from programme.extensions import db
    from programme.kpis.services import ensure_default_kpis
    from programme.network.models import Region, Site

    app = app_for(url)
    with app.app_context():
        upgrade()
        db.session.add(Region(name="Benchmark"))
        db.session.flush()
        region_id = db.session.query(Region.id).scalar()
        db.session.execute(
            insert(Site),
            [
                {
                    "code": f"B{s:05d}",
                    "name": f"Site {s}",
                    "type": "branch",
                    "region_id": region_id,
                    "country": "FR",
                    "time_zone": "Europe/Paris",
                    "operator": "internal",
                    "channel_in_person": True,
                    "channel_phone": False,
                    "channel_digital": False,
                    "version": 1,
                }
                for s in range(sites)
            ],
        )
        ensure_default_kpis(db.session)
        from programme.auth.models import User

        db.session.add(User(email="bench@example.org", role="admin", password_hash="x", name="b"))
        db.session.commit()
    return {}


@contextmanager
def raw_cursor(url: str):
    """(DBAPI connection, cursor) of the app's engine for `url`."""
    from programme.extensions import db

    app = app_for(url)
    with app.app_context():
        conn = db.engine.raw_connection()
        try:
            raw = conn.driver_connection
            yield raw, raw.cursor()
        finally:
            conn.close()


def copy_file(cur, csv_path: str, table: str) -> None:
    """PostgreSQL: the CSV file as it is into `table` (site, kpi, day, value, n)."""
    with (
        open(csv_path, "rb") as fh,
        cur.copy(f"COPY {table} FROM STDIN WITH (FORMAT csv, HEADER true)") as copy,
    ):
        while block := fh.read(1 << 20):
            copy.write(block)


def phase_raw(url: str, csv_path: str) -> dict:
    from programme.kpis.importing import _raw_chunks

    with raw_cursor(url) as (raw, cur):
        postgres = url.startswith("postgresql")
        if postgres:
            cur.execute(
                "CREATE TABLE IF NOT EXISTS bench_raw (site text, kpi text, day date, "
                "value double precision, n integer)"
            )
            cur.execute("TRUNCATE bench_raw")
            raw.commit()
            started = time.perf_counter()
            copy_file(cur, csv_path, "bench_raw")
            raw.commit()
        else:
            cur.execute(
                "CREATE TABLE IF NOT EXISTS bench_raw (site TEXT, kpi TEXT, day TEXT, "
                "value REAL, n INTEGER)"
            )
            cur.execute("DELETE FROM bench_raw")
            raw.commit()
            started = time.perf_counter()
            cur.execute("BEGIN")  # the driver is in autocommit mode (programme/database.py)
            for chunk in _raw_chunks("csv", csv_path, 50_000):
                cur.executemany(
                    "INSERT INTO bench_raw VALUES (?,?,?,?,?)",
                    chunk.itertuples(index=False, name=None),
                )
            raw.commit()
        elapsed = time.perf_counter() - started
        cur.execute("SELECT COUNT(*) FROM bench_raw")
        rows = cur.fetchone()[0]
        cur.execute("DROP TABLE bench_raw")
        raw.commit()
    return {"seconds": elapsed, "rows": rows}


def phase_straight(url: str, csv_path: str) -> dict:
    """The same rows straight into `measurement` (then emptied again): the ceiling."""
    from programme.kpis.importing import _raw_chunks

    with raw_cursor(url) as (raw, cur):
        postgres = url.startswith("postgresql")
        columns = (
            "site_id, kpi_id, period_date, value, n, source, revision, entered_by_id, "
            "entered_by, entered_at"
        )
        if postgres:
            started = time.perf_counter()
            cur.execute(
                "CREATE TEMP TABLE bench_raw (site text, kpi text, day date, "
                "value double precision, n integer)"
            )
            copy_file(cur, csv_path, "bench_raw")
            cur.execute(
                f"INSERT INTO measurement ({columns}) SELECT s.id, k.id, r.day, r.value, r.n, "
                "'benchmark.csv', 1, NULL, 'benchmark', now() FROM bench_raw r "
                "JOIN site s ON s.code = r.site JOIN kpi k ON k.code = r.kpi"
            )
            raw.commit()
            elapsed = time.perf_counter() - started
        else:
            sites = dict(cur.execute("SELECT code, id FROM site").fetchall())
            kpis = dict(cur.execute("SELECT code, id FROM kpi").fetchall())
            stamp = "2026-01-01 00:00:00.000000"
            started = time.perf_counter()
            cur.execute("BEGIN")
            for chunk in _raw_chunks("csv", csv_path, 50_000):
                cur.executemany(
                    f"INSERT INTO measurement ({columns}) VALUES "
                    f"(?, ?, ?, ?, ?, 'benchmark.csv', 1, NULL, 'benchmark', '{stamp}')",
                    zip(
                        chunk["site_code"].map(sites).tolist(),
                        chunk["kpi_code"].map(kpis).tolist(),
                        chunk["date"].tolist(),
                        chunk["value"].astype(float).tolist(),
                        chunk["n"].astype(int).tolist(),
                        strict=True,
                    ),
                )
            raw.commit()
            elapsed = time.perf_counter() - started
        cur.execute("SELECT COUNT(*) FROM measurement")
        rows = cur.fetchone()[0]
        cur.execute("DELETE FROM measurement")
        raw.commit()
    return {"seconds": elapsed, "rows": rows}


def phase_pipeline(url: str, csv_path: str) -> dict:
    from flask_babel import force_locale

    from programme.audit import acting_as
    from programme.auth.models import User
    from programme.extensions import db
    from programme.kpis.importing import guess_mapping, headers, iter_chunks
    from programme.kpis.intake import ingest

    app = app_for(url)
    with app.app_context(), force_locale("en"), acting_as("benchmark"):
        user = db.session.query(User).one()
        name = Path(csv_path).name
        with open(csv_path, "rb") as fh:
            if name.endswith(".xlsx"):
                names = headers(name, fh.read())
            else:
                names = headers(name, fh.read(4096).split(b"\n")[0] + b"\n")
        layout, columns = guess_mapping(names, KPIS)
        started = time.perf_counter()
        result = ingest(
            db.session,
            user,
            iter_chunks(name, csv_path, layout, columns),
            default_source=f"benchmark{Path(name).suffix}",
        )
        db.session.commit()
        elapsed = time.perf_counter() - started
    return {"seconds": elapsed, **result.as_dict()}


def make_xlsx(csv_path: Path, xlsx_path: Path) -> None:
    """The same rows as a workbook (typed numbers), written row by row."""
    import csv

    import xlsxwriter

    book = xlsxwriter.Workbook(str(xlsx_path), {"constant_memory": True})
    sheet = book.add_worksheet()
    with csv_path.open() as fh:
        for number, row in enumerate(csv.reader(fh)):
            if number == 0:
                sheet.write_row(0, 0, row)
                continue
            sheet.write_row(number, 0, row[:3])
            sheet.write_number(number, 3, float(row[3]))
            sheet.write_number(number, 4, int(row[4]))
    book.close()


def run_phase(name: str, url: str, *extra: str) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, "--phase", name, "--url", url, *extra],
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--postgres", help="a PostgreSQL URL (an empty database)")
    parser.add_argument(
        "--xlsx", action="store_true", help="also import the same rows as an XLSX file (SQLite)"
    )
    parser.add_argument("--phase")
    parser.add_argument("--url")
    parser.add_argument("--csv")
    parser.add_argument("--sites", type=int)
    args = parser.parse_args()

    if args.phase:
        if args.phase == "setup":
            data = phase_setup(args.url, args.sites)
        elif args.phase == "raw":
            data = phase_raw(args.url, args.csv)
        elif args.phase == "straight":
            data = phase_straight(args.url, args.csv)
        else:
            data = phase_pipeline(args.url, args.csv)
        data["peak_mb"] = peak_mb()
        print(json.dumps(data))
        return

    with tempfile.TemporaryDirectory(prefix="programme-bench-") as tmp:
        run_all(args, Path(tmp))


def run_all(args, folder: Path) -> None:
    csv_path = folder / "measurements.csv"
    sites = make_csv(csv_path, args.rows)
    size_mb = csv_path.stat().st_size / 1e6
    print(f"{args.rows:,} rows, {sites} sites, CSV {size_mb:.1f} MB")
    targets = [("SQLite", f"sqlite:///{folder / 'bench.db'}")]
    if args.postgres:
        url = args.postgres
        if url.startswith("postgresql://"):
            url = "postgresql+psycopg://" + url[len("postgresql://") :]
        targets.append(("PostgreSQL", url))
    for label, url in targets:
        run_phase("setup", url, "--sites", str(sites))
        raw = run_phase("raw", url, "--csv", str(csv_path))
        straight = run_phase("straight", url, "--csv", str(csv_path))
        first = run_phase("pipeline", url, "--csv", str(csv_path))
        again = run_phase("pipeline", url, "--csv", str(csv_path))
        raw_rate = raw["rows"] / raw["seconds"]
        straight_rate = straight["rows"] / straight["seconds"]
        rate = args.rows / first["seconds"]
        again_rate = args.rows / again["seconds"]
        baseline = "executemany" if label == "SQLite" else "COPY"
        print(f"\n{label}")
        print(
            f"  raw {baseline:<24} {raw['seconds']:7.2f} s {raw_rate:>11,.0f} rows/s  "
            f"peak {raw['peak_mb']:4.0f} MB"
        )
        print(
            f"  straight into measurement   {straight['seconds']:7.2f} s "
            f"{straight_rate:>11,.0f} rows/s  peak {straight['peak_mb']:4.0f} MB  "
            f"ratio {straight_rate / raw_rate:4.0%} (the ceiling)"
        )
        print(
            f"  pipeline, new rows          {first['seconds']:7.2f} s {rate:>11,.0f} rows/s  "
            f"peak {first['peak_mb']:4.0f} MB  ratio {rate / raw_rate:4.0%}  "
            f"({rate / straight_rate:.0%} of the ceiling; created {first['created']:,})"
        )
        print(
            f"  pipeline, same file again   {again['seconds']:7.2f} s {again_rate:>11,.0f} "
            f"rows/s  peak {again['peak_mb']:4.0f} MB  ratio {again_rate / raw_rate:4.0%}  "
            f"(unchanged {again['unchanged']:,})"
        )
    if args.xlsx:
        from programme.kpis.importing import XLSX_IN_MEMORY_BYTES

        xlsx_path = folder / "measurements.xlsx"
        make_xlsx(csv_path, xlsx_path)
        url = f"sqlite:///{folder / 'bench-xlsx.db'}"
        run_phase("setup", url, "--sites", str(sites))
        result = run_phase("pipeline", url, "--csv", str(xlsx_path))
        size_mb = xlsx_path.stat().st_size / 1e6
        print(
            f"\nXLSX ({size_mb:.1f} MB, streamed by openpyxl above {XLSX_IN_MEMORY_BYTES >> 20} MiB of sheet XML)"
        )
        print(
            f"  pipeline, new rows (SQLite) {result['seconds']:7.2f} s "
            f"{args.rows / result['seconds']:>11,.0f} rows/s  peak {result['peak_mb']:4.0f} MB  "
            f"(created {result['created']:,})"
        )


if __name__ == "__main__":
    main()
