"""Database set-up: Flask-SQLAlchemy, Alembic, and SQLite tuned as DESIGN §7 asks."""
from __future__ import annotations

import logging
import operator
import os
import sys
import threading
from contextlib import contextmanager
from functools import lru_cache, wraps

from flask import Flask, g, has_app_context, has_request_context, request
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

try:
    import fcntl
except ImportError:  # not on Windows: SQLite's busy timeout alone
    fcntl = None

from .extensions import db, migrate
from .view_marks import current_view_writes_on_get

log = logging.getLogger(__name__)

SQLITE_BUSY_TIMEOUT_MS = 10_000
# The commit that takes the write-ahead log past this many pages copies them
# into the database and syncs both files, while the next writer waits for it.
# SQLite's 1,000 made that every twenty-odd signings; 8,000 (about 32 MB of
# log) made it seven times rarer, with a sixth more signings a second under
# `gunicorn -w 2` (DESIGN §8). The log file is cut back to 64 MB after a
# checkpoint when something held it open longer.
SQLITE_WAL_AUTOCHECKPOINT_PAGES = 8_000
SQLITE_JOURNAL_SIZE_LIMIT = 64 * 1024 * 1024
# Set on every connection (and on the benchmark's bare insert, which writes
# to a database tuned as this one).
SQLITE_PRAGMAS = (
    "journal_mode=WAL",
    "synchronous=NORMAL",
    f"busy_timeout={SQLITE_BUSY_TIMEOUT_MS}",
    "foreign_keys=ON",
    f"wal_autocheckpoint={SQLITE_WAL_AUTOCHECKPOINT_PAGES}",
    f"journal_size_limit={SQLITE_JOURNAL_SIZE_LIMIT}",
)
READ_ONLY_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def init_app(app: Flask) -> None:
    from . import MIGRATIONS_DIR
    from . import models  # noqa: F401  (registers the tables)

    db.init_app(app)
    _teardown_quietly(app)
    migrate.init_app(app, db, directory=str(MIGRATIONS_DIR), render_as_batch=True)
    with app.app_context():
        engine = db.engine
        if engine.dialect.name == "sqlite":
            tune_sqlite(engine)


def tune_sqlite(engine: Engine) -> None:
    """SQLITE_PRAGMAS on every connection (WAL with fewer, larger checkpoints,
    synchronous=NORMAL, a busy timeout, foreign keys); write transactions
    begin IMMEDIATE, because a deferred one that reads first fails at once
    under contention, whatever the timeout."""

    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection, _record):
        # Let SQLAlchemy's "begin" event emit BEGIN itself.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        for pragma in SQLITE_PRAGMAS:
            cursor.execute(f"PRAGMA {pragma}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def on_begin(connection):
        # Readers never block writers in WAL mode; keep them deferred.
        begin = "BEGIN" if is_read_only_request() else "BEGIN IMMEDIATE"
        # Straight to the driver: a statement without parameters or result
        # needs none of the execution machinery, which costs as much as one
        # of the signing path's INSERTs (DESIGN §8). Errors (a lock not
        # granted within the busy timeout) are SQLAlchemy's, as before.
        with _as_sqlalchemy_errors(connection, begin):
            connection.connection.driver_connection.execute(begin)


def is_read_only_request() -> bool:
    if has_app_context() and g.get("sqlite_read_phase"):
        return True  # a request's or a background job's reading phase
    if not has_request_context():
        return False
    return request.method in READ_ONLY_METHODS and not current_view_writes_on_get()


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


def insert_ignoring_conflicts(table, dialect: str | None = None):
    """INSERT … ON CONFLICT DO NOTHING, on SQLite and PostgreSQL alike."""
    if (dialect or db.session.get_bind().dialect.name) == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert(table).on_conflict_do_nothing()


class DriverInsert:
    """One row into `table` with INSERT … ON CONFLICT DO NOTHING RETURNING id,
    run on the driver's own cursor in the caller's transaction: the id, or
    None when a unique index refused the row.

    SQLAlchemy compiles the statement and supplies each column's bind
    processor, once per dialect and set of columns; what a Core execute adds
    on every call (an execution context, parameter construction, a result
    object) cost the signing request more than its two INSERTs themselves
    (DESIGN §8). Columns left out take their constant default, as in Core; a
    column with a computed default must be given. Driver errors come out as
    SQLAlchemy's, a dropped connection invalidated, as from Core."""

    def __init__(self, table):
        self.table = table
        self._plans: dict[tuple, _InsertPlan] = {}

    def __call__(self, connection, values: dict) -> int | None:
        """On `connection`: a Core Connection, or a `driver_transaction()`."""
        dialect = connection.dialect
        key = (dialect.name, *values)
        plan = self._plans.get(key)
        if plan is None:
            plan = self._plans[key] = _InsertPlan.compile(self.table, dialect, tuple(values))
        parameters = plan.parameters(values)
        cursor = connection.connection.cursor()
        try:
            cursor.execute(plan.sql, parameters)
            row = cursor.fetchone()
        except connection.dialect.loaded_dbapi.Error as error:
            raise _sqlalchemy_error(connection, plan.sql, parameters, error, cursor) from error
        finally:
            cursor.close()
        return row[0] if row else None


class _DriverConnection:
    """What DriverInsert needs of a connection, on a pooled driver connection."""

    def __init__(self, dialect, pooled):
        self.dialect, self.connection = dialect, pooled

    def invalidate(self, error: BaseException) -> None:
        self.connection.invalidate(error)


class driver_transaction:
    """A write transaction straight on a pooled driver connection (this
    thread's, kept: `_write_connection`): BEGIN (IMMEDIATE on SQLite, in the
    writer's turn), DriverInsert's statements, COMMIT, or ROLLBACK on an
    error. What `db.engine.begin()` does, without the Connection and
    Transaction objects and their events, which cost the signing request as
    much as one of its INSERTs (DESIGN §8). A class, not a generator: this
    is the signing request's one transaction."""

    def __init__(self):
        self.turn: writer_turn | None = None
        self.connection: _DriverConnection | None = None

    def __enter__(self) -> _DriverConnection:
        engine = db.engine
        sqlite = engine.dialect.name == "sqlite"
        if sqlite:
            self.turn = writer_turn(engine.url.database)
            self.turn.__enter__()
        try:
            self.connection = _write_connection(engine)
            if sqlite:  # psycopg begins by itself
                self._run("BEGIN IMMEDIATE", self.connection.connection.driver_connection.execute, "BEGIN IMMEDIATE")
        except BaseException:
            self.__exit__(*sys.exc_info())
            raise
        return self.connection

    def __exit__(self, error_type, error, traceback) -> None:
        try:
            if self.connection is None:
                return
            if error_type is not None:
                self._roll_back()
                return
            try:
                self._run("COMMIT", self.connection.connection.driver_connection.commit)
            except BaseException:
                self._roll_back()
                raise
        finally:
            if self.turn is not None:
                self.turn.__exit__(None, None, None)

    def _roll_back(self) -> None:
        pooled = self.connection.connection
        try:
            pooled.driver_connection.rollback()
        except Exception:  # noqa: BLE001 - the first error is the one to tell
            log.debug("rollback after a failed write transaction failed", exc_info=True)
            if pooled.is_valid:  # never kept with a transaction open
                pooled.invalidate()

    def _run(self, statement: str, call, *arguments) -> None:
        try:
            call(*arguments)
        except self.connection.dialect.loaded_dbapi.Error as error:
            raise _sqlalchemy_error(self.connection, statement, (), error) from error


class _KeptPerThread(threading.local):
    """One thing each thread of each process opens once and keeps, for one
    key at a time (a forked process or another thread never shares it):
    opened again for another key, or when it is no longer usable, and the
    one it replaces released."""

    pid: int | None = None
    key = None
    value = None

    def get(self, key, open_, release, usable=lambda value: True):
        if self.pid == os.getpid():
            if self.key == key and usable(self.value):
                return self.value
            if self.value is not None:
                release(self.value)
        self.pid, self.key, self.value = os.getpid(), key, open_()
        return self.value


_connections = _KeptPerThread()


def _write_connection(engine) -> _DriverConnection:
    """A connection checked out of the engine's pool once per thread and kept
    for its driver transactions: a checkout and its return cost the signing
    request as much as its BEGIN and COMMIT (DESIGN §8). Between transactions
    it holds no transaction and no lock. A new one is checked out in a forked
    process, after the pool was disposed, and once this one was invalidated
    (a dropped connection: see `_sqlalchemy_error`)."""
    return _connections.get(
        engine.pool,
        lambda: _DriverConnection(engine.dialect, engine.raw_connection()),
        _close_kept_connection,
        usable=lambda connection: connection.connection.is_valid,
    )


def _close_kept_connection(connection: _DriverConnection) -> None:
    if connection.connection.is_valid:
        connection.connection.invalidate()  # closed: its pool was disposed


WRITER_TURN_SUFFIX = "-writers"


class writer_turn:
    """Writers to one SQLite file take turns through a lock of the operating
    system on a file beside it (`flock`), held from BEGIN IMMEDIATE to the
    end of the transaction: a waiting process sleeps in the kernel and wakes
    the moment the turn is free. SQLite's own busy handler polls instead,
    sleeping 1 ms, then 2, 5 … while a signing holds the lock for a tenth of
    that: under `gunicorn -w 2` one signing in four slept, and with turns a
    fifth more signings got through (DESIGN §8).

    SQLite's locking stays what guards the data: a writer that takes no turn
    (the ORM's transactions, another program) is waited for by the busy
    timeout, as before. Each thread of each process opens the file once and
    keeps it open (a forked process or another thread never shares a lock it
    did not take); the kernel lets go of a turn when its process ends. No
    turn where there is no file to put one beside (an in-memory database)."""

    def __init__(self, database: str | None):
        self.descriptor = _turn_file(database)

    def __enter__(self) -> None:
        if self.descriptor is not None:
            fcntl.flock(self.descriptor, fcntl.LOCK_EX)

    def __exit__(self, *_error) -> None:
        if self.descriptor is not None:
            fcntl.flock(self.descriptor, fcntl.LOCK_UN)


_turn_files = _KeptPerThread()


def _turn_file(database: str | None) -> int | None:
    return _turn_files.get(database, lambda: _open_turn_file(database), os.close)


def _open_turn_file(database: str | None) -> int | None:
    if fcntl is None or not database or database == ":memory:" or database.startswith("file:"):
        return None
    try:
        return os.open(database + WRITER_TURN_SUFFIX, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    except OSError as error:
        _warn_no_turns(database, str(error))
        return None


@lru_cache(maxsize=8)
def _warn_no_turns(database: str, error: str) -> None:
    log.warning("writers to %s wait for SQLite's busy timeout: no file for their turns (%s)", database, error)


@contextmanager
def _as_sqlalchemy_errors(connection, statement: str, parameters=(), cursor=None):
    """A driver's error as SQLAlchemy's (see `_sqlalchemy_error`)."""
    try:
        yield
    except connection.dialect.loaded_dbapi.Error as error:
        raise _sqlalchemy_error(connection, statement, parameters, error, cursor) from error


def _sqlalchemy_error(connection, statement: str, parameters, error: Exception, cursor=None) -> DBAPIError:
    """A driver's error as SQLAlchemy's (IntegrityError, OperationalError …);
    a dropped connection is invalidated, so the pool never hands it out again
    and `retry_once_when_the_database_drops` sees `connection_invalidated`."""
    dialect = connection.dialect
    dropped = dialect.is_disconnect(error, connection.connection, cursor)
    if dropped:
        connection.invalidate(error)
    return DBAPIError.instance(
        statement, parameters, error, dialect.loaded_dbapi.Error, connection_invalidated=dropped, dialect=dialect,
    )


class _InsertPlan:
    def __init__(self, sql: str, names: tuple[str, ...], defaults: dict, processors: tuple, positional: bool):
        self.sql, self.names, self.defaults = sql, names, defaults
        self.positional = positional
        # The values in statement order in one C call; then only the few
        # columns whose type converts its value (dates, booleans) in Python.
        self.values_in_order = operator.itemgetter(*names) if len(names) > 1 else (lambda values: (values[names[0]],))
        self.conversions = tuple((index, process) for index, process in enumerate(processors) if process is not None)

    @classmethod
    def compile(cls, table, dialect, given: tuple[str, ...]) -> _InsertPlan:
        defaults = {}
        for column in table.columns:
            if column.key in given or column.primary_key or column.default is None:
                continue
            if not column.default.is_scalar:
                raise TypeError(f"{table.name}.{column.key} has a computed default: give it a value")
            defaults[column.key] = column.default.arg
        statement = insert_ignoring_conflicts(table, dialect.name).returning(table.c.id)
        compiled = statement.compile(dialect=dialect, column_keys=[*given, *defaults])
        names = tuple(compiled.positiontup) if compiled.positional else tuple(compiled.binds)
        processors = tuple(
            compiled.binds[name].type.dialect_impl(dialect).bind_processor(dialect) for name in names
        )
        return cls(compiled.string, names, defaults, processors, compiled.positional)

    def parameters(self, values: dict):
        values = {**self.defaults, **values} if self.defaults else values
        processed = list(self.values_in_order(values))
        for index, process in self.conversions:
            processed[index] = process(processed[index])
        return tuple(processed) if self.positional else dict(zip(self.names, processed))


# --- a database that went away ------------------------------------------------------

def _teardown_quietly(app: Flask) -> None:
    """Flask-SQLAlchemy ends each request by closing its session, which rolls
    back on the connection; on a connection the server dropped that raises,
    after the answer was made, and gunicorn would send a raw 500 instead."""
    functions = app.teardown_appcontext_funcs
    for index, function in enumerate(functions):
        if getattr(function, "__func__", None) is type(db)._teardown_session:
            functions[index] = _remove_session_quietly


def _remove_session_quietly(_exc=None) -> None:
    try:
        db.session.remove()
    except Exception:  # noqa: BLE001 - a teardown must never raise
        log.warning("closing the database session failed; its connection is discarded", exc_info=True)
        db.session.registry.clear()


def rollback_quietly() -> None:
    """Roll back, even when the connection is gone (it is then invalidated
    and the pool hands out a new one)."""
    try:
        db.session.rollback()
    except Exception:  # noqa: BLE001
        log.warning("rollback failed; the session is discarded", exc_info=True)
        _remove_session_quietly()


def database_unavailable(error: BaseException) -> bool:
    """The database did not answer: a dropped or refused connection, not a
    statement at fault."""
    return isinstance(error, DBAPIError) and (
        error.connection_invalidated or isinstance(error, (OperationalError, InterfaceError))
    )


def retry_once_when_the_database_drops(unavailable_answer):
    """A view whose connection is dropped mid-request (PostgreSQL restarted,
    a backend terminated) is run once more on a new connection; when that
    fails too, `unavailable_answer(**view_args)` answers instead (a 503 that
    keeps what was typed). Nothing was acknowledged before the commit, and
    the commit is the view's last step, so running it again is safe."""

    def decorate(view):
        @wraps(view)
        def wrapper(**view_args):
            for attempt in (1, 2):
                try:
                    return view(**view_args)
                except DBAPIError as error:
                    if not database_unavailable(error):
                        raise
                    log.warning(
                        "database connection lost on %s %s (attempt %s): %s",
                        request.method, request.path, attempt, type(error.orig).__name__,
                    )
                    rollback_quietly()
                    g.sqlite_read_phase = False
            return unavailable_answer(**view_args)

        return wrapper

    return decorate
