"""Every e-mail the service sends (issue 6.8): confirmation, reminder,
revision request, rejection note, publication notice — in the signer's
language, plain text plus HTML, with the right headers and no tracking."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest

from conftest import deliver, make_letter, make_signature, make_user, outbox_messages, plain_text, publish_and_notify
from signatory import moderation, publication
from signatory.extensions import db
from signatory.models import utcnow

BASE_URL = "http://127.0.0.1:5000"
# One word that only the English or only the Dutch wording of each kind has.
WORDING = {
    "nl": {"confirm": "Bevestig", "reminder": "Herinnering", "revise": "aanpassen", "reject": "paragraaf", "publication": "gepubliceerd"},
    "en": {"confirm": "Confirm", "reminder": "Reminder", "revise": "revise", "reject": "paragraph", "publication": "published"},
}


def _send_every_kind(letter, language: str) -> None:
    organiser = make_user(f"org-{language}@example.org")
    make_signature(letter, email=f"confirm-{language}@example.org", language=language, consent_notify=False, confirmed=False)
    waiting = make_signature(letter, email=f"reminder-{language}@example.org", language=language, consent_notify=False, confirmed=False)
    waiting.created_at = utcnow() - timedelta(days=4)
    revise = make_signature(letter, email=f"revise-{language}@example.org", language=language, consent_notify=False, paragraph="Te lang.")
    reject = make_signature(letter, email=f"reject-{language}@example.org", language=language, consent_notify=False, paragraph="Niet gepast.")
    db.session.commit()
    publication.queue_due_reminders()
    moderation.moderate(revise, "revise", organiser, "Maak hem korter, aub.")
    moderation.moderate(reject, "reject", organiser, "Dit past niet bij de brief.", notify=True)
    db.session.commit()


def _by_recipient(app) -> dict:
    messages = {}
    for message in outbox_messages(app):
        messages.setdefault(message["To"], []).append(message)
    return messages


@pytest.mark.parametrize("language", ["nl", "en"])
def test_every_kind_of_email_is_complete_and_in_the_signers_language(app, language):
    with app.app_context():
        letter = make_letter()
        _send_every_kind(letter, language)
        make_signature(letter, email=f"publication-{language}@example.org", language=language, consent_notify=True)
        publish_and_notify(letter)
    deliver(app)
    messages = _by_recipient(app)
    for kind, word in WORDING[language].items():
        recipient = f"{kind}-{language}@example.org"
        received = messages.get(recipient, [])
        mail = received[-1] if received else None
        assert mail is not None, f"no {kind} e-mail for {recipient}"
        assert mail.get_content_type() == "multipart/alternative", kind
        assert mail["Message-ID"] and mail["Date"] and mail["Auto-Submitted"] == "auto-generated", kind
        assert mail["Content-Language"] == language, kind
        text = plain_text(mail)
        html = mail.get_body(preferencelist=("html",)).get_content()
        assert word.lower() in (mail["Subject"] + text).lower(), (kind, mail["Subject"])
        # no tracking: no images, no links but to this service
        assert "<img" not in html.lower(), kind
        for url in re.findall(r'https?://[^"\s<>]+', html + text):
            assert url.startswith(BASE_URL), (kind, url)
        for line in text.splitlines():
            if "http" in line:
                assert line.strip().startswith(BASE_URL) and " " not in line.strip(), (kind, line)
    assert "List-Unsubscribe" in messages[f"reminder-{language}@example.org"][-1]
