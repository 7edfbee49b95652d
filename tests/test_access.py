"""Who may do what in the organiser's workspace, as one table.

Every /organise/ route of the URL map has a row below. A route that belongs
to one letter (its URL names the letter, one of its signatures or answers)
is tried by four people: anonymous, an organiser not granted the letter,
the organiser granted it, an admin. A workspace route (accounts, the audit
log, a new letter) by three: anonymous, an organiser, an admin.

Anonymous is sent to the login page, with the way back; an organiser is
told 404 for a letter not theirs (they need not learn which slugs exist)
and 403 for what only admins do. Whoever is refused changes nothing: every
table of the database reads the same before and after. Whoever is allowed
gets the route's success answer, and a POST that should change something
did. A new route fails `test_every_organise_route_has_a_row` until it is
given one.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import select

from conftest import Account, csrf_token, make_account, make_signature

LETTER_ARGUMENTS = {"slug", "signature_id", "answer_id"}
NOT_GUARDED = {  # the ways in (the set-up and invitation links are tested in test_onboarding)
    (endpoint, method)
    for endpoint in ("auth.login", "onboarding.setup", "onboarding.invitation")
    for method in ("GET", "POST")
}
LOGIN = "login"  # expected: a redirect to the login page


@dataclass(frozen=True)
class Route:
    endpoint: str
    method: str
    ok: int  # the answer to someone allowed
    form: dict = field(default_factory=dict)  # what the POST sends, besides the form token
    needs: tuple[str, ...] = ()  # the state the letter must be in first (see PREPARE)
    admins_only: bool = False
    per_letter: bool = True
    writes: bool = True  # an allowed POST changes the database

    @property
    def id(self) -> str:
        return f"{self.method} {self.endpoint}"


def in_days(days: int) -> str:
    return (date.today() + timedelta(days=days)).isoformat()


LETTER_EDIT = {
    "title": "Een andere titel", "body": "Een andere tekst.", "deadline": in_days(20),
    "timezone": "Europe/Brussels", "language": "nl-BE", "action": "save",
}
PAPER_FORM = {
    "source": "paper", "received_on": date.today().isoformat(), "first_name": "Marie", "last_name": "Op Papier",
    "kind": "person", "place": "Gent", "consent_name": "y",
}

CORRECTION = {
    "first_name": "Ayşe", "last_name": "Yılmaz-Peeters", "kind": "organisation", "organisation": "Vzw Toegang",
    "email": "ayse@example.org", "place": "Gent", "paragraph": "Omdat het moet.", "consent_name": "y",
}

LETTER_ROUTES = [
    Route("organise.letter", "GET", 200),
    Route("organise.letter_overview", "GET", 200),
    Route("organise.edit_letter", "GET", 200),
    Route("organise.edit_letter", "POST", 303, LETTER_EDIT),
    Route("organise.open_letter", "POST", 303, needs=("closed",)),
    Route("organise.confirm_close", "GET", 200),
    Route("organise.close_letter", "POST", 303),
    Route("organise.set_deadline", "POST", 303, {"deadline": in_days(40)}),
    Route("organise.paper_form", "GET", 200),
    Route("organise.paper_form", "POST", 303, PAPER_FORM),
    Route("organise.blank_form", "GET", 200),
    Route("organise.signatures_csv", "GET", 200),
    Route("organise.signatures_xlsx", "GET", 200),
    Route("organise.postal_notify_csv", "GET", 200),
    Route("organise.postal_notify_xlsx", "GET", 200),
    Route("documents.organiser_document", "GET", 200),
    Route("moderate.queue", "GET", 200),
    Route("moderate.bulk_approve", "POST", 303, {"scope": "checked", "ids": "{signature_id}"}),
    Route("moderate.signatures", "GET", 200),
    Route("moderate.organisations", "GET", 200),
    Route("moderate.signature", "GET", 200),
    Route("moderate.moderate", "POST", 303, {"decision": "approve"}),
    Route("moderate.reject", "POST", 303, {"reason": "spam"}),
    Route("moderate.unreject", "POST", 303, needs=("rejected",)),
    Route("moderate.first", "POST", 303, {"value": "1"}),
    Route("moderate.verify", "POST", 303, {"value": "1"}),
    Route("moderate.erase", "POST", 303, {"confirm": "y"}),
    Route("corrections.edit_signature", "GET", 200),
    Route("corrections.edit_signature", "POST", 303, CORRECTION),
    Route("floods.reject", "POST", 303, {"burst": "network:3600:0000", "start": "2030-01-01T00:00:00"}, writes=False),
    Route("floods.undo", "POST", 303, {"reason": "Vloed"}, writes=False),
    Route("publication.overview", "GET", 200),
    Route("publication.confirm_publish", "GET", 303),  # with nothing typed: back to the form
    Route("publication.publish", "POST", 303, {"publication_date": "2030-06-20", "publication_manner": "Verstuurd"}),
    Route("publication.notify", "POST", 303, needs=("published",)),
    Route("publication.add_answer", "POST", 303, {"author_name": "Jan Politicus", "received_on": "2030-07-01"},
          needs=("published",)),
    Route("publication.delete_answer", "POST", 303, needs=("published", "answer")),
    Route("admin.grant", "POST", 303, {"user_id": "{volunteer_id}"}, admins_only=True),
    Route("letter_settings.settings", "GET", 200),
    Route("letter_settings.settings", "POST", 303, {"addressee": "Aan de leden van het Vlaams Parlement", "timezone": "Europe/Brussels"}),
]

WORKSPACE_ROUTES = [
    Route("organise.index", "GET", 200, per_letter=False),
    Route("organise.new_letter", "GET", 200, per_letter=False),
    Route("organise.new_letter", "POST", 303, {**LETTER_EDIT, "slug": "nieuwe-brief"}, per_letter=False),
    Route("auth.password", "GET", 200, per_letter=False),
    Route("auth.password", "POST", 303, {"current": "correct horse battery", "new": "a new passphrase!", "repeat": "a new passphrase!"},
          per_letter=False),
    Route("auth.logout", "POST", 303, per_letter=False, writes=False),
    Route("admin.users", "GET", 200, admins_only=True, per_letter=False),
    Route("admin.users", "POST", 303, {"email": "nieuw@example.org", "password": "twelve chars long"}, admins_only=True,
          per_letter=False),
    Route("admin.set_active", "POST", 303, {"value": "0"}, admins_only=True, per_letter=False),
    Route("admin.audit_log", "GET", 200, admins_only=True, per_letter=False),
    Route("onboarding.invite", "GET", 200, admins_only=True, per_letter=False),
    Route("onboarding.invite", "POST", 303, {"email": "genodigd@example.org", "letter": ""}, admins_only=True,
          per_letter=False),
    # Without a file the form asks for one: access is what this row is about.
    Route("letter_files.read_file", "POST", 422, per_letter=False, writes=False),
    Route("letter_files.arrange", "POST", 303, {"block": "De tekst.", "line": "1", "role-0": "text", "title": "Uit een bestand",
                                                "slug": "uit-bestand", "action": "create"}, per_letter=False),
]

ROUTES = LETTER_ROUTES + WORKSPACE_ROUTES


def expected(route: Route, role: str):
    if role == "anonymous":
        return LOGIN
    if role == "admin":
        return route.ok
    if route.admins_only:
        return 403
    if route.per_letter and role == "ungranted":
        return 404
    return route.ok


CASES = [
    pytest.param(route, role, id=f"{route.id} as {role}")
    for route in ROUTES
    for role in (("anonymous", "ungranted", "granted", "admin") if route.per_letter else ("anonymous", "organiser", "admin"))
]


# --- the scene ---------------------------------------------------------------------------------

@dataclass
class Scene:
    """The letter with one confirmed organisation signature and a paragraph
    awaiting moderation; the accounts; what a route's URL needs."""

    accounts: dict[str, Account]
    values: dict[str, int | str]


@pytest.fixture
def scene(app, letter, organiser, admin) -> Scene:
    with app.app_context():
        signature = make_signature(letter, kind="organisation", organisation="Vzw Toegang", paragraph="Omdat het moet.")
        outsider = make_account("outsider@example.org")
        volunteer = make_account("volunteer@example.org")
        values = {"slug": letter.slug, "signature_id": signature.id, "volunteer_id": volunteer.id, "user_id": volunteer.id}
    accounts = {"ungranted": outsider, "organiser": organiser, "granted": organiser, "admin": admin}
    return Scene(accounts, values)


def _closed(scene):
    from signatory.extensions import db
    from signatory.models import Letter

    db.session.scalar(select(Letter)).state = "closed"


def _published(scene):
    from signatory.extensions import db
    from signatory.models import Letter

    letter = db.session.scalar(select(Letter))
    letter.state = "published"
    letter.publication_date = date(2030, 6, 20)
    letter.publication_manner = "Verstuurd"


def _rejected(scene):
    from signatory import moderation
    from signatory.extensions import db
    from signatory.models import Signature

    moderation.reject_signature(db.session.get(Signature, scene.values["signature_id"]), None)


def _answer(scene):
    from signatory import publication
    from signatory.extensions import db
    from signatory.models import Letter

    answer = publication.record_answer(
        db.session.scalar(select(Letter)), publication.AnswerInput(author_name="Eerder", received_on=date(2030, 6, 25)),
    )
    db.session.flush()
    scene.values["answer_id"] = answer.id


PREPARE = {"closed": _closed, "published": _published, "rejected": _rejected, "answer": _answer}


def fingerprint(app) -> dict:
    """Every row of every table, as text: what a refused request must not change."""
    from signatory.extensions import db

    with app.app_context():
        return {
            table.name: sorted(tuple(map(str, row)) for row in db.session.execute(table.select()))
            for table in db.metadata.sorted_tables
        }


def url_of(app, route: Route, values: dict) -> str:
    from flask import url_for

    [rule] = [r for r in app.url_map.iter_rules(route.endpoint) if route.method in r.methods]
    with app.test_request_context():
        return url_for(route.endpoint, **{name: values[name] for name in rule.arguments})


# --- the table ---------------------------------------------------------------------------------

def test_every_organise_route_has_a_row(app):
    """A new /organise/ route fails here until the table says who may use it;
    a route that names a letter, signature or answer is tried per letter."""
    in_map = {}
    for rule in app.url_map.iter_rules():
        if rule.rule == "/organise" or rule.rule.startswith("/organise/"):
            for method in rule.methods - {"HEAD", "OPTIONS"}:
                in_map[(rule.endpoint, method)] = bool(set(rule.arguments) & LETTER_ARGUMENTS)
    in_table = {(route.endpoint, route.method): route.per_letter for route in ROUTES}
    missing = sorted(set(in_map) - set(in_table) - NOT_GUARDED)
    assert not missing, f"give these routes a row in the access table: {missing}"
    assert not set(in_table) - set(in_map), f"rows for routes that do not exist: {sorted(set(in_table) - set(in_map))}"
    assert {key: in_map[key] for key in in_table} == in_table, "a route that names a letter is tried per letter"
    assert len(in_table) == len(ROUTES), "one row per route and method"


def test_the_login_page_is_open_to_everyone(client):
    page = client.get("/organise/login")
    assert page.status_code == 200 and 'name="password"' in page.get_data(as_text=True)


def test_an_unknown_organise_path_asks_for_login_too(client):
    response = client.get("/organise/nothing/here")
    assert response.status_code == 302
    assert urlsplit(response.headers["Location"]).path == "/organise/login"


@pytest.mark.parametrize("route, role", CASES)
def test_access(app, client, auth, scene, route, role):
    with app.app_context():
        from signatory.extensions import db

        for need in route.needs:
            PREPARE[need](scene)
        db.session.commit()
    url = url_of(app, route, scene.values)
    if role != "anonymous":
        assert auth.login(scene.accounts[role]).status_code == 303
    # A real form token, so that a refusal is about who asks, not a stale form.
    token = csrf_token(client.get("/organise/" if role != "anonymous" else "/organise/login").get_data(as_text=True))
    data = None
    if route.method == "POST":
        data = {name: str(value).format(**scene.values) for name, value in route.form.items()}
        data["csrf_token"] = token
    before = fingerprint(app)

    response = client.open(url, method=route.method, data=data)

    want = expected(route, role)
    if want == LOGIN:
        assert response.status_code == 302, (url, response.status_code)
        location = urlsplit(response.headers["Location"])
        assert location.path == "/organise/login", response.headers["Location"]
        assert parse_qs(location.query)["next"] == [url], "the way back after logging in"
    else:
        assert response.status_code == want, (url, response.get_data(as_text=True)[:1500])
    if want != route.ok:
        assert fingerprint(app) == before, f"a refused {route.method} {url} changed the database"
    elif route.method == "POST" and route.writes:
        assert fingerprint(app) != before, f"{route.method} {url} answered {want} but changed nothing"
