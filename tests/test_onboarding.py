"""An organiser gets in without a terminal: the set-up link makes the first
account, invitations make the others (DESIGN §6)."""
from __future__ import annotations

from sqlalchemy import func, select

from conftest import csrf_token, deliver, links, login, make_letter, make_user, outbox_messages, path_of, plain_text
from signatory.extensions import db
from signatory.models import LetterGrant, User


def _setup_path(app) -> str:
    from signatory import onboarding

    with app.app_context():
        url = onboarding.setup_url()
    assert url and url.startswith("http://127.0.0.1:5000/organise/setup/")
    return path_of(url)


def _post(client, path, **data):
    token = csrf_token(client.get(path).get_data(as_text=True))
    return client.post(path, data={**data, "csrf_token": token})


def _post_with_a_valid_form_token(client, path, **data):
    """As a forger would: a real form token from the login page."""
    token = csrf_token(client.get("/organise/login").get_data(as_text=True))
    return client.post(path, data={**data, "csrf_token": token})


def test_the_setup_link_makes_the_first_admin_once(app, client):
    path = _setup_path(app)
    page = client.get(path)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'name="email"' in html and 'name="password"' in html and "12" in html

    short = _post(client, path, email="anna@example.org", password="kort")
    assert short.status_code == 422 and "Minstens 12 tekens" in short.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(User)) == 0

    made = _post(client, path, email="Anna@Example.org", password="een lange zin als wachtwoord")
    assert made.status_code == 303 and made.headers["Location"].endswith("/organise/")
    workspace = client.get("/organise/").get_data(as_text=True)
    assert "Wat nu?" in workspace and "Maak je brief aan" in workspace and "Nodig een mede-organisator uit" in workspace
    with app.app_context():
        admin = db.session.scalar(select(User))
        assert admin.email == "anna@example.org" and admin.is_admin

    other = app.test_client()
    used = other.get(path)
    assert used.status_code == 410 and "Er bestaat al een account" in used.get_data(as_text=True)
    assert _post_with_a_valid_form_token(other, path, email="eve@example.org", password="x" * 20).status_code == 410
    from signatory import onboarding

    with app.app_context():
        assert onboarding.setup_url() is None, "no new link once an account exists"
        assert db.session.scalar(select(func.count()).select_from(User)) == 1


def test_a_made_up_or_expired_setup_link_is_refused(app, client, monkeypatch):
    assert client.get("/organise/setup/made-up-token").status_code == 404
    assert _post_with_a_valid_form_token(client, "/organise/setup/made-up-token", email="eve@example.org", password="x" * 20).status_code == 404
    assert client.get("/organise/setup/").status_code in (302, 404), "no set-up page without a token"
    from signatory import onboarding

    path = _setup_path(app)
    monkeypatch.setattr(onboarding, "SETUP_MAX_AGE", -1)
    expired = client.get(path)
    assert expired.status_code == 410 and "flask users setup-link" in expired.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(User)) == 0


def test_any_setup_token_is_refused_once_an_account_exists(app, client):
    path = _setup_path(app)
    with app.app_context():
        make_user()
    assert client.get(path).status_code == 410
    assert _post_with_a_valid_form_token(client, path, email="eve@example.org", password="x" * 20).status_code == 410
    with app.app_context():
        assert not db.session.scalar(select(User).where(User.email == "eve@example.org"))


def _invite(app, client, email="bert@example.org", letter="brief"):
    response = _post(client, "/organise/users/invite", email=email, letter=letter)
    return response


def test_an_invitation_sets_a_password_once_and_lands_on_the_letter(app, client):
    with app.app_context():
        make_user(admin=True)
        make_letter()
    login(client)
    users_page = client.get("/organise/users").get_data(as_text=True)
    assert 'action="/organise/users/invite"' in users_page, "the users page invites"
    sent = _invite(app, client)
    assert sent.status_code == 303
    assert "bert@example.org" in client.get("/organise/users").get_data(as_text=True)
    deliver(app)
    [message] = [m for m in outbox_messages(app) if m["To"] == "bert@example.org"]
    assert "Integratie: hoezo mislukt?" in message["Subject"]
    [link] = links(message, "organise/invitation")
    assert "7 dagen" in plain_text(message)

    with app.app_context():
        invitee = db.session.scalar(select(User).where(User.email == "bert@example.org"))
        assert not invitee.is_admin and db.session.get(LetterGrant, (invitee.id, 1)) is not None
    stranger = app.test_client()
    assert login(stranger, "bert@example.org", "").status_code != 303, "no password yet: no login"

    invitee_client = app.test_client()
    page = invitee_client.get(path_of(link))
    assert page.status_code == 200 and "bert@example.org" in page.get_data(as_text=True)
    short = _post(invitee_client, path_of(link), password="kort")
    assert short.status_code == 422
    accepted = _post(invitee_client, path_of(link), password="mijn eigen lange wachtwoord")
    assert accepted.status_code == 303 and accepted.headers["Location"].endswith("/organise/letters/brief")
    assert invitee_client.get("/organise/letters/brief").status_code == 200, "logged in, on the granted letter"

    again = app.test_client().get(path_of(link))
    assert again.status_code == 410 and "al een wachtwoord gekozen" in again.get_data(as_text=True)
    assert login(app.test_client(), "bert@example.org", "mijn eigen lange wachtwoord").status_code == 303


def test_an_invitation_expires_after_seven_days_and_a_made_up_one_is_refused(app, client, monkeypatch):
    from signatory import onboarding

    with app.app_context():
        admin = make_user(admin=True)
        invitation = onboarding.invite("carla@example.org", by=admin)
        db.session.commit()
        url = invitation.url
    assert onboarding.INVITATION_MAX_AGE == 7 * 24 * 3600
    monkeypatch.setattr(onboarding, "INVITATION_MAX_AGE", -1)
    assert client.get(path_of(url)).status_code == 410
    monkeypatch.undo()
    assert client.get(path_of(url)).status_code == 200
    assert client.get("/organise/invitation/nep").status_code == 404
    assert _post_with_a_valid_form_token(client, "/organise/invitation/nep", password="x" * 20).status_code == 404


def test_only_admins_invite_and_an_account_in_use_is_not_invited(app, client):
    with app.app_context():
        make_user(admin=True)
        make_user("olga@example.org")
    login(client, "olga@example.org")
    assert client.get("/organise/users/invite").status_code == 403
    assert client.post("/organise/users/invite", data={"email": "x@example.org"}).status_code in (400, 403)
    admin = app.test_client()
    login(admin)
    refused = _invite(app, admin, email="olga@example.org", letter="")
    assert refused.status_code == 422 and "heeft al een account" in refused.get_data(as_text=True)
    bad = _invite(app, admin, email="geen adres", letter="")
    assert bad.status_code == 422 and "error-summary" in bad.get_data(as_text=True)


def test_every_public_page_links_the_organisers_login(app, client):
    with app.app_context():
        make_letter()
    for path in ("/", "/letters/brief", "/letters/brief/signatories", "/organise/login"):
        html = client.get(path).get_data(as_text=True)
        assert 'href="/organise/login"' in html, path


def test_quickstart_names_a_taken_port_and_suggests_another(app, runner):
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = runner.invoke(args=["quickstart", "--port", str(port)])
    assert result.exit_code != 0
    assert f"127.0.0.1:{port} is already in use" in result.output and "--port" in result.output
    assert "Traceback" not in result.output


def test_the_quickstart_banner_shows_the_real_port_the_login_and_the_setup_link_until_an_account_exists(app):
    from signatory.onboarding import quickstart_banner

    with app.app_context():
        app.config["BASE_URL"] = "http://127.0.0.1:5123"
        banner = quickstart_banner("http://127.0.0.1:5123", "demo", app.config["MAIL"])
        assert "http://127.0.0.1:5123/letters/demo" in banner and "http://127.0.0.1:5123/organise/login" in banner
        assert "http://127.0.0.1:5123/organise/setup/" in banner and str(app.config["MAIL"].path) in banner
        make_user()
        assert "/organise/setup/" not in quickstart_banner("http://127.0.0.1:5123", "demo", app.config["MAIL"])


def test_the_login_page_of_a_fresh_instance_says_how_the_first_account_is_made(app, client):
    assert "flask users setup-link" in client.get("/organise/login").get_data(as_text=True)
    with app.app_context():
        make_user()
    html = client.get("/organise/login").get_data(as_text=True)
    assert "setup-link" not in html and "Vraag het aan de beheerder" in html


def test_flask_users_setup_link_prints_the_link_until_an_account_exists(app, runner, client):
    result = runner.invoke(args=["users", "setup-link"])
    assert result.exit_code == 0, result.output
    link = result.output.strip()
    assert link.startswith("http://127.0.0.1:5000/organise/setup/") and "\n" not in link
    assert client.get(path_of(link)).status_code == 200
    with app.app_context():
        make_user()
    refused = runner.invoke(args=["users", "setup-link"])
    assert refused.exit_code != 0 and "flask users invite" in refused.output
    assert client.get(path_of(link)).status_code == 410


def test_flask_users_invite_queues_the_invitation_and_grants_the_letter(app, runner):
    with app.app_context():
        make_letter()
    result = runner.invoke(args=["users", "invite", "Dirk@Example.org", "--letter", "brief", "--language", "en"])
    assert result.exit_code == 0, result.output
    assert "invited dirk@example.org, may manage brief" in result.output and "/organise/invitation/" in result.output
    deliver(app)
    [message] = [m for m in outbox_messages(app) if m["To"] == "dirk@example.org"]
    assert message["Content-Language"] == "en" and "help manage" in message["Subject"]
    [link] = links(message, "organise/invitation")
    invitee = app.test_client()
    accepted = _post(invitee, path_of(link), password="a passphrase of my own")
    assert accepted.headers["Location"].endswith("/organise/letters/brief")
    assert runner.invoke(args=["users", "invite", "dirk@example.org"]).exit_code != 0, "in use: not invited again"
    missing = runner.invoke(args=["users", "invite", "x@example.org", "--letter", "nope"])
    assert missing.exit_code != 0 and "no letter" in missing.output


def test_the_letter_page_invites_for_that_letter(app, client):
    with app.app_context():
        make_user(admin=True)
        make_letter()
    login(client)
    assert 'href="/organise/users/invite?letter=brief"' in client.get("/organise/letters/brief").get_data(as_text=True)
    page = client.get("/organise/users/invite?letter=brief").get_data(as_text=True)
    assert '<option selected value="brief">' in page or 'value="brief" selected' in page


def test_two_setup_pages_sent_at_once_make_one_admin(app):
    """Whoever reaches a fresh instance first with the link is the admin; the
    other is refused, on SQLite and on PostgreSQL alike."""
    from conftest import run_together
    from signatory import onboarding

    path = _setup_path(app)
    token = path.rsplit("/", 1)[1]

    def make(index):
        with app.app_context():
            try:
                onboarding.create_first_admin(token, f"admin{index}@example.org", "een lange zin als wachtwoord")
                db.session.commit()
                return "made"
            except onboarding.LinkRefused:
                db.session.rollback()
                return "refused"
            finally:
                db.session.remove()

    assert sorted(run_together(2, make)) == ["made", "refused"]
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(User)) == 1
