"""The one text-hygiene policy, and the ten-line rule checked once per request."""
from __future__ import annotations

import re

import pytest

from conftest import csrf_token, make_letter, sign_form
from signatory.pdf import line_rule
from signatory.text import clean_line, clean_multiline, has_control_characters, normalise_paragraph, strip_controls

LONG = " ".join(["Dit is een zin die de paragraaf langer maakt dan tien lijnen in het document."] * 14)


@pytest.mark.parametrize("char", ["\x00", "\x07", "\x1b", "\x7f", "\x85", "\x9f", "\u2028", "\u2029", "\ufeff", "\r"])
def test_every_character_of_the_policy_is_refused_and_removed(char):
    text = f"Ge{char}nt"
    assert has_control_characters(text)
    assert clean_line(text) in ("Ge nt", "Ge nt".replace(" ", ""))
    assert not has_control_characters(clean_line(text))
    assert not has_control_characters(normalise_paragraph(text))
    if char != "\r":
        assert strip_controls(text) == "Gent"


def test_white_space_and_line_breaks_are_not_controls():
    for text in ("Kerk\tstraat", "Kerkstraat 1\n9000 Gent", "Kerkstraat 1\r\n9000 Gent"):
        assert not has_control_characters(text)
        assert strip_controls(text) == text
    assert clean_line(" Kerk\tstraat \n 1 ") == "Kerk straat 1"
    assert clean_multiline("Kerkstraat 1\x00\r\n\r\n9000 Gent\x0c") == "Kerkstraat 1\n9000 Gent"
    assert normalise_paragraph("Een\r\n\r\nTwee\rDrie  \n") == "Een\n\nTwee\nDrie"


def _paragraph_error(html: str) -> str:
    match = re.search(r'id="paragraph-error">(.*?)</p>', html, re.S)
    return match.group(1) if match else ""


def _count_typesetting(monkeypatch) -> list[str]:
    calls = []
    real = line_rule.count_lines
    # Signing keeps verdicts of texts it has seen: start from none, so that
    # a test before this one cannot answer for it.
    from signatory import signing

    signing._line_verdict.cache_clear()

    def counting(text):
        calls.append(text)
        return real(text)

    monkeypatch.setattr(line_rule, "count_lines", counting)
    return calls


def test_signing_typesets_the_paragraph_once(sqlite_app, monkeypatch):
    with sqlite_app.app_context():
        make_letter()
    client = sqlite_app.test_client()
    token = csrf_token(client.get("/letters/brief").get_data(as_text=True))
    calls = _count_typesetting(monkeypatch)
    response = client.post("/letters/brief/sign", data={**sign_form(paragraph="Omdat lezen telt."), "csrf_token": token})
    assert response.status_code == 303
    assert len(calls) == 1

    calls.clear()
    response = client.post("/letters/brief/sign", data={**sign_form(paragraph=LONG, email="b@example.org"), "csrf_token": token})
    assert response.status_code == 422
    assert "lijnen in het document" in _paragraph_error(response.get_data(as_text=True))
    assert len(calls) == 1, "a paragraph refused by the domain is not typeset by the form too"


def test_a_form_with_other_errors_tells_about_the_paragraph_too(sqlite_app, monkeypatch):
    with sqlite_app.app_context():
        make_letter()
    client = sqlite_app.test_client()
    token = csrf_token(client.get("/letters/brief").get_data(as_text=True))
    calls = _count_typesetting(monkeypatch)
    response = client.post("/letters/brief/sign", data={**sign_form(first_name="", paragraph=LONG), "csrf_token": token})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert 'id="first_name-error"' in html
    assert "lijnen in het document" in _paragraph_error(html)
    assert len(calls) == 1
