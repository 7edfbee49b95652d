"""Letter settings in the browser: addressee, contact, deadline, goal and a
logo (PNG or SVG, checked), shown on the public page and served safely."""
from __future__ import annotations

import io
from datetime import date

from sqlalchemy import select

from conftest import csrf_token, login, make_letter, make_user
from signatory.extensions import db
from signatory.models import Letter


def png_bytes(width=120, height=60) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (35, 78, 112)).save(buffer, format="PNG")
    return buffer.getvalue()


SAFE_SVG = b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10"><defs><linearGradient id="g"/></defs><rect width="10" height="10" fill="url(#g)"/></svg>'
UNSAFE_SVGS = {
    "script": b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
    "handler": b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>',
    "external image": b'<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink"><image xlink:href="http://evil.example/x.png"/></svg>',
    "javascript link": b'<svg xmlns="http://www.w3.org/2000/svg"><a href="javascript:alert(1)"><rect/></a></svg>',
    "foreign object": b'<svg xmlns="http://www.w3.org/2000/svg"><foreignObject><body xmlns="http://www.w3.org/1999/xhtml"/></foreignObject></svg>',
    "entity bomb": b'<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]><svg xmlns="http://www.w3.org/2000/svg">&b;</svg>',
    "style import": b'<svg xmlns="http://www.w3.org/2000/svg"><style>@import url(http://evil.example/x.css);</style></svg>',
}


def _settings(client, slug="brief", logo=None, **fields):
    page = client.get(f"/organise/letters/{slug}/settings")
    assert page.status_code == 200
    data = {"csrf_token": csrf_token(page.get_data(as_text=True)), "timezone": "Europe/Brussels", **fields}
    if logo is not None:
        data["logo"] = (io.BytesIO(logo[0]), logo[1])
    return client.post(f"/organise/letters/{slug}/settings", data=data, content_type="multipart/form-data")


def test_settings_are_edited_in_the_browser_and_shown_on_the_public_page(app, client):
    with app.app_context():
        make_user(admin=True)
        make_letter()
    login(client)
    assert "Instellingen" in client.get("/organise/letters/brief").get_data(as_text=True)
    response = _settings(
        client, addressee="Aan de leden van het Vlaams Parlement", organiser="KMS vzw", contact="info@kms.be",
        deadline="2031-06-12", goal="1000", logo=(png_bytes(), "logo.png"),
    )
    assert response.status_code == 303
    with app.app_context():
        letter = db.session.scalar(select(Letter).where(Letter.slug == "brief"))
        assert letter.addressee == "Aan de leden van het Vlaams Parlement" and letter.goal == 1000
        assert letter.deadline == date(2031, 6, 12) and letter.contact == "info@kms.be"
        assert letter.logo_mime == "image/png" and letter.version == 1, "settings are not a new version of the text"
    public = app.test_client().get("/letters/brief").get_data(as_text=True)
    assert "Aan de leden van het Vlaams Parlement" in public
    assert 'class="letter__logo" src="/letters/brief/logo?v=' in public and 'alt="Logo van KMS vzw"' in public
    logo = app.test_client().get("/letters/brief/logo")
    assert logo.status_code == 200 and logo.mimetype == "image/png" and logo.data.startswith(b"\x89PNG")

    removed = _settings(client, addressee="", organiser="KMS vzw", remove_logo="y")
    assert removed.status_code == 303
    assert app.test_client().get("/letters/brief/logo").status_code == 404


def test_a_safe_svg_is_served_as_an_image_in_a_sandbox(app, client):
    with app.app_context():
        make_user(admin=True)
        make_letter()
    login(client)
    assert _settings(client, logo=(SAFE_SVG, "logo.svg")).status_code == 303
    served = app.test_client().get("/letters/brief/logo")
    assert served.mimetype == "image/svg+xml"
    policy = served.headers["Content-Security-Policy"]
    assert "default-src 'none'" in policy and "sandbox" in policy and "script" not in policy
    assert served.headers["X-Content-Type-Options"] == "nosniff"


def test_unsafe_svgs_and_bad_pngs_are_refused_with_a_reason(app, client):
    with app.app_context():
        make_user(admin=True)
        make_letter()
    login(client)
    for name, svg in UNSAFE_SVGS.items():
        response = _settings(client, logo=(svg, "logo.svg"))
        assert response.status_code == 422, name
        assert "error-summary" in response.get_data(as_text=True), name
    cases = {
        "too large": (png_bytes(4001, 10), "groot.png", "4001"),
        "not a png": (b"\x89PNG\r\n\x1a\nrommel", "kapot.png", "beschadigd"),
        "a jpeg": (b"\xff\xd8\xff\xe0JFIF", "foto.jpg", "PNG- of SVG"),
        "too many bytes": (b"\x89PNG\r\n\x1a\n" + b"\0" * 600_000, "zwaar.png", "512 kB"),
    }
    for name, (data, filename, expected) in cases.items():
        response = _settings(client, logo=(data, filename))
        assert response.status_code == 422 and expected in response.get_data(as_text=True), name
    with app.app_context():
        assert db.session.scalar(select(Letter.logo_mime).where(Letter.slug == "brief")) == ""


def test_a_draft_logo_is_only_for_its_organisers_and_others_get_404(app, client):
    with app.app_context():
        make_user(admin=True)
        make_user("ander@example.org")
        make_letter(state="draft")
    login(client)
    assert _settings(client, logo=(png_bytes(), "logo.png")).status_code == 303
    assert client.get("/letters/brief/logo").status_code == 200
    assert app.test_client().get("/letters/brief/logo").status_code == 404
    other = app.test_client()
    login(other, "ander@example.org")
    assert other.get("/organise/letters/brief/settings").status_code == 404
    assert other.get("/letters/brief/logo").status_code == 404


def test_a_goal_out_of_range_is_explained_with_the_number_written_for_the_language(app, client):
    # Not WTForms' own "Nummer moet tussen 1 en 100000000 liggen.": the
    # organiser is told what the goal is, the number grouped as people write it.
    with app.app_context():
        make_user(admin=True)
        make_letter()
    login(client)
    for language, expected in [("nl", "Het doel is een aantal handtekeningen van 1 tot 100.000.000."),
                               ("en", "The goal is a number of signatures from 1 to 100,000,000.")]:
        page = client.get(f"/organise/letters/brief/settings?lang={language}")
        response = client.post(f"/organise/letters/brief/settings?lang={language}", data={
            "csrf_token": csrf_token(page.get_data(as_text=True)), "timezone": "Europe/Brussels", "goal": "0",
        }, content_type="multipart/form-data")
        assert response.status_code == 422, response.status_code
        html = response.get_data(as_text=True)
        assert expected in html, language
        assert "100000000" not in html
    with app.app_context():
        assert db.session.scalar(select(Letter).where(Letter.slug == "brief")).goal == 100
