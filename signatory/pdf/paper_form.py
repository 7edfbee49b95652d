"""The printable blank form (PDF): the paper form of the seed with the
letter's title, contact, deadline, a QR code and the short address of the
online form. No Flask in here: the caller gives the letter's words as
`BlankForm` and a `gettext` for the organiser's language.
"""
from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass

from reportlab.lib.colors import HexColor, black
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import Flowable, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from .line_rule import MAX_PARAGRAPH_LINES
from .typography import SERIF, paragraph_markup, register_fonts

LINE_COLOUR = HexColor("#9a968c")
LABEL_WIDTH = 45 * mm


@dataclass(frozen=True)
class BlankForm:
    """What the form prints of its letter."""

    title: str
    url: str  # the online form, in the QR code
    short_address: str  # the online form's address, to type from paper
    subtitle: str = ""
    organiser: str = ""
    contact: str = ""
    deadline: str = ""  # the last day, as the organiser reads dates


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
        self.canv.setStrokeColor(LINE_COLOUR)
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
        self.paragraph = _p(text, style)
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


def _ruled_row(cells: list, widths: list[float], ruled: tuple[int, ...], height: float = 8 * mm) -> Table:
    """One row of labels and blanks to write in: the `ruled` cells get a line."""
    table = Table([cells], colWidths=widths, rowHeights=[height])
    table.setStyle(TableStyle([
        ("VALIGN", (0, 0), (-1, -1), "BOTTOM"),
        *(("LINEBELOW", (column, 0), (column, 0), 0.5, LINE_COLOUR) for column in ruled),
        ("LEFTPADDING", (0, 0), (-1, -1), 0),
    ]))
    return table


def blank_form_pdf(form: BlankForm, gettext: Callable[[str], str]) -> bytes:
    """The paper form of the seed, for this letter, as an A4 PDF."""
    _ = gettext
    styles = _styles()
    buffer = io.BytesIO()
    document = SimpleDocTemplate(
        buffer,
        pagesize=(210 * mm, 297 * mm),
        leftMargin=20 * mm, rightMargin=20 * mm, topMargin=14 * mm, bottomMargin=12 * mm,
        title=_("Ondertekeningsformulier: %(title)s") % {"title": form.title},
        author=form.organiser or "Signatory",
        creator="Signatory", producer="Signatory",
        invariant=1,
    )
    width = document.width - 12  # the frame's own padding, 6 pt a side

    head_text = [_p(form.title, styles["title"])]
    if form.subtitle:
        head_text.append(_p(form.subtitle, styles["subtitle"]))
    if form.organiser:
        head_text.append(_p(form.organiser, styles["small"]))
    online = [
        QRCode(form.url, 25 * mm),
        _p(_("Online tekenen:"), styles["small"]),
        _p(form.short_address, styles["small"]),
    ]
    head = Table([[head_text, online]], colWidths=[width - 55 * mm, 55 * mm])
    head.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"), ("LEFTPADDING", (0, 0), (-1, -1), 0)]))

    story: list = [head, Spacer(1, 4 * mm)]
    instruction = _("Onderschrijf deze tekst persoonlijk of in naam van een organisatie met dit formulier, eventueel met een motiverende paragraaf.")
    story.append(_p(instruction, styles["body"]))
    if form.deadline:
        story.append(_p(_("Terugsturen tot en met %(date)s.") % {"date": form.deadline}, styles["label"]))
    if form.contact:
        story.append(_p(_("Sturen naar: %(contact)s") % {"contact": form.contact}, styles["body"]))
    story.append(Spacer(1, 2 * mm))

    def blank(label, height: float = 8 * mm):
        cell = _p(label, styles["label"]) if isinstance(label, str) else label
        return _ruled_row([cell, ""], [LABEL_WIDTH, width - LABEL_WIDTH], ruled=(1,), height=height)

    done_at = _ruled_row(
        [_p(_("Gedaan te"), styles["label"]), "", _p(_("op"), styles["label"]), ""],
        [LABEL_WIDTH, width - LABEL_WIDTH - 60 * mm, 10 * mm, 50 * mm], ruled=(1, 3),
    )
    story += [
        blank(_("Familienaam")),
        blank(_("Voornaam")),
        Spacer(1, 3 * mm),
        _p(_("Onderschrijft de tekst"), styles["body"]),
        Choice(_("in persoonlijke naam"), styles["body"]),
        blank(Choice(_("in naam van"), styles["label"])),
        blank(_("Functie")),
        blank(_("Adres")),
        blank(_("E-mail")),
        Spacer(1, 3 * mm),
        _p(_("Motiverende paragraaf (max. %(max)d lijnen):") % {"max": MAX_PARAGRAPH_LINES}, styles["label"]),
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
