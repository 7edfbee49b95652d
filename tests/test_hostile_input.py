"""No input, however malformed, produces a 500 (DESIGN §8), on SQLite and
PostgreSQL alike: NUL and control characters, absurd sizes, invalid UTF-8,
repeated fields, garbage cursors and tokens, unknown slugs. A refusal gives
the form back filled in (minus the stripped control characters) and writes
nothing. XSS in what a signer types is escaped on every page and in the
e-mail's HTML part.
"""
from __future__ import annotations

import base64
import itertools
import re
from html.parser import HTMLParser

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from itsdangerous import URLSafeTimedSerializer
from sqlalchemy import func, select

from conftest import csrf_token, deliver, links, make_signature, outbox_messages, path_of, sign_form
from signatory import tokens
from signatory.extensions import db
from signatory.models import OutboxMessage, Signature
from signatory.text import clean_line, has_control_characters, normalise_paragraph

TEXT_FIELDS = ("first_name", "last_name", "organisation", "function", "address", "email", "place", "paragraph")
LINE_FIELDS = ("first_name", "last_name", "organisation", "function", "email", "place")
OK_STATUSES = {303, 400, 409, 413, 422}

HYPOTHESIS_BASE = settings(
    deadline=None,
    database=None,  # no .hypothesis folder in the repository
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)


def examples(n: int) -> settings:
    return settings(HYPOTHESIS_BASE, max_examples=n)


# --- helpers ------------------------------------------------------------------------

class FormReader(HTMLParser):
    """The values a browser would show in the re-rendered sign form."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.values: dict[str, str] = {}
        self.checked: set[str] = set()
        self._textarea: str | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        name = attrs.get("name")
        if tag == "input" and name:
            if attrs.get("type") in ("checkbox", "radio"):
                if "checked" in attrs:
                    self.checked.add(f"{name}={attrs.get('value')}")
            else:
                self.values.setdefault(name, attrs.get("value") or "")
        elif tag == "textarea" and name:
            self._textarea = name
            self.values[name] = ""

    def handle_data(self, data):
        if self._textarea:
            self.values[self._textarea] += data

    def handle_endtag(self, tag):
        if tag == "textarea" and self._textarea:
            value = self.values[self._textarea]
            # HTML drops the newline right after <textarea>.
            for newline in ("\r\n", "\n", "\r"):
                if value.startswith(newline):
                    value = value[len(newline):]
                    break
            self.values[self._textarea] = value
            self._textarea = None


def form_of(html: str) -> FormReader:
    reader = FormReader()
    reader.feed(html)
    return reader


def counts(app) -> tuple[int, int]:
    with app.app_context():
        return (
            db.session.scalar(select(func.count()).select_from(Signature)),
            db.session.scalar(select(func.count()).select_from(OutboxMessage)),
        )


def assert_refilled(html: str, sent: dict) -> None:
    """Every typed text comes back: exactly (minus the surrounding white
    space the form strips), or — when it held control characters — without
    them."""
    shown = form_of(html).values
    for name, typed in sent.items():
        if name not in TEXT_FIELDS or not isinstance(typed, str):
            continue
        assert name in shown, f"{name} missing from the re-rendered form"
        if name == "paragraph":
            assert normalise_paragraph(shown[name]) == normalise_paragraph(typed), name
        elif name == "address" or has_control_characters(typed):
            assert clean_line(shown[name]) == clean_line(typed), name
        else:
            assert shown[name] == typed.strip(), name


# --- control characters, field by field ----------------------------------------------

CONTROL_SAMPLES = {
    "first_name": "Ay\x00şe\x07",
    "last_name": "Yıl\x1bmaz\x7f",
    "organisation": "Buurt\x00werk\u2028vzw",
    "function": "voor\x08zitter",
    "address": "Kerkstraat 1\x00\n9000 Gent\x0c",
    "email": "ayse\x00@example.org",
    "place": "Ge\x85nt\ufeff",
    "paragraph": "Omdat\x00 lezen\x1b telt.\nEn samen\x0b leven.",
}


def test_control_characters_in_each_field_are_refused_and_stripped(app, signer):
    token = signer.token
    for field in TEXT_FIELDS:
        extra = {"kind": "organisation", "organisation": "Buurtwerk"} if field == "organisation" else {}
        data = sign_form(**{**extra, field: CONTROL_SAMPLES[field]})
        data["csrf_token"] = token
        response = signer.post(data)
        assert response.status_code == 422, field
        html = response.get_data(as_text=True)
        error = re.search(rf'id="{field}-error">(.*?)</p>', html, re.S)
        assert error and "stuurtekens" in error.group(1), f"no message next to {field}"
        assert 'id="error-summary"' in html
        shown = form_of(html).values[field]
        assert not has_control_characters(shown.replace("\n", "")), (field, shown)
        assert "\x00" not in html
        assert_refilled(html, data)
        assert counts(app) == (0, 0), "nothing half-written"


# --- hypothesis over every field ---------------------------------------------------------

HOSTILE_ALPHABET = "\x00\x01\x07\x08\t\n\x0b\x0c\r\x1b\x7f\x85\x9f\u00a0\u2028\u2029\u200b\u200f\u202e\ufeff\ufffd ab<>\"'&;ş\u0301ة𝔸"
field_text = st.one_of(
    st.text(max_size=60),
    st.text(alphabet=HOSTILE_ALPHABET, max_size=40),
    st.sampled_from([
        "", " ", "\x00", "a" * 101, "ş" * 201, "<script>alert(1)</script>", '"><img src=x onerror=alert(1)>',
        "%00", "\\x00", "{{ 7*7 }}", "'; DROP TABLE signatures; --", "\r\n\r\n", "🙂" * 30,
    ]),
)
email_text = st.one_of(st.emails(), field_text)
kind_value = st.one_of(
    st.sampled_from(["person", "organisation", "other", "", "PERSON", "\x00", "organisation\x00", "person "]),
    st.text(max_size=12),
)
consent_value = st.one_of(st.none(), st.sampled_from(["y", "", "garbage", "\x00", "false", "0", "n" * 500]), st.text(max_size=8))


@st.composite
def sign_data(draw):
    data = {name: draw(field_text) for name in TEXT_FIELDS if name != "email"}
    data["email"] = draw(email_text)
    data["kind"] = draw(kind_value)
    for name in ("consent_name", "consent_paragraph", "consent_notify"):
        value = draw(consent_value)
        if value is not None:
            data[name] = value
    # Sometimes a field is missing altogether.
    for name in draw(st.lists(st.sampled_from([*TEXT_FIELDS, "kind"]), max_size=2, unique=True)):
        data.pop(name, None)
    return data


def test_hypothesis_any_sign_form_is_answered_without_500(app, signer):
    token = signer.token
    accepted = itertools.count()

    @examples(120)
    @given(sign_data())
    def check(data):
        before = counts(app)
        response = signer.post({**data, "csrf_token": token})
        assert response.status_code in OK_STATUSES, response.status_code
        after = counts(app)
        if response.status_code == 303:
            next(accepted)
            assert after[1] == before[1] + 1, "one e-mail per signing"
            assert after[0] - before[0] in (0, 1)
            return
        assert after == before, "a refusal writes nothing"
        html = response.get_data(as_text=True)
        assert 'id="error-summary"' in html, "a summary on top"
        assert "\x00" not in html
        assert_refilled(html, data)

    check()


def test_hypothesis_any_paragraph_gets_a_verdict_without_500(client):
    @examples(60)
    @given(st.one_of(st.text(max_size=300), st.text(alphabet=HOSTILE_ALPHABET + "\u0627\u0644\u1200 ", max_size=300)))
    def check(text):
        response = client.post("/api/paragraph-lines", json={"text": text})
        assert response.status_code == 200, response.get_data(as_text=True)[:2000]
        verdict = response.get_json()
        assert isinstance(verdict["lines"], int) and verdict["lines"] >= 0
        assert verdict["fits"] == (verdict["lines"] <= verdict["max"])

    check()


@pytest.mark.parametrize(
    "payload",
    [b"{", b"null", b"[]", b'{"text": 5}', b'{"text": ["a"]}', b'{"text": "\\u0000\\ud800"}', b"\xff\xfe",
     b'{"text": "' + b"a " * 200_000 + b'"}'],
)
def test_the_line_api_survives_broken_json(client, payload):
    response = client.post(
        "/api/paragraph-lines", data=payload, content_type="application/json"
    )
    assert response.status_code in (200, 400, 413), response.get_data(as_text=True)[:2000]


# --- odd shapes of the form -----------------------------------------------------------------

def test_kind_other_is_refused_with_the_form_kept(app, signer):
    data = sign_form(kind="other", organisation="Iets", paragraph="Tekst.")
    data["csrf_token"] = signer.token
    response = signer.post(data)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert 'id="kind-error"' in html
    assert_refilled(html, data)
    assert counts(app) == (0, 0)


def test_repeated_fields_take_one_value_and_never_fail(app, signer):
    token = signer.token
    data = [
        ("csrf_token", token), ("csrf_token", "garbage"),
        ("first_name", "Ayşe"), ("first_name", "Eve"), ("last_name", "Yılmaz"), ("last_name", ""),
        ("kind", "person"), ("kind", "organisation"), ("email", "ayse@example.org"), ("email", "eve@example.org"),
        ("consent_name", "y"), ("consent_name", "y"), ("paragraph", "a"), ("paragraph", "b" * 5000),
    ]
    body = "&".join(f"{name}={value}" for name, value in data)
    response = signer.post(body, content_type="application/x-www-form-urlencoded")
    assert response.status_code == 303
    with app.app_context():
        signature = db.session.scalar(select(Signature))
        assert (signature.first_name, signature.last_name, signature.email) == ("Ayşe", "Yılmaz", "ayse@example.org")
        assert signature.kind == "person" and signature.paragraph == "a"


@pytest.mark.parametrize("consent", ["garbage", "\x00", "y" * 10_000, "false"])
def test_consent_garbage_is_a_plain_yes_or_no(app, signer, consent):
    data = sign_form(consent_name=False, consent_paragraph=False, consent_notify=False)
    data.update(consent_name=consent, csrf_token=signer.token)
    response = signer.post(data)
    assert response.status_code == 303
    with app.app_context():
        assert db.session.scalar(select(Signature.consent_name)) in (True, False)


def test_a_ten_megabyte_body_is_refused_without_writing(app, signer):
    token = signer.token
    huge = "x" * (10 * 1024 * 1024)
    response = signer.post({**sign_form(paragraph=huge), "csrf_token": token})
    assert response.status_code == 413
    multipart = signer.post(
        {**sign_form(), "csrf_token": token, "paragraph": huge}, content_type="multipart/form-data"
    )
    assert multipart.status_code == 413
    assert counts(app) == (0, 0)


@pytest.mark.parametrize("char", ["a", "ş"])
def test_a_hundred_thousand_characters_come_back_refused(app, signer, char):
    token = signer.token
    value = char * 100_000
    for field in TEXT_FIELDS:
        extra = {"kind": "organisation"} if field == "organisation" else {}
        data = sign_form(**{**extra, field: value})
        data["csrf_token"] = token
        response = signer.post(data)
        assert response.status_code in (413, 422), field
        if response.status_code == 422:
            html = response.get_data(as_text=True)
            assert f'id="{field}-error"' in html, field
            assert_refilled(html, data)
        assert counts(app) == (0, 0), field


@pytest.mark.parametrize(
    "body",
    [
        b"first_name=%FF%FE&last_name=%C3%28&email=a%ED%A0%80@example.org&kind=person",
        b"first_name=\xff\xfe&last_name=\xc3\x28&email=ayse@example.org&kind=person",
        b"first_name=Ay%C5%9Fe&last_name=Y%C4%B1lmaz&email=ayse@example.org&kind=%C0%80&paragraph=%F4%90%80%80",
        b"%FF=%FF&first_name&=&&&last_name=%%%&email=%zz",
    ],
)
def test_invalid_utf8_in_the_form_is_answered_without_500(app, signer, body):
    token = signer.token
    response = signer.post(body + b"&csrf_token=" + token.encode(), content_type="application/x-www-form-urlencoded")
    assert response.status_code in OK_STATUSES
    if response.status_code != 303:
        assert counts(app) == (0, 0)
        assert 'id="error-summary"' in response.get_data(as_text=True)


def test_the_other_public_forms_survive_hostile_input(app, client, letter):
    page = client.get("/letters/brief/resend").get_data(as_text=True)
    token = csrf_token(page)
    for address in ("\x00", "a\x00@example.org", "x" * 100_000, "ayse@example.org\r\nBcc: x@example.org", "ş" * 300):
        response = client.post("/letters/brief/resend", data={"email": address, "csrf_token": token})
        assert response.status_code in (200, 413, 422), address[:20]
    assert counts(app) == (0, 0)


@pytest.mark.parametrize("target", ["/\x00", "//evil.example", "/%0d%0aX: y", "/" + "a" * 50_000, "/ü", "\\evil", "/\tx"])
def test_the_language_switch_survives_hostile_next(client, target):
    _language_switch(client, target)


@pytest.mark.parametrize("target", ["/\r\nSet-Cookie: x=1", "/\nX: y"])
def test_the_language_switch_survives_a_line_break_in_next(client, target):
    _language_switch(client, target)


def _language_switch(client, target):
    response = client.get("/language/en", query_string={"next": target})
    assert response.status_code in (303, 400, 404, 414), target[:20]
    if response.status_code == 303:
        location = response.headers["Location"]
        assert "\r" not in location and "\n" not in location
        assert location.startswith("/") and not location.startswith("//") and "\\" not in location, location


# --- cursors, tokens, slugs ---------------------------------------------------------------

def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


GARBAGE_CURSORS = [
    "!!!", "=", "====", "%00", "\x00", "a", "ü", "🙂", "x" * 100_000,
    _b64(b"zz.1"), _b64(b"00.-5"), _b64(b"00.0"), _b64(b"00." + b"9" * 40), _b64(b"\xff\xfe.1"),
    _b64(b"0a.1e5"), _b64(b"0.1"), _b64(b"."), _b64(b"00" * 5000 + b".1"), _b64(b"00.\xd9\xa1"), _b64(b"00.1_0"),
    _b64(b"00. 7 "), _b64("00.١٢".encode()),
]


def test_garbage_cursors_on_the_signatories_page(app, client, letter):
    with app.app_context():
        make_signature(letter)
    for cursor in GARBAGE_CURSORS:
        response = client.get("/letters/brief/signatories", query_string={"after": cursor})
        assert response.status_code in (200, 400, 414), (cursor[:40], response.get_data(as_text=True)[:2000])


def test_hypothesis_cursors(client, letter):
    @examples(60)
    @given(st.one_of(st.text(max_size=80), st.binary(max_size=60).map(_b64)))
    def check(cursor):
        response = client.get("/letters/brief/signatories", query_string={"after": cursor})
        assert response.status_code in (200, 400), response.get_data(as_text=True)[:2000]

    check()


def _forged(app, purpose: str, value) -> str:
    """A token signed with the app's key, carrying a value no link ever has."""
    return URLSafeTimedSerializer(app.config["SECRET_KEY"], salt=f"signatory.{purpose}").dumps(value)


def _hostile_tokens(app) -> list[str]:
    garbage = [
        "x", "MQ", "MQ.abc.def", "a" * 100_000, "ü", "🙂", "%00", "..", "...", "MQ.." + "A" * 27,
        "eyJhIjoxfQ.ZZZZZZ.ZZZZZZZZZZZZZZZZZZZZZZZZZZZ",
    ]
    forged = []
    for purpose in (tokens.CONFIRM, tokens.MANAGE):
        for value in ("1", -1, 0, 2**70, True, [1], {"id": 1}, 1.5, None, 999_999):
            forged.append(_forged(app, purpose, value))
    return garbage + forged


def test_garbage_and_huge_tokens_on_confirm_and_manage(app, client, letter):
    with app.app_context():
        signature = make_signature(letter, confirmed=False)
        confirm_for_manage = tokens.make_token(tokens.CONFIRM, signature.id)
        manage_for_confirm = tokens.make_token(tokens.MANAGE, signature.id)
    for token in [*_hostile_tokens(app), confirm_for_manage, manage_for_confirm]:
        for method, path in (
            ("GET", f"/confirm/{token}"), ("GET", f"/manage/{token}"), ("POST", f"/manage/{token}"),
            ("POST", f"/manage/{token}/withdraw"),
        ):
            if (path.startswith("/confirm/") and token == confirm_for_manage) or (
                path.startswith("/manage/") and token == manage_for_confirm
            ):
                continue  # the right token for the right purpose
            response = client.open(path, method=method, data={"first_name": "X", "csrf_token": "x"})
            # 400: the withdraw form's token is checked before the link
            assert response.status_code in (400, 404, 405, 410, 414), (method, path[:60], response.status_code)
    with app.app_context():
        assert db.session.scalar(select(Signature.status)) == "unconfirmed", "no garbage link changed anything"


def test_hostile_input_through_the_manage_form(app, client, letter):
    with app.app_context():
        signature = make_signature(letter, confirmed=True)
        manage = tokens.make_token(tokens.MANAGE, signature.id)
    page = client.get(f"/manage/{manage}").get_data(as_text=True)
    token = csrf_token(page)

    @examples(40)
    @given(st.fixed_dictionaries({name: field_text for name in ("first_name", "last_name", "function", "address", "place", "paragraph")}))
    def check(data):
        response = client.post(f"/manage/{manage}", data={**data, "csrf_token": token})
        assert response.status_code in (303, 400, 422), response.get_data(as_text=True)[:2000]
        if response.status_code != 303:
            assert_refilled(response.get_data(as_text=True), data)

    check()
    with app.app_context():
        stored = db.session.get(Signature, signature.id)
        for name in ("first_name", "last_name", "function", "place"):
            assert not has_control_characters(getattr(stored, name))


UNKNOWN_SLUGS = ["ünïcødé", "%F0%9F%98%80", "Brief", "brief%20", "x" * 5000, "%FF%FE", "..%2F..%2Fetc", "ذ", "brief%0A"]
NUL_SLUGS = ["brief%00", "a%00b"]


def _unknown_slug(client, slug):
    for method, path in (
        ("GET", f"/letters/{slug}"), ("GET", f"/api/letters/{slug}"), ("GET", f"/letters/{slug}/signatories"),
        ("GET", f"/letters/{slug}/privacy"), ("GET", f"/letters/{slug}/thanks"), ("GET", f"/letters/{slug}/resend"),
        ("POST", f"/letters/{slug}/sign"), ("GET", f"/letters/{slug}/document.pdf"),
    ):
        response = client.open(path, method=method, data=sign_form())
        assert response.status_code in (404, 405, 414), (method, path[:60], response.status_code)


def test_unknown_slugs_answer_404_everywhere(client, letter):
    for slug in UNKNOWN_SLUGS:
        _unknown_slug(client, slug)


@pytest.mark.parametrize("slug", NUL_SLUGS)
def test_a_nul_in_the_slug_answers_404(client, letter, slug):
    """PostgreSQL refuses NUL in text: the slug must never reach the query as it is."""
    _unknown_slug(client, slug)


# --- XSS -----------------------------------------------------------------------------------

XSS = {
    "first_name": "<script>alert(1)</script>",
    "last_name": '"><img src=x onerror=alert(2)>',
    "organisation": "</li><script>alert(3)</script>",
    "function": "<b onmouseover=alert(4)>voorzitter</b>",
    "place": "'><svg onload=alert(5)>",
    "paragraph": '<script>alert(6)</script> & "><img src=x onerror=alert(7)>',
}
RAW_MARKERS = ["<script>alert", "<img src=x", "<svg onload", "<b onmouseover"]


def _assert_escaped(html: str, where: str, expect_names: bool = True) -> None:
    for marker in RAW_MARKERS:
        assert marker not in html, f"{marker!r} unescaped on {where}"
    if expect_names:
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html, f"the name is not shown (escaped) on {where}"


def test_markup_in_what_a_signer_types_is_escaped_everywhere(app, client, signer):
    data = sign_form(kind="organisation", email="xss@example.org", **XSS)
    data["csrf_token"] = signer.token
    assert signer.post(data).status_code == 303

    deliver(app)
    [message] = outbox_messages(app)
    html_part = message.get_body(preferencelist=("html",)).get_content()
    # Nothing typed goes into mail to an unconfirmed address (issue 10.7).
    _assert_escaped(html_part, "the e-mail's HTML part", expect_names=False)
    assert "alert(1)" not in html_part
    [confirm_link] = links(message, "confirm")
    [manage_link] = links(message, "manage")
    confirmed = client.get(path_of(confirm_link))
    assert confirmed.status_code == 200
    _assert_escaped(confirmed.get_data(as_text=True), "the confirmation page", expect_names=False)

    with app.app_context():
        signature = db.session.scalar(select(Signature))
        signature.first_signatory = True  # shown on the letter page too
        db.session.commit()

    letter_page = client.get("/letters/brief").get_data(as_text=True)
    _assert_escaped(letter_page, "the letter page")
    assert "&lt;/li&gt;&lt;script&gt;alert(3)" in letter_page
    listing = client.get("/letters/brief/signatories").get_data(as_text=True)
    _assert_escaped(listing, "the signatories list")
    assert "&lt;/li&gt;&lt;script&gt;alert(3)" in listing and "svg onload" in listing
    manage = client.get(path_of(manage_link)).get_data(as_text=True)
    _assert_escaped(manage, "the manage page")
    assert "&lt;script&gt;alert(6)&lt;/script&gt; &amp; &#34;&gt;&lt;img" in manage or (
        "&lt;script&gt;alert(6)&lt;/script&gt; &amp; &quot;&gt;&lt;img" in manage
    )
    assert form_of(manage).values["paragraph"] == XSS["paragraph"]

    # And when the form comes back refused, the typed markup is escaped too.
    refused = signer.post({**data, "email": "not an address"})
    assert refused.status_code == 422
    _assert_escaped(refused.get_data(as_text=True), "the refused form", expect_names=False)
    assert_refilled(refused.get_data(as_text=True), {**data, "email": "not an address"})


@pytest.mark.parametrize("path", [
    "/letters/brief/answers/99999999999999999999999.pdf",
    "/organise/signatures/99999999999999999999999/moderation",
])
def test_ids_out_of_range_are_not_found(client, letter, path):
    assert client.get(path).status_code in (302, 404, 405)


def test_unicode_digits_in_page_numbers_never_500(client, letter, admin, auth):
    auth.login(admin)
    for url in ("/organise/letters/brief/moderation?page=²", "/organise/letters/brief/signatures?page=²", "/organise/audit?page=²"):
        assert client.get(url).status_code == 200, url
