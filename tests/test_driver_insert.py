"""`database.DriverInsert`: the signing path's INSERTs straight on the driver
store what SQLAlchemy Core stores, and fail the way Core fails."""
from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import insert, select
from sqlalchemy.exc import DBAPIError, IntegrityError

from conftest import PG_ADMIN_URL, _empty_postgres, build_app, make_letter
from signatory import mail, signing
from signatory.database import DriverInsert, driver_transaction
from signatory.extensions import db
from signatory.models import OutboxMessage, Signature, User


def _prepared(letter, email: str) -> signing.PreparedSignature:
    details = signing.SignatureDetails(
        first_name="Özlem", last_name="De Smet-Van Acker", kind="organisation", organisation="Vzw Ruimte",
        function="voorzitter", address="Kerkstraat 1\n9000 Gent", email=email, place="Gent",
        paragraph="Omdat het kan.", consent_name=True, consent_paragraph=True, language="en",
    )
    return signing.prepare_signature(letter, details, ip="192.0.2.7")


def _row(table, row_id: int) -> dict:
    row = db.session.execute(select(table).where(table.c.id == row_id)).mappings().one()
    return {key: value for key, value in row.items() if key != "id"}


def test_a_row_from_the_driver_equals_the_row_from_core(ctx):
    """Every column, its type and its default: what is read back of a
    signature and of its outbox row is the same as after Core's INSERT."""
    letter = make_letter()
    db.session.commit()
    table = Signature.__table__
    by_core = _prepared(letter, "kern@example.org")
    core_id = db.session.execute(insert(table).values(by_core.values).returning(table.c.id)).scalar()
    by_driver = _prepared(letter, "stuur@example.org")
    outcome = signing.store_signature(by_driver)
    db.session.commit()

    core_row, driver_row = _row(table, core_id), _row(table, outcome.signature_id)
    differing = {key for key in core_row if core_row[key] != driver_row[key]}
    assert differing == {"email", "email_key", "created_at", "updated_at"}
    assert isinstance(driver_row["created_at"], datetime) and driver_row["created_at"].tzinfo is None
    assert driver_row["sort_key"] == core_row["sort_key"] and isinstance(driver_row["sort_key"], bytes)
    assert driver_row["consent_name"] is True and driver_row["consent_notify"] is False
    assert driver_row["rejection_reason"] == "" and driver_row["first_signatory"] is False  # constant defaults

    outbox = OutboxMessage.__table__
    core_outbox = db.session.execute(
        insert(outbox).values({**by_core.confirmation, "signature_id": core_id}).returning(outbox.c.id)
    ).scalar()
    driver_outbox = db.session.scalar(select(outbox.c.id).where(outbox.c.signature_id == outcome.signature_id))
    core_message, driver_message = _row(outbox, core_outbox), _row(outbox, driver_outbox)
    assert {key for key in core_message if core_message[key] != driver_message[key]} == {
        "recipient", "signature_id", "message_id", "created_at", "due_at",
    }


def test_a_refused_row_answers_none_and_writes_nothing(ctx):
    letter = make_letter()
    db.session.commit()
    first = signing.store_signature(_prepared(letter, "twee@example.org"))
    again = signing.store_signature(_prepared(letter, "Twee@Example.org"))
    db.session.commit()
    assert first.signature_id is not None and again.duplicate and again.signature_id is None
    kinds = db.session.scalars(select(OutboxMessage.kind).order_by(OutboxMessage.id)).all()
    assert kinds == ["confirm", "links"]


def test_a_driver_error_is_sqlalchemys(ctx):
    prepared = _prepared(make_letter(), "fout@example.org")
    db.session.commit()
    with pytest.raises(IntegrityError) as raised:  # no such letter: the foreign key refuses
        signing.insert_signature(db.session.connection(), {**prepared.values, "letter_id": 10**9})
    assert "INSERT INTO signatures" in raised.value.statement
    db.session.rollback()


def test_a_computed_default_must_be_given(ctx):
    with pytest.raises(TypeError, match="created_at has a computed default"):
        DriverInsert(User.__table__)(db.session.connection(), {"email": "x@example.org"})
    db.session.rollback()


def test_a_dropped_connection_is_invalidated_as_by_core(postgres_url, monkeypatch, tmp_path):
    """What `retry_once_when_the_database_drops` relies on: the error says
    the connection was lost, and the pool does not hand it out again."""
    import psycopg

    app = build_app(monkeypatch, tmp_path, postgres_url)
    admin_url = PG_ADMIN_URL.replace("postgresql+psycopg://", "postgresql://")
    try:
        with app.app_context():
            prepared = _prepared(make_letter(), "weg@example.org")
            db.session.commit()
            connection = db.session.connection()
            backend = connection.exec_driver_sql("SELECT pg_backend_pid()").scalar()
            with psycopg.connect(admin_url, autocommit=True) as admin:
                admin.execute("SELECT pg_terminate_backend(%s)", (backend,))
            with pytest.raises(DBAPIError) as raised:
                mail.queue_row(prepared.confirmation, connection)
            assert raised.value.connection_invalidated
            db.session.rollback()
            assert db.session.connection().exec_driver_sql("SELECT pg_backend_pid()").scalar() != backend
            db.session.rollback()

            with pytest.raises(DBAPIError) as raised:
                with driver_transaction() as connection:
                    backend = connection.connection.driver_connection.execute("SELECT pg_backend_pid()").fetchone()[0]
                    with psycopg.connect(admin_url, autocommit=True) as admin:
                        admin.execute("SELECT pg_terminate_backend(%s)", (backend,))
                    signing.store_signature(prepared, connection)
            assert raised.value.connection_invalidated
            with driver_transaction() as connection:
                assert connection.connection.driver_connection.execute("SELECT pg_backend_pid()").fetchone()[0] != backend
                assert signing.store_signature(prepared, connection).signature_id is not None
    finally:
        _empty_postgres(app)


def test_a_driver_transaction_commits_at_its_end_and_rolls_back_on_an_error(ctx):
    letter = make_letter()
    prepared, later = _prepared(letter, "samen@example.org"), _prepared(letter, "later@example.org")
    db.session.commit()
    with driver_transaction() as connection:
        outcome = signing.store_signature(prepared, connection)
    with pytest.raises(IntegrityError):
        with driver_transaction() as connection:
            signing.store_signature(later, connection)
            signing.insert_signature(connection, {**prepared.values, "letter_id": 10**9})
    emails = db.session.scalars(select(Signature.email)).all()
    assert emails == ["samen@example.org"], "the first committed, the second rolled back whole"
    assert db.session.scalar(select(OutboxMessage.signature_id)) == outcome.signature_id


# --- writers to one SQLite file take turns -------------------------------------------

HOLD_A_TURN = """
import sqlite3, sys
from signatory.database import writer_turn
with writer_turn(sys.argv[1]):
    connection = sqlite3.connect(sys.argv[1], isolation_level=None)
    connection.execute("BEGIN IMMEDIATE")
    print("holding", flush=True)
    sys.stdin.readline()
    connection.execute("COMMIT")
"""


def _line_within(stream, seconds: float) -> str:
    """A line of a child's output, or "" when none came in time (the test
    fails instead of hanging when a turn is never given back)."""
    import selectors

    with selectors.DefaultSelector() as selector:
        selector.register(stream, selectors.EVENT_READ)
        return stream.readline().strip() if selector.select(seconds) else ""


def _without_busy_timeout(monkeypatch) -> None:
    """Connections made from here on wait for no lock at all."""
    from signatory import database

    pragmas = tuple("busy_timeout=0" if pragma.startswith("busy_timeout=") else pragma for pragma in database.SQLITE_PRAGMAS)
    assert pragmas != database.SQLITE_PRAGMAS
    monkeypatch.setattr(database, "SQLITE_PRAGMAS", pragmas)


def _database_path() -> str:
    return db.engine.url.database


def test_a_signing_waits_for_another_process_s_turn_instead_of_polling_sqlite(sqlite_app, monkeypatch):
    """Another process holds the turn and SQLite's write lock. With no busy
    timeout at all, BEGIN IMMEDIATE would fail at once ("database is
    locked"): the signing waits for the turn instead, and goes through the
    moment the other process commits."""
    import subprocess
    import sys
    import threading
    from pathlib import Path

    from signatory import database

    _without_busy_timeout(monkeypatch)
    with sqlite_app.app_context():
        db.engine.dispose()  # connections from here on have no busy timeout
        letter = make_letter()
        prepared = _prepared(letter, "wacht@example.org")
        db.session.commit()  # the session holds no lock while the other process has its turn
        path = _database_path()
        holder = subprocess.Popen(
            [sys.executable, "-c", HOLD_A_TURN, path], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
            cwd=Path(__file__).resolve().parents[1],
        )
        try:
            assert _line_within(holder.stdout, 30) == "holding", "the other process got its turn"
            stored = []

            def sign():
                with sqlite_app.app_context(), driver_transaction() as connection:
                    stored.append(signing.store_signature(prepared, connection).signature_id)

            signer = threading.Thread(target=sign)
            signer.start()
            signer.join(0.5)
            assert signer.is_alive() and not stored, "the signing waits while the other process has its turn"
            holder.stdin.write("commit\n")
            holder.stdin.flush()
            signer.join(30)
            assert not signer.is_alive() and stored and stored[0] is not None
        finally:
            holder.kill()
            holder.wait()
        assert db.session.scalar(select(Signature.email).where(Signature.id == stored[0])) == "wacht@example.org"
        assert Path(path + database.WRITER_TURN_SUFFIX).exists()


def test_a_failed_signing_ends_its_turn(sqlite_app):
    import fcntl
    import os

    from signatory.database import WRITER_TURN_SUFFIX

    with sqlite_app.app_context():
        letter = make_letter()
        prepared = _prepared(letter, "eerst@example.org")
        db.session.commit()
        with pytest.raises(IntegrityError):
            with driver_transaction() as connection:
                signing.insert_signature(connection, {**prepared.values, "letter_id": 10**9})
        descriptor = os.open(_database_path() + WRITER_TURN_SUFFIX, os.O_RDWR)
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)  # BlockingIOError if the turn were still held
        finally:
            os.close(descriptor)
        with driver_transaction() as connection:
            assert signing.store_signature(prepared, connection).signature_id is not None


def test_without_a_place_for_the_turns_file_writers_rely_on_the_busy_timeout(tmp_path, caplog):
    from signatory.database import writer_turn

    with writer_turn(":memory:"), writer_turn(None):
        pass
    missing = tmp_path / "no-such-folder" / "db.sqlite3"
    with caplog.at_level("WARNING", logger="signatory.database"):
        with writer_turn(str(missing)):
            entered = True
    assert entered and "busy timeout" in caplog.text and str(missing) in caplog.text
    assert list(tmp_path.iterdir()) == []


def test_threads_and_forked_processes_each_take_their_own_turn(tmp_path):
    """The turns file stays open between turns, one per thread and process:
    a second thread, or a child forked while the parent holds a turn, waits
    for it (a shared descriptor would let them in at once)."""
    import os
    import threading

    from signatory.database import writer_turn

    path = str(tmp_path / "db.sqlite3")
    with writer_turn(path):
        pass  # the file is open now, and stays open for this thread
    entered = threading.Event()

    def second_writer():
        with writer_turn(path):
            entered.set()

    with writer_turn(path):
        thread = threading.Thread(target=second_writer)
        thread.start()
        assert not entered.wait(0.3), "another thread waits for the turn"
        read_end, write_end = os.pipe()
        child = os.fork()
        if child == 0:  # the child: its turn comes only after the parent's
            os.close(read_end)
            with writer_turn(path):
                os.write(write_end, b"in")
            os._exit(0)
        os.close(write_end)
        import selectors

        with selectors.DefaultSelector() as selector:
            selector.register(read_end, selectors.EVENT_READ)
            assert not selector.select(0.3), "the forked child waits for the turn"
    assert entered.wait(10)
    thread.join(10)
    assert os.read(read_end, 2) == b"in"
    os.close(read_end)
    assert os.waitpid(child, 0)[1] == 0


def test_a_refused_begin_returns_the_connection_and_ends_the_turn(sqlite_app, monkeypatch):
    """Another writer that takes no turn holds SQLite's lock and the busy
    timeout is zero: BEGIN IMMEDIATE fails as SQLAlchemy's OperationalError,
    and neither the pooled connection nor the turn stays taken."""
    import fcntl
    import os
    import sqlite3

    from sqlalchemy.exc import OperationalError

    from signatory import database

    _without_busy_timeout(monkeypatch)
    with sqlite_app.app_context():
        db.engine.dispose()
        path = _database_path()
        other = sqlite3.connect(path, isolation_level=None)
        other.execute("BEGIN IMMEDIATE")
        try:
            with pytest.raises(OperationalError, match="locked"):
                with driver_transaction():
                    pytest.fail("the body never runs when BEGIN fails")
        finally:
            other.execute("ROLLBACK")
            other.close()
        assert db.engine.pool.checkedout() <= 1, "at most the connection kept for driver transactions"
        descriptor = os.open(path + database.WRITER_TURN_SUFFIX, os.O_RDWR)
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)  # BlockingIOError if the turn were still held
        finally:
            os.close(descriptor)
        prepared = _prepared(make_letter(), "later@example.org")
        db.session.commit()
        with driver_transaction() as connection:
            assert signing.insert_signature(connection, prepared.values)


def test_driver_transactions_keep_their_connection_until_the_pool_is_disposed(ctx):
    """One pooled connection per thread for driver transactions, kept between
    them; after `dispose()` (a new pool) the next one takes a fresh one and
    closes the old, and writes as before."""
    with driver_transaction() as first:
        pass
    kept = first.connection
    with driver_transaction() as again:
        assert again.connection is kept, "kept between transactions"
    letter = make_letter()
    prepared = _prepared(letter, "na-dispose@example.org")
    db.session.commit()
    db.engine.dispose()
    with driver_transaction() as fresh:
        assert fresh.connection is not kept
        assert signing.store_signature(prepared, fresh).signature_id is not None
    assert not kept.is_valid, "the old connection was closed, not left open"
    assert db.session.scalar(select(Signature.email).where(Signature.email == "na-dispose@example.org"))
