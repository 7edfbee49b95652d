"""Paper and e-mailed forms (DESIGN §2): an organiser types in a form
received by post or e-mail; it counts at once, without confirmation, and its
paragraph is approved on entry. The ten-line rule applies, unless the
organiser overrides it with a reason, which is kept in the audit log.

Also the printable blank form (PDF): the paper form of the seed with the
letter's title, contact, deadline, a QR code and the short address of the
online form.
"""
from __future__ import annotations

import io
from datetime import date
from urllib.parse import urlsplit

from flask_babel import format_date, gettext as _, lazy_gettext as _l
from reportlab.lib.colors import black, HexColor
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import Flowable, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle
from sqlalchemy.exc import IntegrityError

from . import audit, tokens
from .extensions import db
from .letters import adjust_counts
from .models import Letter, Signature, User, utcnow
from .signing import (
    SignatureDetails,
    SigningError,
    new_signature,
    clean_details,
    normalise_email,
)
from .states import LetterState, ParagraphStatus, SignatureStatus, Source
from .typesetting import (
    MAX_PARAGRAPH_CHARS,
    MAX_PARAGRAPH_LINES,
    SERIF,
    line_verdict,
    normalise_paragraph,
    paragraph_markup,
    register_fonts,
)

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
    if letter.state not in (LetterState.OPEN, LetterState.CLOSED):
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


class QRCode(Flowable):
    """A QR code drawn as vector squares: sharp at any print resolution,
    and the same bytes every time."""

    def __init__(self, data: str, size: float):
        super().__init__()
        import segno

        self.matrix = segno.make(data, error="m", micro=False).matrix
        self.size = size

    def wrap(self, available_width, available_height):
        return self.size, self.size

    def draw(self):
        modules = len(self.matrix) + 8  # a quiet zone of four modules
        cell = self.size / modules
        canvas = self.canv
        canvas.setFillColor(black)
        for row_index, row in enumerate(self.matrix):
            y = self.size - (row_index + 5) * cell
            for col_index, dark in enumerate(row):
                if dark:
                    canvas.rect((col_index + 4) * cell, y, cell, cell, stroke=0, fill=1)


class WritingLines(Flowable):
    """Ruled lines to write on."""

    def __init__(self, count: int, width: float, spacing: float = 7 * mm):
        super().__init__()
        self.count, self.width, self.spacing = count, width, spacing

    def wrap(self, available_width, available_height):
        self.width = min(self.width, available_width)
        return self.width, self.count * self.spacing

    def draw(self):
        self.canv.setStrokeColor(HexColor("#9a968c"))
        self.canv.setLineWidth(0.5)
        for index in range(self.count):
            y = index * self.spacing
            self.canv.line(0, y, self.width, y)


class Choice(Flowable):
    """A box to tick, followed by its text."""

    BOX = 3.6 * mm
    GAP = 2.6 * mm

    def __init__(self, text: str, style: ParagraphStyle):
        super().__init__()
        self.paragraph = Paragraph(paragraph_markup(text), style)
        self.style = style

    def wrap(self, available_width, available_height):
        self.width = available_width
        _w, height = self.paragraph.wrap(available_width - self.BOX - self.GAP, available_height)
        self.height = max(height, self.BOX) + 1.5 * mm
        return self.width, self.height

    def draw(self):
        top = self.height - 1.5 * mm
        self.canv.setLineWidth(0.8)
        self.canv.rect(0, top - self.style.leading + 0.4 * mm, self.BOX, self.BOX, stroke=1, fill=0)
        self.paragraph.drawOn(self.canv, self.BOX + self.GAP, top - self.paragraph.height)


def _styles() -> dict[str, ParagraphStyle]:
    register_fonts()
    base = ParagraphStyle("form", fontName=SERIF, fontSize=10.5, leading=14.5)
    return {
        "title": ParagraphStyle("form-title", parent=base, fontName=f"{SERIF}-Bold", fontSize=18, leading=22, spaceAfter=4),
        "subtitle": ParagraphStyle("form-subtitle", parent=base, fontName=f"{SERIF}-Italic", fontSize=12, leading=16, spaceAfter=6),
        "body": base,
        "small": ParagraphStyle("form-small", parent=base, fontSize=9, leading=12),
        "label": ParagraphStyle("form-label", parent=base, fontName=f"{SERIF}-Bold"),
    }


def _p(text: str, style: ParagraphStyle) -> Paragraph:
    return Paragraph(paragraph_markup(text), style)


def blank_form_pdf(letter: Letter) -> bytes:
    """The paper form of the seed, for this letter, as an A4 PDF."""
    styles = _styles()
    buffer = io.BytesIO()
    document = SimpleDocTemplate(
        buffer,
        pagesize=(210 * mm, 297 * mm),
        leftMargin=20 * mm, rightMargin=20 * mm, topMargin=14 * mm, bottomMargin=12 * mm,
        title=_("Ondertekeningsformulier: %(title)s", title=letter.title),
        author=letter.organiser or "Signatory",
        creator="Signatory", producer="Signatory",
        invariant=1,
    )
    width = document.width - 12  # the frame's own padding, 6 pt a side
    url = tokens.external_url(f"/letters/{letter.slug}")
    deadline = format_date(letter.deadline, "d MMMM yyyy") if letter.deadline else ""

    head_text = [_p(letter.title, styles["title"])]
    if letter.subtitle:
        head_text.append(_p(letter.subtitle, styles["subtitle"]))
    if letter.organiser:
        head_text.append(_p(letter.organiser, styles["small"]))
    online = [
        QRCode(url, 25 * mm),
        _p(_("Online tekenen:"), styles["small"]),
        _p(short_address(letter), styles["small"]),
    ]
    head = Table([[head_text, online]], colWidths=[width - 55 * mm, 55 * mm])
    head.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"), ("LEFTPADDING", (0, 0), (-1, -1), 0)]))

    story: list = [head, Spacer(1, 4 * mm)]
    instruction = _("Onderschrijf deze tekst persoonlijk of in naam van een organisatie met dit formulier, eventueel met een motiverende paragraaf.")
    story.append(_p(instruction, styles["body"]))
    if deadline:
        story.append(_p(_("Terugsturen tot en met %(date)s.", date=deadline), styles["label"]))
    if letter.contact:
        story.append(_p(_("Sturen naar: %(contact)s", contact=letter.contact), styles["body"]))
    story.append(Spacer(1, 2 * mm))

    def blank(label, height: float = 8 * mm):
        cell = _p(label, styles["label"]) if isinstance(label, str) else label
        table = Table([[cell, ""]], colWidths=[45 * mm, width - 45 * mm], rowHeights=[height])
        table.setStyle(TableStyle([
            ("VALIGN", (0, 0), (-1, -1), "BOTTOM"),
            ("LINEBELOW", (1, 0), (1, 0), 0.5, HexColor("#9a968c")),
            ("LEFTPADDING", (0, 0), (-1, -1), 0),
        ]))
        return table

    done_at = Table(
        [[_p(_("Gedaan te"), styles["label"]), "", _p(_("op"), styles["label"]), ""]],
        colWidths=[45 * mm, width - 45 * mm - 60 * mm, 10 * mm, 50 * mm], rowHeights=[8 * mm],
    )
    done_at.setStyle(TableStyle([
        ("VALIGN", (0, 0), (-1, -1), "BOTTOM"),
        ("LINEBELOW", (1, 0), (1, 0), 0.5, HexColor("#9a968c")),
        ("LINEBELOW", (3, 0), (3, 0), 0.5, HexColor("#9a968c")),
        ("LEFTPADDING", (0, 0), (-1, -1), 0),
    ]))
    story += [
        blank(_("Naam")),
        blank(_("Voornaam")),
        Spacer(1, 3 * mm),
        _p(_("Onderschrijft de tekst"), styles["body"]),
        Choice(_("in persoonlijke naam"), styles["body"]),
        blank(Choice(_("in naam van"), styles["label"])),
        blank(_("Functie")),
        blank(_("Adres")),
        blank(_("E-mail")),
        Spacer(1, 3 * mm),
        _p(_("Motiverende paragraaf (max. %(max)d lijnen):", max=MAX_PARAGRAPH_LINES), styles["label"]),
        Spacer(1, 2 * mm),
        WritingLines(MAX_PARAGRAPH_LINES, width),
        Spacer(1, 5 * mm),
        Choice(_("Ik geef toelating om mijn naam / de naam van onze organisatie onder de tekst te publiceren."), styles["body"]),
        Choice(_("Ik geef toelating om mijn paragraaf te publiceren."), styles["body"]),
        Choice(_("Ik word graag verwittigd van de publicatiedatum en de publicatiewijze."), styles["body"]),
        Spacer(1, 2 * mm),
        done_at,
        blank(_("Handtekening"), height=12 * mm),
    ]
    document.build(story)
    return buffer.getvalue()
