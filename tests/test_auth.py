"""Organiser accounts: the login form, sessions, throttling, passwords, the
`users create` command, and granting a letter. Who may open which
/organise/ page is the table in test_access.py."""
from __future__ import annotations

import re

import pytest

from conftest import csrf_token, login, make_letter, make_user
from signatory.auth import normalise_login
from signatory.extensions import db
from signatory.models import AuditEntry, User

def test_login_logout_and_safe_next(client, organiser):
    page = client.get("/organise/login?next=/organise/users")
    html = page.get_data(as_text=True)
    assert 'name="email"' in html and 'name="password"' in html and 'name="csrf_token"' in html
    response = client.post(
        "/organise/login",
        data={"email": "Organiser@Example.org ", "password": "correct horse battery",
              "csrf_token": csrf_token(html), "next": "/organise/letters/new"},
    )
    assert response.status_code == 303
    assert response.headers["Location"].endswith("/organise/letters/new")
    assert client.get("/organise/").status_code == 200

    token = csrf_token(client.get("/organise/").get_data(as_text=True))
    assert client.post("/organise/logout", data={"csrf_token": token}).status_code == 303
    assert client.get("/organise/").status_code == 302


@pytest.mark.parametrize(
    "target",
    ["https://evil.example/", "//evil.example/organise/", "/\\evil.example", "javascript:alert(1)", "/letters/brief", "http:/organise/"],
)
def test_next_never_leaves_the_workspace(client, organiser, target):
    html = client.get("/organise/login").get_data(as_text=True)
    response = client.post(
        "/organise/login",
        data={"email": "organiser@example.org", "password": "correct horse battery", "csrf_token": csrf_token(html), "next": target},
    )
    assert response.status_code == 303
    assert response.headers["Location"] in ("/organise/", "http://localhost/organise/")


def test_wrong_password_is_refused_and_tells_nothing(client, organiser):
    html = client.get("/organise/login").get_data(as_text=True)
    wrong = client.post("/organise/login", data={"email": "organiser@example.org", "password": "wrong password!!", "csrf_token": csrf_token(html)})
    unknown = client.post("/organise/login", data={"email": "nobody@example.org", "password": "wrong password!!", "csrf_token": csrf_token(html)})
    assert wrong.status_code == unknown.status_code == 401
    assert "organiser@example.org" in wrong.get_data(as_text=True)  # the form comes back filled in
    message = re.search(r'role="alert".*?</div>', wrong.get_data(as_text=True), re.S).group(0)
    assert message.replace("organiser@example.org", "X") == re.search(
        r'role="alert".*?</div>', unknown.get_data(as_text=True), re.S
    ).group(0).replace("nobody@example.org", "X")


def test_login_without_form_token_is_refused(client, organiser):
    response = client.post("/organise/login", data={"email": "organiser@example.org", "password": "correct horse battery"})
    assert response.status_code == 400
    assert client.get("/organise/").status_code == 302


def test_failed_logins_are_throttled_per_account(client, organiser):
    html = client.get("/organise/login").get_data(as_text=True)
    data = {"email": "organiser@example.org", "password": "not the password", "csrf_token": csrf_token(html)}
    codes = [client.post("/organise/login", data=data).status_code for _ in range(7)]
    assert codes[:5] == [401] * 5
    assert codes[-1] == 429
    # Even the right password waits now: guessing stops being worth it.
    right = client.post("/organise/login", data={**data, "password": "correct horse battery"})
    assert right.status_code == 429
    assert "organiser@example.org" in right.get_data(as_text=True)


def test_session_is_renewed_on_login(client, organiser, auth):
    with client.session_transaction() as session:
        session["planted"] = "by an attacker"
    auth.login(organiser)
    with client.session_transaction() as session:
        assert "planted" not in session
        assert session.get("_user_id")


def test_password_change_ends_other_sessions(app, organiser):
    first, second = app.test_client(), app.test_client()
    login(first)
    login(second)
    html = first.get("/organise/password").get_data(as_text=True)
    short = first.post("/organise/password", data={"current": "correct horse battery", "new": "short", "repeat": "short", "csrf_token": csrf_token(html)})
    assert short.status_code == 422
    response = first.post(
        "/organise/password",
        data={"current": "correct horse battery", "new": "a much better passphrase", "repeat": "a much better passphrase", "csrf_token": csrf_token(html)},
    )
    assert response.status_code == 303
    assert first.get("/organise/").status_code == 200, "this session carries on"
    assert second.get("/organise/").status_code == 302, "the other session ended"
    assert login(second, password="a much better passphrase").status_code == 303
    with app.app_context():
        user = db.session.scalar(db.select(User))
        assert user.password_hash.startswith("$argon2")


def test_users_create_command(app, runner):
    result = runner.invoke(args=["users", "create", "Boss@Example.org", "--admin", "--password-stdin"], input="a long enough password\n")
    assert result.exit_code == 0, result.output
    short = runner.invoke(args=["users", "create", "x@example.org", "--password-stdin"], input="short\n")
    assert short.exit_code != 0 and "12" in short.output
    again = runner.invoke(args=["users", "create", "boss@example.org", "--password-stdin"], input="a long enough password\n")
    assert again.exit_code != 0
    with app.app_context():
        user = db.session.scalar(db.select(User).where(User.email == "boss@example.org"))
        assert user.is_admin
    client = app.test_client()
    assert login(client, "boss@example.org", "a long enough password").status_code == 303


def test_organiser_sees_only_granted_letters(app, client, runner):
    with app.app_context():
        make_letter("ours")
        make_letter("theirs")
        make_user()
    login(client)
    assert "ours" not in client.get("/organise/").get_data(as_text=True)
    assert client.get("/organise/letters/ours").status_code == 404

    result = runner.invoke(args=["letters", "grant", "ours", "organiser@example.org"])
    assert result.exit_code == 0, result.output
    listing = client.get("/organise/").get_data(as_text=True)
    assert "/organise/letters/ours" in listing and "/organise/letters/theirs" not in listing
    assert client.get("/organise/letters/ours").status_code == 200
    assert client.get("/organise/letters/theirs").status_code == 404


def test_admin_manages_accounts_and_grants_in_the_browser(app, client, letter, admin, auth):
    auth.login(admin)
    html = client.get("/organise/users").get_data(as_text=True)
    response = client.post("/organise/users", data={"email": "vrijwilliger@example.org", "password": "twelve chars long", "csrf_token": csrf_token(html)})
    assert response.status_code == 303
    with app.app_context():
        volunteer = db.session.scalar(db.select(User).where(User.email == "vrijwilliger@example.org"))
        volunteer_id = volunteer.id
    html = client.get("/organise/letters/brief").get_data(as_text=True)
    assert client.post("/organise/letters/brief/grants", data={"user_id": volunteer_id, "csrf_token": csrf_token(html)}).status_code == 303

    other = app.test_client()
    assert login(other, "vrijwilliger@example.org", "twelve chars long").status_code == 303
    assert other.get("/organise/letters/brief").status_code == 200

    # Disabling the account ends its session at once.
    client.post(f"/organise/users/{volunteer_id}/active", data={"value": "0", "csrf_token": csrf_token(html)})
    assert other.get("/organise/letters/brief").status_code == 302
    with app.app_context():
        actions = set(db.session.scalars(db.select(AuditEntry.action)))
    assert {"user.create", "letter.grant", "user.active", "user.login"} <= actions


def _logged_in_client(app):
    with app.app_context():
        make_user()
    client = app.test_client()
    assert login(client).status_code == 303
    return client


def test_a_cookie_copied_before_logout_opens_nothing(app):
    client = _logged_in_client(app)
    copied = client.get_cookie("session").value
    token = csrf_token(client.get("/organise/").get_data(as_text=True))
    assert client.post("/organise/logout", data={"csrf_token": token}).status_code == 303
    thief = app.test_client()
    thief.set_cookie("session", copied)
    assert thief.get("/organise/").status_code == 302, "logout ends the session on the server"


@pytest.mark.parametrize("logged_in_hours_ago, seen_hours_ago, open_", [
    (1, 0, True), (9, 8.5, False), (24 * 13, 1, True), (24 * 15, 0, False),
])
def test_organiser_sessions_expire_when_idle_and_when_old(app, logged_in_hours_ago, seen_hours_ago, open_):
    import time

    client = _logged_in_client(app)
    with client.session_transaction() as session:
        session["logged_in_at"] = time.time() - logged_in_hours_ago * 3600
        session["seen_at"] = time.time() - seen_hours_ago * 3600
    assert (client.get("/organise/").status_code == 200) is open_
    if not open_:
        assert client.get("/organise/").status_code == 302, "and it stays closed"


def test_the_account_throttle_counts_what_the_lookup_finds(app, client):
    with app.app_context():
        make_user()
    html = client.get("/organise/login").get_data(as_text=True)
    disguises = ["organiser@example.org", "\x01organiser@example.org", "organiser\x7f@example.org",
                 "ORGANISER@example.org\x1f", "organiser@\x0bexample.org", "organiser@example.org\x08"]
    codes = [
        client.post("/organise/login", data={"email": email, "password": "not the password", "csrf_token": csrf_token(html)},
                    environ_base={"REMOTE_ADDR": f"10.0.0.{number}"}).status_code
        for number, email in enumerate(disguises)
    ]
    assert codes == [401] * 5 + [429]


def test_a_login_address_loses_every_invisible_character():
    # More than the forms' policy: zero-width characters, direction marks and
    # bidi controls too, which a name may need but an address never does.
    assert normalise_login("\ufeffOrga\u200bniser@exam\u2060ple.org\u202e\u200f\x7f") == "organiser@example.org"
