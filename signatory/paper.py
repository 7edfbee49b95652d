"""Paper and e-mailed forms (DESIGN §2): an organiser types in a form
received by post or e-mail; it counts at once, without confirmation, and its
paragraph is approved on entry. The ten-line rule applies, unless the
organiser overrides it with a reason, which is kept in the audit log.

Also the printable blank form for a letter (drawn by `pdf.paper_form`).
"""
from __future__ import annotations

from datetime import date
from urllib.parse import urlsplit

from flask_babel import format_date, gettext as _, lazy_gettext as _l
from sqlalchemy.exc import IntegrityError

from . import audit, tokens
from .extensions import db
from .letters import adjust_counts
from .models import Letter, Signature, User, utcnow
from .pdf import paper_form
from .pdf.line_rule import MAX_PARAGRAPH_CHARS, MAX_PARAGRAPH_LINES, line_verdict
from .signing import (
    SignatureDetails,
    SigningError,
    new_signature,
    clean_details,
    normalise_email,
)
from .states import OPEN_OR_CLOSED, ParagraphStatus, SignatureStatus, Source
from .text import normalise_paragraph

PAPER_SOURCES = (Source.PAPER, Source.EMAIL)
MAX_OVERRIDE_REASON = 500


def enter_form(
    letter: Letter,
    details: SignatureDetails,
    *,
    source: str,
    received_on: date | None,
    organiser: User,
    override_reason: str = "",
) -> Signature:
    """Enter a paper or e-mailed form. Raises SigningError (with the field)
    for anything the organiser must fix."""
    if source not in PAPER_SOURCES:
        raise SigningError(_l("Kies papier of e-mail."), "source")
    if letter.state not in OPEN_OR_CLOSED:
        raise SigningError(
            _l("Formulieren invoeren kan alleen bij een geopende of afgesloten brief, niet bij een ontwerp of een gepubliceerde brief.")
        )
    if received_on is not None and received_on > date.today():
        raise SigningError(_l("De ontvangstdatum ligt in de toekomst."), "received_on")
    override_reason = " ".join((override_reason or "").split())[:MAX_OVERRIDE_REASON]

    paragraph = normalise_paragraph(details.paragraph or "")
    if len(paragraph) > MAX_PARAGRAPH_CHARS:
        raise SigningError(_l("Maximaal %(limit)d tekens.", limit=MAX_PARAGRAPH_CHARS), "paragraph")
    lines, fits = line_verdict(paragraph) if paragraph else (0, True)
    overridden = bool(paragraph) and not fits
    if overridden and not override_reason:
        raise SigningError(
            _l(
                "De paragraaf neemt %(lines)d lijnen in het document; het maximum is %(max)d. "
                "Kort hem in, of geef een reden om de regel toch niet toe te passen.",
                lines=lines, max=MAX_PARAGRAPH_LINES,
            ),
            "paragraph",
        )
    details.paragraph = ""  # checked above, with the override
    cleaned = clean_details(details)
    cleaned.paragraph = paragraph

    email, email_key = None, None
    if cleaned.email:
        email, email_key = normalise_email(cleaned.email)
    signature = new_signature(letter, cleaned, email=email, email_key=email_key)
    now = utcnow()
    signature.source = source
    signature.received_on = received_on or date.today()
    signature.status = SignatureStatus.CONFIRMED
    signature.confirmed_at = now
    signature.entered_by = organiser.id
    if paragraph:
        signature.paragraph_status = ParagraphStatus.APPROVED
        signature.paragraph_moderated_at = now
        signature.paragraph_moderated_by = organiser.id
        signature.line_rule_override = override_reason if overridden else ""
    try:
        with db.session.begin_nested():
            db.session.add(signature)
    except IntegrityError:
        raise SigningError(
            _l("Met dit e-mailadres (en deze organisatie) werd deze brief al ondertekend."), "email"
        ) from None
    adjust_counts(signature, +1)
    audit.record(
        "signature.paper_entry", user=organiser, signature=signature, source=source,
        with_email=email is not None, with_paragraph=bool(paragraph),
    )
    if overridden:
        audit.record(
            "paragraph.line_rule_override", user=organiser, signature=signature,
            lines=lines, reason=override_reason,
        )
    db.session.flush()
    return signature


# --- the printable blank form -------------------------------------------------------

def short_address(letter: Letter) -> str:
    """The online form's address without the scheme, to type from paper."""
    url = tokens.external_url(f"/letters/{letter.slug}")
    parts = urlsplit(url)
    host = parts.netloc.removeprefix("www.")
    return f"{host}{parts.path}"


def blank_form_pdf(letter: Letter) -> bytes:
    """The paper form of the seed, for this letter, as an A4 PDF in the
    organiser's language."""
    form = paper_form.BlankForm(
        title=letter.title,
        url=tokens.external_url(f"/letters/{letter.slug}"),
        short_address=short_address(letter),
        subtitle=letter.subtitle or "",
        organiser=letter.organiser or "",
        contact=letter.contact or "",
        deadline=format_date(letter.deadline, "d MMMM yyyy") if letter.deadline else "",
    )
    return paper_form.blank_form_pdf(form, gettext=_)
