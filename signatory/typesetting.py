"""The typography shared by the compiled document and the ten-line rule.

DESIGN §4: "max. 10 lijnen" is measured where it matters, in the compiled
document. The signing form and the PDF therefore build a motivating paragraph
with the same function, style and frame width defined here, so the two can
never disagree.

ReportLab has no font fallback, so text is split into runs per script and each
run gets a font that has its glyphs. Arabic is reshaped (letters joined) before
line breaking so that widths are those of the printed glyphs; the document
reorders each broken line for right-to-left display on its own.
"""
from __future__ import annotations

import re
import unicodedata
from functools import cache
from pathlib import Path
from xml.sax.saxutils import escape

import arabic_reshaper
from reportlab.lib.enums import TA_LEFT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import Paragraph

FONT_DIR = Path(__file__).resolve().parent / "fonts"

SERIF = "NotoSerif"
ARABIC = "NotoNaskhArabic"
ETHIOPIC = "NotoSerifEthiopic"

MAX_PARAGRAPH_LINES = 10
# Guards for the server: the typesetter never sees more than this.
MAX_PARAGRAPH_CHARS = 2000
MAX_PARAGRAPH_LINE_BREAKS = 20

# The page: A4 with generous margins, so that the text column has a body
# measure of about 80 characters of Dutch prose at 10.5 pt.
PAGE_SIZE = A4
MARGIN_LEFT = 27 * mm
MARGIN_RIGHT = 27 * mm
MARGIN_TOP = 25 * mm
MARGIN_BOTTOM = 25 * mm
FRAME_PADDING = 6  # ReportLab's default Frame padding, on each side
FRAME_WIDTH = PAGE_SIZE[0] - MARGIN_LEFT - MARGIN_RIGHT
FRAME_INNER_WIDTH = FRAME_WIDTH - 2 * FRAME_PADDING

BODY_SIZE = 10.5
BODY_LEADING = 14.5

_FONT_FILES = {
    SERIF: "NotoSerif-Regular.ttf",
    f"{SERIF}-Bold": "NotoSerif-Bold.ttf",
    f"{SERIF}-Italic": "NotoSerif-Italic.ttf",
    f"{SERIF}-BoldItalic": "NotoSerif-BoldItalic.ttf",
    ARABIC: "NotoNaskhArabic-Regular.ttf",
    f"{ARABIC}-Bold": "NotoNaskhArabic-Bold.ttf",
    ETHIOPIC: "NotoSerifEthiopic-Regular.ttf",
    f"{ETHIOPIC}-Bold": "NotoSerifEthiopic-Bold.ttf",
}


@cache
def register_fonts() -> None:
    for name, filename in _FONT_FILES.items():
        pdfmetrics.registerFont(TTFont(name, str(FONT_DIR / filename)))
    for family in (ARABIC, ETHIOPIC):
        pdfmetrics.registerFontFamily(
            family, normal=family, bold=f"{family}-Bold", italic=family, boldItalic=f"{family}-Bold"
        )
    pdfmetrics.registerFontFamily(
        SERIF,
        normal=SERIF,
        bold=f"{SERIF}-Bold",
        italic=f"{SERIF}-Italic",
        boldItalic=f"{SERIF}-BoldItalic",
    )


@cache
def paragraph_style() -> ParagraphStyle:
    """The style of a motivating paragraph in the compiled document."""
    register_fonts()
    return ParagraphStyle(
        "motivating-paragraph",
        fontName=SERIF,
        fontSize=BODY_SIZE,
        leading=BODY_LEADING,
        alignment=TA_LEFT,
        spaceBefore=0,
        spaceAfter=0,
        hyphenationLang="",  # DESIGN §4: no automatic hyphenation
        embeddedHyphenation=0,
        uriWasteReduce=0,
        splitLongWords=1,  # a very long word wraps at the margin
        wordWrap=None,
        allowWidows=1,
        allowOrphans=1,
    )


# --- scripts ----------------------------------------------------------------

_ARABIC_RANGES = ((0x0600, 0x06FF), (0x0750, 0x077F), (0x08A0, 0x08FF), (0xFB50, 0xFDFF), (0xFE70, 0xFEFF))
_ETHIOPIC_RANGES = ((0x1200, 0x139F), (0x2D80, 0x2DDF), (0xAB00, 0xAB2F))


def font_for_char(char: str) -> str | None:
    """The font a character needs, or None when it takes the font of its
    neighbours (spaces, digits and punctuation stay with their run)."""
    code = ord(char)
    if any(low <= code <= high for low, high in _ARABIC_RANGES):
        return ARABIC
    if any(low <= code <= high for low, high in _ETHIOPIC_RANGES):
        return ETHIOPIC
    if char.isspace() or unicodedata.category(char)[0] in "NPZ":
        return None
    return SERIF


def script_runs(text: str) -> list[tuple[str, str]]:
    """Split text into (font, run) pairs; neutral characters join the run
    they stand in."""
    runs: list[tuple[str, list[str]]] = []
    for char in text:
        font = font_for_char(char)
        if runs and (font is None or font == runs[-1][0]):
            runs[-1][1].append(char)
        elif font is None:
            runs.append((SERIF, [char]))
        else:
            runs.append((font, [char]))
    return [(font, "".join(chars)) for font, chars in runs]


def has_arabic(text: str) -> bool:
    return any(font_for_char(c) == ARABIC for c in text)


# --- input normalisation ------------------------------------------------------

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u2028\u2029]")


def normalise_paragraph(text: str) -> str:
    """Line endings as \\n, no control characters, no trailing white space;
    blank lines inside the paragraph are kept, because they count."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _CONTROL.sub("", text)
    text = unicodedata.normalize("NFC", text)
    lines = [line.rstrip() for line in text.split("\n")]
    return "\n".join(lines).strip("\n").strip()


def paragraph_markup(text: str, *, bold: bool = False) -> str:
    """ReportLab paragraph markup for text a signer typed: escaped, so that
    `<b>` or `&amp;` print as typed, with one font per script run and a line
    break for every typed one."""
    lines = []
    for line in text.split("\n"):
        parts = []
        for font, run in script_runs(line):
            if font == ARABIC:
                run = arabic_reshaper.reshape(run)
            escaped = escape(run)
            if font == SERIF:
                parts.append(escaped)
            else:
                parts.append(f'<font name="{font}{"-Bold" if bold else ""}">{escaped}</font>')
        lines.append("".join(parts))
    return "<br/>".join(lines)


def build_paragraph(text: str, style: ParagraphStyle | None = None) -> Paragraph:
    """The flowable of a motivating paragraph, as the document prints it."""
    return Paragraph(paragraph_markup(text), style or paragraph_style())


def count_lines(text: str) -> int:
    """How many lines the paragraph takes in the compiled document."""
    text = normalise_paragraph(text)
    if not text:
        return 0
    paragraph = build_paragraph(text)
    paragraph.wrap(FRAME_INNER_WIDTH, 10_000_000)
    return len(paragraph.blPara.lines)


def line_verdict(text: str) -> tuple[int, bool]:
    """(lines, fits). Cheap guards first, so the typesetter is never handed a
    huge input."""
    normalised = normalise_paragraph(text)
    if len(normalised) > MAX_PARAGRAPH_CHARS:
        return max(MAX_PARAGRAPH_LINES + 1, len(normalised) // 80), False
    breaks = normalised.count("\n")
    if breaks >= MAX_PARAGRAPH_LINES:
        return breaks + 1, False
    lines = count_lines(normalised)
    return lines, lines <= MAX_PARAGRAPH_LINES
