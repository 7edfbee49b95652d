"""An organiser corrects a signature at /organise/signatures/<id>/edit
(issue 12.1, DESIGN §6): any field, with an optional reason; the audit log
keeps old and new values; a changed paragraph goes back to moderation unless
the organiser approves it; the signing rules still hold."""
from __future__ import annotations

import json
import re
from datetime import date

import pytest
from sqlalchemy import select

from conftest import csrf_token, login, make_letter, make_signature, make_user
from signatory import corrections, paper, privacy, publication
from signatory.extensions import db
from signatory.models import AuditEntry, Letter, Signature
from signatory.signing import SignatureDetails, SigningError


def _form(signature: Signature, **changes) -> dict:
    data = {
        "first_name": signature.first_name, "last_name": signature.last_name, "kind": signature.kind,
        "organisation": signature.organisation, "function": signature.function, "email": signature.email or "",
        "place": signature.place, "address": signature.address, "paragraph": signature.paragraph,
        "consent_name": "y" if signature.consent_name else "", "consent_paragraph": "y" if signature.consent_paragraph else "",
        "consent_notify": "y" if signature.consent_notify else "",
    }
    data.update(changes)
    return {name: value for name, value in data.items() if value not in ("", None, False)}


def _entries(signature_id: int) -> list[dict]:
    return [
        json.loads(entry.detail)
        for entry in db.session.scalars(
            select(AuditEntry).where(AuditEntry.signature_id == signature_id, AuditEntry.action == "signature.correct")
        )
    ]


def test_an_organiser_fixes_a_typo_through_the_form_and_the_log_keeps_old_and_new(app, client):
    with app.app_context():
        signature = make_signature(make_letter(), first_name="Sükrü", place="Gnek", paragraph="Mijn reden.")
        signature.paragraph_status = "approved"
        make_user(admin=True)
        db.session.commit()
        signature_id = signature.id
    login(client)
    page = client.get(f"/organise/signatures/{signature_id}/edit")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'value="Gnek"' in html and 'name="reason"' in html
    with app.app_context():
        data = _form(db.session.get(Signature, signature_id), first_name="Şükrü", place="Genk",
                     reason="Tikfout van het papieren formulier", csrf_token=csrf_token(html))
    response = client.post(f"/organise/signatures/{signature_id}/edit", data=data)
    assert response.status_code == 303 and response.headers["Location"].endswith(f"/organise/signatures/{signature_id}")
    with app.app_context():
        signature = db.session.get(Signature, signature_id)
        assert (signature.first_name, signature.place) == ("Şükrü", "Genk")
        assert signature.paragraph_status == "approved", "the paragraph did not change"
        (entry,) = _entries(signature_id)
        assert {"field": "first_name", "old": "Sükrü", "new": "Şükrü"} in entry["changes"]
        assert {"field": "place", "old": "Gnek", "new": "Genk"} in entry["changes"]
        assert entry["reason"] == "Tikfout van het papieren formulier"
    assert "2 velden gecorrigeerd." in client.get(f"/organise/signatures/{signature_id}").get_data(as_text=True)


def test_a_changed_paragraph_goes_back_to_moderation_unless_approved(app):
    with app.app_context():
        letter = make_letter()
        organiser = make_user(admin=True)
        first = make_signature(letter, email="a@example.org", paragraph="Eerst.")
        second = make_signature(letter, email="b@example.org", paragraph="Eerst.")
        for signature in (first, second):
            signature.paragraph_status = "approved"
        db.session.commit()
        revision = db.session.get(Letter, letter.id).data_revision
        corrections.correct(first, SignatureDetails(**{**vars(corrections.details_of(first)), "paragraph": "Daarna."}), organiser)
        corrections.correct(second, SignatureDetails(**{**vars(corrections.details_of(second)), "paragraph": "Daarna."}),
                            organiser, approve_paragraph=True)
        db.session.commit()
        assert first.paragraph_status == "pending"
        assert second.paragraph_status == "approved" and second.paragraph_moderated_by == organiser.id
        assert _entries(first.id)[0]["paragraph"] == "pending" and _entries(second.id)[0]["paragraph"] == "approved"
        assert db.session.get(Letter, letter.id).data_revision > revision, "the document's data changed"


def test_signing_as_an_organisation_keeps_the_counters_right(app):
    with app.app_context():
        letter = make_letter()
        organiser = make_user(admin=True)
        signature = make_signature(letter)
        assert db.session.get(Letter, letter.id).organisation_count == 0
        details = SignatureDetails(**{**vars(corrections.details_of(signature)), "kind": "organisation", "organisation": "Buurtwerk vzw"})
        corrections.correct(signature, details, organiser)
        db.session.commit()
        letter = db.session.get(Letter, letter.id)
        assert (letter.signature_count, letter.organisation_count) == (1, 1)
        assert signature.organisation_key == "buurtwerk vzw"


def test_the_signing_rules_hold_and_a_refusal_keeps_the_form(app, client):
    with app.app_context():
        letter = make_letter()
        make_signature(letter, email="taken@example.org")
        signature = make_signature(letter, email="mine@example.org")
        make_user(admin=True)
        signature_id = signature.id
        with pytest.raises(SigningError):
            corrections.correct(signature, SignatureDetails(**{**vars(corrections.details_of(signature)), "last_name": ""}),
                                make_user("other@example.org", admin=True))
        db.session.rollback()
    login(client)
    html = client.get(f"/organise/signatures/{signature_id}/edit").get_data(as_text=True)
    with app.app_context():
        data = _form(db.session.get(Signature, signature_id), email="Taken@Example.org", place="Nieuwe plaats",
                     csrf_token=csrf_token(html))
    response = client.post(f"/organise/signatures/{signature_id}/edit", data=data)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "al ondertekend" in page and 'value="Nieuwe plaats"' in page and 'id="error-summary"' in page
    stale = client.post(f"/organise/signatures/{signature_id}/edit", data={**data, "csrf_token": "stale"})
    assert stale.status_code == 400 and 'value="Nieuwe plaats"' in stale.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Signature, signature_id).email == "mine@example.org"


def test_addresses_are_logged_as_changed_without_their_values_and_erasure_blanks_the_rest(app):
    with app.app_context():
        letter = make_letter()
        organiser = make_user(admin=True)
        signature = paper.enter_form(
            letter, SignatureDetails(first_name="Jan", last_name="Peters", address="Kerkstraat 1", consent_name=True),
            source="paper", received_on=date.today(), organiser=organiser,
        )
        details = corrections.details_of(signature)
        details.last_name, details.address, details.email = "Peeters", "Kerkstraat 10", "jan@example.org"
        corrections.correct(signature, details, organiser, reason="adres aangevuld")
        db.session.commit()
        assert signature.email == "jan@example.org" and signature.email_key == "jan@example.org"
        (entry,) = _entries(signature.id)
        assert {"field": "address"} in entry["changes"] and {"field": "email"} in entry["changes"]
        assert "Kerkstraat" not in json.dumps(entry) and "jan@example.org" not in json.dumps(entry)
        privacy.erase(signature, organiser)
        db.session.commit()
        (entry,) = _entries(signature.id)
        assert "Peters" not in json.dumps(entry) and "Peeters" not in json.dumps(entry) and entry["erased"]
        assert [change["field"] for change in entry["changes"]] == ["last_name", "address", "email"]


def test_who_may_correct_and_when(app, client):
    with app.app_context():
        letter = make_letter()
        signature = make_signature(letter)
        make_user("stranger@example.org")
        signature_id, letter_id = signature.id, letter.id
    assert "/organise/login" in client.get(f"/organise/signatures/{signature_id}/edit").headers["Location"]
    login(client, "stranger@example.org")
    assert client.get(f"/organise/signatures/{signature_id}/edit").status_code == 404
    assert client.post(f"/organise/signatures/{signature_id}/edit", data={"first_name": "X"}).status_code in (400, 404)
    with app.app_context():
        publication.publish(db.session.get(Letter, letter_id), date(2030, 6, 20), "Verstuurd")
        make_user(admin=True)
        db.session.commit()
    admin = app.test_client()
    login(admin)
    frozen = admin.get(f"/organise/signatures/{signature_id}/edit")
    assert frozen.status_code == 303
    assert "kan niet meer gecorrigeerd" in admin.get(frozen.headers["Location"]).get_data(as_text=True)


def test_the_audit_log_reads_in_words(app, client):
    from signatory import moderation

    with app.app_context():
        letter = make_letter()
        organiser = make_user(admin=True)
        signature = make_signature(letter, place="Gnek", paragraph="Reden.", consent_notify=False)
        moderation.moderate(signature, "approve", organiser)
        details = corrections.details_of(signature)
        details.place, details.consent_notify, details.paragraph = "Genk", True, "Betere reden."
        corrections.correct(signature, details, organiser, reason="tikfout")
        db.session.commit()
        signature_id = signature.id
    login(client)
    for path in ("/organise/audit", f"/organise/signatures/{signature_id}"):
        html = client.get(path).get_data(as_text=True)
        assert "Paragraaf goedgekeurd" in html and "was: te beoordelen" in html, path
        assert "Handtekening gecorrigeerd" in html and "Gemeente: ‘Gnek’ → ‘Genk’" in html, path
        assert "Verwittigen bij publicatie: nee → ja" in html, path
        assert "de paragraaf gaat terug naar de moderatie" in html and "reden: tikfout" in html, path
        assert "paragraph.approve" not in html and "previous=" not in html and "signature.correct" not in html, path


def test_the_retention_rules_blank_corrections_of_withdrawn_and_unconfirmed_signatures(app):
    from datetime import timedelta

    from signatory.models import utcnow
    from signatory import signing

    with app.app_context():
        letter = make_letter()
        organiser = make_user(admin=True)
        withdrawn = make_signature(letter, email="gone@example.org", last_name="Weggegaan")
        waiting = make_signature(letter, email="wait@example.org", last_name="Wachtend", confirmed=False)
        for signature, name in ((withdrawn, "Weggegaan-X"), (waiting, "Wachtend-X")):
            details = corrections.details_of(signature)
            details.last_name = name
            corrections.correct(signature, details, organiser)
        signing.withdraw(withdrawn)
        db.session.commit()
        ids = [withdrawn.id, waiting.id]
        privacy.purge(now=utcnow() + timedelta(days=31))
        db.session.commit()
        for signature_id in ids:
            (entry,) = _entries(signature_id)
            assert "Weggegaan" not in json.dumps(entry) and "Wachtend" not in json.dumps(entry)
            assert entry["erased"] and entry["changes"] == [{"field": "last_name"}]


LONG = " ".join(["Dit is een zin die de paragraaf langer maakt dan tien lijnen in het document."] * 14)
TEN_LINES = "De paragraaf neemt"


def _summary(html: str) -> str:
    return html.split('id="error-summary"')[1].split("</div>")[0]


def test_a_corrected_paragraph_obeys_the_ten_line_rule_and_the_form_says_so(app, client):
    # The same rule as for a signed paragraph (corrections.correct), worded
    # for the organiser, next to the field and in the summary; alone, or
    # together with the form's other mistakes.
    with app.app_context():
        signature = make_signature(make_letter(), paragraph="Kort.")
        organiser = make_user(admin=True)
        signature_id = signature.id
        with pytest.raises(SigningError) as refused:
            corrections.correct(signature, SignatureDetails(**{**vars(corrections.details_of(signature)), "paragraph": LONG}),
                                organiser)
        assert refused.value.field == "paragraph" and str(refused.value.message).startswith(TEN_LINES)
        db.session.rollback()
    login(client)
    url = f"/organise/signatures/{signature_id}/edit"
    token = csrf_token(client.get(url).get_data(as_text=True))
    with app.app_context():
        data = _form(db.session.get(Signature, signature_id), paragraph=LONG, csrf_token=token)
    for changes, fields in [({}, ["paragraph"]), ({"first_name": ""}, ["first_name", "paragraph"])]:
        response = client.post(url, data={**data, **changes})
        assert response.status_code == 422
        html = response.get_data(as_text=True)
        summary = _summary(html)
        assert re.findall(r'href="#([a-z_]+)"', summary) == fields, changes
        assert TEN_LINES in summary and "Uw paragraaf" not in html
        assert 'id="paragraph-error"' in html
    with app.app_context():
        assert db.session.get(Signature, signature_id).paragraph == "Kort."
        assert not _entries(signature_id)


def test_a_paper_forms_overridden_ten_line_rule_stays_overridden_when_corrected(app, client):
    # The override and its audited reason were given once, on entry: a
    # correction of another field neither refuses the paragraph nor, when
    # the form has another mistake, reports it.
    with app.app_context():
        letter = make_letter()
        organiser = make_user(admin=True)
        details = SignatureDetails(first_name="Lange", last_name="Tekst", paragraph=LONG, consent_paragraph=True)
        signature = paper.enter_form(letter, details, source="paper", received_on=None, organiser=organiser,
                                     override_reason="Afgesproken met de auteur")
        db.session.commit()
        signature_id = signature.id
    login(client)
    url = f"/organise/signatures/{signature_id}/edit"
    token = csrf_token(client.get(url).get_data(as_text=True))
    with app.app_context():
        data = _form(db.session.get(Signature, signature_id), csrf_token=token)
    refused = client.post(url, data={**data, "first_name": "", "place": "Gent"})
    assert refused.status_code == 422
    assert re.findall(r'href="#([a-z_]+)"', _summary(refused.get_data(as_text=True))) == ["first_name"]
    assert client.post(url, data={**data, "place": "Gent"}).status_code == 303
    with app.app_context():
        signature = db.session.get(Signature, signature_id)
        assert signature.place == "Gent" and signature.line_rule_override == "Afgesproken met de auteur"
        assert signature.paragraph == paper.normalise_paragraph(LONG)
