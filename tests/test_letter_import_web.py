"""The web's "new letter" from a file: upload, mark the call to sign and the
text, cut the paper form, create; and the letter's settings."""
from __future__ import annotations

import io
import re
from html import unescape

from sqlalchemy import select

from conftest import csrf_token, login, make_user
from signatory.extensions import db
from signatory.models import Letter
from test_letter_files import SEED, docx_bytes


def _arrange_form(html: str) -> dict:
    """The arranging form's fields as the browser would send them untouched."""
    form = html.split('action="/organise/letters/new/arrange"', 1)[1].split("</form>", 1)[0]
    data: dict[str, list[str]] = {}
    for tag in re.findall(r"<input[^>]*>", form):
        name = re.search(r'name="([^"]+)"', tag)
        value = re.search(r'value="([^"]*)"', tag)
        if not name:
            continue
        if 'type="radio"' in tag and " checked" not in tag:
            continue
        data.setdefault(name.group(1), []).append(unescape(value.group(1)) if value else "")
    return data


def _upload(client, name: str, content: bytes, **fields):
    page = client.get("/organise/letters/new").get_data(as_text=True)
    assert 'type="file"' in page and 'enctype="multipart/form-data"' in page, "an upload field beside the text box"
    data = {"csrf_token": csrf_token(page), "slug": "", "title": "", "body": "", **fields,
            "letter_file": (io.BytesIO(content), name)}
    return client.post("/organise/letters/new/file", data=data, content_type="multipart/form-data")


def test_the_seed_letter_uploaded_arranged_and_created_without_its_paper_form(app, client):
    with app.app_context():
        make_user(admin=True)
    login(client)
    response = _upload(client, SEED.name, SEED.read_bytes())
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "Brief inlezen" in html and "Lijn 105" in html
    fields = _arrange_form(html)
    assert fields["title"] == ["Integratie: hoezo mislukt?"] and fields["slug"] == ["integratie-hoezo-mislukt"]
    cut = int(fields["cut"][0])
    assert fields["block"][cut].startswith("Onderschrijf deze tekst"), "the paper form is marked to be cut"
    assert fields["role-1"] == ["intro"] and fields["role-9"] == ["text"]

    preview = client.post("/organise/letters/new/arrange", data={**fields, "action": "preview"})
    assert preview.status_code == 200
    shown = preview.get_data(as_text=True).split('id="preview"', 1)[1]
    assert "Het is waar" in shown and "VOORNAAM" not in shown and "WERK MEE" in shown

    created = client.post("/organise/letters/new/arrange", data={**fields, "action": "create"})
    assert created.status_code == 303 and created.headers["Location"].endswith("/organise/letters/integratie-hoezo-mislukt")
    with app.app_context():
        letter = db.session.scalar(select(Letter).where(Letter.slug == "integratie-hoezo-mislukt"))
        assert letter.state == "draft" and letter.title == "Integratie: hoezo mislukt?"
        assert letter.intro.startswith("WERK MEE") and letter.body.startswith("Het is waar")
        for form_part in ("VOORNAAM", "Handtekening", "toelating"):
            assert form_part not in letter.body


def test_the_organiser_moves_the_cut_and_the_roles(app, client):
    with app.app_context():
        make_user(admin=True)
    login(client)
    fields = _arrange_form(_upload(client, SEED.name, SEED.read_bytes()).get_data(as_text=True))
    fields.update({"cut": ["none"], "role-1": ["omit"], "slug": ["met-formulier"], "action": ["create"]})
    assert client.post("/organise/letters/new/arrange", data=fields).status_code == 303
    with app.app_context():
        letter = db.session.scalar(select(Letter).where(Letter.slug == "met-formulier"))
        assert "VOORNAAM" in letter.body, "kept because the organiser said so"
        assert not letter.intro.startswith("WERK MEE")


def test_a_word_file_through_the_browser_and_the_new_form_details_are_kept(app, client):
    with app.app_context():
        make_user(admin=True)
    login(client)
    response = _upload(client, "brief.docx", docx_bytes(), organiser="KMS vzw", goal="250", slug="woord")
    fields = _arrange_form(response.get_data(as_text=True))
    assert fields["slug"] == ["woord"]
    assert client.post("/organise/letters/new/arrange", data={**fields, "action": "create"}).status_code == 303
    with app.app_context():
        letter = db.session.scalar(select(Letter).where(Letter.slug == "woord"))
        assert letter.organiser == "KMS vzw" and letter.goal == 250
        assert "**benieuwd**" in letter.body and "- ontmoeting" in letter.body


def test_a_bad_file_is_refused_on_the_new_letter_form_in_the_organisers_language(app, client):
    with app.app_context():
        make_user(admin=True)
    login(client)
    response = _upload(client, "brief.md", b"---\ntitle: x\nfoo: bar\n---\nTekst\n")
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "error-summary" in html and "brief.md: Lijn 3: onbekende sleutel" in html
    missing = client.post("/organise/letters/new/file", data={"csrf_token": csrf_token(html)})
    assert missing.status_code == 422 and "Kies een bestand" in missing.get_data(as_text=True)
    client.set_cookie("lang", "en")
    english = _upload(client, "brief.pdf", b"%PDF")
    assert "Signatory reads Markdown" in english.get_data(as_text=True)


def test_choosing_a_file_and_pressing_create_reads_it_first(app, client):
    with app.app_context():
        make_user(admin=True)
    login(client)
    page = client.get("/organise/letters/new").get_data(as_text=True)
    response = client.post(
        "/organise/letters/new",
        data={"csrf_token": csrf_token(page), "slug": "x", "title": "", "body": "", "action": "save",
              "letter_file": (io.BytesIO(b"Titel\n\nTekst.\n"), "brief.txt")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 200 and "Brief inlezen" in response.get_data(as_text=True)


def test_a_tampered_arranging_form_never_fails(app, client):
    with app.app_context():
        make_user(admin=True)
    login(client)
    page = client.get("/organise/letters/new").get_data(as_text=True)
    token = csrf_token(page)
    for data in (
        {},
        {"block": ["x"], "line": []},
        {"block": ["tekst"], "line": ["1"], "meta": "{not json", "title": "T", "slug": "t", "action": "create"},
        {"block": ["tekst"], "line": ["9" * 30], "meta": '{"goal": "veel"}', "role-0": "nonsense", "cut": "99", "title": "T", "slug": "t", "action": "create"},
        {"block": ["tekst\x00"], "line": ["1"], "meta": '{"deadline": [1]}', "title": "", "slug": "T T", "action": "create"},
        {"block": ["tekst\x00 met NUL"], "line": ["1"], "meta": '{"organiser": "vzw\\u0000"}', "title": "T\x00", "slug": "nul", "action": "create"},
    ):
        response = client.post("/organise/letters/new/arrange", data={"csrf_token": token, **data})
        assert response.status_code in (200, 303, 422), data
    with app.app_context():
        letter = db.session.scalar(select(Letter).where(Letter.slug == "nul"))
        assert letter.body == "tekst met NUL\n" and letter.title == "T" and letter.organiser == "vzw"


def test_a_pasted_letter_that_ends_in_a_paper_form_is_arranged_before_it_is_stored(app, client):
    with app.app_context():
        make_user(admin=True)
    login(client)
    page = client.get("/organise/letters/new").get_data(as_text=True)
    response = client.post("/organise/letters/new", data={
        "csrf_token": csrf_token(page), "slug": "geplakt", "title": "Integratie: hoezo mislukt?",
        "body": SEED.read_text(encoding="utf-8"), "timezone": "Europe/Brussels", "language": "nl-BE", "action": "save",
    })
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "Brief inlezen" in html and "papieren antwoordstrook" in html
    with app.app_context():
        assert db.session.scalar(select(Letter).where(Letter.slug == "geplakt")) is None, "nothing stored yet"
    fields = _arrange_form(html)
    assert fields["slug"] == ["geplakt"]
    assert client.post("/organise/letters/new/arrange", data={**fields, "action": "create"}).status_code == 303
    with app.app_context():
        assert "VOORNAAM" not in db.session.scalar(select(Letter.body).where(Letter.slug == "geplakt"))
