"""The citizen's path through the domain functions and the test client:
sign, confirm, count, change, withdraw, sign again, ask for the links."""
from __future__ import annotations

import importlib
import re
from datetime import date, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from hypothesis import given, settings, strategies as st
from sqlalchemy import func, select

from conftest import (
    Signer, brussels_today, csrf_token, deliver, links, make_letter, make_signature, outbox_messages, sign_form,
)
from signatory import signing, tokens
from signatory.extensions import db
from signatory.models import Letter, OutboxMessage, Signature


def _count(model, **where):
    query = select(func.count()).select_from(model)
    for name, value in where.items():
        query = query.where(getattr(model, name) == value)
    return db.session.scalar(query)


def test_a_citizen_signs_confirms_and_is_counted(app, client, signer):
    response = signer.sign(paragraph="Omdat samenleven werk is van iedereen.")
    assert response.status_code == 303
    assert urlsplit(response.headers["Location"]).path == "/letters/brief/thanks"
    assert "Set-Cookie" not in response.headers, "signing keeps no session"
    thanks = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "mailbox" in thanks

    api = client.get("/api/letters/brief").get_json()
    assert api["signatures"] == 0, "an unconfirmed signature does not count"

    deliver(app)
    [message] = outbox_messages(app)
    assert message["To"] == "ayse@example.org"
    [confirm_link] = links(message, "confirm")
    [manage_link] = links(message, "manage")
    assert confirm_link.startswith("http://127.0.0.1:5000/confirm/")
    assert manage_link.startswith("http://127.0.0.1:5000/manage/")

    confirmed = signer.confirm()
    assert confirmed.status_code == 200
    assert "telt" in confirmed.get_data(as_text=True)
    assert client.get("/api/letters/brief").get_json()["signatures"] == 1
    assert "1</strong>" in client.get("/letters/brief").get_data(as_text=True)

    again = signer.confirm()
    assert again.status_code == 200
    assert client.get("/api/letters/brief").get_json()["signatures"] == 1, "confirming twice counts once"


def test_the_thanks_link_shows_the_address_to_whoever_signed_only(app, client, letter):
    """The address travels to the thanks page in its URL, not in a session:
    sealed (not readable in the URL), signed (no one makes one for another
    address), bound to the letter, and gone after SENT_TO_MAX_AGE."""
    import base64
    import time

    page = client.get("/letters/brief").get_data(as_text=True)
    signed = client.post("/letters/brief/sign", data={**sign_form(email="ayse@example.org"), "csrf_token": csrf_token(page)})
    location = signed.headers["Location"]
    sent = parse_qs(urlsplit(location).query)["sent"][0]
    thanks = client.get(location)
    assert "ayse@example.org" in thanks.get_data(as_text=True)
    assert "Set-Cookie" not in thanks.headers and thanks.headers["Cache-Control"] == "no-store"
    assert b"ayse" not in base64.urlsafe_b64decode(sent + "=" * (-len(sent) % 4)), "sealed, not merely encoded"
    forged = sent[:5] + ("A" if sent[5] != "A" else "B") + sent[6:]
    with app.app_context():
        make_letter(slug="andere")
    for url in (f"/letters/brief/thanks?sent={forged}", f"/letters/andere/thanks?sent={sent}", "/letters/brief/thanks"):
        assert "ayse@example.org" not in client.get(url).get_data(as_text=True), url
    with app.app_context():
        assert tokens.read_sent_to("brief", sent) == "ayse@example.org"
        assert tokens.read_sent_to("brief", sent, now=time.time() + tokens.SENT_TO_MAX_AGE - 5) == "ayse@example.org"
        assert tokens.read_sent_to("brief", sent, now=time.time() + tokens.SENT_TO_MAX_AGE + 2) is None, "expired"
        assert tokens.read_sent_to("brief", sent, now=time.time() - 3600) is None, "not from the future"
        assert tokens.read_sent_to("brief", sent[:-4]) is None and tokens.read_sent_to("brief", "!!") is None


def test_signing_queues_exactly_one_email_in_the_same_transaction(app, signer):
    signer.sign()
    with app.app_context():
        assert _count(Signature) == 1
        assert _count(OutboxMessage) == 1
        message = db.session.scalar(select(OutboxMessage))
        assert message.kind == "confirm"


def test_every_paper_form_field_is_stored(app, signer):
    signer.sign(
        kind="organisation", organisation="Buurtwerk 't Pleintje", function="voorzitter",
        address="Kerkstraat 1\n9000 Gent", place="Gent", paragraph="Wij tekenen mee.",
        consent_name=True, consent_paragraph=False, consent_notify=True,
    )
    with app.app_context():
        signature = db.session.scalar(select(Signature))
        assert (signature.first_name, signature.last_name) == ("Ayşe", "Yılmaz")
        assert signature.kind == "organisation"
        assert signature.organisation == "Buurtwerk 't Pleintje"
        assert signature.function == "voorzitter"
        assert signature.address == "Kerkstraat 1\n9000 Gent"
        assert signature.place == "Gent"
        assert signature.paragraph == "Wij tekenen mee."
        assert signature.paragraph_status == "pending"
        assert (signature.consent_name, signature.consent_paragraph, signature.consent_notify) == (True, False, True)
        assert signature.status == "unconfirmed"
        assert signature.source == "online"
        assert signature.created_at is not None
        assert signature.ip_hash and "127.0.0.1" not in signature.ip_hash


def test_consents_are_unticked_until_the_signer_ticks_them(app, signer):
    import re

    html = signer.open().get_data(as_text=True)
    for name in ("consent_name", "consent_paragraph", "consent_notify"):
        [tag] = re.findall(rf'<input[^>]*name="{name}"[^>]*>', html)
        assert "checked" not in tag and 'type="checkbox"' in tag and 'value="y"' in tag
    [person] = re.findall(r'<input[^>]*value="person"[^>]*>', html)
    [organisation] = re.findall(r'<input[^>]*value="organisation"[^>]*>', html)
    assert "checked" in person and "checked" not in organisation, "person is preselected"
    signer.sign(consent_name=False, consent_paragraph=False, consent_notify=False)
    with app.app_context():
        signature = db.session.scalar(select(Signature))
        assert not (signature.consent_name or signature.consent_paragraph or signature.consent_notify)


def test_organisation_needs_its_name(signer):
    response = signer.sign(kind="organisation", organisation="")
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "Vul de naam van de organisatie in." in html
    assert 'value="Ayşe"' in html, "what the signer typed comes back"


@pytest.mark.parametrize("fields", [{}, {"first_name": "", "kind": "organisation", "organisation": ""}])
def test_a_signing_form_is_freed_without_the_cyclic_garbage_collector(app, letter, fields):
    """A submitted form, valid or not, with a field rendered, leaves no
    reference cycle behind (DESIGN §8: a hundred objects per signing
    otherwise)."""
    import gc
    import weakref

    from signatory.forms import SignForm, letter_form_token

    with app.app_context():
        token = letter_form_token(letter.id)
    data = sign_form(**fields, csrf_token=token)
    with app.test_request_context(f"/letters/{letter.slug}/sign", method="POST", data=data):
        form = SignForm.for_letter(letter.id)
        assert form.validate() is not bool(fields)
        assert 'value="organisation"' in str(form.kind) and form.kind.data == (fields.get("kind") or "person")
        kept = weakref.ref(form)
        gc.disable()
        try:
            del form
            assert kept() is None, "the form outlived its last reference"
        finally:
            gc.enable()


def test_validation_errors_come_back_with_the_form_filled_in(app, signer):
    response = signer.sign(first_name="", email="geen-adres", place="Sint-Niklaas", paragraph="Mijn paragraaf")
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert 'class="error-summary"' in html
    assert html.index('class="error-summary"') < html.index('name="first_name"'), "summary on top"
    assert "Vul uw voornaam in." in html
    assert "Dit is geen geldig e-mailadres." in html
    assert 'value="Sint-Niklaas"' in html
    assert "Mijn paragraaf</textarea>" in html
    with app.app_context():
        assert _count(Signature) == 0 and _count(OutboxMessage) == 0


def test_missing_form_token_answers_400_with_the_form_filled_in(app, client, letter):
    response = client.post("/letters/brief/sign", data=sign_form(place="Lokeren"))
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "verstuur het opnieuw" in html
    assert 'value="Lokeren"' in html
    assert 'value="ayse@example.org"' in html
    with app.app_context():
        assert _count(Signature) == 0


def test_rate_limit_answers_429_with_the_form_filled_in(monkeypatch, tmp_path, sqlite_template):
    import shutil

    from conftest import build_app

    target = tmp_path / "db.sqlite3"
    shutil.copyfile(sqlite_template, target)
    app = build_app(monkeypatch, tmp_path, f"sqlite:///{target}", SIGN_RATE_LIMIT="2 per minute")
    with app.app_context():
        make_letter()
    signer = Signer(app, app.test_client())
    assert signer.sign(email="a@example.org").status_code == 303
    assert signer.sign(email="b@example.org").status_code == 303
    response = signer.sign(email="c@example.org", place="Zele")
    assert response.status_code == 429
    html = response.get_data(as_text=True)
    assert 'value="Zele"' in html and 'value="c@example.org"' in html
    assert "Wacht een minuut" in html


def test_a_second_signature_with_the_same_address_looks_the_same_and_mails_the_owner(app, signer):
    first = signer.sign()
    second = signer.sign(email="AYSE@Example.org", first_name="Iemand")
    assert first.status_code == second.status_code == 303
    # The same page; its link differs as every two signings' links do (a fresh seal).
    first_url, second_url = urlsplit(first.headers["Location"]), urlsplit(second.headers["Location"])
    assert first_url.path == second_url.path
    with app.app_context():
        assert _count(Signature) == 1
    deliver(app)
    confirm_mail, links_mail = outbox_messages(app)
    assert links(links_mail, "manage"), "the owner gets their links again"
    assert links_mail["To"] == "ayse@example.org", "mail goes to the address of the signature"


def test_one_person_may_sign_for_themselves_and_for_each_organisation(app, letter):
    with app.app_context():
        make_signature(letter)
        make_signature(letter, kind="organisation", organisation="Vzw Een")
        make_signature(letter, kind="organisation", organisation="Vzw Twee")
        duplicate = signing.sign(letter.row(), signing.SignatureDetails(
            first_name="A", last_name="B", kind="organisation", organisation="VZW EEN", email="Ayse@example.org"))
        assert duplicate.duplicate
        db.session.commit()
        assert _count(Signature) == 3
        assert db.session.get(Letter, letter.id).signature_count == 3
        assert db.session.get(Letter, letter.id).organisation_count == 2


def test_the_database_enforces_one_live_signature(app, letter):
    from sqlalchemy.exc import IntegrityError

    with app.app_context():
        make_signature(letter)
        clone = Signature(letter_id=letter.id, first_name="x", last_name="y", email="ayse@example.org",
                          email_key="ayse@example.org", organisation_key="", status="confirmed")
        db.session.add(clone)
        with pytest.raises(IntegrityError):
            db.session.flush()
        db.session.rollback()


def test_withdrawn_may_sign_again_rejected_may_not(app, letter):
    with app.app_context():
        signature = make_signature(letter)
        signing.withdraw(signature)
        db.session.commit()
        assert db.session.get(Letter, letter.id).signature_count == 0
        again = make_signature(letter)
        assert again.id != signature.id and again.status == "confirmed"
        again.status = "rejected"
        db.session.commit()
        outcome = signing.sign(letter.row(), signing.SignatureDetails(first_name="A", last_name="B", email="ayse@example.org"))
        db.session.commit()
        assert outcome.duplicate
        assert _count(Signature, status="unconfirmed") == 0


def test_email_key_is_normalised_and_casefolded(ctx):
    assert signing.normalise_email("Ayse@EXAMPLE.org") == ("Ayse@EXAMPLE.org", "ayse@example.org")
    with pytest.raises(signing.SigningError):
        signing.normalise_email("not an address")


def test_a_domain_is_checked_once_for_all_its_addresses(ctx):
    check = importlib.import_module("email_validator.validate_email").validate_email_domain_name
    check.cache_clear()
    signing._email_key.cache_clear()
    keys = [signing.normalise_email(f"Signer{number}@Voorbeeld.BE")[1] for number in range(5)]
    assert keys == [f"signer{number}@voorbeeld.be" for number in range(5)]
    assert (check.cache_info().misses, check.cache_info().hits) == (1, 4)
    assert signing.normalise_email("jan@xn--bcher-kva.be")[1] == "jan@bücher.be", "the verdict is email-validator's own"
    for attempt in range(2):
        with pytest.raises(signing.SigningError):
            signing.normalise_email(f"signer{attempt}@voor_beeld.be")
    assert check.cache_info().misses == 4, "a refused domain is checked again every time"


def test_manage_link_changes_and_withdraws_with_a_post(app, client, letter, signer):
    signer.sign(paragraph="Eerste versie.")
    signer.confirm()
    with app.app_context():
        signature = db.session.scalar(select(Signature))
        signature.paragraph_status = "approved"
        db.session.commit()
        signature_id = signature.id
    manage = signer.manage_url
    page = client.get(manage)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Eerste versie." in html
    data = sign_form(paragraph="Tweede versie.", place="Brugge")
    for name in ("kind", "organisation", "email"):
        data.pop(name)
    data["csrf_token"] = csrf_token(html)
    assert client.post(manage, data=data).status_code == 303
    with app.app_context():
        changed = db.session.get(Signature, signature_id)
        assert changed.paragraph == "Tweede versie." and changed.place == "Brugge"
        assert changed.paragraph_status == "pending", "a changed paragraph goes back to moderation"
    # GET never withdraws
    client.get(f"{manage}/withdraw")
    with app.app_context():
        assert db.session.get(Signature, signature_id).status == "confirmed"
    html = client.get(manage).get_data(as_text=True)
    response = client.post(f"{manage}/withdraw", data={"csrf_token": csrf_token(html)})
    assert response.status_code == 200
    with app.app_context():
        assert db.session.get(Signature, signature_id).status == "withdrawn"
        assert letter.row().signature_count == 0


def test_confirmation_link_expires_after_30_days(app, client, letter, monkeypatch):
    import time as time_module

    with app.app_context():
        signature = make_signature(letter, confirmed=False)
        token = tokens.make_token(tokens.CONFIRM, signature.id)
    real_time = time_module.time
    monkeypatch.setattr("itsdangerous.timed.time.time", lambda: real_time() + 31 * 24 * 3600)
    response = client.get(f"/confirm/{token}")
    assert response.status_code == 410
    assert "verlopen" in response.get_data(as_text=True)
    monkeypatch.setattr("itsdangerous.timed.time.time", lambda: real_time() + 29 * 24 * 3600)
    assert client.get(f"/confirm/{token}").status_code == 200


def test_tokens_are_single_purpose(app, client, letter):
    with app.app_context():
        signature = make_signature(letter, confirmed=False)
        manage_token = tokens.make_token(tokens.MANAGE, signature.id)
        confirm_token = tokens.make_token(tokens.CONFIRM, signature.id)
    assert client.get(f"/confirm/{manage_token}").status_code == 410
    assert client.get(f"/manage/{confirm_token}").status_code == 410
    assert client.get("/confirm/garbage").status_code == 410


def test_signature_made_before_the_deadline_counts_when_confirmed_later(app, client, letter):
    with app.app_context():
        signature = make_signature(letter, confirmed=False)
        token = tokens.make_token(tokens.CONFIRM, signature.id)
        letter.row().deadline = brussels_today() - timedelta(days=2)
        db.session.commit()
    assert client.get("/api/letters/brief").get_json()["status"] == "closed"
    assert client.get(f"/confirm/{token}").status_code == 200
    assert client.get("/api/letters/brief").get_json()["signatures"] == 1


def test_send_my_link_again_answers_the_same_for_any_address(app, client, letter):
    with app.app_context():
        make_signature(letter, confirmed=False)
    page = client.get("/letters/brief/resend").get_data(as_text=True)
    known = client.post("/letters/brief/resend", data={"email": "ayse@example.org", "csrf_token": csrf_token(page)})
    unknown = client.post("/letters/brief/resend", data={"email": "nobody@example.org", "csrf_token": csrf_token(page)})
    assert known.status_code == unknown.status_code == 200
    strip = lambda r: r.get_data(as_text=True).replace("ayse@example.org", "X").replace("nobody@example.org", "X")
    assert strip(known) == strip(unknown)
    deliver(app)
    messages = outbox_messages(app)
    assert [m["To"] for m in messages].count("ayse@example.org") == 2
    assert links(messages[-1], "confirm") and links(messages[-1], "manage")


def test_closed_and_published_letters_say_so_instead_of_the_form(app, client):
    with app.app_context():
        make_letter("oud", deadline=brussels_today() - timedelta(days=1))
        make_letter("klaar", state="published")
        make_letter("dicht", state="closed")
        make_letter("ontwerp", state="draft")
    for slug in ("oud", "klaar", "dicht"):
        response = client.get(f"/letters/{slug}")
        assert response.status_code == 200
        html = response.get_data(as_text=True)
        assert 'class="form sign-form"' not in html and f'action="/letters/{slug}/sign' not in html
    assert "afgesloten" in client.get("/letters/oud").get_data(as_text=True)
    assert "gepubliceerd" in client.get("/letters/klaar").get_data(as_text=True)
    assert client.get("/letters/ontwerp").status_code == 404
    assert client.get("/api/letters/ontwerp").status_code == 404
    token = csrf_token(client.get("/letters/oud/resend").get_data(as_text=True))  # same session token
    refused = client.post("/letters/oud/sign", data={**sign_form(paragraph="Mijn tekst."), "csrf_token": token})
    assert refused.status_code == 409
    assert "Mijn tekst." in refused.get_data(as_text=True), "the writer gets their paragraph back"
    with app.app_context():
        assert _count(Signature) == 0


def test_deadline_is_inclusive_until_midnight_in_the_letters_time_zone(ctx):
    from datetime import datetime, timezone

    letter = Letter(slug="x", title="x", state="open", deadline=date(2026, 6, 12), timezone="Europe/Brussels")
    # 23:30 Brussels time (summer: UTC+2) on the deadline day is still open
    assert letter.status_at(datetime(2026, 6, 12, 21, 30, tzinfo=timezone.utc)) == "open"
    # 00:30 Brussels time the day after is closed
    assert letter.status_at(datetime(2026, 6, 12, 22, 30, tzinfo=timezone.utc)) == "closed"
    letter.timezone = "America/New_York"
    assert letter.status_at(datetime(2026, 6, 13, 2, 0, tzinfo=timezone.utc)) == "open"


def test_the_page_says_tot_en_met(app, client):
    with app.app_context():
        make_letter(deadline=date(2030, 6, 12))
    html = client.get("/letters/brief", headers={"Accept-Language": "nl"}).get_data(as_text=True)
    assert "tot en met 12 juni 2030" in html


def test_signatories_page_shows_only_consenting_confirmed_names(app, client, letter):
    with app.app_context():
        make_signature(letter, first_name="Zichtbaar", last_name="Persoon", email="a@example.org", function="docent", place="Aalst")
        make_signature(letter, first_name="Anoniem", last_name="Persoon", email="b@example.org", consent_name=False)
        make_signature(letter, first_name="Onbevestigd", last_name="Persoon", email="c@example.org", confirmed=False)
        make_signature(letter, first_name="Jan", last_name="Vos", email="d@example.org", kind="organisation", organisation="Vzw De Vos")
    html = client.get("/letters/brief/signatories").get_data(as_text=True)
    assert "Zichtbaar Persoon" in html and "docent" in html and "Aalst" in html
    assert "Vzw De Vos" in html and "organisatie" in html
    assert "Anoniem" not in html and "Onbevestigd" not in html
    assert "@example.org" not in html


def test_signatories_are_keyset_paginated(app, client, letter):
    from signatory.demo import top_up_signatures

    with app.app_context():
        top_up_signatures(letter.row(), 130)
        db.session.commit()
        named = _count(Signature, consent_name=True)
        expected = {
            (s.organisation if s.kind == "organisation" else s.display_name)
            for s in db.session.scalars(select(Signature).where(Signature.consent_name.is_(True)))
        }
        first = {
            (s.organisation if s.kind == "organisation" else s.display_name)
            for s in db.session.scalars(select(Signature).where(Signature.first_signatory.is_(True)))
        }
    assert len(expected) == named, "the sample names are distinct"
    seen, url, pages = [], "/letters/brief/signatories", 0
    while url:
        html = client.get(url).get_data(as_text=True)
        seen += [re.sub(r"<[^>]+>", "", chunk.split("</span>")[0]) for chunk in html.split('class="signatory__name">')[1:]]
        marker = 'rel="next" href="'
        url = html.split(marker)[1].split('"')[0].replace("&amp;", "&") if marker in html else None
        pages += 1
    listed = seen[len(first):]  # page one starts with the first signatories
    assert set(seen[:len(first)]) == first
    assert pages == 3 and len(listed) == named and set(listed) == expected, "every name once, none skipped"
    assert client.get("/letters/brief/signatories?after=%%%").status_code == 400


def test_api_json_shape(app, client):
    with app.app_context():
        letter = make_letter(deadline=date(2030, 6, 12))
        make_signature(letter)
        make_signature(letter, email="org@example.org", kind="organisation", organisation="Vzw")
    response = client.get("/api/letters/brief")
    data = response.get_json()
    assert {"slug", "title", "status", "deadline", "signatures", "goal", "counts"} <= set(data)
    assert data["slug"] == "brief" and data["status"] == "open" and data["deadline"] == "2030-06-12"
    assert data["signatures"] == 2 and data["goal"] == 100
    assert data["counts"]["organisations"] == 1 and data["counts"]["persons"] == 1
    # Current at once (DESIGN §6): a shared cache revalidates it every time.
    assert "no-cache" in response.headers["Cache-Control"] and response.headers.get("ETag")
    again = client.get("/api/letters/brief", headers={"If-None-Match": response.headers["ETag"]})
    assert again.status_code == 304


def test_security_headers_on_every_response(client, letter):
    for path in ("/", "/letters/brief", "/api/letters/brief", "/nope", "/static/style.css"):
        response = client.get(path)
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Referrer-Policy"] == "same-origin"
        policy = response.headers["Content-Security-Policy"]
        assert "script-src 'self'" in policy and "unsafe-inline" not in policy
        assert "frame-ancestors 'none'" in policy


def test_open_graph_tags_share_title_and_call(client, letter):
    html = client.get("/letters/brief").get_data(as_text=True)
    assert '<meta property="og:title" content="Integratie: hoezo mislukt?">' in html
    assert '<meta property="og:description" content="Teken mee!">' in html
    assert 'name="twitter:card"' in html


def test_privacy_statement_names_the_controller_and_retention(app, client, letter):
    html = client.get("/letters/brief/privacy").get_data(as_text=True)
    assert "Testorganisatie vzw" in html and "info@example.org" in html
    assert "30 dagen" in html and "12 maanden" in html
    app.config["ADDRESS_RETENTION_MONTHS"] = 6
    assert "6 maanden na de publicatie" in client.get("/letters/brief/privacy").get_data(as_text=True)


def test_only_the_embed_view_may_be_framed(client, letter):
    embed = client.get("/letters/brief/embed")
    assert embed.status_code == 200
    assert "frame-ancestors *" in embed.headers["Content-Security-Policy"]
    assert "X-Frame-Options" not in embed.headers
    assert "Integratie: hoezo mislukt?" in embed.get_data(as_text=True)
    page = client.get("/letters/brief")
    assert page.headers["X-Frame-Options"] == "DENY"


def test_after_publication_the_manage_link_changes_nothing(app, client, letter):
    from signatory import publication

    with app.app_context():
        signature = make_signature(letter, place="Gent")
        token = tokens.make_token(tokens.MANAGE, signature.id)
        signature_id = signature.id
        publication.publish(letter.row(), date(2030, 6, 20), "Verstuurd")
        db.session.commit()
    assert client.get(f"/manage/{token}").status_code == 410
    form_token = csrf_token(client.get("/letters/brief/resend").get_data(as_text=True))
    posted = client.post(f"/manage/{token}", data={**sign_form(place="Elders"), "csrf_token": form_token})
    assert posted.status_code == 410
    assert client.post(f"/manage/{token}/withdraw", data={"csrf_token": form_token}).status_code == 410
    with app.app_context():
        frozen = db.session.get(Signature, signature_id)
        assert frozen.status == "confirmed" and frozen.place == "Gent"


def test_home_lists_open_and_published_letters_not_drafts(app, client):
    with app.app_context():
        make_letter("open-brief", title="Open brief")
        make_letter("klaar", state="published", title="Gepubliceerde brief")
        make_letter("ontwerp", state="draft", title="Ontwerpbrief")
    html = client.get("/").get_data(as_text=True)
    assert "Open brief" in html and "Gepubliceerde brief" in html
    assert "Ontwerpbrief" not in html and "/letters/ontwerp" not in html


def test_send_my_link_again_keeps_the_address_on_a_lost_form_token(client, letter):
    response = client.post("/letters/brief/resend", data={"email": "ayse@example.org"})
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert 'value="ayse@example.org"' in html and "verstuur het opnieuw" in html


CLOCK_CHANGE_ZONES = ("Europe/Brussels", "America/Santiago", "America/Havana", "Asia/Beirut",
                      "America/Asuncion", "Pacific/Apia", "Australia/Lord_Howe", "UTC")


@settings(max_examples=400, deadline=None)
@given(
    deadline=st.dates(min_value=date(2000, 1, 2), max_value=date(2037, 12, 30)),
    zone=st.sampled_from(CLOCK_CHANGE_ZONES),
    offset_seconds=st.integers(min_value=-3 * 86400, max_value=3 * 86400),
)
def test_the_signing_path_closes_at_the_instant_the_deadline_passes(deadline, zone, offset_seconds):
    """The signing snapshot's closing instant agrees with the deadline rule
    (derived from the clock in the letter's time zone, DESIGN §3) at every
    moment around the deadline, also where a clock change skips midnight."""
    from signatory.models import deadline_closes_at, deadline_passed

    closes_at = deadline_closes_at(deadline, zone)
    for moment in (closes_at - timedelta(seconds=1), closes_at, closes_at + timedelta(seconds=offset_seconds)):
        assert (moment >= closes_at) == deadline_passed(deadline, zone, moment), (deadline, zone, moment)


def test_a_signing_target_is_signable_until_its_deadline_passes(monkeypatch):
    import signatory.letters as letters_module
    from signatory.letters import SigningTarget
    from signatory.models import deadline_closes_at

    target = SigningTarget(1, "brief", "open", date(2030, 6, 12), "Europe/Brussels", 1, "nl-BE")
    closing = deadline_closes_at(date(2030, 6, 12), "Europe/Brussels")
    assert closing.isoformat() == "2030-06-12T22:00:00+00:00", "midnight in Brussels, summer time"
    monkeypatch.setattr(letters_module.time, "time", lambda: closing.timestamp() - 0.001)
    assert target.is_signable
    monkeypatch.setattr(letters_module.time, "time", lambda: closing.timestamp())
    assert not target.is_signable
    assert SigningTarget(1, "brief", "open", None, "Europe/Brussels", 1, "nl-BE").is_signable
    assert not SigningTarget(1, "brief", "closed", None, "Europe/Brussels", 1, "nl-BE").is_signable
