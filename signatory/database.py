"""Database set-up: Flask-SQLAlchemy, Alembic, and SQLite tuned as DESIGN §7 asks."""
from __future__ import annotations

from contextlib import contextmanager

from flask import Flask, g, has_request_context, request
from sqlalchemy import event
from sqlalchemy.engine import Engine

from .extensions import db, migrate

SQLITE_BUSY_TIMEOUT_MS = 10_000
READ_ONLY_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# GET endpoints that write (following a confirmation link does, by design).
# GET endpoints that write: following a confirmation link, compiling a PDF,
# and the exports (their audit entry). They take the write lock up front.
WRITING_GET_ENDPOINTS = frozenset({
    "public.confirm",
    "documents.organiser_document",
    "organise.signatures_csv",
    "organise.signatures_xlsx",
    "organise.postal_notify_csv",
    "organise.postal_notify_xlsx",
})


def init_app(app: Flask) -> None:
    from . import MIGRATIONS_DIR
    from . import models  # noqa: F401  (registers the tables)

    db.init_app(app)
    migrate.init_app(app, db, directory=str(MIGRATIONS_DIR), render_as_batch=True)
    with app.app_context():
        engine = db.engine
        if engine.dialect.name == "sqlite":
            tune_sqlite(engine)


def tune_sqlite(engine: Engine) -> None:
    """WAL, synchronous=NORMAL, a busy timeout and foreign keys on every
    connection; write transactions begin IMMEDIATE, because a deferred one
    that reads first fails at once under contention, whatever the timeout."""

    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection, _record):
        # Let SQLAlchemy's "begin" event emit BEGIN itself.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def on_begin(connection):
        if is_read_only_request():
            # Readers never block writers in WAL mode; keep them deferred.
            connection.exec_driver_sql("BEGIN")
        else:
            connection.exec_driver_sql("BEGIN IMMEDIATE")


def is_read_only_request() -> bool:
    if not has_request_context():
        return False
    if g.get("sqlite_read_phase"):
        return True
    return request.method in READ_ONLY_METHODS and request.endpoint not in WRITING_GET_ENDPOINTS


@contextmanager
def reads_before_writes():
    """Read in a deferred transaction and end it, so that on SQLite the write
    lock (BEGIN IMMEDIATE) is taken only by the writes that follow, not held
    through validation and other work (the signing path, DESIGN §8)."""
    if db.session.get_bind().dialect.name != "sqlite":
        yield  # PostgreSQL locks rows, not the database: nothing to gain
        return
    g.sqlite_read_phase = True
    try:
        yield
    finally:
        db.session.commit()  # nothing to flush: ends the read transaction
        g.sqlite_read_phase = False


def reads_only_from_here() -> None:
    """The rest of this request only reads (a streamed export after its audit
    entry is committed): never hold the SQLite write lock while streaming."""
    g.sqlite_read_phase = True


def insert_ignoring_conflicts(table):
    """INSERT … ON CONFLICT DO NOTHING, on SQLite and PostgreSQL alike."""
    if db.session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert(table).on_conflict_do_nothing()
