"""Looking at the SQL a piece of code runs, and at SQLite's plan for it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import event


@contextmanager
def captured_statements(engine) -> Iterator[list[tuple[str, object]]]:
    """Every (statement, parameters) the engine runs inside the block."""
    statements: list[tuple[str, object]] = []

    def capture(conn, cursor, statement, parameters, context, executemany):
        statements.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", capture)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", capture)


def sqlite_plan(engine, statement: str, parameters) -> str:
    """SQLite's EXPLAIN QUERY PLAN of a statement, its steps joined by " | "."""
    with engine.connect() as conn:
        plan = conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters).all()
    return " | ".join(row[-1] for row in plan)
