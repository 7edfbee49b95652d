"""Fixtures: an app on a database built by the migrations, on SQLite always
and on PostgreSQL when it is reachable (required under CI=true).

* `app` — parametrised over both databases; a fresh, migrated database per test
  (SQLite: a copy of a file migrated once; PostgreSQL: one database migrated
  once per session, emptied after each test).
* `sqlite_app` — SQLite only, for tests where the database does not matter.
* `client`, `runner`, `ctx` (an application context).
* `letter` — an open letter (slug `brief`) on the `app` database.
* `organiser` — an organiser account granted `letter`; `admin` — an admin.
* `auth` — logs the `client` in and out through the login form.
* `signer` — a citizen at the letter's page: `signer.sign(**fields)` posts
  the real form, `signer.confirm()` follows the link from the outbox.
* plain helpers to make letters, signatures and users inside a context.
"""
from __future__ import annotations

import email
import os
import re
import shutil
import threading
import traceback
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, timedelta
from email import policy
from pathlib import Path

import pytest

PG_ADMIN_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")

LETTER_SOURCE = """---
title: "Integratie: hoezo mislukt?"
subtitle: "Een open brief"
organiser: "Testorganisatie vzw"
place_date: "Gent, 1 mei 2011"
contact: "info@example.org"
intro: "Teken mee!"
goal: 100
---

Wij zijn benieuwd naar de **antwoorden**.
"""


# --- databases --------------------------------------------------------------------

def _postgres_reason() -> str | None:
    try:
        import psycopg

        url = PG_ADMIN_URL.replace("postgresql+psycopg://", "postgresql://")
        with psycopg.connect(url, connect_timeout=3) as connection:
            connection.execute("SELECT 1")
    except Exception as error:  # any failure means: no server for us
        return f"PostgreSQL not reachable at {PG_ADMIN_URL}: {error}"
    return None


def _pid_namespace() -> str:
    try:
        return re.sub(r"\D", "", os.readlink("/proc/self/ns/pid")) or "0"
    except OSError:
        return "0"


# A database's name says which run made it: the process and its PID
# namespace, so that a run in another container is never taken for dead.
_PID_NAMESPACE = _pid_namespace()


def _is_running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process, alive
    return True


def _drop_stale_databases(connection, prefix: str) -> None:
    """Databases of this naming left by a run that was killed before it could
    drop them: made in this PID namespace by a process that is gone, and
    nobody connected. Concurrent runs' databases are never touched."""
    import psycopg

    pattern = re.compile(rf"{re.escape(prefix)}_{_PID_NAMESPACE}_(\d+)_[0-9a-f]{{6}}")
    names = connection.execute(
        "SELECT datname FROM pg_database WHERE NOT EXISTS"
        " (SELECT 1 FROM pg_stat_activity WHERE pg_stat_activity.datname = pg_database.datname)"
    ).fetchall()
    for (stale,) in names:
        match = pattern.fullmatch(stale)
        if match and not _is_running(int(match.group(1))):
            try:
                connection.execute(f'DROP DATABASE IF EXISTS "{stale}"')
            except psycopg.Error:
                pass  # someone connected meanwhile, or another run dropped it first


@contextmanager
def postgres_database(prefix: str):
    """An empty database of our own on the PostgreSQL server, dropped
    afterwards: the test skips without a server, and fails under CI=true."""
    reason = _postgres_reason()
    if reason:
        if IN_CI:
            pytest.fail(f"CI=true requires PostgreSQL: {reason}")
        pytest.skip(reason)
    import psycopg

    name = f"{prefix}_{_PID_NAMESPACE}_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = PG_ADMIN_URL.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(admin, autocommit=True) as connection:
        _drop_stale_databases(connection, prefix)
        connection.execute(f'CREATE DATABASE "{name}"')
    try:
        yield PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with psycopg.connect(admin, autocommit=True) as connection:
            connection.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (name,))
            connection.execute(f'DROP DATABASE IF EXISTS "{name}"')


@pytest.fixture(scope="session")
def postgres_url():
    """A database of our own on the PostgreSQL server, migrated once."""
    with postgres_database("signatory_test") as url:
        _migrate(url)
        yield url


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> Path:
    """A SQLite file migrated once; each test gets a copy."""
    path = tmp_path_factory.mktemp("template") / "template.sqlite3"
    _migrate(f"sqlite:///{path}")
    return path


def _migrate(url: str) -> None:
    from flask_migrate import upgrade

    from signatory import create_app

    instance = Path(os.environ.get("PYTEST_TMP", "/tmp")) / f"signatory-migrate-{uuid.uuid4().hex[:8]}"
    old = os.environ.get("DATABASE_URL")
    os.environ["DATABASE_URL"] = url
    try:
        app = create_app({"TESTING": True}, instance_path=str(instance))
        with app.app_context():
            upgrade()
            from signatory.extensions import db

            db.engine.dispose()
    finally:
        if old is None:
            os.environ.pop("DATABASE_URL", None)
        else:
            os.environ["DATABASE_URL"] = old
        shutil.rmtree(instance, ignore_errors=True)


def _empty_postgres(app) -> None:
    from signatory.extensions import db

    with app.app_context():
        tables = ", ".join(f'"{t.name}"' for t in db.metadata.sorted_tables)
        with db.engine.begin() as connection:
            connection.exec_driver_sql(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")
        db.engine.dispose()


def build_app(monkeypatch, tmp_path: Path, database_url: str, **config):
    from signatory import create_app

    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("SECRET_KEY", "test-secret-key-that-is-long-enough-for-links")
    monkeypatch.setenv("MAIL_URL", f"file://{tmp_path / 'outbox'}")
    monkeypatch.setenv("BASE_URL", "http://127.0.0.1:5000")
    monkeypatch.setenv("SIGN_RATE_LIMIT", config.pop("SIGN_RATE_LIMIT", "off"))
    monkeypatch.delenv("RATELIMIT_STORAGE_URI", raising=False)
    monkeypatch.delenv("TRUSTED_PROXIES", raising=False)
    test_config = {"TESTING": True, "RATELIMIT_STORAGE_URI": "memory://", **config}
    return create_app(test_config, instance_path=str(tmp_path / "instance"))


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path):
    if request.param == "sqlite":
        template = request.getfixturevalue("sqlite_template")
        target = tmp_path / "test.sqlite3"
        shutil.copyfile(template, target)
        return f"sqlite:///{target}"
    return request.getfixturevalue("postgres_url")


@pytest.fixture
def app(database_url, monkeypatch, tmp_path):
    app = build_app(monkeypatch, tmp_path, database_url)
    yield app
    _teardown(app, database_url)


@pytest.fixture
def sqlite_app(sqlite_template, monkeypatch, tmp_path):
    target = tmp_path / "test.sqlite3"
    shutil.copyfile(sqlite_template, target)
    app = build_app(monkeypatch, tmp_path, f"sqlite:///{target}")
    yield app
    _teardown(app, "sqlite")


def _teardown(app, database_url: str) -> None:
    from signatory.extensions import db

    with app.app_context():
        db.session.remove()
    if database_url.startswith("postgresql"):
        _empty_postgres(app)
    else:
        with app.app_context():
            db.engine.dispose()


@pytest.fixture(autouse=True)
def quick_password_hashing(monkeypatch):
    """argon2 with its production cost (64 MiB, three passes) takes a second
    a hash on a loaded two-core machine; the suite hashes hundreds of
    passwords. A hash carries its own parameters, so verifying, rehashing
    and every rule about passwords behave exactly as in production."""
    from argon2 import PasswordHasher

    monkeypatch.setattr("signatory.auth._hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def held_compiles(monkeypatch):
    """PDF compiles in background threads wait until the test calls the
    fixture's value: the "being prepared" answer is then certain, not a race
    with a compiling thread that may already be done. Compiles inside a
    request go on as usual. The thread waits before it opens a transaction:
    on SQLite a waiting reader outside a request would hold the write lock."""
    from signatory.pdf import store

    released = threading.Event()
    real_compile = store._compile_in_background

    def compile_when_released(*args):
        assert released.wait(120), "the test never released the background compile"
        return real_compile(*args)

    monkeypatch.setattr(store, "_compile_in_background", compile_when_released)
    yield released.set
    released.set()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def ctx(app):
    """An application context for calling domain functions directly."""
    with app.app_context():
        yield app


# --- the letter, the people, their actions ----------------------------------------------

PASSWORD = "correct horse battery"


@dataclass(frozen=True)
class LetterRef:
    """A letter a fixture made: plain values, usable in any app context
    (`make_signature(letter)` takes it like a Letter row)."""

    id: int
    slug: str

    @property
    def url(self) -> str:
        return f"/letters/{self.slug}"

    def row(self):
        """The Letter row, in the current app context's session."""
        from signatory.extensions import db
        from signatory.models import Letter

        return db.session.get(Letter, self.id)


@dataclass(frozen=True)
class Account:
    """An organiser or admin account a fixture made, and how to log in."""

    id: int
    email: str
    password: str = PASSWORD


@pytest.fixture
def letter(app) -> LetterRef:
    """An open letter, slug `brief`, deadline in 30 days, goal 100."""
    with app.app_context():
        row = make_letter()
        return LetterRef(row.id, row.slug)


@pytest.fixture
def organiser(app, letter) -> Account:
    """organiser@example.org, granted `letter`, not an admin."""
    with app.app_context():
        return _account(make_user("organiser@example.org"), letter)


@pytest.fixture
def admin(app) -> Account:
    """admin@example.org, an admin: every letter, accounts, the audit log."""
    with app.app_context():
        return _account(make_user("admin@example.org", admin=True))


def make_account(email: str, *, grant: LetterRef | None = None, admin: bool = False) -> Account:
    """An account (inside an app context), granted one letter if asked."""
    return _account(make_user(email, admin=admin), grant)


def _account(user, grant: LetterRef | None = None) -> Account:
    from signatory.auth import add_grant
    from signatory.extensions import db

    if grant is not None:
        add_grant(grant.row(), user)
        db.session.commit()
    return Account(user.id, user.email)


class AuthActions:
    """Log a test client in and out through the real forms."""

    def __init__(self, client):
        self.client = client

    def login(self, who: Account | str = "organiser@example.org", password: str | None = None):
        email = who.email if isinstance(who, Account) else who
        password = password or (who.password if isinstance(who, Account) else PASSWORD)
        return login(self.client, email, password)

    def logout(self):
        token = csrf_token(self.client.get("/organise/").get_data(as_text=True))
        return self.client.post("/organise/logout", data={"csrf_token": token})


@pytest.fixture
def auth(client) -> AuthActions:
    return AuthActions(client)


class Signer:
    """A citizen at a letter's public page, signing through the real form as
    a browser sends it, and reading the e-mails the service sent them.

    The form token is read from the letter page when first needed (`open()`
    reads it again), as a browser that keeps the page open."""

    def __init__(self, app, client, slug: str = "brief"):
        self.app = app
        self.client = client
        self.slug = slug
        self.email = SIGN_DEFAULTS["email"]
        self._token: str | None = None

    @property
    def url(self) -> str:
        return f"/letters/{self.slug}"

    @property
    def token(self) -> str:
        if self._token is None:
            self.open()
        return self._token

    def open(self, **kwargs):
        """The letter page, as the signer sees it; keeps its form token."""
        page = self.client.get(self.url, **kwargs)
        self._token = csrf_token(page.get_data(as_text=True))
        return page

    def sign(self, language: str | None = None, **fields):
        """Fill in the form (SIGN_DEFAULTS for what is not given) and send
        it, in a browser speaking `language` if given; the response."""
        self.email = fields.get("email", SIGN_DEFAULTS["email"])
        headers = {"Accept-Language": language} if language else {}
        return self.post({**sign_form(**fields), "csrf_token": self.token}, headers=headers)

    def post(self, data, **kwargs):
        """Send this body to the sign URL as it is (hostile-input tests); a
        500 fails here, with the page it showed."""
        response = self.client.post(f"{self.url}/sign", data=data, **kwargs)
        assert response.status_code != 500, response.get_data(as_text=True)[:3000]
        return response

    def mails(self) -> list:
        """Deliver what is due; the e-mails to this signer, oldest first."""
        deliver(self.app)
        return [m for m in outbox_messages(self.app) if m["To"].casefold() == self.email.casefold()]

    def link(self, kind: str) -> str:
        """The `confirm` or `manage` link of the newest e-mail that has one."""
        for message in reversed(self.mails()):
            found = links(message, kind)
            if found:
                return found[-1]
        raise AssertionError(f"no e-mail to {self.email} has a {kind} link")

    def confirm(self):
        """Follow the confirmation link from the e-mail; the response."""
        return self.client.get(path_of(self.link("confirm")))

    @property
    def manage_url(self) -> str:
        """The path of the manage link from the e-mail."""
        return path_of(self.link("manage"))


@pytest.fixture
def signer(app, client, letter) -> Signer:
    return Signer(app, client, letter.slug)


# --- helpers ------------------------------------------------------------------------

def run_together(count: int, work) -> list:
    """Run work(i) in `count` threads released at the same instant; the
    results, in order. The first error fails the test with its traceback."""
    barrier = threading.Barrier(count)
    results: list = [None] * count
    errors: list[str] = []

    def run(index):
        try:
            barrier.wait(timeout=30)
            results[index] = work(index)
        except Exception:
            errors.append(traceback.format_exc())

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads), "a thread hung"
    assert not errors, errors[0]
    return results


def brussels_today() -> date:
    """Today where the letters live (Europe/Brussels), not on this machine:
    deadline tests must not depend on the machine's time zone."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    return datetime.now(ZoneInfo("Europe/Brussels")).date()


def make_letter(slug: str = "brief", *, state: str = "open", deadline: date | None = None, source: str = LETTER_SOURCE, **fields):
    """Create a letter (call inside an app context); committed."""
    from signatory.extensions import db
    from signatory.letters import create_letter, open_letter, parse_letter_source

    parsed = parse_letter_source(source)
    parsed.deadline = deadline if deadline is not None else brussels_today() + timedelta(days=30)
    letter = create_letter(slug, parsed)
    for name, value in fields.items():
        setattr(letter, name, value)
    if state in ("open", "closed", "published"):
        open_letter(letter)
        letter.state = state
    db.session.commit()
    return letter


SIGN_DEFAULTS = {
    "first_name": "Ayşe",
    "last_name": "Yılmaz",
    "kind": "person",
    "organisation": "",
    "function": "",
    "address": "",
    "email": "ayse@example.org",
    "place": "Gent",
    "paragraph": "",
    "consent_name": True,
    "consent_paragraph": True,
    "consent_notify": True,
    "language": "nl",
}


def publish_and_notify(letter) -> None:
    """Mark a letter published (its state set, without publication.publish's
    checks and document) and queue the notices to its signatories; committed."""
    from signatory import publication
    from signatory.extensions import db

    letter.state = "published"
    letter.publication_date = date(2030, 6, 20)
    letter.publication_manner = "Verstuurd naar het parlement"
    db.session.commit()
    publication.notify_signatories(letter)
    db.session.commit()


def make_signature(letter, *, confirmed: bool = True, **fields):
    """Sign through the domain (and confirm); committed. Returns the signature."""
    from signatory import signing, tokens
    from signatory.extensions import db

    from signatory.models import Letter

    letter = db.session.get(Letter, letter.id)  # a Letter row or a LetterRef
    details = signing.SignatureDetails(**{**SIGN_DEFAULTS, **fields})
    outcome = signing.sign(letter, details, ip="127.0.0.1")
    db.session.commit()
    signature = outcome.signature
    if confirmed and signature is not None and not outcome.duplicate:
        signing.confirm(tokens.make_token(tokens.CONFIRM, signature.id))
        db.session.commit()
    return signature


def make_user(email: str = "organiser@example.org", password: str = PASSWORD, *, admin: bool = False):
    from signatory.auth import create_user
    from signatory.extensions import db

    user = create_user(email, password, is_admin=admin)
    db.session.commit()
    return user


def login(client, email: str = "organiser@example.org", password: str = PASSWORD):
    """Log in through the real form (fetching its CSRF token first)."""
    page = client.get("/organise/login")
    token = csrf_token(page.get_data(as_text=True))
    return client.post("/organise/login", data={"email": email, "password": password, "csrf_token": token})


def csrf_token(html: str) -> str:
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html) or re.search(
        r'value="([^"]+)"[^>]*name="csrf_token"', html
    )
    assert match, "no csrf_token in the page"
    return match.group(1)


def sign_form(**fields) -> dict:
    """Form data as a browser sends it: checkboxes only when ticked."""
    data = {**SIGN_DEFAULTS, **fields}
    data.pop("language", None)
    for name in ("consent_name", "consent_paragraph", "consent_notify"):
        if data.get(name) is True:
            data[name] = "y"
        elif not data.get(name):
            data.pop(name, None)
    return data


def deliver(app):
    """Run `flask outbox send` once, in-process."""
    from signatory import mail

    with app.app_context():
        return mail.deliver_due()


def outbox_messages(app) -> list[email.message.EmailMessage]:
    """The delivered .eml files, oldest first."""
    folder = Path(app.config["MAIL"].path)
    if not folder.exists():
        return []
    return [
        email.message_from_bytes(path.read_bytes(), policy=policy.default)
        for path in sorted(folder.glob("*.eml"))
    ]


def plain_text(message) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()


def links(message, kind: str) -> list[str]:
    """Absolute links of a kind (`confirm`, `manage`) in the plain-text part,
    each required to stand on a line of its own."""
    found = []
    for line in plain_text(message).splitlines():
        if f"/{kind}/" in line:
            assert line.strip().startswith("http") and " " not in line.strip(), f"link not alone on its line: {line!r}"
            found.append(line.strip())
    return found


def path_of(url: str) -> str:
    return "/" + url.split("/", 3)[3]
