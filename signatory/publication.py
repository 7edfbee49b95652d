"""Publishing a letter, telling the signatories who asked, and recording the
answers that come back (DESIGN §3, issue 6).

Domain functions flush and never commit; the request commits once.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import String, and_, cast, func, literal, select
from sqlalchemy.orm import aliased

from . import audit, mail
from .extensions import db
from .models import Answer, Document, Letter, OutboxMessage, Signature, User, utcnow
from .refusals import Refusal
from .states import OPEN_OR_CLOSED, LetterState, SignatureStatus
from .text import clean_line, strip_controls
from .tokens import external_url, manage_url

NOTICE_KIND = "publication"
NOTICE_BATCH = 1000  # rows a statement
MAX_MANNER_LENGTH = 2000
MAX_ATTACHMENT_BYTES = 5 * 1024 * 1024


class PublicationError(Refusal):
    pass


def publish(letter: Letter, publication_date: date, manner: str, user: User | None = None) -> None:
    """Publish an open or closed letter: signing ends, the list is frozen and
    the compiled document is kept as it is now, in the database."""
    if letter.state not in OPEN_OR_CLOSED:
        raise PublicationError(_l("Alleen een open of afgesloten brief kan gepubliceerd worden."))
    manner = clean_line(manner)
    if not manner:
        raise PublicationError(_l("Beschrijf hoe de brief gepubliceerd wordt."), "publication_manner")
    if len(manner) > MAX_MANNER_LENGTH:
        raise PublicationError(_l("Maximaal %(n)d tekens.", n=MAX_MANNER_LENGTH), "publication_manner")
    letter.state = LetterState.PUBLISHED
    letter.publication_date = publication_date
    letter.publication_manner = manner
    letter.published_at = utcnow()
    letter.closed_at = letter.closed_at or letter.published_at
    db.session.flush()
    from .pdf.store import freeze_published_document

    document = freeze_published_document(letter)
    audit.record(
        "letter.publish", user=user, letter=letter,
        publication_date=publication_date.isoformat(), sha256=document.sha256,
    )


def frozen_document(letter: Letter) -> Document | None:
    """The published letter's kept document with its SHA-256; None before
    publication, and while a large one is still being compiled."""
    if not letter.is_published:
        return None
    from .pdf.store import latest_ready

    return latest_ready(letter)


@dataclass
class NoticeReport:
    queued: int
    already: int


def notify_signatories(letter: Letter, user: User | None = None) -> NoticeReport:
    """Queue one publication notice for every counted signatory who asked to
    be told. Idempotent: the outbox's unique dedup key makes the database
    refuse a second notice to anyone, also from two browsers at once."""
    if not letter.is_published:
        raise PublicationError(_l("Publiceer de brief eerst."))
    before = _notice_count(letter)
    links = {
        "letter_url": external_url(f"/letters/{letter.slug}"),
        "document_url": external_url(f"/letters/{letter.slug}/document.pdf"),
    }
    for language in ("nl", "en"):
        # In signature order, so that two senders at once meet in the same order.
        signers = db.session.execute(
            select(Signature.id, Signature.email).where(_eligible(letter, language)).order_by(Signature.id)
        ).all()
        for start in range(0, len(signers), NOTICE_BATCH):
            mail.queue_rows([
                mail.outbox_row(
                    NOTICE_KIND, recipient=email, template="publication", language=language,
                    letter_id=letter.id, signature_id=signature_id, dedup_key=f"{NOTICE_KIND}:{signature_id}", **links,
                )
                for signature_id, email in signers[start:start + NOTICE_BATCH]
            ])
    queued = _notice_count(letter) - before
    audit.record("letter.notify", user=user, letter=letter, queued=queued)
    return NoticeReport(queued=queued, already=before)


def _asked(letter: Letter, signature=Signature):
    return and_(
        signature.letter_id == letter.id,
        signature.status == SignatureStatus.CONFIRMED,
        signature.consent_notify.is_(True),
        signature.email.is_not(None),
        signature.email != "",
    )


def _eligible(letter: Letter, language: str):
    """Who gets a notice: one per person, even one who signed twice (for
    themselves and for an organisation): the address's first signature that
    asked speaks for it, unless a notice already went to the address."""
    other = aliased(Signature)
    noticed = aliased(Signature)
    first_of_person = ~select(other.id).where(
        _asked(letter, other), other.email_key == Signature.email_key, other.id < Signature.id,
    ).exists()
    not_yet_told = ~select(OutboxMessage.id).join(noticed, noticed.id == OutboxMessage.signature_id).where(
        OutboxMessage.letter_id == letter.id, OutboxMessage.kind == NOTICE_KIND,
        noticed.email_key == Signature.email_key, noticed.id != Signature.id,
    ).exists()
    return and_(
        _asked(letter),
        (Signature.language == language) if language == "en" else (Signature.language != "en"),
        first_of_person,
        not_yet_told,
    )


def _notice_count(letter: Letter) -> int:
    return db.session.scalar(
        select(func.count()).select_from(OutboxMessage).where(
            OutboxMessage.letter_id == letter.id, OutboxMessage.kind == NOTICE_KIND
        )
    )


def notice_counts(letter: Letter) -> dict[str, int]:
    """Queued, delivered and failed publication notices, for the organiser."""
    counts = mail.outbox_counts(letter_id=letter.id, kind=NOTICE_KIND)
    counts["waiting"] = db.session.scalar(
        select(func.count()).select_from(Signature).where(
            _eligible(letter, "nl") | _eligible(letter, "en"),
            ~select(OutboxMessage.id).where(
                OutboxMessage.dedup_key == literal(NOTICE_KIND + ":") + cast(Signature.id, String)
            ).exists(),
        )
    ) if letter.is_published else 0
    return counts


# --- answers -----------------------------------------------------------------------

@dataclass
class AnswerInput:
    author_name: str
    received_on: date
    author_function: str = ""
    author_affiliation: str = ""
    body: str = ""
    attachment: bytes | None = None
    attachment_name: str = ""


def record_answer(letter: Letter, answer: AnswerInput, user: User | None = None) -> Answer:
    """A response from a recipient, shown on the public page after publication."""
    if not letter.is_published:
        raise PublicationError(_l("Antwoorden komen pas na de publicatie."))
    author_name = clean_line(answer.author_name)
    if not author_name:
        raise PublicationError(_l("Van wie komt het antwoord?"), "author_name")
    if answer.attachment is not None:
        if len(answer.attachment) > MAX_ATTACHMENT_BYTES:
            raise PublicationError(_l("De bijlage is groter dan 5 MB."), "attachment")
        if not answer.attachment.startswith(b"%PDF-"):
            raise PublicationError(_l("De bijlage moet een PDF zijn."), "attachment")
    row = Answer(
        letter_id=letter.id,
        author_name=author_name[:200],
        author_function=clean_line(answer.author_function)[:200],
        author_affiliation=clean_line(answer.author_affiliation)[:200],
        received_on=answer.received_on,
        body=strip_controls(answer.body).strip(),
        attachment=answer.attachment,
        attachment_name=clean_line(answer.attachment_name)[:200],
    )
    db.session.add(row)
    db.session.flush()
    audit.record("answer.record", user=user, letter=letter, answer_id=row.id)
    return row


def published_paragraphs(letter: Letter, *, after: int | None = None, limit: int = 50) -> list[Signature]:
    """Approved paragraphs whose signers consented, in signing order: the
    same condition the compiled document uses."""
    from .pdf.store import published_paragraphs_condition

    query = select(Signature).where(published_paragraphs_condition(letter.id))
    if after is not None:
        query = query.where(Signature.id > after)
    return list(db.session.scalars(query.order_by(Signature.id).limit(limit)))


def answers_of(letter: Letter) -> list[Answer]:
    return list(
        db.session.scalars(
            select(Answer).where(Answer.letter_id == letter.id).order_by(Answer.received_on, Answer.id)
        )
    )


def delete_answer(answer: Answer, user: User | None = None) -> None:
    audit.record("answer.delete", user=user, letter=db.session.get(Letter, answer.letter_id), answer_id=answer.id)
    db.session.delete(answer)


# --- reminders -----------------------------------------------------------------------

REMINDER_AFTER = timedelta(days=3)
REMINDER_KIND = "reminder"


def queue_due_reminders(now: datetime | None = None, limit: int = 1000) -> int:
    """One reminder to a signer who has not confirmed after a few days, only
    while the letter is open; never to a withdrawn or erased signer (only
    unconfirmed signatures qualify), never twice (a dedup key per signature)."""
    now = now or utcnow()
    candidates = db.session.scalars(
        select(Signature)
        .join(Letter, Letter.id == Signature.letter_id)
        .where(
            Signature.status == SignatureStatus.UNCONFIRMED,
            Signature.reminded_at.is_(None),
            Signature.created_at <= now - REMINDER_AFTER,
            Signature.email.is_not(None),
            Letter.state == LetterState.OPEN,
        )
        .order_by(Signature.id)
        .limit(limit)
    ).all()
    queued = 0
    for signature in candidates:
        if not signature.letter.is_signable:
            continue  # closed by the clock
        signature.reminded_at = now
        queued += mail.queue_to_signer(
            REMINDER_KIND, signature, template="reminder",
            dedup_key=f"{REMINDER_KIND}:{signature.id}",
            headers={"List-Unsubscribe": f"<{manage_url(signature.id)}>"},
        )
    return queued
