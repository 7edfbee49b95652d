"""Languages: Dutch by default, English second; catalogues complete and
their compiled forms up to date."""
from __future__ import annotations

import gettext
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from conftest import make_letter

ROOT = Path(__file__).resolve().parent.parent
TRANSLATIONS = ROOT / "signatory" / "translations"


def _catalogue(language: str):
    with open(TRANSLATIONS / language / "LC_MESSAGES" / "messages.po", "rb") as handle:
        return read_po(handle)


@pytest.mark.parametrize("language", ["nl", "en"])
def test_compiled_catalogue_matches_its_source(language):
    """Fails when someone edited a .po without `flask translations compile`:
    compiling the source now must give what the shipped .mo contains."""
    from io import BytesIO

    from babel.messages.mofile import write_mo

    mo_path = TRANSLATIONS / language / "LC_MESSAGES" / "messages.mo"
    assert mo_path.exists(), f"{mo_path} missing: run flask translations compile"
    fresh = BytesIO()
    write_mo(fresh, _catalogue(language), use_fuzzy=True)
    fresh.seek(0)
    with open(mo_path, "rb") as handle:
        shipped = gettext.GNUTranslations(handle)._catalog
    compiled = gettext.GNUTranslations(fresh)._catalog
    # The header entry names the Babel version that compiled it: not content.
    shipped.pop("", None)
    compiled.pop("", None)
    assert shipped == compiled


def test_every_string_is_extracted_and_translated_to_english(tmp_path):
    """Fails when a new string was not extracted into the catalogues, or has
    no English translation yet."""
    template = tmp_path / "messages.pot"
    subprocess.run(
        [sys.executable, "-m", "babel.messages.frontend", "extract", "-F",
         str(TRANSLATIONS / "babel.cfg"), "-k", "_l", "--no-location", "-o", str(template), "."],
        check=True, cwd=ROOT, capture_output=True,
    )
    with open(template, "rb") as handle:
        extracted = {message.id for message in read_po(handle) if message.id}
    english = {message.id: message.string for message in _catalogue("en") if message.id}
    missing = sorted(str(i) for i in extracted - set(english))
    assert not missing, f"not in the English catalogue (flask translations update): {missing[:10]}"
    untranslated = sorted(
        str(i) for i in extracted
        if not english[i] or (isinstance(english[i], tuple) and not all(english[i]))
    )
    assert not untranslated, f"no English translation yet: {untranslated[:10]}"


def test_dutch_by_default_english_by_accept_language_and_by_choice(sqlite_app):
    client = sqlite_app.test_client()
    with sqlite_app.app_context():
        make_letter()
    dutch = client.get("/letters/brief").get_data(as_text=True)
    assert '<html lang="nl">' in dutch and "Onderteken" in dutch
    english = client.get("/letters/brief", headers={"Accept-Language": "en-GB,en;q=0.9"}).get_data(as_text=True)
    assert '<html lang="en">' in english and "Sign this letter" in english
    # the language chosen is in the URL, over Accept-Language (DESIGN §6)
    response = client.get("/language/nl?next=/letters/brief", headers={"Accept-Language": "en"})
    assert response.status_code == 303 and response.headers["Location"] == "/letters/brief?lang=nl"
    chosen = client.get("/letters/brief?lang=nl", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert '<html lang="nl">' in chosen


def test_language_link_never_redirects_elsewhere(sqlite_app):
    client = sqlite_app.test_client()
    for target in ("https://evil.example/", "//evil.example/", "/\\evil.example"):
        response = client.get("/language/en", query_string={"next": target})
        assert response.headers["Location"] == "/?lang=en"  # home, in the language chosen


def _language_link(html: str) -> str:
    import re

    return re.search(r'<a class="lang"[^>]*href="([^"]+)"', html).group(1).replace("&amp;", "&")


def test_the_language_link_keeps_the_page_and_sets_the_language(sqlite_app):
    client = sqlite_app.test_client()
    with sqlite_app.app_context():
        make_letter()
    letter = client.get("/letters/brief?lang=en").get_data(as_text=True)
    token = letter.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
    refused = client.post("/letters/brief/sign?lang=en", data={"csrf_token": token, "email": "geen adres"})
    assert refused.status_code == 422 and '<html lang="en">' in refused.get_data(as_text=True)
    pages = [(path, client.get(path).get_data(as_text=True))
             for path in ("/letters/brief?lang=en", "/letters/brief/signatories?lang=en", "/letters/brief/thanks?lang=en")]
    pages.append(("/letters/brief?lang=en", refused.get_data(as_text=True)))  # a form that came back: its letter
    for path, html in pages:
        switched = client.get(_language_link(html), follow_redirects=True)
        assert switched.status_code == 200, path
        assert switched.request.path == path.split("?")[0] and switched.request.args["lang"] == "nl", path
        back = switched.get_data(as_text=True)
        assert '<html lang="nl">' in back and _language_link(back) == path, path


def test_the_request_class_reads_query_and_cookies_as_flask_does(app):
    """Signatory's request class skips parsing what a request does not
    carry; what it reads is what Flask's own class reads."""
    from flask import Request as FlaskRequest
    from werkzeug.test import EnvironBuilder

    assert app.request_class is not FlaskRequest
    for options in ({}, {"query_string": "lang=en&x=1&x=2"}, {"headers": {"Cookie": "lang=en; session=abc"}},
                    {"query_string": "lang=en", "headers": {"Cookie": "lang=nl"}}):
        environ = EnvironBuilder(path="/letters/brief", **options).get_environ()
        ours, flasks = app.request_class(environ), FlaskRequest(environ)
        assert list(ours.args.items(multi=True)) == list(flasks.args.items(multi=True)), options
        assert list(ours.cookies.items(multi=True)) == list(flasks.cookies.items(multi=True)), options
        assert type(ours.args) is type(flasks.args) and type(ours.cookies) is type(flasks.cookies)
