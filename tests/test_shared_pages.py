"""Pages the crowd shares (DESIGN §6, issue 14): anonymous public pages set
no cookie and may be kept by a shared cache; the signing form's token is the
same for every visitor and bound to its letter; a cross-site post is refused
whatever its token; the language is in the URL; the letter page is rendered
once per letter, version, language, state and count."""
from __future__ import annotations

from datetime import date
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import func, select

from conftest import csrf_token, make_letter, make_signature, sign_form
from signatory.extensions import db
from signatory.models import Signature

SHARED_PATHS = ("/", "/letters/brief", "/letters/brief/signatories", "/letters/brief/paragraphs")


@pytest.fixture
def letter_app(app):
    with app.app_context():
        make_letter()
        make_letter("andere")
    return app


def test_anonymous_shared_pages_set_no_cookie_and_may_be_kept_by_any_cache(app):
    app.config["PUBLIC_CACHE_SECONDS"] = 17
    with app.app_context():
        make_signature(make_letter())
    client = app.test_client()
    for path in SHARED_PATHS:
        response = client.get(path)
        assert response.status_code == 200, path
        assert "Set-Cookie" not in response.headers, path
        assert response.headers["Cache-Control"] == "public, max-age=17", path
        assert "Cookie" not in response.headers.get("Vary", ""), path
        etag = response.headers["ETag"]
        again = client.get(path, headers={"If-None-Match": etag})
        assert again.status_code == 304 and again.data == b"", path
    assert not client.get_cookie("session")


def test_an_organisers_session_does_not_reach_the_shared_page(letter_app):
    from conftest import login, make_user

    with letter_app.app_context():
        make_user()
    client = letter_app.test_client()
    login(client)
    response = client.get("/letters/brief")
    assert "Set-Cookie" not in response.headers
    assert response.headers["Cache-Control"].startswith("public")
    # The organiser's own pages are never shared, and keep the session.
    organise = client.get("/organise/")
    assert organise.status_code == 200 and "public" not in organise.headers.get("Cache-Control", "")


def test_the_form_token_is_the_same_for_every_visitor_and_bound_to_its_letter(letter_app):
    first, second = letter_app.test_client(), letter_app.test_client()
    token = csrf_token(first.get("/letters/brief").get_data(as_text=True))
    assert csrf_token(second.get("/letters/brief").get_data(as_text=True)) == token
    other = csrf_token(first.get("/letters/andere").get_data(as_text=True))
    assert other != token
    # Another visitor, with no cookie at all, signs with the token of the page.
    response = second.post("/letters/brief/sign", data={**sign_form(), "csrf_token": token})
    assert response.status_code == 303
    # The token of another letter does not sign this one: 400, the form filled in.
    refused = first.post("/letters/brief/sign", data={**sign_form(email="twee@example.org", first_name="Zeynep"),
                                                       "csrf_token": other})
    page = refused.get_data(as_text=True)
    assert refused.status_code == 400
    assert 'value="Zeynep"' in page and 'value="twee@example.org"' in page
    assert csrf_token(page) == token  # sending again works
    assert refused.headers["Cache-Control"] == "no-store"
    with letter_app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Signature)) == 1


def test_a_missing_token_answers_400_with_the_form_filled_in(letter_app):
    client = letter_app.test_client()
    response = client.post("/letters/brief/sign", data=sign_form(first_name="Mehmet"))
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert 'value="Mehmet"' in page and 'id="error-summary"' in page


@pytest.mark.parametrize("headers", [
    {"Sec-Fetch-Site": "cross-site"},
    {"Sec-Fetch-Site": "same-site"},
    {"Sec-Fetch-Site": "cross-site", "Origin": "http://localhost"},  # the browser's word wins
    {"Origin": "https://elders.example"},
    {"Origin": "null"},
])
def test_a_cross_site_post_is_refused_with_a_valid_token(letter_app, headers):
    client = letter_app.test_client()
    token = csrf_token(client.get("/letters/brief").get_data(as_text=True))
    response = client.post("/letters/brief/sign", data={**sign_form(first_name="Fatima"), "csrf_token": token},
                           headers=headers)
    assert response.status_code == 403
    assert 'value="Fatima"' in response.get_data(as_text=True)
    with letter_app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Signature)) == 0


@pytest.mark.parametrize("headers", [
    {},  # not a browser, or one too old to tell: the token decides
    {"Sec-Fetch-Site": "same-origin"},
    {"Sec-Fetch-Site": "none"},
    {"Origin": "http://localhost"},  # the test client's host
    {"Origin": "http://127.0.0.1:5000"},  # BASE_URL
])
def test_a_same_origin_post_signs(letter_app, headers):
    client = letter_app.test_client()
    token = csrf_token(client.get("/letters/brief").get_data(as_text=True))
    response = client.post("/letters/brief/sign", data={**sign_form(), "csrf_token": token}, headers=headers)
    assert response.status_code == 303


def test_a_cross_site_post_to_an_organisers_page_is_refused(letter_app):
    client = letter_app.test_client()
    token = csrf_token(client.get("/organise/login").get_data(as_text=True))
    response = client.post("/organise/login", data={"email": "a@example.org", "password": "x" * 12,
                                                    "csrf_token": token},
                           headers={"Sec-Fetch-Site": "cross-site"})
    assert response.status_code == 403


def test_the_language_is_in_the_url_and_carried_on(letter_app):
    client = letter_app.test_client()
    english = client.get("/letters/brief?lang=en", headers={"Accept-Language": "nl"})
    page = english.get_data(as_text=True)
    assert '<html lang="en">' in page
    assert "Accept-Language" not in english.headers.get("Vary", "")
    assert 'action="/letters/brief/sign?lang=en' in page
    assert 'href="/letters/brief/signatories?lang=en"' in page
    assert 'href="/letters/brief?lang=nl"' in page  # the language link: this page, in Dutch
    # Without it the browser decides, and the answer says it depends on that.
    dutch = client.get("/letters/brief")
    assert '<html lang="nl">' in dutch.get_data(as_text=True)
    assert "Accept-Language" in dutch.headers["Vary"]
    # A language cookie does not change a shared page: a cache could not see it.
    client.set_cookie("lang", "en")
    assert '<html lang="nl">' in client.get("/letters/brief").get_data(as_text=True)
    # Signing in English: the refusal and the thanks page stay English, and so does the mail.
    token = csrf_token(page)
    refused = client.post("/letters/brief/sign?lang=en", data={**sign_form(first_name=""), "csrf_token": token})
    assert refused.status_code == 422 and '<html lang="en">' in refused.get_data(as_text=True)
    signed = client.post("/letters/brief/sign?lang=en", data={**sign_form(), "csrf_token": token})
    assert signed.status_code == 303
    thanks = urlsplit(signed.headers["Location"])
    assert thanks.path == "/letters/brief/thanks" and parse_qs(thanks.query)["lang"] == ["en"]
    with letter_app.app_context():
        assert db.session.scalar(select(Signature.language)) == "en"


def test_the_letter_page_is_rendered_once_and_again_after_a_change(letter_app, monkeypatch):
    from signatory.views import public

    renders = []
    real = public.render_letter_html
    monkeypatch.setattr(public, "render_letter_html", lambda *a, **k: renders.append(1) or real(*a, **k))
    client = letter_app.test_client()
    first = client.get("/letters/brief")
    assert client.get("/letters/brief").data == first.data
    assert len(renders) == 1
    client.get("/letters/brief?lang=en")
    assert len(renders) == 2  # another language, another page
    with letter_app.app_context():
        make_signature(db.session.scalar(select(public.Letter).where(public.Letter.slug == "brief")))
    counted = client.get("/letters/brief")
    assert len(renders) == 3
    assert counted.headers["ETag"] != first.headers["ETag"]
    assert b"<strong>1</strong>" in counted.data
    # A closed letter (its deadline passed) says so at once.
    with letter_app.app_context():
        letter = db.session.scalar(select(public.Letter).where(public.Letter.slug == "brief"))
        letter.deadline = date(2020, 1, 1)
        db.session.commit()
    closed = client.get("/letters/brief").get_data(as_text=True)
    assert "afgesloten" in closed and 'action="/letters/brief/sign' not in closed


def test_a_kept_letter_page_is_answered_before_flask_with_the_same_bytes_and_headers(letter_app, monkeypatch):
    """KeptPageServer answers the second view of a page from memory, without
    Flask, and says exactly what the view says: same body, same headers
    (security headers included), the same 304 to If-None-Match."""
    from signatory.views import public
    from signatory.views.caching import KeptPageServer

    # The snapshot stays fresh for the whole test: on a loaded machine the
    # second view may come more than SNAPSHOT_SECONDS after the first, and
    # then Flask rightly reads the letter again.
    monkeypatch.setattr(public, "SNAPSHOT_SECONDS", 3600.0)
    server = letter_app.wsgi_app
    assert isinstance(server, KeptPageServer)
    reached_flask = []
    inner = server.wsgi_app
    monkeypatch.setattr(server, "wsgi_app", lambda environ, start: reached_flask.append(environ["PATH_INFO"]) or inner(environ, start))
    client = letter_app.test_client()
    comparable = lambda response: sorted((k, v) for k, v in response.headers.items() if k != "Cache-Control")
    for query, headers in (("", {"Accept-Language": "en"}), ("?lang=nl", {})):
        by_flask = client.get(f"/letters/brief{query}", headers=headers)
        kept = client.get(f"/letters/brief{query}", headers=headers)
        assert reached_flask == ["/letters/brief"], "the second view never reaches Flask"
        assert kept.status_code == by_flask.status_code == 200 and kept.data == by_flask.data
        assert comparable(kept) == comparable(by_flask)
        assert kept.headers["Cache-Control"].startswith("public, max-age=")
        assert "Set-Cookie" not in kept.headers and kept.headers["X-Frame-Options"] == "DENY"
        not_modified = client.get(f"/letters/brief{query}", headers={**headers, "If-None-Match": kept.headers["ETag"]})
        assert not_modified.status_code == 304 and not_modified.data == b""
        assert reached_flask == ["/letters/brief"]
        reached_flask.clear()  # the next language is a page of its own, rendered by Flask first
    # Anything but a plain view of a kept page goes to Flask.
    for path in ("/letters/brief?lang=fr", "/letters/brief?utm=x", "/letters/brief/signatories", "/letters/nergens"):
        client.get(path)
    assert reached_flask == ["/letters/brief", "/letters/brief", "/letters/brief/signatories", "/letters/nergens"]


def test_the_api_counts_a_confirmation_at_once(letter_app):
    from conftest import deliver, links, outbox_messages, path_of

    client = letter_app.test_client()
    assert client.get("/api/letters/brief").get_json()["signatures"] == 0
    client.get("/letters/brief")  # the page, kept
    token = csrf_token(client.get("/letters/brief").get_data(as_text=True))
    assert client.post("/letters/brief/sign", data={**sign_form(), "csrf_token": token}).status_code == 303
    deliver(letter_app)
    [message] = outbox_messages(letter_app)
    assert client.get(path_of(links(message, "confirm")[0])).status_code == 200
    api = client.get("/api/letters/brief")
    assert api.get_json()["signatures"] == 1 and "no-cache" in api.headers["Cache-Control"]
    assert b"<strong>1</strong>" in client.get("/letters/brief").data


def test_public_cache_seconds_comes_from_the_environment(tmp_path):
    from signatory.config import ConfigError, load_settings

    base = {"SECRET_KEY": "a-secret-key-long-enough-for-the-warning"}
    assert load_settings(tmp_path, base)["PUBLIC_CACHE_SECONDS"] == 10
    assert load_settings(tmp_path, {**base, "PUBLIC_CACHE_SECONDS": "0"})["PUBLIC_CACHE_SECONDS"] == 0
    for bad in ("ten", "-1", "3601"):
        with pytest.raises(ConfigError, match="PUBLIC_CACHE_SECONDS"):
            load_settings(tmp_path, {**base, "PUBLIC_CACHE_SECONDS": bad})
