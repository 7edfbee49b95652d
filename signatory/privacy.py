"""Privacy (GDPR / AVG, DESIGN §3): erasure on request and the retention
rules, applied by `flask privacy purge` (from a cron, or next to the outbox
loop).

* `erase(signature, organiser)` — the signatory's personal data is gone, the
  count adjusted, an audit entry kept without the data. After publication the
  data revision is bumped so the public page and PDF become a new version.
* `purge(now)` — unconfirmed signatures older than 30 days are deleted; IP
  hashes older than 30 days are cleared; e-mail and postal addresses are
  erased a configurable time after publication (default 12 months).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import delete, select, update

from . import audit
from .extensions import db
from .corrections import forget_corrections
from .letters import adjust_counts, bump_revision
from .models import Letter, OutboxMessage, Signature, User, utcnow
from .states import LetterState, OutboxStatus, ParagraphStatus, SignatureStatus

UNCONFIRMED_WINDOW = timedelta(days=30)
PERSONAL_TEXT_FIELDS = ("first_name", "last_name", "organisation", "organisation_key", "function", "address", "place", "paragraph")


def address_retention_months() -> int:
    """`ADDRESS_RETENTION_MONTHS`, validated with the other settings."""
    return current_app.config["ADDRESS_RETENTION_MONTHS"]


def erase(signature: Signature, organiser: User | None, *, actor: str = "") -> None:
    """Erase one signatory on request. The row stays as an empty shell with
    status `erased` (so the audit trail keeps its reference); every field a
    person typed is cleared, and so is every e-mail queued for them."""
    if signature.status == SignatureStatus.ERASED:
        return
    was_counted = signature.is_counted
    had_paragraph = signature.paragraph_status == ParagraphStatus.APPROVED
    letter = signature.letter
    for name in PERSONAL_TEXT_FIELDS:
        setattr(signature, name, "")
    signature.email = None
    signature.email_key = None
    signature.ip_hash = None
    signature.rejection_reason = ""
    signature.paragraph_reason = ""
    signature.line_rule_override = ""
    signature.paragraph_status = ParagraphStatus.NONE
    signature.consent_name = signature.consent_paragraph = signature.consent_notify = False
    signature.first_signatory = False
    signature.sort_key = b""
    signature.status = SignatureStatus.ERASED
    signature.status_before_rejection = None
    signature.erased_at = utcnow()
    db.session.flush()
    forget_corrections(signature)
    db.session.execute(delete(OutboxMessage).where(OutboxMessage.signature_id == signature.id))
    if was_counted:
        adjust_counts(signature, -1)
    else:
        bump_revision(letter)
    if letter.is_published:
        # DESIGN §3: the public page and PDF are regenerated as a new version.
        from .pdf.store import freeze_published_document, withdraw_published_documents

        withdraw_published_documents(letter)
        freeze_published_document(letter)
    audit.record(
        "signature.erase", user=organiser, signature=signature, actor=actor,
        was_counted=was_counted, had_published_paragraph=had_paragraph,
        after_publication=letter.is_published,
    )
    db.session.flush()


@dataclass
class PurgeReport:
    unconfirmed_deleted: int = 0
    ip_hashes_cleared: int = 0
    addresses_erased: int = 0
    withdrawn_erased: int = 0
    outbox_cleared: int = 0

    def summary(self) -> str:
        return (
            f"privacy: {self.unconfirmed_deleted} unconfirmed signatures deleted, "
            f"{self.ip_hashes_cleared} IP hashes cleared, "
            f"{self.addresses_erased} signatures' addresses erased after publication or the deadline, "
            f"{self.withdrawn_erased} withdrawn signatures erased, "
            f"{self.outbox_cleared} e-mails removed"
        )


def _months_ago(now: datetime, months: int) -> datetime:
    return now - timedelta(days=round(months * 365.25 / 12))


def purge(now: datetime | None = None, *, address_months: int | None = None) -> PurgeReport:
    """Apply the retention rules once; flushes, the caller commits."""
    now = now or utcnow()
    months = address_retention_months() if address_months is None else address_months
    report = PurgeReport()
    cutoff = now - UNCONFIRMED_WINDOW

    stale = select(Signature.id).where(
        Signature.status == SignatureStatus.UNCONFIRMED, Signature.created_at < cutoff
    )
    stale_ids = list(db.session.scalars(stale))
    for start in range(0, len(stale_ids), 500):
        chunk = stale_ids[start:start + 500]
        forget_corrections(chunk)
        report.outbox_cleared += db.session.execute(
            delete(OutboxMessage).where(OutboxMessage.signature_id.in_(chunk))
        ).rowcount or 0
        report.unconfirmed_deleted += db.session.execute(
            delete(Signature).where(Signature.id.in_(chunk)).execution_options(synchronize_session=False)
        ).rowcount or 0

    report.ip_hashes_cleared = db.session.execute(
        update(Signature)
        .where(Signature.ip_hash.is_not(None), Signature.created_at < cutoff)
        .values(ip_hash=None)
        .execution_options(synchronize_session=False)
    ).rowcount or 0

    retention_cutoff = _months_ago(now, months)
    for letter in _letters_past_retention(retention_cutoff):
        _erase_addresses(letter, report, months)
    _erase_withdrawn(cutoff, report)
    if report.unconfirmed_deleted or report.ip_hashes_cleared or report.withdrawn_erased:
        audit.record(
            "privacy.purge", actor="retention",
            unconfirmed_deleted=report.unconfirmed_deleted, ip_hashes_cleared=report.ip_hashes_cleared,
            withdrawn_erased=report.withdrawn_erased,
        )
    db.session.flush()
    return report


def _letters_past_retention(cutoff: datetime) -> list[Letter]:
    """Letters whose addresses have been kept long enough: published before
    the cutoff, or closed (by hand or by the clock) and never published, with
    a deadline that passed before it (DESIGN §3)."""
    published = select(Letter).where(
        Letter.state == LetterState.PUBLISHED, Letter.published_at.is_not(None), Letter.published_at < cutoff,
    )
    unpublished = select(Letter).where(
        Letter.state.in_((LetterState.OPEN, LetterState.CLOSED)),
        Letter.deadline.is_not(None),
        Letter.deadline < cutoff.date(),
    )
    found = list(db.session.scalars(published))
    # The deadline ends at midnight in the letter's own time zone.
    found += [letter for letter in db.session.scalars(unpublished) if letter.deadline_passed(cutoff)]
    return found


def _erase_addresses(letter: Letter, report: PurgeReport, months: int) -> None:
    erased = db.session.execute(
        update(Signature)
        .where(
            Signature.letter_id == letter.id,
            (Signature.email.is_not(None)) | (Signature.address != ""),
        )
        .values(email=None, email_key=None, address="")
        .execution_options(synchronize_session=False)
    ).rowcount or 0
    if not erased:
        return
    report.addresses_erased += erased
    # The outbox carries the addresses too: messages still waiting go,
    # delivered ones keep their row (the counts) but not the address
    # nor the text with its links.
    report.outbox_cleared += db.session.execute(
        delete(OutboxMessage).where(
            OutboxMessage.letter_id == letter.id,
            OutboxMessage.status.in_((OutboxStatus.QUEUED, OutboxStatus.FAILED)),
        )
    ).rowcount or 0
    report.outbox_cleared += _blank_sent_messages(OutboxMessage.letter_id == letter.id)
    audit.record("privacy.addresses_erased", letter=letter, actor="retention", count=erased, months=months)


def _blank_sent_messages(condition) -> int:
    return db.session.execute(
        update(OutboxMessage)
        .where(condition, OutboxMessage.status == OutboxStatus.SENT)
        .values(recipient="", body_text="", body_html="", context="{}")
        .execution_options(synchronize_session=False)
    ).rowcount or 0


def _erase_withdrawn(cutoff: datetime, report: PurgeReport) -> None:
    """A withdrawn signature keeps nothing personal after 30 days: the row
    stays as an erased shell (it was not counted, so no count changes)."""
    ids = list(db.session.scalars(
        select(Signature.id).where(
            Signature.status == SignatureStatus.WITHDRAWN, Signature.withdrawn_at < cutoff,
        )
    ))
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        forget_corrections(chunk)
        report.withdrawn_erased += db.session.execute(
            update(Signature)
            .where(Signature.id.in_(chunk))
            .values(
                **{name: "" for name in PERSONAL_TEXT_FIELDS},
                email=None, email_key=None, ip_hash=None, rejection_reason="", paragraph_reason="",
                line_rule_override="", paragraph_status=ParagraphStatus.NONE, consent_name=False,
                consent_paragraph=False, consent_notify=False, first_signatory=False, sort_key=b"",
                status=SignatureStatus.ERASED, erased_at=utcnow(),
            )
            .execution_options(synchronize_session=False)
        ).rowcount or 0
        report.outbox_cleared += db.session.execute(
            delete(OutboxMessage).where(
                OutboxMessage.signature_id.in_(chunk), OutboxMessage.status != OutboxStatus.SENT,
            )
        ).rowcount or 0
        report.outbox_cleared += _blank_sent_messages(OutboxMessage.signature_id.in_(chunk))
