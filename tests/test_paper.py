"""Paper and e-mailed forms: typed in by an organiser, counted at once,
paragraph approved on entry, the ten-line rule with an override kept in the
audit log; and the printable blank form."""
from __future__ import annotations

import io
import json
import re
from datetime import date, timedelta

import pytest
from pypdf import PdfReader
from sqlalchemy import func, select

from conftest import brussels_today, csrf_token, make_letter, make_signature, make_user
from signatory import paper
from signatory.extensions import db
from signatory.models import AuditEntry, Letter, OutboxMessage, Signature
from signatory.signing import SignatureDetails, SigningError

LONG = " ".join(["Dit is een zin die de paragraaf langer maakt dan tien lijnen in het document."] * 14)


def _form(**fields):
    data = {
        "source": "paper", "received_on": date.today().isoformat(), "first_name": "Marie", "last_name": "Van den Broeck",
        "kind": "person", "organisation": "", "function": "", "address": "Kerkstraat 1\r\n9000 Gent", "email": "",
        "place": "Gent", "paragraph": "Op papier geschreven.", "consent_name": "y", "consent_paragraph": "y",
    }
    data.update(fields)
    return {key: value for key, value in data.items() if value is not None}


def test_a_paper_form_counts_at_once_with_its_paragraph_approved(app, client, letter, admin, auth):
    auth.login(admin)
    page = client.get("/organise/letters/brief/paper")
    assert page.status_code == 200
    response = client.post("/organise/letters/brief/paper", data={**_form(), "csrf_token": csrf_token(page.get_data(as_text=True))})
    assert response.status_code == 303, response.get_data(as_text=True)
    assert client.get("/api/letters/brief").get_json()["signatures"] == 1
    with app.app_context():
        signature = db.session.scalar(select(Signature))
        assert signature.status == "confirmed" and signature.source == "paper"
        assert signature.paragraph_status == "approved" and signature.email is None
        assert signature.received_on == date.today() and signature.entered_by is not None
        assert signature.address == "Kerkstraat 1\n9000 Gent"
        assert db.session.scalar(select(OutboxMessage)) is None, "no confirmation mail for paper"
        assert db.session.scalar(select(AuditEntry).where(AuditEntry.action == "signature.paper_entry"))
    # Shown on the public page like any other.
    assert "Van den Broeck" in client.get("/letters/brief/signatories").get_data(as_text=True)


def test_a_mistake_keeps_what_was_typed(client, letter, admin, auth):
    auth.login(admin)
    token = csrf_token(client.get("/organise/letters/brief/paper").get_data(as_text=True))
    response = client.post("/organise/letters/brief/paper", data={**_form(first_name="", kind="organisation"), "csrf_token": token})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "Van den Broeck" in html and "Op papier geschreven." in html and "error-summary" in html
    long = client.post("/organise/letters/brief/paper", data={**_form(paragraph=LONG), "csrf_token": token})
    assert long.status_code == 422
    assert "lijnen" in long.get_data(as_text=True)


@pytest.mark.parametrize("form", ["paper", "correction"])
def test_typed_in_forms_want_the_organisations_name_and_a_real_address(app, client, letter, admin, auth, form):
    # The paper form and the correction form share these two rules; the
    # form checks them together with the other fields, in one summary.
    with app.app_context():
        signature_id = make_signature(db.session.get(Letter, letter.id), email="marie@example.org").id
    url = "/organise/letters/brief/paper" if form == "paper" else f"/organise/signatures/{signature_id}/edit"
    auth.login(admin)
    token = csrf_token(client.get(url).get_data(as_text=True))
    data = _form(first_name="", kind="organisation", organisation="", email="geen adres")
    response = client.post(url, data={**data, "csrf_token": token})
    assert response.status_code == 422
    summary = response.get_data(as_text=True).split('id="error-summary"')[1].split("</div>")[0]
    for field, message in [("first_name", ""), ("organisation", "Vul de naam van de organisatie in."),
                           ("email", "Dit is geen geldig e-mailadres.")]:
        assert f'href="#{field}"' in summary and message in summary, field
    with app.app_context():
        assert db.session.scalar(select(func.count(Signature.id))) == 1
        assert db.session.get(Signature, signature_id).email == "marie@example.org"


def _typed_in_form_url(app, letter, form: str) -> str:
    if form == "paper":
        return "/organise/letters/brief/paper"
    with app.app_context():
        signature_id = make_signature(db.session.get(Letter, letter.id), email="marie@example.org").id
    return f"/organise/signatures/{signature_id}/edit"


def _form_html(html: str) -> str:
    """The form as the organiser reads it: without its hidden inputs, whose
    random token may hold a lone "U" between a dot and a dash."""
    form = html.split('<form class="form card', 1)[1].split("</form>")[0]
    return re.sub(r'<input[^>]*type="hidden"[^>]*>', "", form)


@pytest.mark.parametrize("form", ["paper", "correction"])
def test_typed_in_forms_speak_about_the_signatory_not_to_them(app, client, letter, admin, auth, form):
    # The organiser types in someone else's data: "Vul de voornaam in.", not
    # the signing form's "Vul uw voornaam in."; hints alike. The public
    # signing form keeps addressing the signer as "u".
    url = _typed_in_form_url(app, letter, form)
    auth.login(admin)
    for language, messages, signers in [
        ("nl", ["Vul de familienaam in.", "Vul de voornaam in."], r"\b(u|uw)\b"),
        ("en", ["Enter the family name.", "Enter the first name."], r"\b(Enter your|your name|are you signing)\b"),
    ]:
        page = client.get(f"{url}?lang={language}").get_data(as_text=True)
        assert not re.search(signers, _form_html(page), re.IGNORECASE), language
        data = _form(first_name="", last_name="", kind="organisation", organisation="")
        response = client.post(f"{url}?lang={language}", data={**data, "csrf_token": csrf_token(page)})
        assert response.status_code == 422
        html = _form_html(response.get_data(as_text=True))
        for message in messages:
            assert message in html, (language, message)
        assert not re.search(signers, html, re.IGNORECASE), language
    signing = client.post("/letters/brief/sign", data={"first_name": "", "last_name": ""}).get_data(as_text=True)
    assert "Vul uw voornaam in." in signing and "Vul uw familienaam in." in signing


@pytest.mark.parametrize("form", ["paper", "correction"])
def test_the_error_summary_follows_the_order_of_the_fields_on_the_page(app, client, letter, admin, auth, form):
    # The page shows the family name first, as the printed form does; the
    # summary lists the mistakes in that order too, whatever the form class
    # declares.
    url = _typed_in_form_url(app, letter, form)
    auth.login(admin)
    token = csrf_token(client.get(url).get_data(as_text=True))
    too_long = "x" * 2001
    data = _form(received_on="", first_name="", last_name="", kind="organisation", organisation="",
                 function=too_long, address=too_long, email="geen adres", place=too_long,
                 paragraph="Een paragraaf\x00met een stuurteken.", override_reason=too_long, reason=too_long)
    response = client.post(url, data={**data, "csrf_token": token})
    assert response.status_code == 422
    html = _form_html(response.get_data(as_text=True))
    summary, fields = html.split('id="error-summary"')[1].split("</div>", 1)
    listed = re.findall(r'href="#([a-z_]+?)(?:-0)?"', summary)
    on_the_page = [name for name in re.findall(r'<(?:input|textarea|select)[^>]*\bid="([a-z_]+?)(?:-0)?"', fields)
                   if name in listed]
    on_the_page = list(dict.fromkeys(on_the_page))
    assert len(listed) >= 9, listed
    assert listed == on_the_page, listed


def test_the_ten_line_rule_can_be_overridden_with_a_reason(app):
    with app.app_context():
        letter = make_letter()
        user = make_user()
        details = SignatureDetails(first_name="Lange", last_name="Tekst", paragraph=LONG, consent_paragraph=True)
        with pytest.raises(SigningError) as refused:
            paper.enter_form(letter, details, source="paper", received_on=None, organiser=user)
        assert refused.value.field == "paragraph"
        details = SignatureDetails(first_name="Lange", last_name="Tekst", paragraph=LONG, consent_paragraph=True)
        signature = paper.enter_form(letter, details, source="email", received_on=None, organiser=user, override_reason="Afgesproken met de auteur")
        db.session.commit()
        assert signature.line_rule_override == "Afgesproken met de auteur"
        entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "paragraph.line_rule_override"))
        detail = json.loads(entry.detail)
        assert detail["reason"] == "Afgesproken met de auteur" and detail["lines"] > 10
        assert entry.user_id == user.id


def test_email_is_optional_but_unique(app):
    with app.app_context():
        letter = make_letter()
        user = make_user()
        make_signature(letter, email="online@example.org")
        with pytest.raises(SigningError) as duplicate:
            paper.enter_form(letter, SignatureDetails(first_name="A", last_name="B", email="Online@Example.org"), source="email", received_on=None, organiser=user)
        assert duplicate.value.field == "email"
        db.session.rollback()
        paper.enter_form(letter, SignatureDetails(first_name="A", last_name="B"), source="paper", received_on=None, organiser=user)
        paper.enter_form(letter, SignatureDetails(first_name="C", last_name="D"), source="paper", received_on=None, organiser=user)
        db.session.commit()
        assert letter.signature_count == 3


def test_forms_only_for_open_or_closed_letters(app):
    with app.app_context():
        draft = make_letter("ontwerp", state="draft")
        closed = make_letter("dicht", deadline=brussels_today() - timedelta(days=3))
        user = make_user()
        with pytest.raises(SigningError):
            paper.enter_form(draft, SignatureDetails(first_name="A", last_name="B"), source="paper", received_on=None, organiser=user)
        with pytest.raises(SigningError):
            paper.enter_form(closed, SignatureDetails(first_name="A", last_name="B"), source="fax", received_on=None, organiser=user)
        with pytest.raises(SigningError):
            paper.enter_form(closed, SignatureDetails(first_name="A", last_name="B"), source="paper", received_on=date.today() + timedelta(days=2), organiser=user)
        # A letter closed by the clock still takes the forms that were posted in time.
        paper.enter_form(closed, SignatureDetails(first_name="A", last_name="B"), source="paper", received_on=date.today(), organiser=user)


def test_blank_form_pdf(app, client, admin, auth):
    with app.app_context():
        make_letter(deadline=date(2031, 6, 12), title="Integratie: <b>hoezo</b> & mislukt?")
    auth.login(admin)
    response = client.get("/organise/letters/brief/form.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(response.data)).pages)
    text = " ".join(text.split())
    assert "Integratie: <b>hoezo</b> & mislukt?" in text
    assert "2031" in text and "info@example.org" in text
    assert "127.0.0.1:5000/letters/brief" in text
    assert "10" in text and "Handtekening" in text
    assert client.get("/organise/letters/brief/form.pdf").data == response.data, "the same bytes every time"
