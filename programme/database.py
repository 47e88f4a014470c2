"""Declarative base, naming convention, mixins, SQLite connection pragmas and how SQLite
transactions begin."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime

from sqlalchemy import DateTime, Integer, MetaData, event, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import DeclarativeBase, Mapped, declared_attr, mapped_column

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class TimestampMixin:
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, onupdate=utcnow
    )


class VersionedMixin:
    """Optimistic locking: a stale UPDATE raises StaleDataError."""

    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)

    @declared_attr.directive
    def __mapper_args__(cls):  # noqa: N805
        return {"version_id_col": cls.version}


SQLITE_PRAGMAS = {
    "journal_mode": "WAL",
    "busy_timeout": 5000,
    "foreign_keys": "ON",
    "synchronous": "NORMAL",
}


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection, connection_record):
    module = type(dbapi_connection).__module__
    if not module.startswith("sqlite3"):
        return
    cursor = dbapi_connection.cursor()
    for name, value in SQLITE_PRAGMAS.items():
        cursor.execute(f"PRAGMA {name}={value}")
    cursor.close()
    # SQLite's lower() only folds ASCII, so "Évry" never matched a search for "évry";
    # fold every letter, as PostgreSQL's lower() does.
    dbapi_connection.create_function("lower", 1, _unicode_lower, deterministic=True)


# --- how SQLite transactions begin ---------------------------------------------------------
#
# A DEFERRED transaction that reads, then writes, cannot upgrade its lock while another
# connection writes: SQLite answers "database is locked" at once, whatever the busy timeout
# (in WAL mode its snapshot is stale by then). A transaction that begins IMMEDIATE takes
# the write lock first, so concurrent writers queue on the busy timeout instead.
#
# SQLAlchemy's pysqlite recipe ("Serializable isolation / Savepoints / Transactional DDL")
# does it: the driver's own transaction handling is switched off (isolation_level None)
# and the "begin" event emits BEGIN IMMEDIATE. We use it for the transactions of requests
# that change something (POST, PUT, PATCH, DELETE). Every other transaction (pages, CLI,
# jobs) keeps the driver's usual behaviour: reads outside a snapshot and a DEFERRED BEGIN
# before the first write. So readers never wait for a writer, a page always reads the
# latest commit, and a job's progress updates, written on a connection of their own while
# its transaction is open, are not blocked by it.

_begin_mode: ContextVar[str | None] = ContextVar("sqlite_begin_mode", default=None)
# BEGIN IMMEDIATE waits up to this many busy timeouts for the write lock (3 × 5 s).
BEGIN_IMMEDIATE_ATTEMPTS = 3
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


@contextmanager
def sqlite_begin(mode: str) -> Iterator[None]:
    """Transactions begun inside the block on SQLite are "IMMEDIATE" or "DEFERRED",
    whatever the request method."""
    token = _begin_mode.set(mode)
    try:
        yield
    finally:
        _begin_mode.reset(token)


def sqlite_begin_mode() -> str:
    """IMMEDIATE inside a request that changes something, else DEFERRED."""
    chosen = _begin_mode.get()
    if chosen:
        return chosen
    from flask import has_request_context, request

    if has_request_context() and request.method in UNSAFE_METHODS:
        return "IMMEDIATE"
    return "DEFERRED"


@event.listens_for(Engine, "begin")
def _sqlite_begin(conn):
    if conn.dialect.name != "sqlite" or conn.dialect.driver != "pysqlite":
        return
    raw = conn.connection.driver_connection
    if sqlite_begin_mode() == "IMMEDIATE":
        raw.isolation_level = None  # the driver opens no transaction of its own
        for attempt in range(1, BEGIN_IMMEDIATE_ATTEMPTS + 1):
            try:
                conn.exec_driver_sql("BEGIN IMMEDIATE")
                return
            except OperationalError as error:
                # Still locked after the busy timeout: nothing has been done yet, so
                # waiting again is safe (a long import may hold the lock that long).
                if attempt == BEGIN_IMMEDIATE_ATTEMPTS or "locked" not in str(error.orig):
                    raise
    else:
        raw.isolation_level = ""  # the driver's default: BEGIN before the first write


def _unicode_lower(value):
    return value.lower() if isinstance(value, str) else value


def newest_value(column, order_column, *where):
    """A scalar subquery: `column` of the row with the highest `order_column` matching
    `where` (a walk down the primary-key index). Several of them in one SELECT make a cheap
    "has anything changed?" stamp for in-process caches."""
    return select(column).where(*where).order_by(order_column.desc()).limit(1).scalar_subquery()
