"""Moderation: paragraph decisions, whole-signature rejection, first
signatories and verified organisations.

One entry point per decision (`moderate`), plain functions that change data,
queue the signer's e-mail and write the audit entry, then flush; the request
commits once. The decision and the notification are kept apart: `moderate`
decides, `notify_decision` tells the signer.
"""
from __future__ import annotations

from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, func, or_, select

from . import audit, mail
from .extensions import db
from .letters import adjust_counts, bump_revision
from .signing import change_status
from .models import Letter, Signature, User, utcnow
from .refusals import Refusal
from .states import LIVE_STATUSES, Kind, ParagraphStatus, SignatureStatus, Source
from .text import clean_line

APPROVE = "approve"
REJECT = "reject"
REVISE = "revise"
DECISIONS = {
    APPROVE: ParagraphStatus.APPROVED,
    REJECT: ParagraphStatus.REJECTED,
    REVISE: ParagraphStatus.REVISION_REQUESTED,
}
# The filters of the queue, in the order the page shows them.
QUEUE_FILTERS = (
    ParagraphStatus.PENDING,
    ParagraphStatus.APPROVED,
    ParagraphStatus.REJECTED,
    ParagraphStatus.REVISION_REQUESTED,
)
MAX_REASON = 1000


class ModerationError(Refusal):
    """A decision that cannot be taken; the message says why."""

    def __init__(self, message):
        super().__init__(str(message))
        self.message = message


# --- the queue ------------------------------------------------------------------

def queue_condition(letter: Letter):
    """Paragraphs that could be published: counted signatures (confirmed
    online, or entered from paper) whose signer allowed the paragraph."""
    return and_(
        Signature.letter_id == letter.id,
        Signature.status == SignatureStatus.CONFIRMED,
        Signature.consent_paragraph.is_(True),
        Signature.paragraph_status != ParagraphStatus.NONE,
    )


def queue_order():
    """Oldest first: by when the paragraph entered the queue."""
    return (func.coalesce(Signature.paragraph_changed_at, Signature.confirmed_at, Signature.created_at), Signature.id)


def queue(letter: Letter, status: str = ParagraphStatus.PENDING, *, limit: int = 50, offset: int = 0) -> list[Signature]:
    query = (
        select(Signature)
        .where(queue_condition(letter), Signature.paragraph_status == status)
        .order_by(*queue_order())
        .limit(limit)
        .offset(offset)
    )
    return list(db.session.scalars(query))


def queue_counts(letter: Letter) -> dict[str, int]:
    counts = {status.value: 0 for status in QUEUE_FILTERS}
    rows = db.session.execute(
        select(Signature.paragraph_status, func.count())
        .where(queue_condition(letter))
        .group_by(Signature.paragraph_status)
    )
    counts.update({status: count for status, count in rows})
    return counts


def in_queue(signature: Signature) -> bool:
    return (
        signature.status == SignatureStatus.CONFIRMED
        and signature.consent_paragraph
        and signature.paragraph_status != ParagraphStatus.NONE
    )


# --- decisions ------------------------------------------------------------------------

def _clean_reason(reason: str | None) -> str:
    return clean_line(reason)[:MAX_REASON]


def _check_not_frozen(letter: Letter) -> None:
    if letter.is_published:
        raise ModerationError(_l("De brief is gepubliceerd; de paragrafen liggen vast."))


def moderate(
    signature: Signature, decision: str, organiser: User, reason: str = "", *, notify: bool = False
) -> bool:
    """Decide on a signature's paragraph: approve, reject (optionally
    explained to the signer by e-mail) or ask for a revision (always
    e-mailed: the signer gets the link to change the paragraph; the changed
    paragraph comes back to the queue as pending). Returns True when the
    signer was e-mailed."""
    if decision not in DECISIONS:
        raise ModerationError(_l("Kies goedkeuren, weigeren of laten herschrijven."))
    if not signature.paragraph or signature.paragraph_status == ParagraphStatus.NONE:
        raise ModerationError(_l("Deze handtekening heeft geen paragraaf."))
    if signature.status not in LIVE_STATUSES:
        raise ModerationError(_l("Deze handtekening telt niet mee; haar paragraaf wordt niet beoordeeld."))
    _check_not_frozen(signature.letter)
    reason = _clean_reason(reason)
    if decision == REVISE:
        if not signature.email:
            raise ModerationError(
                _l("Deze ondertekenaar heeft geen e-mailadres; vraag de aanpassing op een andere manier.")
            )
        if not reason:
            raise ModerationError(_l("Schrijf erbij wat de ondertekenaar moet aanpassen."))
    previous = signature.paragraph_status
    new_status = DECISIONS[decision]
    was_published = previous == ParagraphStatus.APPROVED
    signature.paragraph_status = new_status
    signature.paragraph_reason = "" if decision == APPROVE else reason
    signature.paragraph_moderated_at = utcnow()
    signature.paragraph_moderated_by = organiser.id
    if was_published != (new_status == ParagraphStatus.APPROVED) and signature.is_counted:
        bump_revision(signature.letter_id)
    audit.record(
        f"paragraph.{decision}", user=organiser, signature=signature,
        previous=str(previous), with_reason=bool(reason),
    )
    mailed = False
    if decision == REVISE or (decision == REJECT and notify and reason):
        mailed = notify_decision(signature, decision, reason)
    db.session.flush()
    return mailed


def notify_decision(signature: Signature, decision: str, reason: str) -> bool:
    """E-mail the signer about a rejection or a revision request, in their
    language, with the link to change the paragraph."""
    if not signature.email:
        return False
    template = "paragraph_revise" if decision == REVISE else "paragraph_rejected"
    mail.queue_to_signer(f"paragraph.{decision}", signature, template=template, reason=reason)
    audit.record(f"paragraph.{decision}.mailed", signature=signature, actor="system")
    return True


def bulk_approve(letter: Letter, signature_ids: list[int], organiser: User) -> int:
    """Approve the pending paragraphs among these ids (of this letter only);
    returns how many were approved."""
    ids = sorted({int(i) for i in signature_ids})[:1000]
    if not ids:
        return 0
    _check_not_frozen(letter)
    signatures = db.session.scalars(
        select(Signature).where(
            queue_condition(letter),
            Signature.paragraph_status == ParagraphStatus.PENDING,
            Signature.id.in_(ids),
        )
    ).all()
    now = utcnow()
    for signature in signatures:
        signature.paragraph_status = ParagraphStatus.APPROVED
        signature.paragraph_reason = ""
        signature.paragraph_moderated_at = now
        signature.paragraph_moderated_by = organiser.id
    if signatures:
        bump_revision(letter)
        audit.record(
            "paragraph.bulk_approve", user=organiser, letter=letter,
            count=len(signatures), signature_ids=[s.id for s in signatures],
        )
    db.session.flush()
    return len(signatures)


# --- whole signatures -------------------------------------------------------------------

def reject_signature(signature: Signature, organiser: User, reason: str = "") -> None:
    """Mark a signature rejected (spam, a fake): it stops being counted and
    shown; the address cannot sign this letter again until it is undone."""
    if signature.status == SignatureStatus.REJECTED:
        return
    if signature.status not in LIVE_STATUSES:
        raise ModerationError(_l("Alleen een geldige handtekening kan geweigerd worden."))
    _check_not_frozen(signature.letter)
    was_counted = signature.is_counted
    previous = signature.status
    # One conditional UPDATE: a double click rejects, and uncounts, once.
    if not change_status(
        signature, previous, SignatureStatus.REJECTED, status_before_rejection=previous,
        rejection_reason=_clean_reason(reason), rejected_at=utcnow(),
    ):
        return
    if was_counted:
        adjust_counts(signature, -1)
    audit.record("signature.reject", user=organiser, signature=signature, was_counted=was_counted)


def unreject_signature(signature: Signature, organiser: User) -> None:
    """Undo a rejection: the signature returns to the state it had."""
    if signature.status != SignatureStatus.REJECTED:
        return
    _check_not_frozen(signature.letter)
    restored = signature.status_before_rejection or SignatureStatus.CONFIRMED
    if not change_status(
        signature, SignatureStatus.REJECTED, restored, status_before_rejection=None,
        rejection_reason="", rejected_at=None,
    ):
        return
    if signature.is_counted:
        adjust_counts(signature, +1)
    audit.record("signature.unreject", user=organiser, signature=signature, status=str(restored))


def set_first_signatory(signature: Signature, organiser: User, value: bool) -> None:
    """First signatories are shown first in the document and on the page."""
    if signature.first_signatory == value:
        return
    _check_not_frozen(signature.letter)
    signature.first_signatory = value
    bump_revision(signature.letter_id)
    audit.record("signature.first_signatory", user=organiser, signature=signature, value=value)
    db.session.flush()


def set_verified(signature: Signature, organiser: User, value: bool) -> None:
    """Mark an organisation signature verified (e.g. after a phone call)."""
    if signature.kind != Kind.ORGANISATION:
        raise ModerationError(_l("Alleen een organisatie kan geverifieerd worden."))
    if bool(signature.verified_at) == value:
        return
    signature.verified_at = utcnow() if value else None
    audit.record("signature.verify", user=organiser, signature=signature, value=value)
    db.session.flush()


def organisations(letter: Letter, *, unverified_only: bool = False) -> list[Signature]:
    query = select(Signature).where(
        Signature.letter_id == letter.id,
        Signature.kind == Kind.ORGANISATION,
        Signature.status.in_((SignatureStatus.CONFIRMED, SignatureStatus.UNCONFIRMED, SignatureStatus.REJECTED)),
    )
    if unverified_only:
        query = query.where(Signature.verified_at.is_(None), Signature.status == SignatureStatus.CONFIRMED)
    return list(db.session.scalars(query.order_by(Signature.sort_key, Signature.id)))


def unverified_organisation_count(letter: Letter) -> int:
    """Counted organisation signatures nobody has verified yet: said plainly
    before publishing."""
    return db.session.scalar(
        select(func.count()).select_from(Signature).where(
            Signature.letter_id == letter.id,
            Signature.kind == Kind.ORGANISATION,
            Signature.status == SignatureStatus.CONFIRMED,
            Signature.verified_at.is_(None),
        )
    ) or 0


@dataclass
class SignatureFilter:
    status: str = ""
    kind: str = ""
    source: str = ""
    query: str = ""


def search_signatures(letter: Letter, flt: SignatureFilter, *, limit: int = 100, offset: int = 0):
    """Signatures of a letter for the organiser's list (newest first)."""
    query = select(Signature).where(Signature.letter_id == letter.id)
    if flt.status in {s.value for s in SignatureStatus}:
        query = query.where(Signature.status == flt.status)
    if flt.kind in {k.value for k in Kind}:
        query = query.where(Signature.kind == flt.kind)
    if flt.source in {s.value for s in Source}:
        query = query.where(Signature.source == flt.source)
    text = clean_line(flt.query)[:100]
    if text:
        pattern = "%" + text.casefold().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        query = query.where(
            or_(
                func.lower(Signature.first_name + " " + Signature.last_name).like(pattern, escape="\\"),
                func.lower(Signature.organisation).like(pattern, escape="\\"),
                Signature.email_key.like(pattern, escape="\\"),
                func.lower(Signature.place).like(pattern, escape="\\"),
            )
        )
    total = db.session.scalar(select(func.count()).select_from(query.subquery()))
    rows = db.session.scalars(query.order_by(Signature.id.desc()).limit(limit).offset(offset)).all()
    return list(rows), total
