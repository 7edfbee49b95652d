"""E-mail through an outbox table (DESIGN §7).

`queue` adds a message to the outbox in the caller's transaction, so a
message exists exactly when what caused it was committed; every row is made
by `outbox_row`, with one Message-ID scheme, and rendered when it is
delivered (template, language, JSON context, its letter and signature).
`deliver_due` (behind `flask outbox send`) claims due rows one by one with a
conditional UPDATE — safe with several senders on SQLite and PostgreSQL —
and delivers them at least once, with the Message-ID fixed at queue time. A
transient failure (SMTP down, 4xx) is retried with backoff, for ever; a message
that cannot be built, or that the server refuses for good (5xx), is marked
failed and never blocks the queue.
"""
from __future__ import annotations

import json
import logging
import os
import re
import secrets
import smtplib
import ssl
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from email import policy
from email.message import EmailMessage
from email.utils import format_datetime
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlsplit

from flask import current_app, render_template
from flask_babel import force_locale
from sqlalchemy import and_, or_, select, update

from .config import MailSettings
from .database import DriverInsert, insert_ignoring_conflicts
from .extensions import db
from .models import Letter, OutboxMessage, Signature, utcnow
from .states import LIVE_STATUSES, OutboxStatus, SignatureStatus

log = logging.getLogger("signatory.mail")

STALE_CLAIM = timedelta(minutes=10)  # a sender that died mid-delivery
BACKOFF_BASE_SECONDS = 30
BACKOFF_MAX_SECONDS = 3600
LINK = re.compile(r"https?://\S+")


# --- queueing ----------------------------------------------------------------

def queue(kind: str, **fields) -> bool:
    """Add one message to the outbox, in the caller's transaction; the
    fields are `outbox_row`'s. With a dedup_key the database refuses a second
    message with the same key; then False is returned."""
    return queue_row(outbox_row(kind, **fields))


def queue_to_signer(kind: str, signature: Signature, *, template: str, **context) -> bool:
    """A message to a signer, in their language. Every message to a signer
    carries their manage link (change or withdraw at any time): it is signed
    when the message is rendered."""
    return queue(
        kind, recipient=signature.email, template=template, language=signature.language,
        letter_id=signature.letter_id, signature_id=signature.id, **context,
    )


def outbox_row(
    kind: str,
    *,
    recipient: str,
    template: str,
    language: str,
    letter_id: int | None,
    signature_id: int | None,
    dedup_key: str | None = None,
    headers: dict[str, str] | None = None,
    **context,
) -> dict:
    """The columns of one queued message: the only place an outbox row is
    made. The message is rendered when it is delivered (`render_queued`),
    from its template, its letter and signature and this JSON context; a
    links request names no signature yet (`resolve_links_request`)."""
    now = utcnow()
    return {
        "kind": kind, "dedup_key": dedup_key, "recipient": recipient,
        "template": template, "language": language, "context": _json(context),
        "letter_id": letter_id, "signature_id": signature_id,
        "subject": "", "body_text": "", "body_html": "",
        "headers": _json({"Content-Language": language, **headers}) if headers else _language_headers(language),
        "message_id": new_message_id(),
        "status": OutboxStatus.QUEUED.value, "attempts": 0, "last_error": "",
        "created_at": now, "due_at": now,
    }


def queue_rows(rows: list[dict]) -> None:
    """Add many rows made by `outbox_row` (the publication notice), skipping
    those whose dedup_key is queued already."""
    if rows:
        connection = db.session.connection()
        connection.execute(insert_ignoring_conflicts(OutboxMessage.__table__, connection.dialect.name), rows)


LINKS_KIND = "links"
LINKS_INTERVAL = timedelta(hours=1)  # at most one links e-mail per signature


def queue_links_request(
    letter_id: int, *, recipient: str, email_key: str, language: str, organisation_key: str | None = None
) -> None:
    """Someone asked for the links of this address on this letter (by
    signing again, or on the resend form). Queued as one deferred row whether
    or not the address signed: which signatures it is about, and whether any
    gets mail, is decided at delivery (resolve_links_request), so that no
    response time tells an address that signed from one that did not."""
    queue_row(links_request_row(
        letter_id, recipient=recipient, email_key=email_key, language=language, organisation_key=organisation_key,
    ))


def links_request_row(
    letter_id: int, *, recipient: str, email_key: str, language: str, organisation_key: str | None = None
) -> dict:
    """The outbox row of a links request (see queue_links_request)."""
    context = {"email_key": email_key}
    if organisation_key is not None:
        context["organisation_key"] = organisation_key
    return outbox_row(
        LINKS_KIND, recipient=recipient, template="links", language=language,
        letter_id=letter_id, signature_id=None, **context,
    )


def queue_row(row: dict, connection=None) -> bool:
    """Add one row made by `outbox_row`, in the caller's transaction (on its
    connection when given); False when its dedup_key is queued already. Run
    straight on the driver: the signing request must stay cheap (DESIGN §8)."""
    return _insert_one(connection or db.session.connection(), row) is not None


_insert_one = DriverInsert(OutboxMessage.__table__)


def resolve_links_request(row: OutboxMessage) -> bool:
    """Turn a links request into mail: the row becomes the message for the
    first live signature of the address that had no links e-mail in the last
    hour, each further such signature gets a message of its own. False when
    there is nobody to write to (the row is then dropped)."""
    context = json.loads(row.context or "{}")
    query = select(Signature).where(
        Signature.letter_id == row.letter_id,
        Signature.email_key == context.get("email_key", ""),
        Signature.status.in_(LIVE_STATUSES),
    )
    if "organisation_key" in context:
        query = query.where(Signature.organisation_key == context["organisation_key"])
    since = utcnow() - LINKS_INTERVAL
    due = [s for s in db.session.scalars(query.order_by(Signature.id)) if not _links_mailed_since(s.id, since)]
    if not due:
        return False
    first, *others = due
    row.signature_id, row.recipient, row.language = first.id, first.email, first.language
    row.headers = _json({"Content-Language": first.language})
    row.context = "{}"
    for signature in others:
        queue_to_signer(LINKS_KIND, signature, template="links")
    db.session.flush()
    return True


def _links_mailed_since(signature_id: int, since: datetime) -> bool:
    return db.session.scalar(
        select(OutboxMessage.id).where(
            OutboxMessage.signature_id == signature_id,
            OutboxMessage.kind == LINKS_KIND,
            OutboxMessage.status != OutboxStatus.FAILED,
            OutboxMessage.created_at >= since,
        ).limit(1)
    ) is not None


# Mail to organisers: no signature, no signer's links; the letter is optional.
ORGANISER_TEMPLATES = frozenset({"invitation"})


def render_queued(row: OutboxMessage) -> None:
    """Fill in the subject and bodies of a queued message, at delivery."""
    from .tokens import confirm_url, manage_url

    letter = db.session.get(Letter, row.letter_id) if row.letter_id else None
    signature = db.session.get(Signature, row.signature_id) if row.signature_id else None
    if row.template in ORGANISER_TEMPLATES:
        if row.letter_id and letter is None:
            raise ValueError("the letter of this message no longer exists")
        links = {}
    elif letter is None or signature is None:
        raise ValueError("the letter or signature of this message no longer exists")
    else:
        # The links are signed here, not in the request: one cost less on the hot path.
        links = {"confirm_url": confirm_url(signature.id), "manage_url": manage_url(signature.id)}
        if row.kind == LINKS_KIND and signature.status == SignatureStatus.CONFIRMED:
            links["confirm_url"] = None  # nothing left to confirm
    row.subject, row.body_text, row.body_html = render_email(
        row.template, row.language, letter=letter, signature=signature,
        **{**links, **json.loads(row.context or "{}")},
    )


def render_email(template: str, language: str, **context) -> tuple[str, str, str]:
    """(subject, plain text, HTML). The plain-text template sets `subject`."""
    with force_locale(language):
        text_template = current_app.jinja_env.get_template(f"emails/{template}.txt")
        module = text_template.make_module(context)
        body_text = _tidy_text(str(module))
        subject = " ".join(str(getattr(module, "subject", "")).split())
        body_html = render_template(f"emails/{template}.html", subject=subject, **context)
    return subject, body_text, body_html


def _tidy_text(text: str) -> str:
    # "-- " keeps its space: mail clients recognise the signature by it.
    lines = [line if line == "-- " else line.rstrip() for line in text.strip().splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)) + "\n"


def _json(value: dict) -> str:
    return json.dumps(value, sort_keys=True) if value else "{}"  # every confirmation's context is empty


@lru_cache(maxsize=8)
def _language_headers(language: str) -> str:
    """The headers of most rows (every signing's two among them)."""
    return _json({"Content-Language": language})


def new_message_id() -> str:
    return f"<{secrets.token_hex(16)}@{_message_id_host(current_app.config['BASE_URL'])}>"


@lru_cache(maxsize=8)
def _message_id_host(base_url: str) -> str:
    return urlsplit(base_url).hostname or "localhost"


# --- building ------------------------------------------------------------------

def build_message(row: OutboxMessage, sender: str) -> EmailMessage:
    """The RFC 5322 message of an outbox row; raises ValueError when the row
    cannot make a valid message (a hostile or broken address, say)."""
    needs_utf8 = not row.recipient.isascii()
    message = EmailMessage(policy=policy.SMTPUTF8 if needs_utf8 else policy.SMTP)
    for value in (row.recipient, row.subject):
        if any(char in value for char in "\r\n\x00"):
            raise ValueError("line break in a header value")
    message["From"] = sender
    message["To"] = row.recipient
    message["Subject"] = row.subject
    message["Date"] = format_datetime(row.created_at.replace(tzinfo=timezone.utc))
    message["Message-ID"] = row.message_id
    message["Auto-Submitted"] = "auto-generated"
    # 8bit keeps every link on one line in the .eml, never soft-wrapped.
    message.set_content(row.body_text, cte="8bit")
    if row.body_html:
        message.add_alternative(row.body_html, subtype="html", cte="quoted-printable")
    # After the content: set_content() clears every Content-* header.
    for name, value in row.extra_headers.items():
        message[name] = value
    if "@" not in message["To"].addresses[0].addr_spec:
        raise ValueError("no e-mail address to deliver to")
    return message


# --- transports ------------------------------------------------------------------

class DeliveryFailure(Exception):
    """`str()` is the detail kept on the outbox row (it may quote the
    address); `reason` is what the log may say: no personal data."""

    def __init__(self, detail: str, reason: str = ""):
        super().__init__(detail)
        self.reason = reason or detail


class PermanentFailure(DeliveryFailure):
    """The message will never be delivered as it is."""


class TemporaryFailure(DeliveryFailure):
    """Try again later."""


class FileTransport:
    """Writes each message to a directory as one .eml file (DESIGN §6)."""

    def __init__(self, directory: Path):
        self.directory = directory

    def send(self, row: OutboxMessage, message: EmailMessage) -> str:
        stamp = row.created_at.strftime("%Y%m%dT%H%M%S")
        target = self.directory / f"{stamp}-{row.id:07d}.eml"
        partial = target.with_suffix(".eml.part")
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            partial.write_bytes(message.as_bytes())
            os.replace(partial, target)  # a reader never sees half a message
        except OSError as error:  # a full disk is an outage, not a bad message
            raise TemporaryFailure(f"{type(error).__name__}: {error}") from None
        return str(target)

    def close(self) -> None:
        pass


class SMTPTransport:
    def __init__(self, settings: MailSettings, timeout: float = 20):
        self.settings = settings
        self.timeout = timeout
        self._connection: smtplib.SMTP | None = None

    def _connect(self) -> smtplib.SMTP:
        if self._connection is not None:
            return self._connection
        s = self.settings
        if s.scheme == "smtps":
            connection = smtplib.SMTP_SSL(s.host, s.port, timeout=self.timeout, context=ssl.create_default_context())
        else:
            connection = smtplib.SMTP(s.host, s.port, timeout=self.timeout)
            if s.scheme == "smtp+starttls":
                connection.starttls(context=ssl.create_default_context())
        if s.username:
            connection.login(s.username, s.password)
        self._connection = connection
        return connection

    def send(self, row: OutboxMessage, message: EmailMessage) -> str:
        try:
            connection = self._connect()
            options = ["SMTPUTF8"] if not row.recipient.isascii() else []
            refused = connection.send_message(message, mail_options=options)
        except smtplib.SMTPRecipientsRefused as error:
            codes = [code for code, _ in error.recipients.values()]
            if codes and all(code >= 500 for code in codes):
                raise PermanentFailure(f"recipient refused: {error.recipients}", f"recipient refused {codes}") from None
            raise TemporaryFailure(f"recipient deferred: {error.recipients}", f"recipient deferred {codes}") from None
        except smtplib.SMTPResponseException as error:
            self.close()
            if 500 <= error.smtp_code < 600:
                raise PermanentFailure(f"{error.smtp_code} {error.smtp_error!r}", f"SMTP {error.smtp_code}") from None
            raise TemporaryFailure(f"{error.smtp_code} {error.smtp_error!r}", f"SMTP {error.smtp_code}") from None
        except (OSError, smtplib.SMTPException) as error:
            self.close()
            raise TemporaryFailure(f"{type(error).__name__}: {error}") from None
        if refused:
            raise PermanentFailure(f"recipient refused: {refused}", "recipient refused")
        return f"smtp://{self.settings.host}:{self.settings.port}"

    def close(self) -> None:
        if self._connection is not None:
            try:
                self._connection.quit()
            except (OSError, smtplib.SMTPException):
                pass
            self._connection = None


def transport_from_config():
    settings: MailSettings = current_app.config["MAIL"]
    if settings.scheme == "file":
        return FileTransport(settings.path)
    return SMTPTransport(settings)


# --- delivery ------------------------------------------------------------------------

@dataclass
class DeliveryReport:
    sent: int = 0
    retried: int = 0
    failed: int = 0
    skipped: int = 0
    dropped: int = 0  # links requests with nobody to write to
    places: list[str] = field(default_factory=list)

    def summary(self) -> str:
        return (
            f"outbox: {self.sent} sent, {self.retried} to retry, {self.failed} failed"
            + (f", {self.skipped} taken by another sender" if self.skipped else "")
        )


def backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(BACKOFF_MAX_SECONDS, BACKOFF_BASE_SECONDS * 2 ** max(0, attempts - 1)))


def _due_condition(now: datetime):
    return or_(
        and_(OutboxMessage.status == OutboxStatus.QUEUED, OutboxMessage.due_at <= now),
        and_(OutboxMessage.status == OutboxStatus.SENDING, OutboxMessage.claimed_at < now - STALE_CLAIM),
    )


def claim(message_id: int, now: datetime) -> str | None:
    """Take one row for delivery; None when another sender was first."""
    token = uuid.uuid4().hex
    result = db.session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == message_id, _due_condition(now))
        .values(
            status=OutboxStatus.SENDING,
            claim_token=token,
            claimed_at=now,
            attempts=OutboxMessage.attempts + 1,
        )
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    return token if result.rowcount == 1 else None


def deliver_due(transport=None, batch: int = 200, now: datetime | None = None, on_sent=None) -> DeliveryReport:
    """Deliver every message that is due now, then return."""
    transport = transport or transport_from_config()
    sender = current_app.config["MAIL_FROM"]
    report = DeliveryReport()
    started = now or utcnow()
    seen: set[int] = set()
    try:
        while True:
            ids = [
                row_id
                for row_id in db.session.scalars(
                    select(OutboxMessage.id)
                    .where(_due_condition(started))
                    .order_by(OutboxMessage.due_at, OutboxMessage.id)
                    .limit(batch)
                )
                if row_id not in seen
            ]
            db.session.rollback()
            if not ids:
                break
            for row_id in ids:
                seen.add(row_id)
                token = claim(row_id, max(utcnow(), started))
                if token is None:
                    report.skipped += 1
                    continue
                _deliver_claimed(row_id, token, transport, sender, report, on_sent)
    finally:
        transport.close()
    return report


def _deliver_claimed(row_id, token, transport, sender, report, on_sent) -> None:
    row = db.session.get(OutboxMessage, row_id)
    if row is None or row.claim_token != token:
        db.session.rollback()
        report.skipped += 1
        return
    if row.kind == LINKS_KIND and row.signature_id is None and not resolve_links_request(row):
        # Nobody to write to (an address that did not sign, or links mailed
        # within the hour): the request goes, with the address in it.
        db.session.delete(row)
        db.session.commit()
        report.dropped += 1
        return
    try:
        if row.template and not row.body_text:
            render_queued(row)
        message = build_message(row, sender)
    except Exception as error:  # whatever breaks the build, it breaks for good
        _fail(row, error, report)
    else:
        try:
            place = transport.send(row, message)
        except PermanentFailure as error:
            _fail(row, error, report)
        except TemporaryFailure as error:
            row.status = OutboxStatus.QUEUED
            row.last_error = str(error)[:2000]
            row.due_at = utcnow() + backoff(row.attempts)
            report.retried += 1
            log.info("mail #%s deferred (attempt %s): %s", row.id, row.attempts, error.reason)
        else:
            row.status = OutboxStatus.SENT
            row.sent_at = utcnow()
            row.last_error = ""
            report.sent += 1
            report.places.append(place)
            _log_delivery(row, place)
            if on_sent is not None:
                on_sent(row, place)
    row.claim_token = None
    db.session.commit()


def _fail(row: OutboxMessage, error: Exception, report: DeliveryReport) -> None:
    row.status = OutboxStatus.FAILED
    row.last_error = f"{type(error).__name__}: {error}"[:2000]
    report.failed += 1
    # The id leads an operator to the row; the log never names the recipient.
    reason = error.reason if isinstance(error, DeliveryFailure) else type(error).__name__
    log.warning("mail #%s failed for good: %s", row.id, reason)


def _log_delivery(row: OutboxMessage, place: str) -> None:
    log.info("mail #%s delivered (%s) → %s", row.id, row.kind, place)
    # Recipients and links are personal, and the links are keys to a
    # signature: only at DEBUG, which `flask quickstart` switches on.
    if log.isEnabledFor(logging.DEBUG):
        links = "".join(f"\n    link: {link}" for link in LINK.findall(row.body_text))
        log.debug("mail #%s to %s (%s)%s", row.id, row.recipient, row.subject, links)


RETENTION_INTERVAL_SECONDS = 3600


@dataclass
class RoundReport:
    reminders: int
    delivery: DeliveryReport

    def summary(self) -> str:
        return self.delivery.summary() + (f" ({self.reminders} reminders queued)" if self.reminders else "")


class DeliveryRound:
    """One round of the outbox worker: queue the reminders that are due, apply
    the retention rules (at most once an hour), deliver what is due. Both
    `flask outbox send` (once, or every few seconds with --loop) and
    quickstart's delivery thread run it. Like `deliver_due` it commits: a
    round is the worker's unit of work, not an operation inside a request."""

    def __init__(self, retention_interval: float = RETENTION_INTERVAL_SECONDS):
        self.retention_interval = retention_interval
        self._last_retention = float("-inf")

    def __call__(self, transport=None) -> RoundReport:
        from .privacy import purge
        from .publication import queue_due_reminders

        reminders = queue_due_reminders()
        if time.monotonic() - self._last_retention >= self.retention_interval:
            purge()
            self._last_retention = time.monotonic()
        db.session.commit()
        return RoundReport(reminders, deliver_due(transport=transport))


def deliver_forever(interval: float = 2.0, echo=print, stop: threading.Event | None = None) -> None:
    """`flask outbox send --loop`: a delivery round, sleep, repeat — until stopped."""
    stop = stop or threading.Event()
    delivery_round = DeliveryRound()
    while not stop.is_set():
        try:
            report = delivery_round().delivery
            if report.sent or report.failed or report.retried:
                echo(report.summary())
        except Exception:  # keep the loop alive through a database hiccup
            log.exception("outbox delivery round failed")
            db.session.rollback()
        stop.wait(interval)


def outbox_counts(letter_id: int | None = None, kind: str | None = None) -> dict[str, int]:
    """How many messages are queued, sent and failed (for organisers)."""
    from sqlalchemy import func

    query = select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)
    if letter_id is not None:
        query = query.where(OutboxMessage.letter_id == letter_id)
    if kind is not None:
        query = query.where(OutboxMessage.kind == kind)
    counts = {status.value: 0 for status in OutboxStatus}
    counts.update({status: count for status, count in db.session.execute(query)})
    return counts


def failed_messages(letter_id: int, limit: int = 50) -> list[OutboxMessage]:
    """Messages that will never arrive (refused address, unbuildable), newest
    first: the organiser sees them and can reach those people another way."""
    return list(
        db.session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.letter_id == letter_id, OutboxMessage.status == OutboxStatus.FAILED)
            .order_by(OutboxMessage.id.desc())
            .limit(limit)
        )
    )
