"""E-mail end to end over real SMTP: an aiosmtpd server on loopback records
what the outbox delivers (DESIGN §6, §7; issue 3 point 8).

Signing queues exactly one message; `deliver_due` sends it with plain text and
HTML, Message-ID, Date and Auto-Submitted, in the signer's language, with
absolute links each on a line of its own. SMTP down loses nothing; a 550 fails
one message and the queue goes on; hostile header values fail alone; two
senders at once never deliver a row twice.
"""
from __future__ import annotations

import asyncio
import email
import socket
import threading
from dataclasses import dataclass
from datetime import timedelta
from email import policy
from email.utils import parsedate_to_datetime

import pytest
from sqlalchemy import func, select, update

from conftest import IN_CI, Signer, _teardown, links, make_letter, path_of, plain_text, run_together
from signatory import mail
from signatory.extensions import db
from signatory.models import OutboxMessage, Signature, utcnow

if IN_CI:  # under CI nothing skips: a missing aiosmtpd fails loudly
    import aiosmtpd.controller as aiosmtpd_controller
else:
    aiosmtpd_controller = pytest.importorskip("aiosmtpd.controller", reason="aiosmtpd is not installed: pip install -e '.[test]'")

BASE_URL = "https://brieven.example.org"
SENDER = "Open brieven <brieven@example.org>"


# --- the SMTP server ---------------------------------------------------------------

@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    data: bytes

    @property
    def message(self) -> email.message.EmailMessage:
        return email.message_from_bytes(self.data, policy=policy.default)


class RecordingHandler:
    """Accepts everything except the recipients it was told to refuse."""

    def __init__(self):
        self.received: list[Received] = []
        self.replies: dict[str, str] = {}  # recipient (lower case) -> SMTP reply
        self.delay = 0.0
        self.lock = threading.Lock()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        reply = self.replies.get(address.lower())
        if reply:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.delay:
            await asyncio.sleep(self.delay)
        data = envelope.original_content or envelope.content
        with self.lock:
            self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), bytes(data)))
        return "250 Message accepted for delivery"

    def message_ids(self) -> list[str]:
        with self.lock:
            return [item.message["Message-ID"] for item in self.received]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class SMTPServer:
    def __init__(self):
        self.port = _free_port()
        self.handler = RecordingHandler()
        self.controller = None

    def start(self):
        self.controller = aiosmtpd_controller.Controller(
            self.handler, hostname="127.0.0.1", port=self.port, enable_SMTPUTF8=True, decode_data=False,
        )
        self.controller.start()

    def stop(self):
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    @property
    def received(self) -> list[Received]:
        return self.handler.received


@pytest.fixture
def smtp():
    server = SMTPServer()
    server.start()
    yield server
    server.stop()


def build_smtp_app(monkeypatch, tmp_path, database_url: str, mail_url: str):
    """Like conftest.build_app, but the mail goes over SMTP (the MAIL_URL
    environment variable, parsed by the app's own configuration)."""
    from signatory import create_app

    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("SECRET_KEY", "test-secret-key-that-is-long-enough-for-links")
    monkeypatch.setenv("MAIL_URL", mail_url)
    monkeypatch.setenv("MAIL_FROM", SENDER)
    monkeypatch.setenv("BASE_URL", BASE_URL)
    monkeypatch.setenv("SIGN_RATE_LIMIT", "off")
    monkeypatch.delenv("RATELIMIT_STORAGE_URI", raising=False)
    monkeypatch.delenv("TRUSTED_PROXIES", raising=False)
    return create_app({"TESTING": True, "RATELIMIT_STORAGE_URI": "memory://"}, instance_path=str(tmp_path / "instance"))


@pytest.fixture
def smtp_app(database_url, smtp, monkeypatch, tmp_path):
    app = build_smtp_app(monkeypatch, tmp_path, database_url, f"smtp://127.0.0.1:{smtp.port}")
    assert app.config["MAIL"].scheme == "smtp"
    with app.app_context():
        make_letter()
    yield app
    _teardown(app, database_url)


@pytest.fixture
def signer(smtp_app) -> Signer:
    return Signer(smtp_app, smtp_app.test_client())


# --- helpers -----------------------------------------------------------------------

def _deliver(app, **kwargs) -> mail.DeliveryReport:
    with app.app_context():
        return mail.deliver_due(**kwargs)


def _rows(app) -> list[OutboxMessage]:
    with app.app_context():
        rows = list(db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))
        db.session.expunge_all()
        return rows


def _queue_raw(app, recipient: str, subject: str = "Een bericht", body: str = "Hallo\n") -> int:
    """An outbox row straight from the domain function, for values the web
    form would refuse (a hostile name or address from elsewhere)."""
    with app.app_context():
        row = OutboxMessage(
            kind="test", recipient=recipient, subject=subject, body_text=body, body_html="",
            headers="{}", message_id=mail.new_message_id(), due_at=utcnow(),
        )
        db.session.add(row)
        db.session.commit()
        return row.id


# --- one signature, one e-mail, over SMTP ----------------------------------------------

def test_signing_sends_one_complete_email_over_smtp(smtp_app, smtp, signer):
    assert signer.sign(email="Ayse.Yilmaz@Example.org", first_name="Ayşe").status_code == 303
    [row] = _rows(smtp_app)
    assert row.kind == "confirm" and row.status == "queued"
    assert smtp.received == [], "no request waits on SMTP: nothing is sent before delivery"

    report = _deliver(smtp_app)
    assert (report.sent, report.retried, report.failed) == (1, 0, 0)
    [received] = smtp.received
    assert received.rcpt_tos == ["Ayse.Yilmaz@Example.org"], "mail goes to the address as typed"
    assert received.mail_from == "brieven@example.org"
    message = received.message

    assert message["From"] == SENDER
    assert message["To"] == "Ayse.Yilmaz@Example.org"
    assert message["Message-ID"] == row.message_id
    assert message["Message-ID"].startswith("<") and message["Message-ID"].endswith("@brieven.example.org>")
    sent_date = parsedate_to_datetime(message["Date"])
    assert sent_date.tzinfo is not None
    assert abs((sent_date - row.created_at.replace(tzinfo=sent_date.tzinfo)).total_seconds()) < 2
    assert message["Auto-Submitted"] == "auto-generated"
    assert message.get_content_type() == "multipart/alternative"
    assert [part.get_content_type() for part in message.iter_parts()] == ["text/plain", "text/html"]

    [confirm_link] = links(message, "confirm")
    [manage_link] = links(message, "manage")
    assert confirm_link.startswith(BASE_URL + "/confirm/")
    assert manage_link.startswith(BASE_URL + "/manage/")
    # Not wrapped on the wire either: each link whole on one line of the raw message.
    raw_lines = received.data.decode("utf-8").splitlines()
    assert confirm_link in raw_lines and manage_link in raw_lines
    html = message.get_body(preferencelist=("html",)).get_content()
    assert f'href="{confirm_link}"' in html and f'href="{manage_link}"' in html

    # Dutch signer, Dutch e-mail.
    assert '<html lang="nl">' in html
    assert "Bevestig uw handtekening" in message["Subject"]
    assert "Goeiedag," in plain_text(message) and "Ayşe" not in plain_text(message), "nothing typed goes to an unconfirmed address"

    assert signer.client.get(path_of(confirm_link)).status_code == 200
    assert signer.client.get("/api/letters/brief").get_json()["signatures"] == 1
    assert _deliver(smtp_app).sent == 0 and len(smtp.received) == 1, "sent once"


def test_an_english_signer_gets_an_english_email(smtp_app, smtp, signer):
    assert signer.sign(language="en", email="john@example.org", first_name="John", last_name="Smith").status_code == 303
    with smtp_app.app_context():
        assert db.session.scalar(select(Signature.language)) == "en"
    _deliver(smtp_app)
    [received] = smtp.received
    message = received.message
    html = message.get_body(preferencelist=("html",)).get_content()
    # The language is carried in the structure whatever the catalogue says.
    assert '<html lang="en">' in html
    assert len(links(message, "confirm")) == 1 and len(links(message, "manage")) == 1


def test_the_english_email_is_worded_in_english(smtp_app, smtp, signer):
    assert signer.sign(language="en", email="john@example.org", first_name="John", last_name="Smith").status_code == 303
    _deliver(smtp_app)
    [received] = smtp.received
    message = received.message
    text = plain_text(message)
    html = message.get_body(preferencelist=("html",)).get_content()
    assert "Bevestig" not in message["Subject"] and "onfirm" in message["Subject"]
    for part in (text, html):
        assert "handtekening" not in part and "Bedankt" not in part
        assert "signature" in part


@pytest.fixture
def dutch_and_english(smtp_app, smtp, signer) -> dict[str, email.message.EmailMessage]:
    """A Dutch and an English browser sign; the delivered e-mails by recipient."""
    assert signer.sign(language="nl", email="an@example.org").status_code == 303
    other = Signer(smtp_app, smtp_app.test_client())
    assert other.sign(language="en", email="bob@example.org", first_name="Bob").status_code == 303
    _deliver(smtp_app)
    return {item.rcpt_tos[0]: item.message for item in smtp.received}


def test_a_dutch_and_an_english_signer_each_in_their_language(dutch_and_english):
    languages = {}
    for recipient, message in dutch_and_english.items():
        html = message.get_body(preferencelist=("html",)).get_content()
        languages[recipient] = html.split('<html lang="', 1)[1].split('"', 1)[0]
    assert languages == {"an@example.org": "nl", "bob@example.org": "en"}


def test_the_language_is_named_in_a_content_language_header(dutch_and_english):
    languages = {recipient: message["Content-Language"] for recipient, message in dutch_and_english.items()}
    assert languages == {"an@example.org": "nl", "bob@example.org": "en"}


# --- outages and refusals ----------------------------------------------------------------

def test_smtp_down_keeps_the_message_queued_and_delivers_it_once_when_back(smtp_app, smtp, signer):
    assert signer.sign().status_code == 303
    smtp.stop()
    before = utcnow()
    report = _deliver(smtp_app)
    assert (report.sent, report.retried, report.failed) == (0, 1, 0)
    [row] = _rows(smtp_app)
    assert row.status == "queued", "an outage loses nothing"
    assert row.attempts == 1
    assert row.last_error, "the error is kept on the row"
    assert row.due_at > before + timedelta(seconds=5), "retried later, with backoff"
    assert row.claim_token is None

    # Not due yet: a second run right away does not hammer the server.
    report = _deliver(smtp_app)
    assert (report.sent, report.retried) == (0, 0)

    # Still down at the next attempt: the backoff grows.
    with smtp_app.app_context():
        db.session.execute(update(OutboxMessage).values(due_at=utcnow() - timedelta(seconds=1)))
        db.session.commit()
    assert _deliver(smtp_app).retried == 1
    [row2] = _rows(smtp_app)
    assert row2.attempts == 2 and row2.status == "queued"
    assert row2.due_at - utcnow() > row.due_at - before - timedelta(seconds=2), "backoff grows"

    smtp.start()
    with smtp_app.app_context():  # time passes: the row is due again
        db.session.execute(update(OutboxMessage).values(due_at=utcnow() - timedelta(seconds=1)))
        db.session.commit()
    report = _deliver(smtp_app)
    assert report.sent == 1
    assert len(smtp.received) == 1
    [row] = _rows(smtp_app)
    assert row.status == "sent" and row.sent_at is not None and row.last_error == ""
    assert smtp.received[0].message["Message-ID"] == row.message_id, "the Message-ID is stable across retries"
    assert _deliver(smtp_app).sent == 0 and len(smtp.received) == 1, "delivered once"


def test_smtp_stopped_and_restarted_in_the_middle_of_a_delivery_run(smtp_app, smtp, signer):
    """The server goes away after the third message of a run: the rest stays
    queued; when it is back, each message arrives exactly once."""
    for number in range(6):
        assert signer.sign(email=f"signer{number}@example.org").status_code == 303
    sent_so_far = []

    def stop_after_three(row, place):
        sent_so_far.append(row.id)
        if len(sent_so_far) == 3:
            smtp.stop()

    report = _deliver(smtp_app, on_sent=stop_after_three)
    assert report.sent == 3 and report.retried == 3 and report.failed == 0
    assert sorted(row.status for row in _rows(smtp_app)) == ["queued"] * 3 + ["sent"] * 3

    smtp.start()
    with smtp_app.app_context():
        db.session.execute(update(OutboxMessage).values(due_at=utcnow() - timedelta(seconds=1)))
        db.session.commit()
    assert _deliver(smtp_app).sent == 3
    assert all(row.status == "sent" for row in _rows(smtp_app))
    message_ids = [received.message["Message-ID"] for received in smtp.received]
    assert len(message_ids) == 6 and len(set(message_ids)) == 6, "every message once, none lost"
    assert sorted(message_ids) == sorted(row.message_id for row in _rows(smtp_app))


def test_a_550_fails_that_message_and_the_queue_goes_on(smtp_app, smtp, signer):
    smtp.handler.replies["bounce@example.org"] = "550 5.1.1 No such user here"
    smtp.handler.replies["later@example.org"] = "451 4.3.0 Try again later"
    assert signer.sign(email="bounce@example.org", first_name="Bo").status_code == 303
    assert signer.sign(email="later@example.org", first_name="La").status_code == 303
    assert signer.sign(email="fine@example.org", first_name="Fi").status_code == 303
    report = _deliver(smtp_app)
    assert (report.sent, report.retried, report.failed) == (1, 1, 1)
    rows = {row.recipient: row for row in _rows(smtp_app)}
    assert rows["bounce@example.org"].status == "failed"
    assert "550" in rows["bounce@example.org"].last_error
    assert rows["later@example.org"].status == "queued"
    assert "451" in rows["later@example.org"].last_error
    assert rows["later@example.org"].due_at > utcnow()
    assert rows["fine@example.org"].status == "sent"
    assert [item.rcpt_tos for item in smtp.received] == [["fine@example.org"]]
    # A failed message is not retried.
    with smtp_app.app_context():
        db.session.execute(update(OutboxMessage).values(due_at=utcnow() - timedelta(seconds=1)))
        db.session.commit()
    smtp.handler.replies.clear()
    report = _deliver(smtp_app)
    assert (report.sent, report.failed) == (1, 0)
    assert sorted(item.rcpt_tos[0] for item in smtp.received) == ["fine@example.org", "later@example.org"]


HOSTILE_RECIPIENTS = [
    "victim@example.org\r\nBcc: everyone@example.net",
    "victim@example.org\nBcc: everyone@example.net",
    '"Evil\r\nBcc: everyone@example.net" <victim@example.org>',
    "not an address",
    "",
]


def test_hostile_recipients_fail_alone_and_never_block_the_queue(smtp_app, smtp, signer):
    recipients = list(HOSTILE_RECIPIENTS)
    if smtp_app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        recipients.append("victim@example.org\x00everyone@example.net")  # PostgreSQL cannot store NUL
    hostile = [_queue_raw(smtp_app, recipient) for recipient in recipients]
    hostile.append(_queue_raw(smtp_app, "ok@example.org", subject="Onderwerp\r\nBcc: everyone@example.net"))
    assert signer.sign(email="next@example.org").status_code == 303  # queued after the hostile ones
    report = _deliver(smtp_app)
    assert report.sent == 1
    assert report.failed == len(hostile)
    rows = {row.id: row for row in _rows(smtp_app)}
    for row_id in hostile:
        assert rows[row_id].status == "failed", (rows[row_id].recipient, rows[row_id].status, rows[row_id].last_error)
        assert rows[row_id].last_error
    everyone = [rcpt for item in smtp.received for rcpt in item.rcpt_tos]
    assert everyone == ["next@example.org"]
    assert b"everyone@example.net" not in b"".join(item.data for item in smtp.received)


def test_a_name_with_line_breaks_never_reaches_a_header(smtp_app, smtp, signer):
    """The name goes into the body only; a name with CR/LF from the domain
    (an organiser's import, say) is cleaned before it is stored."""
    from signatory import signing
    from signatory.models import Letter

    with smtp_app.app_context():
        letter = db.session.scalar(select(Letter))
        details = signing.SignatureDetails(
            first_name="Eve\r\nBcc: everyone@example.net", last_name="X\r\nSubject: pwned",
            email="eve@example.org", kind="person", consent_name=True,
        )
        signing.sign(letter, details)
        db.session.commit()
    assert signer.sign(email="next@example.org").status_code == 303
    report = _deliver(smtp_app)
    assert report.sent == 2 and report.failed == 0
    for item in smtp.received:
        assert "everyone@example.net" not in item.rcpt_tos
        assert item.message["Bcc"] is None
        assert "pwned" not in (item.message["Subject"] or "")


def test_an_internationalised_address_is_delivered_with_smtputf8(smtp_app, smtp, signer):
    assert signer.sign(email="jürgen@bücher.example", first_name="Jürgen").status_code == 303
    report = _deliver(smtp_app)
    assert report.sent == 1, _rows(smtp_app)[0].last_error
    [received] = smtp.received
    assert received.rcpt_tos == ["jürgen@bücher.example"]


# --- two senders at once -------------------------------------------------------------------

def test_two_senders_at_once_never_deliver_a_row_twice(smtp_app, smtp):
    ids = [_queue_raw(smtp_app, f"person{n}@example.org") for n in range(30)]
    assert len(ids) == 30
    smtp.handler.delay = 0.01  # keep both senders busy at the same time

    def sender(_index):
        with smtp_app.app_context():
            try:
                return mail.deliver_due()
            finally:
                db.session.remove()

    reports = run_together(2, sender)
    message_ids = smtp.handler.message_ids()
    assert len(message_ids) == len(set(message_ids)), "a row was delivered twice"
    assert len(message_ids) == 30
    assert sum(report.sent for report in reports) == 30
    assert all(report.failed == 0 and report.retried == 0 for report in reports)
    with smtp_app.app_context():
        assert db.session.scalar(select(func.count()).select_from(OutboxMessage).where(OutboxMessage.status == "sent")) == 30
        expected = set(db.session.scalars(select(OutboxMessage.message_id)))
    assert set(message_ids) == expected


def test_a_row_claimed_twice_is_delivered_by_one_sender(smtp_app, smtp, signer):
    assert signer.sign().status_code == 303
    with smtp_app.app_context():
        row_id = db.session.scalar(select(OutboxMessage.id))
        first = mail.claim(row_id, utcnow())
        second = mail.claim(row_id, utcnow())
    assert first is not None and second is None


def test_a_sender_killed_mid_delivery_is_taken_over_later(smtp_app, smtp, signer):
    """A row left `sending` by a dead sender is delivered by the next one,
    once its claim is stale, and only once."""
    assert signer.sign().status_code == 303
    with smtp_app.app_context():
        db.session.execute(update(OutboxMessage).values(status="sending", claimed_at=utcnow(), claim_token="dead"))
        db.session.commit()
    assert _deliver(smtp_app).sent == 0, "a fresh claim is left to its sender"
    with smtp_app.app_context():
        db.session.execute(update(OutboxMessage).values(claimed_at=utcnow() - mail.STALE_CLAIM - timedelta(seconds=1)))
        db.session.commit()
    assert _deliver(smtp_app).sent == 1
    assert _deliver(smtp_app).sent == 0 and len(smtp.received) == 1
