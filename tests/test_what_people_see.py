"""What signers and recipients see (issue 12): the address the link went
to, how one will appear (and where to change it), withdrawing asks once
more, the published page opens with the document, one voice ("u"), names
isolated for right-to-left scripts, fonts for scripts a phone may lack."""
from __future__ import annotations

import re
from datetime import date

from sqlalchemy import select

from conftest import csrf_token, deliver, links, make_letter, make_signature, outbox_messages, path_of, plain_text, sign_form
from signatory import publication, tokens
from signatory.extensions import db
from signatory.models import Signature

INFORMAL = re.compile(r"\b(je|jij|jou|jouw|jezelf)\b", re.IGNORECASE)


def visible_text(html: str) -> str:
    """The page's text as read, without tags, scripts or attribute values."""
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).replace(" ,", ",").strip()


def _sign(client, **fields):
    page = client.get("/letters/brief").get_data(as_text=True)
    return client.post("/letters/brief/sign", data={**sign_form(**fields), "csrf_token": csrf_token(page)})


def test_the_thanks_page_shows_the_address_and_how_to_fix_a_typo(app, client):
    with app.app_context():
        make_letter()
    response = _sign(client, email="sukru@gmail.con")
    assert response.status_code == 303
    thanks = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "sukru@gmail.con" in thanks
    assert "Een tikfout in het adres?" in thanks and 'href="/letters/brief#sign"' in thanks
    assert "sukru@gmail.con" not in client.get("/letters/brief/thanks").get_data(as_text=True), "shown once"


def test_the_thanks_page_is_the_same_for_an_address_that_signed_before(app, client):
    with app.app_context():
        make_signature(make_letter(), email="known@example.org")
    first = client.get(_sign(client, email="known@example.org").headers["Location"]).get_data(as_text=True)
    second = client.get(_sign(client, email="new@example.org").headers["Location"]).get_data(as_text=True)
    # Each link to the page carries its own sealed address (`sent=`).
    unsealed = lambda page, email: re.sub(r"sent=[\w.-]+", "sent=…", page).replace(email, "X")
    assert unsealed(first, "known@example.org") == unsealed(second, "new@example.org")


def _confirmed_page(app, client, **fields):
    _sign(client, **fields)
    deliver(app)
    message = outbox_messages(app)[-1]
    confirm = links(message, "confirm")[0]
    return message, client.get(path_of(confirm)).get_data(as_text=True)


def test_confirmed_page_shows_exactly_how_one_appears_with_the_manage_link(app, client):
    with app.app_context():
        make_letter()
    _message, html = _confirmed_page(
        app, client, first_name="Şükrü", last_name="Öztürk", function="maatschappelijk werker", place="Genk",
        email="sukru@example.org", paragraph="Omdat samenleven werk is.",
    )
    text = visible_text(html)
    assert "Şükrü Öztürk, maatschappelijk werker — Genk · paragraaf: na nalezing" in text
    assert '<bdi dir="auto">Şükrü Öztürk</bdi>' in html
    manage = re.search(r'href="(/manage/[^"]+)"', html).group(1)
    assert client.get(manage).status_code == 200


def test_an_unticked_name_consent_is_stated_plainly(app, client):
    with app.app_context():
        make_letter()
    _message, html = _confirmed_page(app, client, consent_name=False, email="anon@example.org", paragraph="Anoniem.")
    text = visible_text(html)
    assert "zonder naam · paragraaf: na nalezing" in text
    assert "u wordt geteld bij ‘en … anderen" in text
    assert "een ondertekenaar uit Gent" in text, "the anonymous attribution of the paragraph"


def test_the_confirmation_mail_says_how_one_appears_without_echoing_typed_text(app, client):
    with app.app_context():
        make_letter()
    _sign(client, email="mail@example.org", function="Klik https://evil.example", place="Herstel via evil.example",
          paragraph="Uw account is geblokkeerd, herstel via https://evil.example", consent_name=False)
    deliver(app)
    message = outbox_messages(app)[-1]
    text = plain_text(message)
    html = message.get_body(preferencelist=("html",)).get_content()
    assert "Zo verschijnt u na de bevestiging:" in text and "zonder naam" in text
    assert "Paragraaf: na nalezing door de organisatoren, zonder uw naam." in text
    for part in (text, html):
        assert "evil.example" not in part, "typed free text in mail to an unconfirmed address"


def test_the_manage_page_shows_the_paragraphs_moderation_state(app, client):
    with app.app_context():
        signature = make_signature(make_letter(), paragraph="Mijn reden.")
        signature.paragraph_status = "approved"
        db.session.commit()
        token = tokens.make_token(tokens.MANAGE, signature.id)
    text = visible_text(client.get(f"/manage/{token}").get_data(as_text=True))
    assert "paragraaf: goedgekeurd" in text
    assert "Uw paragraaf is goedgekeurd en verschijnt zo ondertekend: — Ayşe Yılmaz, Gent" in text


def test_withdrawing_asks_once_more(app, client):
    with app.app_context():
        signature = make_signature(make_letter())
        token = tokens.make_token(tokens.MANAGE, signature.id)
        signature_id = signature.id
    manage = client.get(f"/manage/{token}").get_data(as_text=True)
    assert f'href="/manage/{token}/withdraw"' in manage, "the manage page links to the question, it does not withdraw"
    question = client.get(f"/manage/{token}/withdraw")
    assert question.status_code == 200
    html = question.get_data(as_text=True)
    assert "Wilt u uw handtekening echt intrekken?" in html and f'action="/manage/{token}/withdraw"' in html
    with app.app_context():
        assert db.session.get(Signature, signature_id).status == "confirmed"
    assert client.post(f"/manage/{token}/withdraw", data={"csrf_token": csrf_token(html)}).status_code == 200
    with app.app_context():
        assert db.session.get(Signature, signature_id).status == "withdrawn"
    assert client.get(f"/manage/{token}/withdraw").status_code == 303, "nothing left to ask"


def test_public_pages_and_signer_mail_say_u(app, client):
    with app.app_context():
        signature = make_signature(make_letter(), paragraph="Reden.")
        manage = tokens.make_token(tokens.MANAGE, signature.id)
    pages = ["/", "/letters/brief", "/letters/brief/signatories", "/letters/brief/privacy", "/letters/brief/resend",
             f"/manage/{manage}", f"/manage/{manage}/withdraw"]
    thanks = _sign(client, email="nieuw@example.org").headers["Location"]
    pages.append(thanks)
    for path in pages:
        text = visible_text(client.get(path).get_data(as_text=True))
        assert not INFORMAL.findall(text), (path, INFORMAL.findall(text))
    deliver(app)
    for message in outbox_messages(app):
        assert not INFORMAL.findall(plain_text(message)), message["Subject"]
    # the signing form's labels: "Familienaam" where the surname is meant
    assert '<label for="last_name">Familienaam' in client.get("/letters/brief").get_data(as_text=True)
    english = client.get("/letters/brief?lang=en").get_data(as_text=True)  # the language is in the URL
    assert '<label for="last_name">Surname' in english and "What may we do with your details?" in english


def test_names_places_and_paragraphs_are_isolated_for_right_to_left_scripts(app, client):
    with app.app_context():
        letter = make_letter()
        make_signature(letter, email="a@example.org", first_name="محمد", last_name="\u202eالعلي", place="Antwerpen")
        make_signature(letter, email="b@example.org", first_name="אבי", last_name="כהן", place="ירושלים")
        make_signature(letter, email="c@example.org", first_name="ኃይሌ", last_name="ገብረሥላሴ", function="ሯጭ",
                       place="አዲስ አበባ", paragraph="ሰላም")
    html = client.get("/letters/brief/signatories").get_data(as_text=True)
    assert "\u202e" not in html, "bidi controls are dropped on input"
    for name in ("محمد العلي", "אבי כהן", "ኃይሌ ገብረሥላሴ"):
        assert f'<bdi dir="auto">{name}</bdi>' in html
    for place in ("Antwerpen", "ירושלים", "አዲስ አበባ"):
        assert f'<bdi dir="auto">{place}</bdi>' in html
    assert '<bdi dir="auto">ሯጭ</bdi>' in html
    form = client.get("/letters/brief").get_data(as_text=True)
    for field in ("first_name", "last_name", "place", "function", "organisation", "paragraph"):
        tag = re.search(rf'<(input|textarea)[^>]*\bid="{field}"[^>]*>', form).group(0)
        assert 'dir="auto"' in tag, field


def test_bundled_fonts_are_served_for_scripts_a_phone_may_lack(app, client):
    css = client.get("/static/style.css").get_data(as_text=True)
    face = re.search(r'@font-face \{[^}]*NotoSerifEthiopic-Regular\.ttf[^}]*\}', css).group(0)
    assert "U+1200-139F" in face and '"Signatory Ethiopic"' in face
    assert '"Signatory Ethiopic"' in re.search(r"--serif:[^;]*;", css).group(0)
    url = re.search(r'url\("\.\./fonts/(NotoSerifEthiopic-Regular\.ttf)"\)', css).group(1)
    font = client.get(f"/fonts/{url}")
    assert font.status_code == 200 and font.mimetype == "font/ttf" and font.data[:4] == b"\x00\x01\x00\x00"
    assert "max-age" in font.headers["Cache-Control"]
    for name in ("OFL.txt", "..%2f__init__.py", "NotoSerif-Regular.ttf", "nothing.ttf"):
        assert client.get(f"/fonts/{name}").status_code == 404, name


def _published(app):
    with app.app_context():
        letter = make_letter()
        signer = make_signature(letter, email="a@example.org", paragraph="Omdat het moet.")
        signer.paragraph_status = "approved"
        publication.publish(letter, date(2030, 6, 20), "Verstuurd naar alle leden van het Vlaams Parlement")
        publication.record_answer(letter, publication.AnswerInput(
            author_name="Jan Politicus", author_affiliation="Partij X", received_on=date(2030, 7, 1), body="Dank u.",
        ))
        db.session.commit()
        paragraph_id = db.session.scalar(select(Signature.id))
    return paragraph_id


def test_the_published_page_opens_with_the_document_for_recipients(app, client):
    paragraph_id = _published(app)
    html = client.get("/letters/brief").get_data(as_text=True)
    pdf = client.get("/letters/brief/document.pdf")
    import hashlib

    digest = hashlib.sha256(pdf.data).hexdigest()
    first_screen = html[: html.index('class="letter__body')]
    assert digest in first_screen
    assert "Download de verrijkte opinie (PDF)" in first_screen
    assert re.search(r"\d+ pagina('s)? · \d+ kB", visible_text(first_screen))
    assert "sha256sum" in first_screen, "one sentence on how to check"
    assert "20 juni 2030" in first_screen and "Vlaams Parlement" in first_screen
    assert 'href="#answer-' in first_screen and "Jan Politicus" in first_screen
    assert "<progress" not in html and "Doel:" not in html, "the goal bar is gone"
    assert f'id="p-{paragraph_id}"' in html and 'class="motivation__link"' in html
    css = client.get("/static/style.css").get_data(as_text=True)
    assert ".motivation:target" in css and re.search(r"\.motivation__link \{[^}]*min-height: 2\.75rem", css)
