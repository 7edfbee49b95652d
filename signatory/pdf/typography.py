"""The typography shared by the compiled document and the ten-line rule
(`line_rule`): fonts, the page and its measure, script runs, markup, right
to left.

DESIGN §4: "max. 10 lijnen" is measured where it matters, in the compiled
document. The signing form and the PDF therefore build a motivating paragraph
with the same function (`build_paragraph`), style and frame width defined
here, so the two can never disagree.

DESIGN §5: every script a signatory may use is printed in a bundled Noto
font, shaped by HarfBuzz (`shaping`): ReportLab has no font fallback, so text
is split into runs per script, each run gets a font that has its glyphs, and
the characters between runs (spaces, punctuation, digits) go with the run
they belong to. Scripts whose letters look small beside the Latin are set a
little larger, matched by the height of their letters as measured from the
fonts. Lines are broken in logical order; each broken line is put in display
order on its own (`BidiParagraph`).
"""
from __future__ import annotations

import re
import unicodedata
from functools import cache, lru_cache
from itertools import groupby
from pathlib import Path
from weakref import WeakKeyDictionary
from xml.sax.saxutils import escape

from bidi import get_base_level
from reportlab.lib.enums import TA_LEFT, TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.platypus import Paragraph
from reportlab.platypus.paragraph import ParaLines
from reportlab.platypus.paraparser import ParaParser

from . import shaping

FONT_DIR = Path(__file__).resolve().parent.parent / "fonts"

SERIF = "NotoSerif"
ARABIC = "NotoNaskhArabic"
HEBREW = "NotoSerifHebrew"
DEVANAGARI = "NotoSerifDevanagari"
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

# family → (regular file, bold file or None, written right to left)
_FAMILIES = {
    ARABIC: ("NotoNaskhArabic-Regular.ttf", "NotoNaskhArabic-Bold.ttf", True),
    HEBREW: ("NotoSerifHebrew-Regular.ttf", "NotoSerifHebrew-Bold.ttf", True),
    DEVANAGARI: ("NotoSerifDevanagari-Regular.ttf", "NotoSerifDevanagari-Bold.ttf", False),
    ETHIOPIC: ("NotoSerifEthiopic-Regular.ttf", "NotoSerifEthiopic-Bold.ttf", False),
    EMOJI: ("NotoEmoji-Regular.ttf", None, False),
    SYMBOLS: ("NotoSansSymbols2-Regular.ttf", None, False),
}
_SERIF_FILES = {
    SERIF: "NotoSerif-Regular.ttf",
    f"{SERIF}-Bold": "NotoSerif-Bold.ttf",
    f"{SERIF}-Italic": "NotoSerif-Italic.ttf",
    f"{SERIF}-BoldItalic": "NotoSerif-BoldItalic.ttf",
}

# The letters whose median height stands for a script's "x-height" (for the
# Latin: the lower-case letters without ascenders).
_LATIN_X_LETTERS = "acemnorsuvwxz"
_SCRIPT_LETTERS = {
    ARABIC: "ابتثجحخدذرزسشصضطظعغفقكلمنهوي",
    HEBREW: "אבגדהוזחטיכלמנסעפצקרשת",
    DEVANAGARI: "कखगघचछजझटठडढणतथदधनपफबभमयरलवशषसह",
    ETHIOPIC: "ሀለሐመሠረሰሸቀበተቸኀነኘአከኸወዐዘዠየደጀገጠጨጰጸፀፈፐ",
}
# Never smaller than the Latin, and at most this much larger.
_MAX_SCALE = 1.25


@cache
def register_fonts() -> None:
    """Register the bundled fonts, each shapable by HarfBuzz."""
    shaping.install()
    for name, filename in _SERIF_FILES.items():
        pdfmetrics.registerFont(shaping.ShapingFont(name, str(FONT_DIR / filename)))
    for family, (regular, bold, right_to_left) in _FAMILIES.items():
        pdfmetrics.registerFont(shaping.ShapingFont(family, str(FONT_DIR / regular), right_to_left=right_to_left))
        bold_name = family
        if bold is not None:
            bold_name = f"{family}-Bold"
            pdfmetrics.registerFont(
                shaping.ShapingFont(bold_name, str(FONT_DIR / bold), right_to_left=right_to_left))
        pdfmetrics.registerFontFamily(family, normal=family, bold=bold_name, italic=family, boldItalic=bold_name)
    pdfmetrics.registerFontFamily(
        SERIF,
        normal=SERIF,
        bold=f"{SERIF}-Bold",
        italic=f"{SERIF}-Italic",
        boldItalic=f"{SERIF}-BoldItalic",
    )


@cache
def size_scales() -> dict[str, float]:
    """Face name → how much larger than the surrounding Latin its text is
    set, so that its letters look as large: the median height of the
    script's letters against the Latin x-height, both measured from the
    font files, kept between 1 and `_MAX_SCALE`."""
    register_fonts()
    latin = shaping.median_height(SERIF, _LATIN_X_LETTERS)
    scales: dict[str, float] = {}
    for family, letters in _SCRIPT_LETTERS.items():
        _, bold, _ = _FAMILIES[family]
        height = shaping.median_height(family, letters)
        scale = round(min(max(latin / height, 1.0), _MAX_SCALE), 3) if height else 1.0
        if scale != 1.0:
            scales[family] = scale
            if bold is not None:
                scales[f"{family}-Bold"] = scale
    return scales


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

_SCRIPT_RANGES = (
    (ARABIC, ((0x0600, 0x06FF), (0x0750, 0x077F), (0x08A0, 0x08FF), (0xFB50, 0xFDFF), (0xFE70, 0xFEFF))),
    (HEBREW, ((0x0591, 0x05FF), (0xFB1D, 0xFB4F))),
    (DEVANAGARI, ((0x0900, 0x097F), (0xA8E0, 0xA8FF), (0x1CD0, 0x1CFF))),
    (ETHIOPIC, ((0x1200, 0x139F), (0x2D80, 0x2DDF), (0xAB00, 0xAB2F))),
)
_RIGHT_TO_LEFT = (ARABIC, HEBREW)
# Characters that HarfBuzz must see to print right: the scripts that join or
# reorder, and combining marks of any script (Vietnamese, points, harakat).
_COMPLEX_RANGES = ((0x0590, 0x08FF), (0x0900, 0x0DFF), (0xFB1D, 0xFDFF), (0xFE70, 0xFEFF), (0xA8E0, 0xA8FF),
                   (0x1CD0, 0x1CFF))
_JOINERS = frozenset({0x200C, 0x200D})  # zero-width (non-)joiner: part of the run they stand in
_JOINER_CHARACTERS = re.compile("[\u200c\u200d]")
# Invisible format characters that only print as gaps or empty boxes.
_INVISIBLE = frozenset({0x200B, 0x2060, 0xFE0E, 0xFE0F, 0xFEFF})
_MARK = "mark"  # a combining mark: the font of the letter it sits on
# Left out of typed text: the invisible characters, and the private use area.
_LEFT_OUT = re.compile("[" + "".join(re.escape(chr(code)) for code in sorted(_INVISIBLE)) + "\ue000-\uf8ff]")


_PRIVATE_USE = (0xE000, 0xF8FF)


def _is_private_use(code: int) -> bool:
    return _PRIVATE_USE[0] <= code <= _PRIVATE_USE[1]


@cache
def _coverage(font: str) -> frozenset[int]:
    """The code points a bundled font has a glyph for. Not the private use
    area: there the shaper keeps its glyphs without a character (`shaping`),
    and a typed private character means nothing in these fonts."""
    register_fonts()
    return frozenset(code for code in pdfmetrics.getFont(font).face.charToGlyph if not _is_private_use(code))


def _in_ranges(code: int, ranges) -> bool:
    return any(low <= code <= high for low, high in ranges)


@lru_cache(maxsize=8192)
def font_for_char(char: str) -> str | None:
    """The font a character needs; None when it is neutral (spaces, digits,
    punctuation: they go with the text they belong to), `_MARK` for a
    combining mark.

    ReportLab has no font fallback, so this is it: the scripts by range,
    then Noto Serif when it has the glyph, then the emoji and symbol fonts."""
    code = ord(char)
    for font, ranges in _SCRIPT_RANGES:
        if _in_ranges(code, ranges):
            return font
    category = unicodedata.category(char)
    if category in ("Mn", "Me") or code in _JOINERS:
        return _MARK
    in_serif = code in _coverage(SERIF)
    if char.isspace() or (category[0] in "NPZ" and in_serif):
        return None
    if in_serif:
        return SERIF
    for fallback in (EMOJI, SYMBOLS):
        if code in _coverage(fallback):
            return fallback
    if category[0] in "NPZ":
        return None
    return SERIF


def _class_of(ranges) -> str:
    return "".join(f"{re.escape(chr(low))}-{re.escape(chr(high))}" for low, high in ranges)


@cache
def _outside_serif() -> re.Pattern:
    """Matches any character that is not set in Noto Serif as it stands: a
    text without one is a single run, found without a loop per character."""
    script_ranges = [rng for _, ranges in _SCRIPT_RANGES for rng in ranges]
    codes = sorted(
        code
        for code in _coverage(SERIF)
        if code > 0x20
        and not _in_ranges(code, script_ranges)
        and unicodedata.category(chr(code)) not in ("Mn", "Me")
        and code not in _JOINERS
    )
    ranges: list[list[int]] = []
    for code in codes:
        if ranges and code == ranges[-1][1] + 1:
            ranges[-1][1] = code
        else:
            ranges.append([code, code])
    return re.compile(f"[^ {_class_of(ranges)}]")


def script_runs(text: str) -> list[tuple[str, str]]:
    """Split text into (font, run) pairs. A combining mark stays with its
    letter; spaces, digits and punctuation between two runs of one font stay
    in it (when it has them: Ge'ez has no comma), elsewhere they are set in
    Noto Serif, like the text around them."""
    if not _outside_serif().search(text):
        return [(SERIF, text)] if text else []
    text = _LEFT_OUT.sub("", text)
    tagged: list[list] = []  # [font or None, run]
    for font, chars in groupby(text, key=font_for_char):
        run = "".join(chars)
        if font == _MARK:
            if not tagged:
                tagged.append([SERIF, run])
                continue
            if tagged[-1][0] is None:
                tagged[-1][0] = SERIF
            tagged[-1][1] += run
        else:
            tagged.append([font, run])
    for index, (font, run) in enumerate(tagged):
        if font is not None:
            continue
        before = tagged[index - 1][0] if index else None
        after = tagged[index + 1][0] if index + 1 < len(tagged) else None
        keep = before is not None and before == after and all(ord(char) in _coverage(before) for char in run)
        tagged[index][0] = before if keep else SERIF
    runs: list[tuple[str, str]] = []
    for font, run in tagged:
        if _JOINER_CHARACTERS.search(run):  # kept only where the font has them
            coverage = _coverage(font)
            run = "".join(char for char in run if ord(char) not in _JOINERS or ord(char) in coverage)
        if runs and runs[-1][0] == font:
            runs[-1] = (font, runs[-1][1] + run)
        else:
            runs.append((font, run))
    return runs


@cache
def _pattern(ranges: tuple) -> re.Pattern:
    return re.compile(f"[{_class_of(ranges)}]")


@cache
def _complex_pattern() -> re.Pattern:
    """The characters of `_COMPLEX_RANGES`, every combining mark of the
    Basic Multilingual Plane, and anything beyond it (emoji, rare scripts:
    few texts have them, and shaping them costs only time)."""
    ranges: list[list[int]] = [list(rng) for rng in _COMPLEX_RANGES]
    for code in range(0x0300, 0x10000):
        if unicodedata.category(chr(code)) in ("Mn", "Mc", "Me"):
            if ranges and code == ranges[-1][1] + 1:
                ranges[-1][1] = code
            else:
                ranges.append([code, code])
    return re.compile(f"[{_class_of(ranges)}]|[\U00010000-\U0010FFFF]")


def needs_shaping(text: str) -> bool:
    """Whether HarfBuzz changes how text prints: joined or reordered scripts,
    combining marks. Other text keeps ReportLab's faster path."""
    return _complex_pattern().search(text) is not None


_RTL_RANGES = tuple(rng for font, ranges in _SCRIPT_RANGES if font in _RIGHT_TO_LEFT for rng in ranges)


def has_right_to_left(text: str) -> bool:
    """Whether any character of text is written right to left."""
    return _pattern(_RTL_RANGES).search(text) is not None


# --- markup -------------------------------------------------------------------

_FACES = {
    # (font, bold, italic) → the registered face; a font without the variant
    # stands for it.
    (SERIF, False, False): SERIF,
    (SERIF, True, False): f"{SERIF}-Bold",
    (SERIF, False, True): f"{SERIF}-Italic",
    (SERIF, True, True): f"{SERIF}-BoldItalic",
    **{(family, True, italic): f"{family}-Bold"
       for family, (_, bold, _) in _FAMILIES.items() if bold is not None for italic in (False, True)},
}


def face(font: str, bold: bool, italic: bool) -> str:
    """The registered face of a script's font in a weight and slant."""
    return _FACES.get((font, bold, italic), font)


def inline_markup(text: str, *, bold: bool = False) -> str:
    """ReportLab markup for one line of typed text: escaped, one `<font>` per
    script run. Inside `<b>`/`<i>` tags the registered font families pick
    the variant; the paragraph shapes and sizes the runs (`BidiParagraph`)."""
    parts = []
    for font, run in script_runs(text):
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
    strong character is Arabic or Hebrew)."""
    return has_right_to_left(text) and get_base_level(text) == 1


def _shaping_style(style: ParagraphStyle) -> ParagraphStyle:
    return ParagraphStyle(f"{style.name}-shaped", parent=style, shaping=1)


class BidiParagraph(Paragraph):
    """A Paragraph that shapes its text with HarfBuzz when the text needs it,
    sets scripts at their matched size, breaks lines in logical order (so
    that widths and the number of lines are those of the text as typed) and
    puts each broken line in display order on its own. Reordering the whole
    paragraph before breaking would reverse the order of its lines."""

    def _setup(self, text, style, bulletText, frags, cleaner):
        if frags is not None:  # a part of a split paragraph: done already
            return super()._setup(text, style, bulletText, frags, cleaner)
        if "<" not in text and "&" not in text and not style.textTransform:
            # Text without markup (most motivating paragraphs, most
            # attributions) is one fragment of the style: ReportLab's own
            # parser would make the same one, at a tenth of the cost of
            # parsing it.
            cleaned = cleaner(text)
            if cleaned:
                text, frags = cleaned, [_plain_fragment(style, cleaned)]
        super()._setup(text, style, bulletText, frags, cleaner)
        scales = size_scales()
        shaped = False
        for frag in self.frags:
            scale = scales.get(getattr(frag, "fontName", ""))
            if scale:
                frag.fontSize = round(frag.fontSize * scale, 2)
            shaped = shaped or needs_shaping(getattr(frag, "text", ""))
        if shaped and not self.style.shaping:
            self.style = _shaping_style(self.style)

    def drawPara(self, debug=0):
        lines = self.blPara
        if lines.kind != 1:  # one font, one direction: nothing to reorder
            return super().drawPara(debug)
        base = 1 if self.style.alignment == TA_RIGHT else 0
        reordered = ParaLines(**lines.__dict__)
        reordered.lines = [line.clone(words=shaping.reorder_line(line.words, base)) for line in lines.lines]
        self.blPara = reordered
        try:
            return super().drawPara(debug)
        finally:
            self.blPara = lines


_plain_fragments: WeakKeyDictionary = WeakKeyDictionary()  # style → ReportLab's fragment of plain text


def _plain_fragment(style: ParagraphStyle, text: str):
    template = _plain_fragments.get(style)
    if template is None:
        _, (template,), _ = ParaParser().parse("x", style)
        _plain_fragments[style] = template
    return template.clone(text=text, link=[], us_lines=[])


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
