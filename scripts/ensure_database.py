"""Create the PostgreSQL database named in DATABASE_URL when it does not exist yet
(`make serve`). Other databases (SQLite) need nothing: `flask db upgrade` creates them."""

from __future__ import annotations

import sys

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from programme.config import database_url


def main() -> int:
    url = make_url(database_url())
    if not url.get_backend_name().startswith("postgresql"):
        return 0
    name = url.database
    # Connect to the server's maintenance database to look for (and create) ours.
    server = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with server.connect() as conn:
            exists = conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name})
            if not exists:
                conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
                print(f"created PostgreSQL database {name}", file=sys.stderr)
    finally:
        server.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
