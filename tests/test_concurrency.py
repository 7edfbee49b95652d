"""Signing and confirming at the same time, on SQLite (a file, the app's own
engine: WAL, busy timeout, write transactions begun IMMEDIATE) and on
PostgreSQL: every accepted signature is stored exactly once, the same address
twice at once gives one live signature, no request fails (no "database is
locked"), and the kept counter equals the confirmed rows.
"""
from __future__ import annotations

import os
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context

import pytest
from sqlalchemy import func, select

from conftest import Signer, csrf_token, login, make_letter, make_user, run_together, sign_form
from signatory import tokens
from signatory.extensions import db
from signatory.models import Letter, OutboxMessage, Signature

THREADS = 12
PER_THREAD = 5


@pytest.fixture
def letter_app(app, letter):
    return app


def signers_at_the_page(app, count: int) -> list[Signer]:
    """`count` browsers with the letter page open, ready to send the form."""
    signers = [Signer(app, app.test_client()) for _ in range(count)]
    for signer in signers:
        signer.open()
    return signers


def sign_status(signer: Signer, **fields) -> int:
    response = signer.sign(**fields)
    assert "database is locked" not in response.get_data(as_text=True)
    return response.status_code


def test_many_signers_at_once_are_each_stored_exactly_once(letter_app):
    signers = signers_at_the_page(letter_app, THREADS)

    def sign_some(index):
        return [
            sign_status(signers[index], email=f"signer{index}-{n}@example.org",
                  first_name=f"Naam{index}", last_name=f"Achternaam{n}",
                  **({"kind": "organisation", "organisation": f"Vereniging {index}"} if n % 2 else {}))
            for n in range(PER_THREAD)
        ]

    statuses = [status for batch in run_together(THREADS, sign_some) for status in batch]
    assert statuses == [303] * (THREADS * PER_THREAD), statuses
    with letter_app.app_context():
        total = THREADS * PER_THREAD
        assert db.session.scalar(select(func.count()).select_from(Signature)) == total
        keys = list(db.session.scalars(select(Signature.email_key)))
        assert len(set(keys)) == total, "a signature stored twice"
        assert sorted(keys) == sorted(f"signer{i}-{n}@example.org" for i in range(THREADS) for n in range(PER_THREAD))
        assert db.session.scalar(select(func.count()).select_from(OutboxMessage)) == total, "one e-mail per signing"
        assert set(db.session.scalars(select(OutboxMessage.kind))) == {"confirm"}


def test_the_same_address_twice_at_once_gives_one_live_signature(letter_app):
    signers = signers_at_the_page(letter_app, THREADS)
    spellings = ["same@example.org", "Same@Example.org", "SAME@example.org"]

    def sign_same(index):
        # Half for themselves, half for their organisation (differently spelled).
        extra = {"kind": "organisation", "organisation": ["Buurtwerk", "buurtwerk ", "BUURTWERK"][index % 3]} if index % 2 else {}
        return sign_status(signers[index], email=spellings[index % 3], **extra)

    statuses = run_together(THREADS, sign_same)
    assert statuses == [303] * THREADS, "the same answer whether or not the address signed"
    with letter_app.app_context():
        live = list(db.session.execute(select(Signature.kind, Signature.organisation_key)))
        assert sorted(live) == [("organisation", "buurtwerk"), ("person", "")], live
        kinds = list(db.session.scalars(select(OutboxMessage.kind)))
        assert kinds.count("confirm") == 2, "one confirmation per live signature"
        assert len(kinds) == THREADS, "every signing queued exactly one e-mail (the others: a reminder)"


def _make_signatures(app, count: int, *, confirmed: bool) -> list[int]:
    from signatory import signing

    with app.app_context():
        letter = db.session.scalar(select(Letter))
        ids = []
        for n in range(count):
            details = signing.SignatureDetails(
                first_name="Naam", last_name=f"Nummer {n}", email=f"c{n}@example.org",
                kind="organisation" if n % 3 == 0 else "person", organisation=f"Org {n}" if n % 3 == 0 else "",
                consent_name=True,
            )
            signature = signing.sign(letter, details).signature
            db.session.flush()
            if confirmed:
                signing.confirm(tokens.make_token(tokens.CONFIRM, signature.id))
            ids.append(signature.id)
        db.session.commit()
        return ids


def _kept_and_real(app) -> tuple[tuple[int, int], tuple[int, int]]:
    """((kept signature count, kept organisation count), (the same counted from the rows))."""
    with app.app_context():
        letter = db.session.scalar(select(Letter))
        confirmed = select(func.count()).select_from(Signature).where(Signature.status == "confirmed")
        return (
            (letter.signature_count, letter.organisation_count),
            (db.session.scalar(confirmed), db.session.scalar(confirmed.where(Signature.kind == "organisation"))),
        )


def test_parallel_confirmations_keep_the_counter_exact(letter_app):
    ids = _make_signatures(letter_app, 20, confirmed=False)
    with letter_app.app_context():
        links = [f"/confirm/{tokens.make_token(tokens.CONFIRM, sid)}" for sid in ids]
    clients = [letter_app.test_client() for _ in range(THREADS)]

    def confirm_all(index):
        # Every thread follows every link, each starting elsewhere: each link
        # is followed by several requests at the same moment.
        mine = links[index % 4:] + links[: index % 4]
        return [clients[index].get(link).status_code for link in mine]

    statuses = [status for batch in run_together(THREADS, confirm_all) for status in batch]
    assert statuses == [200] * len(statuses), statuses
    kept, real = _kept_and_real(letter_app)
    assert real[0] == len(ids)
    assert kept == real, "the kept counters lost or doubled a confirmation"
    assert letter_app.test_client().get("/api/letters/brief").get_json()["signatures"] == len(ids)


def test_parallel_withdrawals_keep_the_counter_exact(letter_app):
    ids = _make_signatures(letter_app, 20, confirmed=True)
    assert _kept_and_real(letter_app)[0][0] == 20
    with letter_app.app_context():
        paths = [f"/manage/{tokens.make_token(tokens.MANAGE, sid)}" for sid in ids[:12]]
    clients = [letter_app.test_client() for _ in range(THREADS)]
    form_tokens = [csrf_token(c.get(paths[0]).get_data(as_text=True)) for c in clients]

    def withdraw_all(index):
        mine = paths[index % 4:] + paths[: index % 4]
        return [
            clients[index].post(f"{path}/withdraw", data={"csrf_token": form_tokens[index]}).status_code
            for path in mine
        ]

    statuses = [status for batch in run_together(THREADS, withdraw_all) for status in batch]
    assert statuses == [200] * len(statuses), statuses
    kept, real = _kept_and_real(letter_app)
    assert real[0] == 8
    assert kept == real, "the kept counters lost or doubled a withdrawal"


# --- separate processes, each with its own engine (like gunicorn workers) --------------

PROCESSES = 3
PER_PROCESS = 15


def _sign_in_a_process(instance_path: str, worker: int, count: int, start_at: float) -> list[str]:
    """A worker process: its own app and engine on the same database."""
    from signatory import create_app

    app = create_app({"TESTING": True, "RATELIMIT_STORAGE_URI": "memory://"}, instance_path=instance_path)
    signer = Signer(app, app.test_client())
    signer.open()
    time.sleep(max(0.0, start_at - time.time()))
    outcomes = []
    for n in range(count):
        response = signer.sign(email=f"p{worker}-{n}@example.org", last_name=f"Proces {worker}")
        body = response.get_data(as_text=True)
        outcomes.append(f"{response.status_code}{' locked' if 'database is locked' in body else ''}")
    with app.app_context():
        db.engine.dispose()
    return outcomes


def test_worker_processes_signing_at_once(letter_app):
    instance_path = letter_app.instance_path
    assert os.environ["DATABASE_URL"] == letter_app.config["SQLALCHEMY_DATABASE_URI"]
    start_at = time.time() + 4  # every worker imported and ready, then all at once
    with ProcessPoolExecutor(max_workers=PROCESSES, mp_context=get_context("spawn")) as pool:
        futures = [
            pool.submit(_sign_in_a_process, instance_path, worker, PER_PROCESS, start_at)
            for worker in range(PROCESSES)
        ]
        outcomes = [outcome for future in futures for outcome in future.result(timeout=120)]
    assert outcomes == ["303"] * (PROCESSES * PER_PROCESS), outcomes
    with letter_app.app_context():
        keys = list(db.session.scalars(select(Signature.email_key)))
        assert sorted(keys) == sorted(f"p{w}-{n}@example.org" for w in range(PROCESSES) for n in range(PER_PROCESS))
        assert db.session.scalar(select(func.count()).select_from(OutboxMessage)) == len(keys)


def test_sqlite_write_lock_only_where_something_is_written(sqlite_app):
    """BEGIN IMMEDIATE serialises every writer on SQLite: a refused signing,
    an organiser page and a streamed export must not take it; an accepted
    signing takes it once, for its two inserts."""
    from sqlalchemy import event

    begins = []
    with sqlite_app.app_context():
        make_letter()
        make_user(admin=True)
        engine = db.engine

    def remember(statement):
        if statement.startswith("BEGIN"):
            begins.append(statement)

    def trace(connection):
        # What SQLite itself runs: the BEGIN goes straight to the driver.
        connection.connection.driver_connection.set_trace_callback(remember)

    event.listen(engine, "begin", trace, insert=True)

    client = sqlite_app.test_client()
    token = csrf_token(client.get("/letters/brief").get_data(as_text=True))

    def immediate_begins(method, url, **kwargs):
        begins.clear()
        response = client.open(url, method=method, **kwargs)
        response.get_data()  # a streamed body reads while it is consumed
        return response.status_code, begins.count("BEGIN IMMEDIATE")

    assert immediate_begins("POST", "/letters/brief/sign", data={**sign_form(email="nope"), "csrf_token": token}) == (422, 0)
    assert immediate_begins("POST", "/letters/brief/sign", data=sign_form()) == (400, 0)
    assert immediate_begins("POST", "/letters/brief/sign", data={**sign_form(), "csrf_token": token}) == (303, 1)
    login(client)
    assert immediate_begins("GET", "/organise/letters/brief") == (200, 0)
    status, _count = immediate_begins("GET", "/organise/letters/brief/signatures.csv")
    assert status == 200
    assert begins[0] == "BEGIN IMMEDIATE" and "BEGIN IMMEDIATE" not in begins[1:], "audit entry only, then read"
    assert len(begins) >= 2, "the streamed rows were read in a transaction of their own"
    event.remove(engine, "begin", trace)
