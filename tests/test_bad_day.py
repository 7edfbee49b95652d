"""What the security review of issue 10 found, one test per door it closed:
a shared part down, leaks into logs, files that could act as our origin,
deployments that work but not as the operator thinks."""
from __future__ import annotations

import logging
import re
import socket
from datetime import date

import pytest
from sqlalchemy.exc import IntegrityError

from conftest import build_app, csrf_token, deliver, make_letter, make_signature, make_user, sign_form
from signatory.extensions import db, limiter


def free_port() -> int:
    """A loopback port where nothing listens (bound, read, released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def fresh_limiter():
    """The limiter is one object for every app of the test session: what a
    dead storage taught it must not leak into the next test."""
    yield limiter
    limiter._storage_dead = False


# --- 1. a shared part down ---------------------------------------------------------

def test_signing_login_resend_and_line_estimate_survive_a_dead_limiter_storage(
    monkeypatch, tmp_path, sqlite_template, fresh_limiter, caplog
):
    import shutil

    database = tmp_path / "db.sqlite3"
    shutil.copyfile(sqlite_template, database)
    dead = f"redis://127.0.0.1:{free_port()}"
    app = build_app(
        monkeypatch, tmp_path, f"sqlite:///{database}",
        SIGN_RATE_LIMIT="60 per minute", RATELIMIT_STORAGE_URI=dead,
    )
    with app.app_context():
        make_letter()
        make_user()
    client = app.test_client()
    caplog.set_level(logging.WARNING)
    token = csrf_token(client.get("/letters/brief").get_data(as_text=True))
    signed = client.post("/letters/brief/sign", data={**sign_form(), "csrf_token": token})
    assert signed.status_code == 303, "signing must not fail with the limiter's storage"
    assert "falling back to in-memory" in caplog.text
    token = csrf_token(client.get("/letters/brief/resend").get_data(as_text=True))
    resend = client.post("/letters/brief/resend", data={"email": "ayse@example.org", "csrf_token": token})
    assert resend.status_code == 200
    lines = client.post("/api/paragraph-lines", json={"text": "Een korte paragraaf."})
    assert lines.status_code == 200 and lines.get_json()["fits"] is True
    token = csrf_token(client.get("/organise/login").get_data(as_text=True))
    wrong = client.post(
        "/organise/login", data={"email": "organiser@example.org", "password": "wrong", "csrf_token": token}
    )
    assert wrong.status_code == 401
    # Per process from now on, but still a limit: the 61st signing is refused.
    for number in range(60):
        client.post("/letters/brief/sign", data={**sign_form(email=f"p{number}@example.org"), "csrf_token": token})
    assert client.post("/letters/brief/sign", data={**sign_form(email="late@example.org")}).status_code == 429
    with app.app_context():
        db.engine.dispose()


# --- 8. no signer data in logs -----------------------------------------------------

def test_a_database_error_names_the_statement_not_the_signers_data(app):
    from signatory.models import Signature

    with app.app_context():
        values = {
            "letter_id": 987654, "letter_version": 1, "first_name": "Geheim", "last_name": "Persoon",
            "kind": "person", "organisation": "", "organisation_key": "", "function": "", "address": "",
            "place": "", "paragraph": "", "paragraph_status": "none", "consent_name": True,
            "consent_paragraph": False, "consent_notify": False, "language": "nl", "source": "online",
            "status": "unconfirmed", "sort_key": b"x", "email": "geheim@example.org",
            "email_key": "geheim@example.org",
        }
        with pytest.raises(IntegrityError) as caught:
            db.session.connection().execute(Signature.__table__.insert(), values)
        db.session.rollback()
    text = str(caught.value)
    assert "INSERT INTO signatures" in text or "INSERT INTO signature" in text
    assert "geheim@example.org" not in text and "Geheim" not in text


def test_a_failed_message_is_logged_by_its_id_not_its_recipient(sqlite_app, caplog):
    from signatory import mail

    with sqlite_app.app_context():
        mail.queue(
            "publication", recipient="private.person@example.org\r\nBcc: x@example.org", template="links",
            language="nl", letter_id=None, signature_id=None,
        )
        db.session.commit()
        message_id = db.session.scalar(db.select(mail.OutboxMessage.id))
    caplog.set_level(logging.INFO, logger="signatory.mail")
    report = deliver(sqlite_app)
    assert report.failed == 1
    assert f"mail #{message_id} failed" in caplog.text
    assert "private.person" not in caplog.text


# --- 11. answer attachments ---------------------------------------------------------

def test_an_answer_attachment_is_downloaded_in_a_sandbox(sqlite_app):
    from signatory import publication

    with sqlite_app.app_context():
        letter = make_letter(state="published")
        answer = publication.record_answer(letter, publication.AnswerInput(
            author_name="Jan Politicus", received_on=date(2030, 7, 1),
            attachment=b"%PDF-1.4 /JS (app.alert(document.cookie))", attachment_name="antwoord.pdf",
        ))
        db.session.commit()
        answer_id = answer.id
    response = sqlite_app.test_client().get(f"/letters/brief/answers/{answer_id}.pdf")
    assert response.status_code == 200 and response.data.startswith(b"%PDF")
    assert response.headers["Content-Disposition"].startswith("attachment;")
    policy = response.headers["Content-Security-Policy"]
    assert policy.split(";")[0].strip() == "sandbox" and "script-src" not in policy
    # Our own document stays inline, under the site's policy.
    assert "sandbox" not in sqlite_app.test_client().get("/letters/brief").headers["Content-Security-Policy"]


# --- 7. no typed free text in mail to an unconfirmed address -----------------------

PHISHING = "Uw account is geblokkeerd, herstel via https://evil.example/herstel"


def test_mail_to_an_unconfirmed_address_carries_nothing_typed_on_the_form(app):
    from conftest import outbox_messages, plain_text
    from signatory import publication, signing

    with app.app_context():
        letter = make_letter()
        signature = make_signature(
            letter, confirmed=False, first_name=PHISHING, last_name="https://evil.example", place="evil.example",
        )
        signature_id = signature.id
        signing.queue_links_reminder(signature)
        db.session.commit()
    deliver(app)
    with app.app_context():
        # The reminder to confirm, due days later: made due now.
        from signatory.models import Signature, utcnow
        from datetime import timedelta

        db.session.get(Signature, signature_id).created_at = utcnow() - timedelta(days=8)
        db.session.commit()
        assert publication.queue_due_reminders() == 1
        db.session.commit()
    deliver(app)
    messages = outbox_messages(app)
    assert len(messages) >= 2
    for message in messages:
        whole = plain_text(message) + message.get_body(preferencelist=("html",)).get_content() + message["Subject"]
        assert "evil" not in whole and "geblokkeerd" not in whole, message["Subject"]
        assert "Goeiedag," in plain_text(message)


# --- 3. the same request-time work for an address that signed and one that did not ---

def _deferred_rows():
    from sqlalchemy import select

    from signatory.models import OutboxMessage

    return [(row.kind, row.body_text) for row in db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))]


def test_signing_and_resending_do_the_same_work_for_known_and_new_addresses(app, monkeypatch):
    from signatory import mail

    with app.app_context():
        letter = make_letter()
        make_signature(letter, email="known@example.org")
        db.session.execute(db.delete(mail.OutboxMessage))
        db.session.commit()
    client = app.test_client()

    def no_rendering(*_args, **_kwargs):
        raise AssertionError("an e-mail was rendered while the request waited")

    monkeypatch.setattr(mail, "render_email", no_rendering)
    answers = []
    for email in ("new@example.org", "known@example.org"):
        token = csrf_token(client.get("/letters/brief").get_data(as_text=True))
        answers.append(client.post("/letters/brief/sign", data={**sign_form(email=email), "csrf_token": token}))
    for email in ("known@example.org", "nobody@example.org"):
        token = csrf_token(client.get("/letters/brief/resend").get_data(as_text=True))
        answers.append(client.post("/letters/brief/resend", data={"email": email, "csrf_token": token}))
    assert [a.status_code for a in answers] == [303, 303, 200, 200]
    with app.app_context():
        # One deferred row per request, nothing rendered, nothing looked up:
        # known and new addresses cost the same.
        assert _deferred_rows() == [("confirm", ""), ("links", ""), ("links", ""), ("links", "")]


def test_at_most_one_links_mail_per_signature_per_hour(app):
    from conftest import outbox_messages

    with app.app_context():
        make_signature(make_letter(), email="known@example.org")
    client = app.test_client()
    pages = []
    for _ in range(3):
        token = csrf_token(client.get("/letters/brief").get_data(as_text=True))
        client.post("/letters/brief/sign", data={**sign_form(email="Known@example.org"), "csrf_token": token})
        token = csrf_token(client.get("/letters/brief/resend").get_data(as_text=True))
        pages.append(client.post("/letters/brief/resend", data={"email": "known@example.org", "csrf_token": token}))
        deliver(app)
    strip = lambda page: re.sub(r'name="csrf_token"[^>]*>', "", page.get_data(as_text=True))
    assert strip(pages[0]) == strip(pages[2]), "the page answers the same"
    assert [m["To"] for m in outbox_messages(app)] == ["known@example.org"] * 2
    with app.app_context():
        from signatory.models import OutboxMessage

        kinds = db.session.scalars(db.select(OutboxMessage.kind).order_by(OutboxMessage.id)).all()
        assert kinds == ["confirm", "links"], "the confirmation and one links e-mail, however often asked"


# --- 10. odd bodies are 4xx --------------------------------------------------------

def test_deeply_nested_json_to_the_line_estimate_is_a_400(sqlite_app):
    deep = b"[" * 100_000 + b"]" * 100_000
    response = sqlite_app.test_client().post("/api/paragraph-lines", data=deep, content_type="application/json")
    assert response.status_code == 400
    assert response.get_json()["status"] == 400


@pytest.mark.parametrize("exponent", [31, 40, 62])
def test_ids_beyond_the_columns_range_are_not_found(app, exponent):
    from conftest import login

    with app.app_context():
        make_letter()
        make_user(admin=True)
    client = app.test_client()
    number = 2**exponent
    assert client.get(f"/letters/brief/answers/{number}.pdf").status_code == 404
    login(client)
    assert client.get(f"/organise/signatures/{number}").status_code == 404


def test_a_long_organisation_name_that_grows_when_casefolded_is_signed(app):
    name = ("Straße" * 34)[:200]  # 200 characters, 233 casefolded
    with app.app_context():
        make_letter()
    client = app.test_client()
    token = csrf_token(client.get("/letters/brief").get_data(as_text=True))
    data = {**sign_form(kind="organisation", organisation=name, paragraph="Wij tekenen mee."), "csrf_token": token}
    assert client.post("/letters/brief/sign", data=data).status_code == 303
    assert client.post("/letters/brief/sign", data=data).status_code == 303, "the duplicate answers the same"
    with app.app_context():
        from signatory.models import Signature

        [signature] = db.session.scalars(db.select(Signature)).all()
        assert signature.organisation == name and signature.paragraph == "Wij tekenen mee."
        assert len(signature.organisation_key) <= 200


def test_nul_in_the_answer_form_is_a_4xx_with_the_form(app):
    from conftest import login

    with app.app_context():
        make_letter(state="published")
        make_user(admin=True)
    client = app.test_client()
    login(client)
    page = client.get("/organise/letters/brief/publication").get_data(as_text=True)
    response = client.post("/organise/letters/brief/answers", data={
        "csrf_token": csrf_token(page), "author_name": "Jan\x00 Politicus", "author_function": "Min\x00ister",
        "received_on": "2030-07-01", "body": "Dank\x00 u.",
    })
    assert response.status_code in (303, 422)
    with app.app_context():
        from signatory.models import Answer

        for answer in db.session.scalars(db.select(Answer)):
            assert "\x00" not in answer.author_name + answer.author_function + answer.body


BROKEN_CHUNKED_BODIES = {
    "chunk size not a number": b"zz\r\nfirst_name=A\r\n0\r\n\r\n",
    "chunk without its terminator": b"5\r\nfirst_nameXX\r\n0\r\n\r\n",
    "body cut short": b"400\r\nfirst_name=A&last_name=B",
}


def test_a_malformed_chunked_body_is_a_400_from_us(sqlite_app, tmp_path):
    from servers import gunicorn

    with sqlite_app.app_context():
        make_letter()
        db.engine.dispose()
    with gunicorn(tmp_path, sqlite_app.config["SQLALCHEMY_DATABASE_URI"], workers=1) as base:
        port = int(base.rsplit(":", 1)[1])
        for name, body in BROKEN_CHUNKED_BODIES.items():
            with socket.create_connection(("127.0.0.1", port), timeout=10) as connection:
                connection.sendall(
                    b"POST /letters/brief/sign HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                    b"Content-Type: application/x-www-form-urlencoded\r\nTransfer-Encoding: chunked\r\n"
                    b"Connection: close\r\n\r\n" + body
                )
                connection.shutdown(socket.SHUT_WR)
                answer = b""
                while chunk := connection.recv(65536):
                    answer += chunk
            status_line, _, rest = answer.partition(b"\r\n")
            assert status_line.split()[1] == b"400", (name, answer[:500])
            assert b"X-Content-Type-Options: nosniff" in rest, f"{name}: answered by us, not by gunicorn"
    assert "Traceback" not in (tmp_path / "gunicorn.log").read_text()


# --- 13. retention everywhere --------------------------------------------------------

def test_retention_reaches_unpublished_closed_letters_and_withdrawn_signatures(app):
    from datetime import timedelta

    from conftest import brussels_today
    from signatory import privacy, signing
    from signatory.models import Signature, utcnow

    today = brussels_today()
    with app.app_context():
        closed_long_ago, clock_closed, closed_recently, open_letter = (
            make_letter(slug) for slug in ("dicht", "klok", "recent", "open")
        )
        for letter in (closed_long_ago, clock_closed, closed_recently):
            make_signature(letter, email=f"{letter.slug}@example.org", address="Straat 1, Gent")
        closed_long_ago.state, closed_long_ago.deadline = "closed", today - timedelta(days=400)
        clock_closed.deadline = today - timedelta(days=400)  # still 'open': closed by the clock
        closed_recently.state, closed_recently.deadline = "closed", today - timedelta(days=100)
        old_withdrawal = make_signature(open_letter, email="weg@example.org", paragraph="Mijn reden.")
        new_withdrawal = make_signature(open_letter, email="pas@example.org")
        for signature in (old_withdrawal, new_withdrawal):
            signing.withdraw(signature)
        old_withdrawal.withdrawn_at = utcnow() - timedelta(days=31)
        db.session.commit()
        old_id, new_id = old_withdrawal.id, new_withdrawal.id

        report = privacy.purge()
        db.session.commit()
        assert report.addresses_erased == 2 and report.withdrawn_erased == 1
        by_letter = {s.letter.slug: s for s in db.session.scalars(db.select(Signature)) if s.letter.slug != "open"}
        for slug in ("dicht", "klok"):
            assert by_letter[slug].email is None and by_letter[slug].address == "", slug
            assert by_letter[slug].first_name, "names stay: only addresses go"
        assert by_letter["recent"].email == "recent@example.org"
        gone = db.session.get(Signature, old_id)
        assert gone.email is None and gone.first_name == "" and gone.paragraph == "" and gone.status == "erased"
        assert db.session.get(Signature, new_id).email == "pas@example.org"
        assert db.session.get(type(open_letter), open_letter.id).signature_count == 0


# --- 2. a dropped database connection ------------------------------------------------

class _NoRedirects(__import__("urllib.request").request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def _signer_session(base: str):
    """An opener with its own cookies and the sign form's token."""
    import http.cookiejar
    import urllib.request

    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()), _NoRedirects)
    for _ in range(20):
        try:
            return opener, csrf_token(opener.open(base + "/letters/brief", timeout=20).read().decode())
        except OSError:
            pass  # a 503 while the backends are terminated: ask again
    raise AssertionError("the letter page never came back")


def _post(opener, url: str, data: dict):
    import urllib.error
    import urllib.parse

    try:
        response = opener.open(url, data=urllib.parse.urlencode(data).encode(), timeout=30)
    except urllib.error.HTTPError as error:
        response = error
    return response.status, dict(response.headers), response.read().decode(errors="replace")


def test_signing_survives_terminated_database_backends_under_load(postgres_url, monkeypatch, tmp_path):
    import threading
    import time

    import psycopg

    from conftest import PG_ADMIN_URL, _empty_postgres
    from servers import gunicorn

    app = build_app(monkeypatch, tmp_path, postgres_url)
    with app.app_context():
        make_letter()
        db.engine.dispose()
    database = postgres_url.rsplit("/", 1)[1]
    admin_url = PG_ADMIN_URL.replace("postgresql+psycopg://", "postgresql://")
    answers, terminated = [], [0]
    stop = threading.Event()

    def terminate_our_backends():
        with psycopg.connect(admin_url, autocommit=True) as connection:
            while not stop.wait(0.15):
                terminated[0] += connection.execute(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE datname = %s AND pid <> pg_backend_pid()", (database,),
                ).fetchone()[0]

    def sign_repeatedly(worker: int, base: str):
        opener, token = _signer_session(base)
        for number in range(40):
            if stop.is_set():
                return
            email = f"w{worker}n{number}@example.org"
            status, headers, body = _post(opener, base + "/letters/brief/sign", {**sign_form(email=email), "csrf_token": token})
            answers.append((email, status, headers, body))

    try:
        with gunicorn(tmp_path, postgres_url, workers=2) as base:
            killer = threading.Thread(target=terminate_our_backends)
            signers = [threading.Thread(target=sign_repeatedly, args=(n, base)) for n in range(6)]
            killer.start()
            for thread in signers:
                thread.start()
            deadline = time.monotonic() + 25
            for thread in signers:
                thread.join(max(0.1, deadline - time.monotonic()))
            stop.set()
            killer.join()
            for thread in signers:
                thread.join()
        log = (tmp_path / "gunicorn.log").read_text()
        with psycopg.connect(postgres_url.replace("postgresql+psycopg://", "postgresql://")) as connection:
            stored = {row[0] for row in connection.execute("SELECT email FROM signatures")}
    finally:
        _empty_postgres(app)

    statuses = [status for _, status, _, _ in answers]
    acknowledged = {email for email, status, _, _ in answers if status == 303}
    figures = (f"requests {len(answers)}, 303: {statuses.count(303)}, 503: {statuses.count(503)}, "
               f"500: {statuses.count(500)}, other: {len([s for s in statuses if s not in (303, 503)])}, "
               f"backends terminated {terminated[0]}, acknowledged {len(acknowledged)}, "
               f"acknowledged and stored {len(acknowledged & stored)}, "
               f"connections lost in a request {log.count('database connection lost')}")
    print(figures)
    assert terminated[0] > 0 and len(answers) >= 100, figures
    assert set(statuses) <= {303, 503}, figures
    for email, status, headers, body in answers:
        assert headers.get("X-Content-Type-Options") == "nosniff", "answered by us, never raw by gunicorn"
        if status == 503:
            assert f'value="{email}"' in body, "the form comes back filled in"
    assert acknowledged <= stored, f"acknowledged but lost: {sorted(acknowledged - stored)[:5]}"
    assert "Traceback" not in log or "Exception in worker process" not in log


# --- 12. deployment safety ------------------------------------------------------------

@pytest.mark.parametrize("argv, environ, workers", [
    (["/srv/.venv/bin/gunicorn", "-w", "4", "app:app"], {}, 4),
    (["gunicorn", "--workers=3", "app:app"], {}, 3),
    (["gunicorn", "-w2", "app:app"], {}, 2),
    (["/srv/.venv/lib/python3.11/site-packages/gunicorn/__main__.py", "--workers", "6"], {}, 6),
    (["gunicorn", "app:app"], {"WEB_CONCURRENCY": "5"}, 5),
    (["flask", "run", "-w", "4"], {}, 1),
])
def test_the_worker_count_is_read_from_gunicorns_command_line(argv, environ, workers):
    from signatory.deployment import workers_on_command_line

    assert workers_on_command_line(argv, environ) == workers


def test_memory_limits_with_several_workers_are_said_at_start_up(monkeypatch, tmp_path, sqlite_template, caplog):
    import shutil

    shutil.copyfile(sqlite_template, tmp_path / "db.sqlite3")
    monkeypatch.setattr("sys.argv", ["gunicorn", "-w", "4", "app:app"])
    caplog.set_level(logging.WARNING, logger="signatory.deployment")
    app = build_app(monkeypatch, tmp_path, f"sqlite:///{tmp_path / 'db.sqlite3'}", SIGN_RATE_LIMIT="60 per minute")
    assert "memory:// with 4 workers" in caplog.text
    caplog.clear()
    monkeypatch.setattr("sys.argv", ["gunicorn", "-c", "deploy/gunicorn.conf.py", "app:app"])
    app = build_app(monkeypatch, tmp_path, f"sqlite:///{tmp_path / 'db.sqlite3'}", SIGN_RATE_LIMIT="60 per minute")
    assert "memory://" not in caplog.text
    app.test_client().get("/", environ_overrides={"wsgi.multiprocess": True})
    assert "memory:// with a server with several worker processes" in caplog.text
    with app.app_context():
        db.engine.dispose()


def test_trusted_proxies_without_a_proxy_in_front_are_said(monkeypatch, tmp_path, sqlite_template, caplog):
    import shutil

    shutil.copyfile(sqlite_template, tmp_path / "db.sqlite3")
    app = build_app(monkeypatch, tmp_path, f"sqlite:///{tmp_path / 'db.sqlite3'}", TRUSTED_PROXIES=1)
    caplog.set_level(logging.WARNING, logger="signatory.deployment")
    app.test_client().get("/", headers={"X-Forwarded-For": "203.0.113.9"})
    assert "TRUSTED_PROXIES" not in caplog.text, "through a proxy: nothing to say"
    app.test_client().get("/")
    assert "TRUSTED_PROXIES is 1 but a request arrived without X-Forwarded-For" in caplog.text
    with app.app_context():
        db.engine.dispose()


# --- 14. backups while people sign -----------------------------------------------------

def _restore(backup, database_url: str, tmp_path):
    """Restore as the README says; returns (integrity verdict, stored e-mails,
    a cleanup function)."""
    import sqlite3
    import subprocess

    if database_url.startswith("sqlite"):
        restored = tmp_path / "restored.sqlite3"
        restored.write_bytes(backup.read_bytes())  # restoring a SQLite backup is putting the file back
        with sqlite3.connect(restored) as connection:
            verdict = connection.execute("PRAGMA integrity_check").fetchone()[0]
            emails = {row[0] for row in connection.execute("SELECT email FROM signatures")}
            assert connection.execute("SELECT version_num FROM alembic_version").fetchone()
        return verdict, emails, lambda: None

    import psycopg

    from conftest import PG_ADMIN_URL

    admin = PG_ADMIN_URL.replace("postgresql+psycopg://", "postgresql://")
    name = database_url.rsplit("/", 1)[1] + "_restored"
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}"')
        connection.execute(f'CREATE DATABASE "{name}"')
    target = admin.rsplit("/", 1)[0] + f"/{name}"
    result = subprocess.run(["pg_restore", "--no-owner", "--exit-on-error", f"--dbname={target}", str(backup)],
                            capture_output=True, text=True)
    verdict = "ok" if result.returncode == 0 else result.stderr
    with psycopg.connect(target) as connection:
        emails = {row[0] for row in connection.execute("SELECT email FROM signatures")}
        assert connection.execute("SELECT version_num FROM alembic_version").fetchone()

    def drop():
        with psycopg.connect(admin, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}"')

    return verdict, emails, drop


def test_a_backup_taken_while_people_sign_restores_everything_acknowledged_before_it(app, tmp_path):
    import os
    import subprocess
    import sys
    import threading
    import time

    from servers import PROJECT, gunicorn

    database_url = app.config["SQLALCHEMY_DATABASE_URI"]
    with app.app_context():
        make_letter()
        db.engine.dispose()
    answers: list[tuple[float, str, int]] = []
    stop = threading.Event()

    def sign_repeatedly(worker: int, base: str):
        opener, token = _signer_session(base)
        for number in range(200):
            if stop.is_set():
                return
            email = f"w{worker}n{number}@example.org"
            status, _headers, _body = _post(opener, base + "/letters/brief/sign", {**sign_form(email=email), "csrf_token": token})
            answers.append((time.monotonic(), email, status))

    backup = tmp_path / "backups" / "signatory.backup"
    with gunicorn(tmp_path, database_url, workers=2) as base:
        signers = [threading.Thread(target=sign_repeatedly, args=(n, base)) for n in range(4)]
        for thread in signers:
            thread.start()
        while len(answers) < 40 and all(t.is_alive() for t in signers):
            time.sleep(0.05)
        began = time.monotonic()
        environment = {**os.environ, "DATABASE_URL": database_url, "SECRET_KEY": "x" * 40,
                       "MAIL_URL": f"file://{tmp_path / 'outbox'}"}
        result = subprocess.run([sys.executable, "-m", "flask", "--app", "app.py", "backup", str(backup)],
                                cwd=PROJECT, env=environment, capture_output=True, text=True, timeout=120)
        ended = time.monotonic()
        time.sleep(0.3)  # signing goes on after the backup too
        stop.set()
        for thread in signers:
            thread.join(30)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "backup:" in result.stdout
    before = {email for at, email, status in answers if status == 303 and at < began}
    during = [email for at, email, status in answers if began <= at <= ended]
    assert {status for _, _, status in answers} == {303}, "signing never failed while the backup ran"
    verdict, restored, cleanup = _restore(backup, database_url, tmp_path)
    try:
        print(f"backup figures: {len(answers)} signed in all, {len(before)} acknowledged before the backup, "
              f"{len(during)} during it ({ended - began:.2f} s), restored {len(restored)}")
        assert verdict == "ok"
        assert before <= restored, f"acknowledged before the backup but missing: {sorted(before - restored)[:5]}"
        assert not list(backup.parent.glob("*.part")), "no half-written file left behind"
    finally:
        cleanup()


def test_a_failed_backup_leaves_no_file(sqlite_app, tmp_path):
    from signatory.backup import BackupError, take_backup

    target = tmp_path / "out.backup"
    with pytest.raises(BackupError):
        take_backup(f"sqlite:///{tmp_path / 'missing.sqlite3'}", target)
    assert not target.exists() and not list(tmp_path.glob("*.part"))


# --- 9. bidi controls out of names and places --------------------------------------------

BIDI_CONTROLS = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"


@pytest.mark.parametrize("control", list(BIDI_CONTROLS))
def test_bidi_controls_are_removed_from_names_and_places(sqlite_app, control):
    from signatory.models import Signature

    with sqlite_app.app_context():
        make_letter()
    client = sqlite_app.test_client()
    token = csrf_token(client.get("/letters/brief").get_data(as_text=True))
    data = sign_form(first_name=f"{control}Ayşe", last_name=f"Yıl{control}maz", place=f"Gent{control}",
                     kind="organisation", organisation=f"{control}Buurtwerk", function=f"voorzitter{control}")
    assert client.post("/letters/brief/sign", data={**data, "csrf_token": token}).status_code == 303
    with sqlite_app.app_context():
        signature = db.session.scalar(db.select(Signature))
        typed = (signature.first_name, signature.last_name, signature.place, signature.organisation, signature.function)
        assert typed == ("Ayşe", "Yılmaz", "Gent", "Buurtwerk", "voorzitter")
        assert signature.organisation_key == "buurtwerk", "one organisation, however it was disguised"


def test_a_database_that_does_not_answer_gets_a_503_that_keeps_the_form(monkeypatch, tmp_path, caplog):
    nowhere = f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/nothing?connect_timeout=2"
    app = build_app(monkeypatch, tmp_path, nowhere)
    client = app.test_client()
    page = client.get("/letters/brief")
    assert page.status_code == 503 and page.headers["Retry-After"] == "30"
    assert client.post("/api/paragraph-lines", json={"text": "x"}).status_code == 200, "needs no database"
    signed = client.post("/letters/brief/sign", data=sign_form(first_name="Fatima", place="Gent", paragraph="Mijn reden."))
    assert signed.status_code == 503
    html = signed.get_data(as_text=True)
    assert 'value="Fatima"' in html and 'value="ayse@example.org"' in html and "Mijn reden." in html
    assert 'action="/letters/brief/sign' in html
    assert "unhandled error" not in caplog.text


def test_the_teardown_never_raises_on_a_connection_the_server_dropped(postgres_url, monkeypatch, tmp_path):
    import psycopg
    from sqlalchemy import text

    from conftest import PG_ADMIN_URL

    app = build_app(monkeypatch, tmp_path, postgres_url)
    context = app.app_context()
    context.push()
    try:
        backend = db.session.execute(text("SELECT pg_backend_pid()")).scalar()  # a transaction is open
        with psycopg.connect(PG_ADMIN_URL.replace("postgresql+psycopg://", "postgresql://"), autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", (backend,))
    finally:
        context.pop()  # runs the teardown: closing the session rolls back on a dead connection
    with app.app_context():
        assert db.session.execute(text("SELECT 1")).scalar() == 1, "the next request gets a working connection"
        db.engine.dispose()
