"""An organiser corrects a signature (DESIGN §6 `/organise/signatures/<id>/edit`):
a typo in any field, online or typed from paper, with an optional reason.

The audit entry keeps every changed field's old and new value (DESIGN §6),
so an erasure also blanks those values (`forget_corrections`). The e-mail
and postal addresses are the exception: they are erased by the retention
rules (DESIGN §3), so the log says only that they changed. A changed
paragraph goes back to moderation unless the organiser approves it with the
change. The same rules as signing apply: names required, the organisation
when signing for one, a valid address, the ten-line rule, and one live
signature per letter, address and organisation.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, replace

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from . import audit
from .extensions import db
from .letters import adjust_counts, bump_revision
from .models import AuditEntry, Signature, User, utcnow
from .signing import (
    SignatureDetails,
    SigningError,
    clean_details,
    normalise_email,
    organisation_key,
    sort_key_for,
)
from .pdf.line_rule import MAX_PARAGRAPH_CHARS, MAX_PARAGRAPH_LINES, line_verdict, normalise_paragraph
from .states import BLOCKING_STATUSES, LetterState, ParagraphStatus, Source

# Kept out of the log's values: the retention rules erase them on a clock.
UNLOGGED_VALUES = ("email", "address")
CORRECTABLE_FIELDS = (
    "first_name", "last_name", "kind", "organisation", "function", "address", "email", "place",
    "paragraph", "consent_name", "consent_paragraph", "consent_notify",
)
ACTION = "signature.correct"
MAX_REASON = 500


@dataclass(frozen=True)
class Change:
    field: str
    old: object
    new: object


def correctable(signature: Signature) -> bool:
    return signature.status in BLOCKING_STATUSES and signature.letter.state != LetterState.PUBLISHED


def correct(
    signature: Signature,
    details: SignatureDetails,
    organiser: User,
    *,
    reason: str = "",
    approve_paragraph: bool = False,
) -> list[Change]:
    """Apply an organiser's correction; raise SigningError (with the field)
    for what must be fixed first. Returns the changes (none: nothing saved)."""
    if signature.letter.state == LetterState.PUBLISHED:
        raise SigningError(_l("De brief is gepubliceerd; de handtekeningen liggen vast. Wissen kan nog wel."))
    if signature.status not in BLOCKING_STATUSES:
        raise SigningError(_l("Een ingetrokken of gewiste handtekening kan niet meer gecorrigeerd worden."))
    cleaned = _cleaned(signature, details)
    email, email_key = signature.email, signature.email_key
    if cleaned.email != (signature.email or ""):
        if cleaned.email:
            email, email_key = normalise_email(cleaned.email)
        elif signature.source == Source.ONLINE:
            raise SigningError(_l("Een online handtekening houdt haar e-mailadres."), "email")
        else:
            email, email_key = None, None
    cleaned.email = email
    changes = [
        Change(name, getattr(signature, name), getattr(cleaned, name))
        for name in CORRECTABLE_FIELDS
        if getattr(cleaned, name) != getattr(signature, name)
        and not (name == "email" and (cleaned.email or None) == (signature.email or None))
    ]
    if not changes and not (approve_paragraph and _awaits_moderation(signature)):
        return []
    changed = {change.field for change in changes}
    new_organisation_key = organisation_key(cleaned.kind, cleaned.organisation)
    if {"email", "kind", "organisation"} & changed:
        _check_still_unique(signature, email_key, new_organisation_key)
    was_counted = signature.is_counted
    if was_counted and "kind" in changed:
        adjust_counts(signature, -1)  # the organisation counter follows the kind
    for change in changes:
        setattr(signature, change.field, change.new)
    signature.email_key = email_key
    signature.organisation_key = new_organisation_key
    if {"first_name", "last_name", "kind", "organisation"} & changed:
        signature.sort_key = sort_key_for(signature.letter, signature)
    paragraph_outcome = _moderate_changed_paragraph(signature, organiser, "paragraph" in changed, approve_paragraph)
    if was_counted and "kind" in changed:
        adjust_counts(signature, +1)
    elif was_counted:
        bump_revision(signature.letter_id)
    audit.record(
        ACTION, user=organiser, signature=signature,
        changes=[_logged(change) for change in changes],
        reason=" ".join((reason or "").split())[:MAX_REASON],
        paragraph=paragraph_outcome,
    )
    db.session.flush()
    return changes


def _logged(change: Change) -> dict:
    if change.field in UNLOGGED_VALUES:
        return {"field": change.field}
    return {"field": change.field, "old": change.old, "new": change.new}


def _cleaned(signature: Signature, details: SignatureDetails) -> SignatureDetails:
    """The signing rules; the paragraph's is `corrected_paragraph`."""
    cleaned = clean_details(replace(details, paragraph=""))
    cleaned.paragraph = corrected_paragraph(signature, details.paragraph)
    return cleaned


def corrected_paragraph(signature: Signature, paragraph: str) -> str:
    """The ten-line rule (DESIGN §4) for a corrected paragraph, as for a
    signed one; a paragraph entered from paper with the rule overridden (its
    reason audited on entry) keeps that override. Raises SigningError."""
    paragraph = normalise_paragraph(paragraph or "")
    if len(paragraph) > MAX_PARAGRAPH_CHARS:
        raise SigningError(_l("Maximaal %(limit)d tekens.", limit=MAX_PARAGRAPH_CHARS), "paragraph")
    if paragraph and not signature.line_rule_override:
        lines, fits = line_verdict(paragraph)
        if not fits:
            raise SigningError(
                _l(
                    "De paragraaf neemt %(lines)d lijnen in het document; het maximum is %(max)d. Kort hem in.",
                    lines=lines, max=MAX_PARAGRAPH_LINES,
                ),
                "paragraph",
            )
    return paragraph


def _awaits_moderation(signature: Signature) -> bool:
    return bool(signature.paragraph) and signature.paragraph_status != ParagraphStatus.APPROVED


def _moderate_changed_paragraph(signature: Signature, organiser: User, changed: bool, approve: bool) -> str:
    """A changed paragraph goes back to moderation, unless the organiser
    approves the change; returns what happened ("" when nothing did)."""
    if not signature.paragraph:
        if changed:
            signature.paragraph_status = ParagraphStatus.NONE
            signature.paragraph_reason = ""
            return "removed"
        return ""
    if not (changed or approve):
        return ""
    signature.paragraph_changed_at = utcnow() if changed else signature.paragraph_changed_at
    signature.paragraph_reason = ""
    if approve:
        signature.paragraph_status = ParagraphStatus.APPROVED
        signature.paragraph_moderated_at = utcnow()
        signature.paragraph_moderated_by = organiser.id
        return ParagraphStatus.APPROVED.value
    signature.paragraph_status = ParagraphStatus.PENDING
    return ParagraphStatus.PENDING.value


def _check_still_unique(signature: Signature, email_key: str | None, org_key: str) -> None:
    """DESIGN §3: one live signature per letter, address and organisation."""
    if email_key is None:
        return
    other = db.session.scalar(
        select(Signature.id).where(
            Signature.letter_id == signature.letter_id,
            Signature.id != signature.id,
            Signature.email_key == email_key,
            Signature.organisation_key == org_key,
            Signature.status.in_(BLOCKING_STATUSES),
        )
    )
    if other is not None:
        raise SigningError(
            _l("Met dit e-mailadres (en deze organisatie) werd deze brief al ondertekend (handtekening %(id)s).", id=other),
            "email",
        )


def forget_corrections(signature: Signature | list[int]) -> None:
    """On erasure (on request, or by the retention rules for unconfirmed and
    withdrawn signatures): the corrections' old and new values go too; the
    entries stay, saying which fields were corrected."""
    ids = [signature.id] if isinstance(signature, Signature) else list(signature)
    if not ids:
        return
    entries = db.session.scalars(
        select(AuditEntry).where(AuditEntry.signature_id.in_(ids), AuditEntry.action == ACTION)
    )
    for entry in entries:
        detail = json.loads(entry.detail or "{}")
        detail["changes"] = [{"field": change.get("field")} for change in detail.get("changes", [])]
        detail["reason"] = ""
        detail["erased"] = True
        entry.detail = json.dumps(detail, ensure_ascii=False, sort_keys=True)


def details_of(signature: Signature) -> SignatureDetails:
    """The signature's fields as the edit form shows them."""
    return SignatureDetails(
        first_name=signature.first_name, last_name=signature.last_name, kind=signature.kind,
        organisation=signature.organisation, function=signature.function, address=signature.address,
        email=signature.email or "", place=signature.place, paragraph=signature.paragraph,
        consent_name=signature.consent_name, consent_paragraph=signature.consent_paragraph,
        consent_notify=signature.consent_notify, language=signature.language,
    )

