"""Letters in the browser: create with a preview, edit (a new visible
version once signed), open, close, extend the deadline; the overview with
its SVG chart."""
from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select

from conftest import brussels_today, csrf_token, login, make_letter, make_signature, make_user
from signatory import overview
from signatory.extensions import db
from signatory.models import Letter, LetterGrant

FIELDS = {
    "slug": "nieuwe-brief", "title": "Een nieuwe brief", "subtitle": "Ondertitel", "organiser": "Vzw Test",
    "place_date": "Gent, 1 mei", "contact": "info@example.org", "intro": "Teken mee",
    "body": "## Tussentitel\n\nWij vragen *aandacht*.\n\n<script>alert(1)</script>",
    "deadline": (date.today() + timedelta(days=20)).isoformat(), "timezone": "Europe/Brussels", "goal": "500",
    "language": "nl-NL",
}


def test_create_with_preview_then_open_close_and_extend(app, client):
    with app.app_context():
        make_user()
    login(client)
    page = client.get("/organise/letters/new")
    token = csrf_token(page.get_data(as_text=True))
    preview = client.post("/organise/letters/new", data={**FIELDS, "action": "preview", "csrf_token": token})
    html = preview.get_data(as_text=True)
    assert preview.status_code == 200
    assert "<h2>Tussentitel</h2>" in html and "<em>aandacht</em>" in html and "<script>alert" not in html
    with app.app_context():
        assert db.session.scalar(select(Letter)) is None, "a preview saves nothing"

    created = client.post("/organise/letters/new", data={**FIELDS, "action": "save", "csrf_token": token})
    assert created.status_code == 303
    with app.app_context():
        letter = db.session.scalar(select(Letter))
        assert letter.state == "draft" and letter.goal == 500 and letter.locale == "nl-NL"
        assert db.session.scalar(select(LetterGrant)) is not None, "the creator may manage it"
    assert client.get("/letters/nieuwe-brief").status_code == 404

    dashboard = client.get("/organise/letters/nieuwe-brief").get_data(as_text=True)
    assert "ontwerp" in dashboard
    client.post("/organise/letters/nieuwe-brief/open", data={"csrf_token": token})
    assert client.get("/api/letters/nieuwe-brief").get_json()["status"] == "open"
    client.post("/organise/letters/nieuwe-brief/close", data={"csrf_token": token})
    assert client.get("/api/letters/nieuwe-brief").get_json()["status"] == "closed"
    client.post("/organise/letters/nieuwe-brief/open", data={"csrf_token": token})

    past = (brussels_today() - timedelta(days=1)).isoformat()
    client.post("/organise/letters/nieuwe-brief/deadline", data={"deadline": past, "csrf_token": token})
    assert client.get("/api/letters/nieuwe-brief").get_json()["status"] == "closed"
    assert "afgesloten" in client.get("/organise/letters/nieuwe-brief").get_data(as_text=True)
    later = (date.today() + timedelta(days=10)).isoformat()
    client.post("/organise/letters/nieuwe-brief/deadline", data={"deadline": later, "csrf_token": token})
    api = client.get("/api/letters/nieuwe-brief").get_json()
    assert api["status"] == "open" and api["deadline"] == later


def test_bad_input_comes_back_with_messages(app, client, admin, auth):
    with app.app_context():
        make_letter("bestaat")
    auth.login(admin)
    token = csrf_token(client.get("/organise/letters/new").get_data(as_text=True))
    for changes in ({"slug": "Geen Slug!"}, {"slug": "bestaat"}, {"title": ""}, {"goal": "-3"}, {"deadline": "12/06/2031"}, {"timezone": "Mars/Olympus"}):
        response = client.post("/organise/letters/new", data={**FIELDS, **changes, "action": "save", "csrf_token": token})
        assert response.status_code == 422, changes
        assert "error-summary" in response.get_data(as_text=True)
        assert "Wij vragen *aandacht*." in response.get_data(as_text=True)


def test_an_edit_after_signing_is_a_new_version(app, client, admin, auth):
    with app.app_context():
        letter = make_letter()
    auth.login(admin)
    edit = client.get("/organise/letters/brief/edit")
    html = edit.get_data(as_text=True)
    assert "Wij zijn benieuwd" in html
    token = csrf_token(html)
    data = {**FIELDS, "slug": "brief", "body": "Wij zijn benieuwd naar de antwoorden.", "action": "save", "csrf_token": token}
    client.post("/organise/letters/brief/edit", data=data)
    with app.app_context():
        letter = db.session.scalar(select(Letter))
        assert letter.version == 1 and letter.slug == "brief", "no signatures yet: the draft is simply changed"
        make_signature(letter)
    response = client.post("/organise/letters/brief/edit", data={**data, "body": "Een gewijzigde tekst.", "note": "Typfout"})
    assert response.status_code == 303
    with app.app_context():
        letter = db.session.scalar(select(Letter))
        assert letter.version == 2 and letter.body.strip() == "Een gewijzigde tekst."
        assert [v.note for v in letter.versions] == ["", "Typfout"]
    public = client.get("/letters/brief").get_data(as_text=True)
    assert "versie 2" in public and "Een gewijzigde tekst." in public, "the public page shows it changed"


def test_the_text_page_leaves_the_settings_to_their_own_page(app, client, admin, auth):
    with app.app_context():
        make_letter()
    auth.login(admin)
    settings_page = client.get("/organise/letters/brief/settings").get_data(as_text=True)
    settings = {"addressee": "Aan de leden van het Vlaams Parlement", "organiser": "KMS vzw", "place_date": "Gent, 1 mei",
                "contact": "info@kms.be", "deadline": "2031-06-12", "timezone": "Europe/Amsterdam", "goal": "1000"}
    saved = client.post("/organise/letters/brief/settings", data={**settings, "csrf_token": csrf_token(settings_page)})
    assert saved.status_code == 303
    edit = client.get("/organise/letters/brief/edit").get_data(as_text=True)
    for name in settings:
        assert f'name="{name}"' not in edit and f'name="{name}"' in settings_page, name
    assert 'href="/organise/letters/brief/settings"' in edit.split('id="settings-elsewhere"')[1].split("</p>")[0]
    # A text saved, with whatever else a stale page sends: the settings stay.
    text = {"slug": "brief", "title": "Een nieuwe titel", "body": "Een nieuwe tekst.", "language": "nl-BE", "action": "save",
            "goal": "5", "deadline": "2030-01-01", "contact": "", "csrf_token": csrf_token(edit)}
    assert client.post("/organise/letters/brief/edit", data=text).status_code == 303
    with app.app_context():
        letter = db.session.scalar(select(Letter))
        assert letter.title == "Een nieuwe titel" and letter.body.strip() == "Een nieuwe tekst."
        assert (letter.addressee, letter.organiser, letter.place_date, letter.contact) == (
            "Aan de leden van het Vlaams Parlement", "KMS vzw", "Gent, 1 mei", "info@kms.be")
        assert (letter.deadline, letter.timezone, letter.goal) == (date(2031, 6, 12), "Europe/Amsterdam", 1000)


def test_overview_counts_and_chart(app, client, admin, auth):
    with app.app_context():
        letter = make_letter()
        make_signature(letter, email="a@example.org", paragraph="Een.")
        make_signature(letter, email="b@example.org", kind="organisation", organisation="Vzw")
        make_signature(letter, email="c@example.org", confirmed=False)
        summary = overview.overview(letter)
        assert summary.statuses["confirmed"] == 2 and summary.statuses["unconfirmed"] == 1
        assert summary.kinds == {"person": 1, "organisation": 1}
        assert summary.paragraphs["pending"] == 1
        assert summary.per_day[-1][1] == 2
    auth.login(admin)
    html = client.get("/organise/letters/brief/overview").get_data(as_text=True)
    assert "<svg" in html and "chart__bar" in html and "style=" not in html.split("<svg", 1)[1].split("</svg>")[0]
    assert "<script" not in html.split("</footer>")[0]


def test_chart_svg_escapes_and_handles_no_data():
    from markupsafe import Markup

    empty = overview.chart_svg([], title="<b>x</b>")
    assert isinstance(empty, Markup) and "&lt;b&gt;" in empty
    days = [(date(2031, 6, 1) + timedelta(days=i), i) for i in range(40)]
    svg = overview.chart_svg(days, title="t")
    assert svg.count("<rect") == 40


def test_hostile_input_never_makes_a_500(app, client, admin, auth):
    with app.app_context():
        letter = make_letter()
        signature = make_signature(letter, paragraph="Tekst.")
        signature_id = signature.id
    html = client.get("/organise/login").get_data(as_text=True)
    token = csrf_token(html)
    response = client.post("/organise/login", data={"email": "admin@example.org\x00", "password": "x\x00", "csrf_token": token, "next": "/organise/\x00"})
    assert response.status_code in (401, 422)
    auth.login(admin)
    token = csrf_token(client.get("/organise/").get_data(as_text=True))
    for url in ("/organise/audit?letter=a%00b", "/organise/letters/brief/signatures?q=%00%ff&status=%00",
                "/organise/letters/brief/moderation?status=%00&page=99999999999999999999"):
        assert client.get(url).status_code < 500, url
    created = client.post("/organise/letters/new", data={**FIELDS, "title": "Nul\x00titel", "body": "a\x00b", "action": "save", "csrf_token": token})
    assert created.status_code == 303
    moderated = client.post(f"/organise/signatures/{signature_id}/moderation", data={"decision": "reject", "reason": "x\x00y", "next": "\x00", "csrf_token": token})
    assert moderated.status_code == 303
    bulk = client.post("/organise/letters/brief/moderation/approve", data={"ids": ["1\x00", "99999999999999999999"], "csrf_token": token})
    assert bulk.status_code == 303
    with app.app_context():
        assert db.session.scalar(select(Letter.title).where(Letter.slug == "nieuwe-brief")) == "Nultitel"
