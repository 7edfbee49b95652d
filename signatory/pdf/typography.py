"""The typography shared by the compiled document and the ten-line rule
(`line_rule`): fonts, the page and its measure, script runs, markup, right
to left.

DESIGN §4: "max. 10 lijnen" is measured where it matters, in the compiled
document. The signing form and the PDF therefore build a motivating paragraph
with the same function (`build_paragraph`), style and frame width defined
here, so the two can never disagree.

ReportLab has no font fallback, so text is split into runs per script and each
run gets a font that has its glyphs. Arabic is reshaped (letters joined) before
line breaking so that widths are those of the printed glyphs; the document
reorders each broken line for right-to-left display on its own.
"""
from __future__ import annotations

import re
import unicodedata
from functools import cache, lru_cache
from pathlib import Path
from xml.sax.saxutils import escape

import arabic_reshaper
from bidi import algorithm as bidi_algorithm
from bidi import get_base_level
from reportlab.lib.enums import TA_LEFT, TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import Paragraph
from reportlab.platypus.paragraph import ParaLines

FONT_DIR = Path(__file__).resolve().parent.parent / "fonts"

SERIF = "NotoSerif"
ARABIC = "NotoNaskhArabic"
ETHIOPIC = "NotoSerifEthiopic"
# Fallbacks for characters Noto Serif lacks: emoji (monochrome outlines, as
# ReportLab cannot draw colour glyphs) and other symbols.
EMOJI = "NotoEmoji"
SYMBOLS = "NotoSansSymbols2"

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
    EMOJI: "NotoEmoji-Regular.ttf",
    SYMBOLS: "NotoSansSymbols2-Regular.ttf",
}


@cache
def register_fonts() -> None:
    for name, filename in _FONT_FILES.items():
        pdfmetrics.registerFont(TTFont(name, str(FONT_DIR / filename)))
    for family in (ARABIC, ETHIOPIC):
        pdfmetrics.registerFontFamily(
            family, normal=family, bold=f"{family}-Bold", italic=family, boldItalic=f"{family}-Bold"
        )
    for family in (EMOJI, SYMBOLS):
        pdfmetrics.registerFontFamily(family, normal=family, bold=family, italic=family, boldItalic=family)
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


@cache
def _coverage(font: str) -> frozenset[int]:
    """The code points a bundled font has a glyph for."""
    register_fonts()
    return frozenset(pdfmetrics.getFont(font).face.charToGlyph)


def _in_ranges(code: int, ranges) -> bool:
    return any(low <= code <= high for low, high in ranges)


@lru_cache(maxsize=8192)
def font_for_char(char: str) -> str | None:
    """The font a character needs, or None when it takes the font of its
    neighbours (spaces, digits and punctuation stay with their run).

    ReportLab has no font fallback, so this is it: Arabic and Ge'ez by range,
    then Noto Serif when it has the glyph, then the emoji and symbol fonts."""
    code = ord(char)
    if _in_ranges(code, _ARABIC_RANGES):
        return ARABIC
    if _in_ranges(code, _ETHIOPIC_RANGES):
        return ETHIOPIC
    in_serif = code in _coverage(SERIF)
    if char.isspace() or (unicodedata.category(char)[0] in "NPZ" and in_serif):
        return None
    if in_serif:
        return SERIF
    for fallback in (EMOJI, SYMBOLS):
        if code in _coverage(fallback):
            return fallback
    if unicodedata.category(char)[0] in "NPZ":
        return None
    return SERIF


@cache
def _outside_serif() -> re.Pattern:
    """Matches any character that is not set in Noto Serif as it stands: a
    text without one is a single run, found without a loop per character."""
    codes = sorted(
        code
        for code in _coverage(SERIF)
        if code > 0x20
        and not _in_ranges(code, _ARABIC_RANGES)
        and not _in_ranges(code, _ETHIOPIC_RANGES)
    )
    ranges: list[list[int]] = []
    for code in codes:
        if ranges and code == ranges[-1][1] + 1:
            ranges[-1][1] = code
        else:
            ranges.append([code, code])
    body = "".join(
        re.escape(chr(low)) if low == high else f"{re.escape(chr(low))}-{re.escape(chr(high))}"
        for low, high in ranges
    )
    return re.compile(f"[^ {body}]")


# Invisible format characters (zero-width joiner, variation selectors, …):
# without glyph substitution they can only print as gaps or empty boxes, so
# they are dropped.
_INVISIBLE = frozenset({0x200B, 0x200D, 0x2060, 0xFE0E, 0xFE0F, 0xFEFF})


def script_runs(text: str) -> list[tuple[str, str]]:
    """Split text into (font, run) pairs; neutral characters join the run
    they stand in."""
    if not _outside_serif().search(text):
        return [(SERIF, text)] if text else []
    runs: list[tuple[str, list[str]]] = []
    for char in text:
        font = font_for_char(char)
        if ord(char) in _INVISIBLE:
            continue
        if runs and (font is None or font == runs[-1][0]):
            runs[-1][1].append(char)
        elif font is None:
            runs.append((SERIF, [char]))
        else:
            runs.append((font, [char]))
    return [(font, "".join(chars)) for font, chars in runs]


@cache
def _arabic_pattern() -> re.Pattern:
    return re.compile("[" + "".join(f"{chr(low)}-{chr(high)}" for low, high in _ARABIC_RANGES) + "]")


def has_arabic(text: str) -> bool:
    """Whether any character of text is set in the Arabic font."""
    return _arabic_pattern().search(text) is not None


# --- markup -------------------------------------------------------------------

_FACES = {
    # (font, bold, italic) → the registered face; a font without the variant
    # stands for it.
    (SERIF, False, False): SERIF,
    (SERIF, True, False): f"{SERIF}-Bold",
    (SERIF, False, True): f"{SERIF}-Italic",
    (SERIF, True, True): f"{SERIF}-BoldItalic",
    (ARABIC, True, False): f"{ARABIC}-Bold",
    (ARABIC, True, True): f"{ARABIC}-Bold",
    (ETHIOPIC, True, False): f"{ETHIOPIC}-Bold",
    (ETHIOPIC, True, True): f"{ETHIOPIC}-Bold",
}


def face(font: str, bold: bool, italic: bool) -> str:
    """The registered face of a script's font in a weight and slant."""
    return _FACES.get((font, bold, italic), font)


def inline_markup(text: str, *, bold: bool = False) -> str:
    """ReportLab markup for one line of typed text: escaped, one `<font>` per
    script run (Arabic reshaped, so widths are those of the joined glyphs).
    Inside `<b>`/`<i>` tags the registered font families pick the variant."""
    parts = []
    for font, run in script_runs(text):
        if font == ARABIC:
            run = arabic_reshaper.reshape(run)
        escaped = escape(run)
        if font == SERIF:
            parts.append(escaped)
        else:
            parts.append(f'<font name="{face(font, bold, False)}">{escaped}</font>')
    return "".join(parts)


def paragraph_markup(text: str, *, bold: bool = False) -> str:
    """ReportLab paragraph markup for text a signer typed: escaped, so that
    `<b>` or `&amp;` print as typed, with one font per script run and a line
    break for every typed one."""
    return "<br/>".join(inline_markup(line, bold=bold) for line in text.split("\n"))


# --- right to left ------------------------------------------------------------

def is_rtl(text: str) -> bool:
    """True when the paragraph's base direction is right to left (its first
    strong character is Arabic)."""
    return has_arabic(text) and get_base_level(text) == 1


def _visual_order(text: str, base_level: int) -> list[int]:
    """The logical indices of text's characters in display order (Unicode
    bidi algorithm, rules up to L2), for one line."""
    storage = bidi_algorithm.get_empty_storage()
    storage["base_level"] = base_level
    storage["base_dir"] = ("L", "R")[base_level]
    bidi_algorithm.get_embedding_levels(text, storage)
    for index, char in enumerate(storage["chars"]):
        char["index"] = index
    bidi_algorithm.explicit_embed_and_overrides(storage, False)
    bidi_algorithm.resolve_weak_types(storage, False)
    bidi_algorithm.resolve_neutral_types(storage, False)
    bidi_algorithm.resolve_implicit_levels(storage, False)
    bidi_algorithm.reorder_resolved_levels(storage, False)
    bidi_algorithm.apply_mirroring(storage, False)
    return [(char["index"], char["ch"]) for char in storage["chars"]]


def _reorder_words(words: list[str], base_level: int) -> list[str]:
    """A line of plain words (one font) in display order."""
    line = " ".join(words)
    if not has_arabic(line):
        return words
    return "".join(char for _, char in _visual_order(line, base_level)).split(" ")


def _reorder_frags(frags: list, base_level: int) -> list:
    """A line of styled fragments in display order: the characters are
    reordered, then regrouped into fragments of their original style."""
    owners: list[int] = []
    for number, frag in enumerate(frags):
        owners.extend([number] * len(frag.text))
    text = "".join(frag.text for frag in frags)
    if not has_arabic(text):
        return frags
    display: list = []
    for index, char in _visual_order(text, base_level):
        owner = owners[index]
        if display and display[-1][0] == owner:
            display[-1][1].append(char)
        else:
            display.append((owner, [char]))
    result = []
    for owner, chars in display:
        frag = frags[owner].clone()
        frag.text = "".join(chars)
        result.append(frag)
    return result


class BidiParagraph(Paragraph):
    """A Paragraph that breaks lines in logical order (so that widths and the
    number of lines are those of the text as typed) and reorders each broken
    line on its own for display. Reordering the whole paragraph before
    breaking would reverse the order of its lines."""

    def drawPara(self, debug=0):
        lines_before = self.blPara
        if not has_arabic(self.getPlainText()):
            return super().drawPara(debug)
        base_level = 1 if self.style.alignment == TA_RIGHT else 0
        reordered = ParaLines(**lines_before.__dict__)
        if lines_before.kind == 0:
            reordered.lines = [
                (extra, _reorder_words(list(words), base_level)) for extra, words in lines_before.lines
            ]
        else:
            reordered.lines = [
                line.clone(words=_reorder_frags(line.words, base_level)) for line in lines_before.lines
            ]
        self.blPara = reordered
        try:
            return super().drawPara(debug)
        finally:
            self.blPara = lines_before


def rtl_style(style: ParagraphStyle) -> ParagraphStyle:
    """The style aligned right, for a paragraph written right to left."""
    return ParagraphStyle(f"{style.name}-rtl", parent=style, alignment=TA_RIGHT)


_rtl_style = cache(rtl_style)  # for the few fixed styles of build_paragraph


def build_paragraph(text: str, style: ParagraphStyle | None = None) -> Paragraph:
    """The flowable of a motivating paragraph, as the document prints it.
    A right-to-left paragraph is aligned right; that changes no line break."""
    style = style or paragraph_style()
    if is_rtl(text):
        style = _rtl_style(style)
    return BidiParagraph(paragraph_markup(text), style)
