"""One outbox writer: every kind of message is queued the same way — a row
with its template, language and context, one Message-ID scheme — and
rendered when it is delivered."""
from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import select

from conftest import deliver, make_letter, make_signature, make_user, publish_and_notify
from signatory import moderation, publication, signing
from signatory.extensions import db
from signatory.models import OutboxMessage, utcnow

MESSAGE_ID = re.compile(r"<[0-9a-f]{32}@127\.0\.0\.1>")


def _queue_every_kind() -> None:
    letter = make_letter()
    organiser = make_user("org@example.org")
    signing.sign(letter, signing.SignatureDetails(first_name="Ayşe", last_name="Yılmaz", email="confirm@example.org", language="en"))
    linked = make_signature(letter, email="links@example.org")
    waiting = make_signature(letter, email="reminder@example.org", confirmed=False)
    waiting.created_at = utcnow() - timedelta(days=4)
    revise = make_signature(letter, email="revise@example.org", paragraph="Te lang.")
    make_signature(letter, email="notice@example.org", consent_notify=True)
    db.session.commit()
    signing.resend_links(letter, linked.email)
    publication.queue_due_reminders()
    moderation.moderate(revise, "revise", organiser, "Maak hem korter, aub.")
    publish_and_notify(letter)


def test_every_message_is_queued_alike_and_rendered_at_delivery(app):
    with app.app_context():
        _queue_every_kind()
        rows = db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()
        assert {row.kind for row in rows} >= {"confirm", "links", "reminder", "paragraph.revise", "publication"}
        for row in rows:
            assert row.template and row.subject == "" and row.body_text == "", row.kind
            assert MESSAGE_ID.fullmatch(row.message_id), row.message_id
            assert row.extra_headers["Content-Language"] == row.language, row.kind
    deliver(app)
    with app.app_context():
        rows = db.session.scalars(select(OutboxMessage)).all()
        assert all(row.status == "sent" and row.subject and row.body_text for row in rows)
        confirm = next(row for row in rows if row.kind == "confirm")
        assert confirm.language == "en" and "Confirm" in confirm.subject
        links = next(row for row in rows if row.kind == "links")
        assert "/confirm/" not in links.body_text, "a confirmed signature's links leave confirming out"
        assert "/manage/" in links.body_text
