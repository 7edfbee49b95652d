"""Publishing, the publication notice (once, to exactly who asked), answers,
reminders (issue 6)."""
from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import func, select

from conftest import (
    brussels_today, csrf_token, deliver, make_letter, make_signature, outbox_messages, plain_text, run_together,
    sign_form,
)
from signatory import publication, signing
from signatory.extensions import db
from signatory.models import Letter, OutboxMessage, Signature, utcnow


def _notices():
    return db.session.scalar(select(func.count()).select_from(OutboxMessage).where(OutboxMessage.kind == "publication"))


def _published_letter_with_signers():
    letter = make_letter()
    make_signature(letter, email="wants@example.org", consent_notify=True)
    make_signature(letter, email="english@example.org", consent_notify=True, language="en")
    make_signature(letter, email="quiet@example.org", consent_notify=False)
    make_signature(letter, email="unconfirmed@example.org", consent_notify=True, confirmed=False)
    gone = make_signature(letter, email="gone@example.org", consent_notify=True)
    signing.withdraw(gone)
    spam = make_signature(letter, email="spam@example.org", consent_notify=True)
    spam.status = "rejected"
    letter.state = "published"
    letter.publication_date = date(2030, 6, 20)
    letter.publication_manner = "Verstuurd naar alle leden van het Vlaams Parlement"
    db.session.commit()
    return letter


def test_notice_goes_once_to_exactly_those_who_asked(app):
    with app.app_context():
        letter = _published_letter_with_signers()
        report = publication.notify_signatories(letter)
        db.session.commit()
        assert report.queued == 2
        again = publication.notify_signatories(letter)
        db.session.commit()
        assert again.queued == 0 and _notices() == 2
        counts = publication.notice_counts(letter)
        assert counts["queued"] == 2 and counts["waiting"] == 0
    deliver(app)
    messages = {m["To"]: m for m in outbox_messages(app) if "gepubliceerd" in m["Subject"] or "published" in m["Subject"].lower()}
    assert set(messages) == {"wants@example.org", "english@example.org"}
    text = plain_text(messages["wants@example.org"])
    assert "20 juni 2030" in text and "Vlaams Parlement" in text
    assert "http://127.0.0.1:5000/letters/brief" in text.splitlines()
    assert "http://127.0.0.1:5000/letters/brief/document.pdf" in text
    assert messages["english@example.org"]["Content-Language"] == "en"
    with app.app_context():
        assert publication.notice_counts(db.session.scalar(select(Letter)))["sent"] == 2


def test_two_browsers_notifying_at_once_queue_nobody_twice(app):
    with app.app_context():
        letter_id = _published_letter_with_signers().id

    def notify(_index):
        with app.app_context():
            publication.notify_signatories(db.session.get(Letter, letter_id))
            db.session.commit()

    run_together(4, notify)
    with app.app_context():
        assert _notices() == 2


def test_a_later_confirmation_is_notified_by_a_second_call(app):
    with app.app_context():
        letter = _published_letter_with_signers()
        publication.notify_signatories(letter)
        db.session.commit()
        late = Signature(letter_id=letter.id, first_name="L", last_name="Aat", email="late@example.org",
                         email_key="late@example.org", status="confirmed", consent_notify=True)
        db.session.add(late)
        db.session.commit()
        assert publication.notify_signatories(letter).queued == 1


def test_publish_through_the_form_freezes_the_document(app, client, admin, auth):
    with app.app_context():
        letter = make_letter()
        make_signature(letter, email="a@example.org", consent_notify=True, paragraph="Omdat het moet.")
    auth.login(admin)
    page = client.get("/organise/letters/brief/publication").get_data(as_text=True)
    token = csrf_token(page)
    missing = client.post("/organise/letters/brief/publish", data={"csrf_token": token, "publication_date": "2030-06-20"})
    assert missing.status_code == 422 and "Beschrijf hoe" in missing.get_data(as_text=True)
    assert client.get("/letters/brief/document.pdf").status_code == 404, "no public PDF before publication"
    response = client.post("/organise/letters/brief/publish", data={
        "csrf_token": token, "publication_date": "2030-06-20", "publication_manner": "Verstuurd aan het parlement",
    })
    assert response.status_code == 303
    api = client.get("/api/letters/brief").get_json()
    assert api["status"] == "published" and api["publication_date"] == "2030-06-20"
    pdf = client.get("/letters/brief/document.pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    import hashlib

    digest = hashlib.sha256(pdf.data).hexdigest()
    public = client.get("/letters/brief").get_data(as_text=True)
    assert digest in public
    assert 'action="/letters/brief/sign"' not in public
    # frozen: the same bytes later, even after data changes
    with app.app_context():
        letter = db.session.scalar(select(Letter))
        letter.data_revision += 5
        db.session.commit()
    assert client.get("/letters/brief/document.pdf").data == pdf.data
    # notify through the route: counts shown, second call queues nobody
    page = client.get("/organise/letters/brief/publication").get_data(as_text=True)
    assert client.post("/organise/letters/brief/notify", data={"csrf_token": csrf_token(page)}).status_code == 303
    assert client.post("/organise/letters/brief/notify", data={"csrf_token": csrf_token(page)}).status_code == 303
    with app.app_context():
        assert _notices() == 1
    # a published letter can no longer be signed or changed
    token = csrf_token(client.get("/letters/brief/resend").get_data(as_text=True))
    assert client.post("/letters/brief/sign", data={**sign_form(), "csrf_token": token}).status_code == 409


def test_answers_appear_on_the_public_page_and_in_the_api(app, client):
    with app.app_context():
        letter = _published_letter_with_signers()
        with_pdf = publication.AnswerInput(
            author_name="Jan Politicus", author_function="Volksvertegenwoordiger", author_affiliation="Partij X",
            received_on=date(2030, 7, 1), body="Dank voor uw brief.\nWe nemen het mee.",
            attachment=b"%PDF-1.4 test", attachment_name="antwoord.pdf",
        )
        publication.record_answer(letter, with_pdf)
        publication.record_answer(letter, publication.AnswerInput(author_name="Eerder", received_on=date(2030, 6, 25)))
        db.session.commit()
    html = client.get("/letters/brief").get_data(as_text=True)
    assert html.index("Eerder") < html.index("Jan Politicus"), "in order of receipt"
    assert "Volksvertegenwoordiger" in html and "Partij X" in html and "We nemen het mee." in html
    answers = client.get("/api/letters/brief").get_json()["answers"]
    assert [a["from"] for a in answers] == ["Eerder", "Jan Politicus"]
    attachment = client.get(f"/letters/brief/answers/{answers[1]['id']}.pdf")
    assert attachment.status_code == 200 and attachment.data.startswith(b"%PDF")


def test_answers_refuse_a_non_pdf_and_an_unpublished_letter(app):
    import pytest

    with app.app_context():
        letter = make_letter()
        with pytest.raises(publication.PublicationError):
            publication.record_answer(letter, publication.AnswerInput(author_name="X", received_on=date.today()))
        letter.state = "published"
        with pytest.raises(publication.PublicationError):
            publication.record_answer(letter, publication.AnswerInput(
                author_name="X", received_on=date.today(), attachment=b"MZ\x90", attachment_name="virus.exe"))


def test_published_paragraphs_are_linkable_and_attributed_as_consented(app, client):
    with app.app_context():
        letter = make_letter()
        named = make_signature(letter, email="a@example.org", paragraph="Met naam.", first_name="Nele", last_name="Naam")
        anonymous = make_signature(letter, email="b@example.org", paragraph="Zonder naam.", consent_name=False, place="Lier")
        make_signature(letter, email="c@example.org", paragraph="Nog niet gemodereerd.")
        private = make_signature(letter, email="d@example.org", paragraph="Niet publiceren.", consent_paragraph=False)
        for signature in (named, anonymous, private):
            signature.paragraph_status = "approved"
        letter.state = "published"
        db.session.commit()
        named_id = named.id
    html = client.get("/letters/brief/paragraphs").get_data(as_text=True)
    assert "Met naam." in html and "Nele Naam" in html and f'id="p-{named_id}"' in html
    assert "Zonder naam." in html and 'een ondertekenaar uit <bdi dir="auto">Lier</bdi>' in html
    assert "Nog niet gemodereerd." not in html and "Niet publiceren." not in html


def test_one_reminder_only_while_open_never_to_withdrawn(app, letter):
    with app.app_context():
        waiting = make_signature(letter, email="w@example.org", confirmed=False)
        fresh = make_signature(letter, email="f@example.org", confirmed=False)
        withdrawn = make_signature(letter, email="x@example.org", confirmed=False)
        signing.withdraw(withdrawn)
        four_days_ago = utcnow() - timedelta(days=4)
        for signature in (waiting, withdrawn):
            signature.created_at = four_days_ago
        db.session.commit()
        assert publication.queue_due_reminders() == 1
        db.session.commit()
        assert publication.queue_due_reminders() == 0, "never twice"
        reminder = db.session.scalar(select(OutboxMessage).where(OutboxMessage.kind == "reminder"))
        assert reminder.recipient == "w@example.org"
        assert "List-Unsubscribe" in reminder.extra_headers
        assert fresh.reminded_at is None


def test_no_reminder_when_the_letter_closed(app):
    with app.app_context():
        letter = make_letter()
        signature = make_signature(letter, email="w@example.org", confirmed=False)
        signature.created_at = utcnow() - timedelta(days=4)
        letter.deadline = brussels_today() - timedelta(days=1)
        db.session.commit()
        assert publication.queue_due_reminders() == 0


def test_an_erasure_after_publication_makes_a_new_dated_version(app, client):
    from signatory.models import Document
    from signatory.privacy import erase

    with app.app_context():
        letter = make_letter()
        make_signature(letter, email="keep@example.org", first_name="Blijft", last_name="Staan")
        gone = make_signature(letter, email="gone@example.org", first_name="Wordt", last_name="Gewist")
        publication.publish(letter, date(2030, 6, 20), "Verstuurd")
        db.session.commit()
        gone_id = gone.id
    first = client.get("/letters/brief/document.pdf").data
    with app.app_context():
        erase(db.session.get(Signature, gone_id), None, actor="test")
        db.session.commit()
        versions = db.session.scalars(select(Document).where(Document.published.is_(True))).all()
        assert len(versions) == 2 and all(v.status == "ready" for v in versions)
    second = client.get("/letters/brief/document.pdf").data
    assert second != first
    from io import BytesIO

    from pypdf import PdfReader

    text = "".join(page.extract_text() for page in PdfReader(BytesIO(second)).pages)
    assert "Blijft" in text and "Gewist" not in text


def test_a_large_letter_publishes_at_once_and_compiles_in_the_background(app, client, monkeypatch):
    import threading

    from signatory.pdf import store
    from signatory.models import Document

    # Hold the background compile until the pending state has been seen: a
    # one-signature letter would otherwise be ready before the test looks.
    release = threading.Event()
    compile_document = store.compile_document

    def held_compile(data, *, draft):
        release.wait(60)
        return compile_document(data, draft=draft)

    monkeypatch.setattr(store, "compile_document", held_compile)
    app.config["PDF_INLINE_SECONDS"] = 0  # every letter counts as large
    with app.app_context():
        letter = make_letter()
        make_signature(letter)
        publication.publish(letter, date(2030, 6, 20), "Verstuurd")
        db.session.commit()
        assert db.session.scalar(select(Document.status)) == "pending"
    pending = client.get("/letters/brief/document.pdf")
    release.set()
    assert pending.status_code == 503 and pending.headers["Retry-After"]
    store.wait_for_compiles()
    response = client.get("/letters/brief/document.pdf")
    assert response.status_code == 200 and response.data.startswith(b"%PDF")


def test_the_organiser_sees_mail_that_will_never_arrive(app, client, letter, admin, auth):
    with app.app_context():
        make_signature(letter, confirmed=False)
        message = db.session.scalar(select(OutboxMessage))
        message.status = "failed"
        message.last_error = "PermanentFailure: 550 no such user"
        db.session.commit()
    auth.login(admin)
    html = client.get("/organise/letters/brief").get_data(as_text=True)
    assert "E-mails die niet aankwamen" in html and "550 no such user" in html and "ayse@example.org" in html


def test_after_an_erasure_the_old_version_is_never_served_again(app, client, letter, held_compiles):
    """While the new version compiles, the public URL says it is being
    prepared (503, Retry-After): it never falls back to the version that
    still names the erased signer."""
    from io import BytesIO

    from pypdf import PdfReader

    from signatory.pdf import store
    from signatory.privacy import erase

    with app.app_context():
        make_signature(letter, email="keep@example.org", first_name="Blijft", last_name="Staan")
        gone = make_signature(letter, email="gone@example.org", first_name="Wordt", last_name="Gewist")
        publication.publish(letter.row(), date(2030, 6, 20), "Verstuurd")
        db.session.commit()
        gone_id = gone.id
    old = client.get("/letters/brief/document.pdf")
    assert old.status_code == 200 and old.data.startswith(b"%PDF")

    app.config["PDF_INLINE_SECONDS"] = 0  # the new version compiles in the background
    with app.app_context():
        erase(db.session.get(Signature, gone_id), None, actor="test")
        db.session.commit()
    while_compiling = client.get("/letters/brief/document.pdf")
    held_compiles()  # release the background compile
    assert while_compiling.status_code == 503, "while the new version compiles the URL says so, and serves no older version"
    assert while_compiling.headers["Retry-After"] and not while_compiling.data.startswith(b"%PDF")
    store.wait_for_compiles()
    fresh = client.get("/letters/brief/document.pdf")
    assert fresh.status_code == 200 and fresh.data.startswith(b"%PDF") and fresh.data != old.data
    text = "".join(page.extract_text() for page in PdfReader(BytesIO(fresh.data)).pages)
    assert "Blijft" in text and "Gewist" not in text


def test_no_reminder_to_an_erased_signer(app, letter):
    from signatory.privacy import erase

    with app.app_context():
        signature = make_signature(letter, email="w@example.org", confirmed=False)
        signature.created_at = utcnow() - timedelta(days=4)
        db.session.commit()
        erase(signature, None, actor="test")
        db.session.commit()
        assert publication.queue_due_reminders() == 0


def test_organiser_records_and_deletes_an_answer_through_the_page(app, client, admin, auth):
    from io import BytesIO

    with app.app_context():
        _published_letter_with_signers()
    auth.login(admin)
    token = csrf_token(client.get("/organise/letters/brief/publication").get_data(as_text=True))
    refused = client.post("/organise/letters/brief/answers", content_type="multipart/form-data", data={
        "csrf_token": token, "author_name": "Jan Politicus", "received_on": "2030-07-01",
        "attachment": (BytesIO(b"MZ\x90 not a pdf"), "virus.exe"),
    })
    assert refused.status_code == 422 and "PDF" in refused.get_data(as_text=True)
    added = client.post("/organise/letters/brief/answers", content_type="multipart/form-data", data={
        "csrf_token": token, "author_name": "Jan Politicus", "author_function": "Volksvertegenwoordiger",
        "received_on": "2030-07-01", "body": "Dank u.", "attachment": (BytesIO(b"%PDF-1.4 x"), "antwoord.pdf"),
    })
    assert added.status_code == 303
    [answer] = client.get("/api/letters/brief").get_json()["answers"]
    assert answer["from"] == "Jan Politicus" and answer["attachment"] is True
    assert "Jan Politicus" in client.get("/letters/brief").get_data(as_text=True)
    deleted = client.post(f"/organise/answers/{answer['id']}/delete", data={"csrf_token": token})
    assert deleted.status_code == 303
    assert client.get("/api/letters/brief").get_json()["answers"] == []
