"""The verrijkte opinie: the letter, its signatories and their paragraphs,
compiled into one PDF (DESIGN §5). No Flask in here: `render_pdf` takes a
plain `DocumentData` and gives bytes, so the CLI, the web service, the tests
and the benchmark all call the same function.

How it stays fast and small for 100,000 signatories and 20,000 paragraphs:

* the story is a lazy sequence (`LazyStory`): flowables are made from the
  data's iterables as ReportLab consumes them, never all at once;
* the list of names is one `NameColumns` flowable that pulls entries from an
  iterator one column at a time and draws them straight onto the canvas (a
  ReportLab Paragraph only for the rare name that wraps or is right to left);
* "pagina 3 van 41" without a second pass: each page draws a reference to a
  form `folio<n>`; the forms are written once the number of pages is known,
  just before the file is saved.

Determinism: ReportLab runs with `invariant=1`, the creation date comes from
the data, outline keys are counters, every ordering is the data's own. The
same data gives the same bytes in another process under another hash seed.

Typography: one serif family (Noto) in every script, the body measure and
the paragraph style of `typesetting` — the ten-line rule of the signing form
is decided by the very paragraph this document prints.
"""
from __future__ import annotations

import hashlib
import unicodedata
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from pathlib import Path
from xml.sax.saxutils import quoteattr

from babel.dates import format_date
from babel.numbers import format_decimal
from babel.support import NullTranslations, Translations
from bidi import get_display
from reportlab.lib.colors import Color
from reportlab.lib.enums import TA_CENTER, TA_RIGHT
from reportlab.lib.styles import ParagraphStyle
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    BaseDocTemplate,
    Flowable,
    Frame,
    NextPageTemplate,
    PageBreak,
    PageTemplate,
    Paragraph,
    Spacer,
)
from reportlab.platypus.doctemplate import FrameBreak
from reportlab.platypus.flowables import HRFlowable, TopPadder

from . import typesetting as ts
from .collation import sortable_surname
from .markup import parse

TRANSLATIONS_DIR = Path(__file__).resolve().parent / "translations"

INK = Color(0.08, 0.08, 0.08)
GREY = Color(0.38, 0.38, 0.38)
RULE = Color(0.6, 0.6, 0.6)
WATERMARK = Color(0.88, 0.88, 0.88)
DRAFT_RED = Color(0.62, 0.1, 0.1)

# Names: two columns of the full measure, separated by a gutter.
COLUMN_GUTTER = 18
COLUMN_WIDTH = (ts.FRAME_WIDTH - COLUMN_GUTTER) / 2
NAME_SIZE = 9
NAME_LEADING = 11.8
HANGING_INDENT = 10

HEADER_Y = ts.PAGE_SIZE[1] - ts.MARGIN_TOP + 14
FOOTER_Y = ts.MARGIN_BOTTOM - 24


# --- the data -------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Signatory:
    """One named signatory as listed under the text. Never an e-mail or a
    postal address: there is no field for them."""

    name: str  # "First Last" of the person who signed
    kind: str = "person"  # or "organisation"
    organisation: str = ""
    function: str = ""
    place: str = ""
    index: str = ""  # the letter of the alphabet it is listed under, if any

    @property
    def is_organisation(self) -> bool:
        return self.kind == "organisation" and bool(self.organisation.strip())


@dataclass(frozen=True, slots=True)
class Contribution:
    """An approved motivating paragraph, attributed as its signer consented:
    `name` is empty when the name may not be published."""

    text: str
    name: str = ""
    kind: str = "person"
    organisation: str = ""
    function: str = ""
    place: str = ""


@dataclass
class DocumentData:
    """Everything the document shows. The iterables are consumed once, in
    order: first signatories, organisations, persons, then contributions —
    each already sorted by the caller (the database sorts by `sort_key`)."""

    title: str
    subtitle: str = ""
    organiser: str = ""
    place_date: str = ""
    contact: str = ""
    body: str = ""  # Markdown
    language: str = "nl"
    locale: str = "nl-BE"
    signatory_count: int = 0  # every counted signature, named or not
    unnamed_count: int = 0  # counted, but without consent to publish the name
    contribution_count: int = 0
    first_signatories: Iterable[Signatory] = ()
    organisations: Iterable[Signatory] = ()
    persons: Iterable[Signatory] = ()
    contributions: Iterable[Contribution] = ()
    # The PDF's creation date: taken from the letter, never from the clock.
    created: datetime = datetime(2000, 1, 1)
    publication_date: date | None = None
    revision: int = 0
    url: str = ""


@dataclass(frozen=True)
class CompiledDocument:
    pdf: bytes
    page_count: int
    sha256: str


def index_letter(last_name: str, locale: str) -> str:
    """The letter a person is listed under: the first letter of the surname
    as it sorts (nl-NL: "van den Broek" under B), without its accents."""
    surname = sortable_surname(last_name, locale).strip()
    for char in unicodedata.normalize("NFD", surname):
        if char.isalnum():
            return char.upper()
    return ""


# --- translations ----------------------------------------------------------------------

@cache
def _translations(language: str) -> NullTranslations:
    """Dutch is the source language; other languages from the compiled
    catalogues, when there are any."""
    if language == "nl" or not TRANSLATIONS_DIR.is_dir():
        return NullTranslations()
    return Translations.load(str(TRANSLATIONS_DIR), [language])


def _number(value: int, language: str) -> str:
    try:
        return format_decimal(value, locale=language)
    except Exception:  # an unknown locale: digits as they are
        return str(value)


def _date(value: date, language: str) -> str:
    try:
        return format_date(value, format="long", locale=language)
    except Exception:
        return value.isoformat()


@dataclass(frozen=True)
class Labels:
    """Every word the document adds to what people typed, translated once
    per document."""

    page: Callable[[int, int], str]
    draft: str
    draft_note: str
    published_on: str
    text_part: str
    signatories_part: str
    first_signatories: str
    organisations: str
    persons: str
    paragraphs_part: str
    signed_by: str
    others: str
    anonymous: str
    anonymous_from: str
    collation_note: str
    paragraphs_note: str
    revision: str
    subject: str


def _labels(data: DocumentData) -> Labels:
    translations = _translations(data.language)
    _ = translations.gettext
    ngettext = translations.ngettext
    language = data.language
    count = data.signatory_count
    unnamed = data.unnamed_count
    signed_by = ngettext(
        "Ondertekend door %(num)s persoon of organisatie",
        "Ondertekend door %(num)s personen en organisaties",
        count,
    ) % {"num": _number(count, language)}
    others = (
        ngettext(
            "en %(num)s andere die tekende zonder de naam te publiceren",
            "en %(num)s anderen die tekenden zonder hun naam te publiceren",
            unnamed,
        )
        % {"num": _number(unnamed, language)}
        if unnamed
        else ""
    )
    if data.locale == "nl-NL":
        collation = _(
            "Alfabetisch op naam, volgens de Nederlandse gewoonte: een voorvoegsel in kleine letters "
            "telt niet mee (van den Broek staat onder de B)."
        )
    else:
        collation = _(
            "Alfabetisch op naam, volgens de Belgische gewoonte: het voorvoegsel hoort bij de "
            "familienaam (Van den Broeck staat onder de V)."
        )
    page_label = _("pagina %(page)s van %(pages)s")
    return Labels(
        page=lambda page, pages: page_label % {"page": page, "pages": pages},
        draft=_("ONTWERP"),
        draft_note=_("Ontwerp — deze tekst is nog niet gepubliceerd."),
        published_on=_("Gepubliceerd op %(date)s"),
        text_part=_("De tekst"),
        signatories_part=_("De ondertekenaars"),
        first_signatories=_("Eerste ondertekenaars"),
        organisations=_("Organisaties"),
        persons=_("Personen"),
        paragraphs_part=_("Motiverende paragrafen"),
        signed_by=signed_by,
        others=others,
        anonymous=_("een ondertekenaar"),
        anonymous_from=_("een ondertekenaar uit %(place)s"),
        collation_note=collation,
        paragraphs_note=_(
            "Ondertekenaars konden hun handtekening met een paragraaf van ten hoogste tien lijnen "
            "motiveren. Hieronder staan de paragrafen die ze lieten publiceren, in de volgorde "
            "waarin ze tekenden."
        ),
        revision=_("versie %(revision)s"),
        subject=_("Verrijkte opinie: de tekst, de ondertekenaars en hun motiverende paragrafen"),
    )


# --- styles ------------------------------------------------------------------------------

@cache
def _styles() -> dict[str, ParagraphStyle]:
    base = ts.paragraph_style()
    serif, bold, italic = ts.SERIF, f"{ts.SERIF}-Bold", f"{ts.SERIF}-Italic"

    def style(name: str, **overrides) -> ParagraphStyle:
        return ParagraphStyle(name, parent=base, **{"textColor": INK, **overrides})

    return {
        "body": style("body", spaceAfter=7),
        "title-organiser": style(
            "title-organiser", fontName=serif, fontSize=10, leading=14, alignment=TA_CENTER, textColor=GREY
        ),
        "title": style("title", fontName=bold, fontSize=26, leading=32, alignment=TA_CENTER, spaceAfter=10),
        "title-subtitle": style(
            "title-subtitle", fontName=italic, fontSize=14, leading=19, alignment=TA_CENTER, textColor=GREY
        ),
        "title-line": style("title-line", fontSize=11, leading=16, alignment=TA_CENTER),
        "title-small": style(
            "title-small", fontSize=8.5, leading=12, alignment=TA_CENTER, textColor=GREY
        ),
        "title-draft": style(
            "title-draft", fontName=bold, fontSize=10, leading=14, alignment=TA_CENTER, textColor=DRAFT_RED
        ),
        "part": style("part", fontName=bold, fontSize=17, leading=22, spaceAfter=6, keepWithNext=1),
        "part-subtitle": style(
            "part-subtitle", fontName=italic, fontSize=12, leading=16, textColor=GREY, spaceAfter=14
        ),
        "h1": style("h1", fontName=bold, fontSize=13.5, leading=18, spaceBefore=12, spaceAfter=5, keepWithNext=1),
        "h2": style("h2", fontName=bold, fontSize=11.5, leading=15.5, spaceBefore=9, spaceAfter=4, keepWithNext=1),
        "h3": style("h3", fontName=f"{ts.SERIF}-BoldItalic", fontSize=10.5, leading=14.5, spaceBefore=7,
                    spaceAfter=3, keepWithNext=1),
        "quote": style("quote", leftIndent=18, rightIndent=18, textColor=Color(0.2, 0.2, 0.2), spaceAfter=7),
        "code": style("code", fontSize=9.5, leading=13, leftIndent=18, spaceAfter=7),
        "signoff": style("signoff", alignment=TA_RIGHT, fontName=italic, spaceBefore=10),
        "signoff-name": style("signoff-name", alignment=TA_RIGHT, fontName=bold),
        "note": style("note", fontName=italic, fontSize=9.5, leading=13, textColor=GREY, spaceAfter=10),
        "column-heading": style("column-heading", fontName=bold, fontSize=10.5, leading=14),
        "name": style("name", fontSize=NAME_SIZE, leading=NAME_LEADING, leftIndent=HANGING_INDENT,
                      firstLineIndent=-HANGING_INDENT),
        "others": style("others", fontName=italic, fontSize=NAME_SIZE + 0.5, leading=NAME_LEADING + 1),
        "attribution": style("attribution", fontName=italic, fontSize=9.5, leading=13, textColor=GREY,
                             leftIndent=0),
    }


def _paragraph(markup: str, style: ParagraphStyle, *, plain: str, rtl: bool | None = None) -> Paragraph:
    """A paragraph of converted markup; should ReportLab refuse the markup,
    the plain text is printed instead (escaped), never an error."""
    if rtl is None:
        rtl = ts.is_rtl(plain)
    if rtl:
        style = ParagraphStyle(f"{style.name}-rtl", parent=style, alignment=TA_RIGHT)
    try:
        return ts.BidiParagraph(markup, style)
    except ValueError:
        return ts.BidiParagraph(ts.paragraph_markup(plain), style)


def _text_paragraph(text: str, style: ParagraphStyle) -> Paragraph:
    """Typed text (one or more lines) as a paragraph of the given style."""
    return _paragraph(ts.paragraph_markup(text), style, plain=text)


# --- outline ------------------------------------------------------------------------------

class _Outline:
    """Keys and levels for the PDF bookmarks: levels never skip one (the PDF
    outline would be malformed), keys are counters (deterministic)."""

    def __init__(self) -> None:
        self.count = 0
        self.level = -1

    def entry(self, title: str, level: int) -> tuple[str, str, int]:
        self.count += 1
        level = max(0, min(level, self.level + 1))
        self.level = level
        return (f"o{self.count}", " ".join(title.split()) or "-", level)


def _bookmark(canv: Canvas, entry: tuple[str, str, int] | None, x: float = 0, y: float = 0) -> None:
    if entry is None:
        return
    key, title, level = entry
    canv.bookmarkHorizontal(key, x, y)
    canv.addOutlineEntry(title, key, level=level, closed=level >= 1)


class Heading(ts.BidiParagraph):
    """A paragraph that is also a bookmark in the PDF outline."""

    outline_entry: tuple[str, str, int] | None = None

    def draw(self):
        _bookmark(self.canv, self.outline_entry, 0, self.height)
        super().draw()


def _heading(text: str, style: ParagraphStyle, outline: _Outline, level: int, markup: str | None = None) -> Heading:
    style = ParagraphStyle(f"{style.name}-rtl", parent=style, alignment=TA_RIGHT) if ts.is_rtl(text) else style
    try:
        heading = Heading(markup if markup is not None else ts.inline_markup(text), style)
    except ValueError:
        heading = Heading(ts.inline_markup(text), style)
    heading.outline_entry = outline.entry(text, level)
    return heading


class Anchor(Flowable):
    """An invisible bookmark."""

    def __init__(self, entry: tuple[str, str, int]):
        super().__init__()
        self.entry = entry
        self.width = self.height = 0

    def wrap(self, availWidth, availHeight):
        return 0, 0

    def draw(self):
        _bookmark(self.canv, self.entry)


# --- the lazy story ----------------------------------------------------------------------

class LazyStory:
    """The list protocol ReportLab's `build` uses on its story (len, [0],
    del [0], [0:0] = …, insert(0, …)), fed lazily from an iterator so that
    only a handful of flowables exist at any time."""

    LOOKAHEAD = 6  # enough for ReportLab's keepWithNext chains

    def __init__(self, flowables: Iterable[Flowable]):
        self._buffer: list[Flowable] = []
        self._source: Iterator[Flowable] | None = iter(flowables)

    def _fill(self, size: int) -> None:
        while self._source is not None and len(self._buffer) < size:
            try:
                self._buffer.append(next(self._source))
            except StopIteration:
                self._source = None

    def __len__(self) -> int:
        self._fill(self.LOOKAHEAD)
        return len(self._buffer)

    def __bool__(self) -> bool:
        return len(self) > 0

    def __getitem__(self, index):
        if isinstance(index, slice):
            if index.stop is not None and index.stop >= 0:
                self._fill(index.stop)
            return self._buffer[index]
        if index < 0:
            raise IndexError("a lazy story has no end to count from")
        self._fill(index + 1)
        return self._buffer[index]

    def __setitem__(self, index, value) -> None:
        self._buffer[index] = value

    def __delitem__(self, index) -> None:
        if isinstance(index, slice):
            if index.stop is not None:
                self._fill(index.stop)
        else:
            self._fill(index + 1)
        del self._buffer[index]

    def insert(self, index: int, value: Flowable) -> None:
        self._buffer.insert(index, value)

    def __iter__(self):  # pragma: no cover - ReportLab does not iterate
        raise TypeError("a lazy story is consumed, not iterated")


# --- the names in two columns ---------------------------------------------------------------

_FONT_VARIANTS = {
    # (font, bold, italic) → the registered face
    (ts.SERIF, False, False): ts.SERIF,
    (ts.SERIF, True, False): f"{ts.SERIF}-Bold",
    (ts.SERIF, False, True): f"{ts.SERIF}-Italic",
    (ts.SERIF, True, True): f"{ts.SERIF}-BoldItalic",
    (ts.ARABIC, True, False): f"{ts.ARABIC}-Bold",
    (ts.ARABIC, True, True): f"{ts.ARABIC}-Bold",
    (ts.ETHIOPIC, True, False): f"{ts.ETHIOPIC}-Bold",
    (ts.ETHIOPIC, True, True): f"{ts.ETHIOPIC}-Bold",
}


def _face(font: str, bold: bool, italic: bool) -> str:
    return _FONT_VARIANTS.get((font, bold, italic), font)


class _Item:
    """One thing in the columns: a name, a heading, a letter of the index."""

    __slots__ = ("height", "space_before", "runs", "paragraph", "sticky", "outline", "color_runs")

    def __init__(self, height, *, space_before=0.0, runs=None, paragraph=None, sticky=False, outline=None):
        self.height = height  # including space_before
        self.space_before = space_before
        self.runs = runs  # [(face, text, colour)] drawn on one line, or None
        self.paragraph = paragraph  # a wrapped Paragraph, or None
        self.sticky = sticky  # keep with the next item
        self.outline = outline

    def draw(self, canv: Canvas, top: float) -> None:
        y = top - self.space_before
        _bookmark(canv, self.outline, 0, y)
        if self.paragraph is not None:
            self.paragraph.drawOn(canv, 0, y - self.paragraph.height)
            return
        text = canv.beginText(0, y - NAME_SIZE)
        colour = None
        for face, run, run_colour in self.runs:
            text.setFont(face, NAME_SIZE)
            if run_colour is not colour:
                text.setFillColor(run_colour)
                colour = run_colour
            text.textOut(run)
        canv.drawText(text)


def _entry_segments(signatory: Signatory) -> list[tuple[str, bool, bool, Color]]:
    """(text, bold, italic, colour) segments of one listed name."""
    if signatory.is_organisation:
        details = ", ".join(part for part in (signatory.name, signatory.function, signatory.place) if part)
        segments = [(signatory.organisation, True, False, INK)]
    else:
        details = ", ".join(part for part in (signatory.function, signatory.place) if part)
        segments = [(signatory.name, False, False, INK)]
    if details:
        segments.append((", " + details, False, True, GREY))
    return segments


def _entry_item(signatory: Signatory, width: float) -> _Item:
    segments = _entry_segments(signatory)
    runs = []
    total = 0.0
    simple = True
    for text, bold, italic, colour in segments:
        text = " ".join(text.split())
        for font, run in ts.script_runs(text):
            if font == ts.ARABIC:
                simple = False
                break
            face = _face(font, bold, italic)
            runs.append((face, run, colour))
            total += stringWidth(run, face, NAME_SIZE)
        if not simple:
            break
    if simple and total <= width:
        return _Item(NAME_LEADING, runs=runs)
    # Rare: a name that wraps (hanging indent) or that is right to left.
    markup = []
    plain = []
    for text, bold, italic, colour in segments:
        text = " ".join(text.split())
        inner = ts.inline_markup(text)
        if bold:
            inner = f"<b>{inner}</b>"
        if italic:
            inner = f"<i>{inner}</i>"
        if colour is GREY:
            inner = f'<font color="#616161">{inner}</font>'
        markup.append(inner)
        plain.append(text)
    # Left to right like the rest of the list: an Arabic name is reordered
    # within its line, and the list keeps one alignment.
    paragraph = _paragraph("".join(markup), _styles()["name"], plain="".join(plain), rtl=False)
    _, height = paragraph.wrap(width, 1_000_000)
    return _Item(height, paragraph=paragraph)


def _paragraph_item(paragraph: Paragraph, width: float, *, space_before=0.0, space_after=0.0,
                    sticky=False, outline=None) -> _Item:
    _, height = paragraph.wrap(width, 1_000_000)
    return _Item(height + space_before + space_after, space_before=space_before, paragraph=paragraph,
                 sticky=sticky, outline=outline)


class ColumnChunk(Flowable):
    """Items that fit in one column, drawn from the top."""

    def __init__(self, items: list[_Item], width: float):
        super().__init__()
        self.items = items
        self.width = width
        self.height = sum(item.height for item in items)

    def wrap(self, availWidth, availHeight):
        return self.width, self.height

    def draw(self):
        top = self.height
        for item in self.items:
            item.draw(self.canv, top)
            top -= item.height


class NameColumns(Flowable):
    """The list of names: pulls items from an iterator only as far as the
    current column reaches, and splits into a drawn chunk and itself."""

    def __init__(self, items: Iterator[_Item], width: float, pending: list[_Item] | None = None):
        super().__init__()
        self.items = items
        self.width = width
        self.pending = pending or []
        self.exhausted = False
        self.height = 0.0

    def _pull_until(self, height: float) -> float:
        total = sum(item.height for item in self.pending)
        while total <= height and not self.exhausted:
            try:
                item = next(self.items)
            except StopIteration:
                self.exhausted = True
                break
            self.pending.append(item)
            total += item.height
        return total

    def wrap(self, availWidth, availHeight):
        self.height = self._pull_until(availHeight)
        return self.width, self.height

    def split(self, availWidth, availHeight):
        self._pull_until(availHeight)
        taken, total = 0, 0.0
        for item in self.pending:
            if total + item.height > availHeight + 1e-6:
                break
            total += item.height
            taken += 1
        # A heading or index letter never ends a column.
        while taken and self.pending[taken - 1].sticky and taken < len(self.pending):
            taken -= 1
        if taken == 0:
            return []
        chunk = ColumnChunk(self.pending[:taken], self.width)
        rest = NameColumns(self.items, self.width, self.pending[taken:])
        rest.exhausted = self.exhausted
        return [chunk, rest]

    def draw(self):  # everything fitted: draw it all
        ColumnChunk(self.pending, self.width).drawOn(self.canv, 0, 0)


def _column_items(data: DocumentData, labels: Labels, outline: _Outline, width: float) -> Iterator[_Item]:
    styles = _styles()
    groups = (
        (labels.first_signatories, data.first_signatories, False),
        (labels.organisations, data.organisations, False),
        (labels.persons, data.persons, True),
    )
    first_group = True
    for title, signatories, with_index in groups:
        iterator = iter(signatories)
        first = next(iterator, None)
        if first is None:
            continue
        heading = Paragraph(ts.inline_markup(title), styles["column-heading"])
        yield _paragraph_item(heading, width, space_before=0 if first_group else 14, space_after=4,
                              sticky=True, outline=outline.entry(title, 1))
        first_group = False
        current_index = None
        signatory = first
        while signatory is not None:
            if with_index and signatory.index and signatory.index != current_index:
                current_index = signatory.index
                letter = Paragraph(f"<b>{ts.inline_markup(current_index)}</b>", styles["column-heading"])
                yield _paragraph_item(letter, width, space_before=6, space_after=2, sticky=True,
                                      outline=outline.entry(current_index, 2))
            yield _entry_item(signatory, width)
            signatory = next(iterator, None)
    if labels.others:
        others = _text_paragraph(labels.others, styles["others"])
        yield _paragraph_item(others, width, space_before=12)


# --- the motivating paragraphs ------------------------------------------------------------------

def _attribution(contribution: Contribution, labels: Labels) -> str:
    if contribution.name:
        parts = [contribution.name, contribution.function]
        if contribution.kind == "organisation" and contribution.organisation:
            parts.append(contribution.organisation)
        parts.append(contribution.place)
        who = ", ".join(" ".join(part.split()) for part in parts if part and part.strip())
    elif contribution.place.strip():
        who = labels.anonymous_from % {"place": " ".join(contribution.place.split())}
    else:
        who = labels.anonymous
    return f"— {who}"


class ContributionBlock(Flowable):
    """A motivating paragraph with its attribution, kept on one page. Only a
    paragraph taller than a whole page (an organiser may allow one) splits."""

    GAP = 2
    SPACE_AFTER = 12

    def __init__(self, paragraph: Paragraph, attribution: Paragraph | None, frame_height: float):
        super().__init__()
        self.paragraph = paragraph
        self.attribution = attribution
        self.frame_height = frame_height

    def wrap(self, availWidth, availHeight):
        if getattr(self, "_wrapped_width", None) == availWidth:
            return self.width, self.height
        self._wrapped_width = availWidth
        _, self.paragraph_height = self.paragraph.wrap(availWidth, 1_000_000)
        self.attribution_height = 0.0
        if self.attribution is not None:
            _, self.attribution_height = self.attribution.wrap(availWidth, 1_000_000)
        self.width = availWidth
        self.height = self.paragraph_height + self.GAP + self.attribution_height + self.SPACE_AFTER
        return self.width, self.height

    def split(self, availWidth, availHeight):
        self.wrap(availWidth, availHeight)
        if self.height <= self.frame_height:
            return []  # to the next page, whole
        parts = self.paragraph.split(availWidth, availHeight)
        if len(parts) < 2:
            return []
        return [parts[0], ContributionBlock(parts[1], self.attribution, self.frame_height)]

    def draw(self):
        top = self.height
        self.paragraph.drawOn(self.canv, 0, top - self.paragraph_height)
        if self.attribution is not None:
            self.attribution.drawOn(
                self.canv, 0, top - self.paragraph_height - self.GAP - self.attribution_height
            )


# --- the letter's Markdown ----------------------------------------------------------------------

_LINK_SCHEMES = ("http://", "https://", "mailto:")


def _inline(token) -> tuple[str, str]:
    """ReportLab markup and plain text of an inline token's children."""
    markup: list[str] = []
    plain: list[str] = []
    links: list[bool] = []  # open links: printed as links only with an allowed scheme
    for child in token.children or []:
        kind = child.type
        if kind in ("text", "code_inline", "html_inline"):
            markup.append(ts.inline_markup(child.content))
            plain.append(child.content)
        elif kind == "softbreak":
            markup.append(" ")
            plain.append(" ")
        elif kind == "hardbreak":
            markup.append("<br/>")
            plain.append("\n")
        elif kind == "strong_open":
            markup.append("<b>")
        elif kind == "strong_close":
            markup.append("</b>")
        elif kind == "em_open":
            markup.append("<i>")
        elif kind == "em_close":
            markup.append("</i>")
        elif kind == "link_open":
            href = str(child.attrs.get("href", ""))
            allowed = href.startswith(_LINK_SCHEMES)
            links.append(allowed)
            if allowed:
                markup.append(f"<a href={quoteattr(href)}>")
        elif kind == "link_close":
            if links and links.pop():
                markup.append("</a>")
        elif kind == "image":
            markup.append(ts.inline_markup(child.content))
            plain.append(child.content)
    text = "".join(markup)
    return text, "".join(plain)


def _body_flowables(body: str, outline: _Outline) -> Iterator[Flowable]:
    """The letter's Markdown as typography, from the same parse as the
    public page (`markup.parse`)."""
    styles = _styles()
    lists: list[dict] = []  # open lists: {"ordered", "number"}
    quote_depth = 0
    item_first_paragraph = False
    heading_level = 0
    for token in parse(body):
        kind = token.type
        if kind == "heading_open":
            heading_level = int(token.tag[1:])
        elif kind in ("bullet_list_open", "ordered_list_open"):
            start = token.attrs.get("start", 1) if kind == "ordered_list_open" else 1
            lists.append({"ordered": kind == "ordered_list_open", "number": int(start or 1) - 1})
        elif kind in ("bullet_list_close", "ordered_list_close"):
            lists.pop()
            if not lists:
                yield Spacer(1, 4)
        elif kind == "list_item_open":
            lists[-1]["number"] += 1
            item_first_paragraph = True
        elif kind == "blockquote_open":
            quote_depth += 1
        elif kind == "blockquote_close":
            quote_depth -= 1
        elif kind == "hr":
            yield HRFlowable(width="30%", thickness=0.5, color=RULE, spaceBefore=8, spaceAfter=12)
        elif kind in ("code_block", "fence"):
            yield _text_paragraph(token.content.rstrip("\n"), styles["code"])
        elif kind == "inline":
            markup, plain = _inline(token)
            if heading_level:
                style = styles[f"h{min(heading_level, 3)}"]
                yield _heading(plain, style, outline, min(heading_level, 3), markup=markup)
                heading_level = 0
                continue
            style = styles["quote"] if quote_depth else styles["body"]
            indent = 18 * len(lists) + 18 * quote_depth
            bullet = None
            if lists and item_first_paragraph:
                current = lists[-1]
                bullet = f"{current['number']}." if current["ordered"] else "•"
                item_first_paragraph = False
            if indent != style.leftIndent or lists:
                style = ParagraphStyle(
                    f"{style.name}-{indent}", parent=style, leftIndent=indent,
                    bulletIndent=max(0, indent - 14), spaceAfter=3 if lists else style.spaceAfter,
                    bulletFontName=ts.SERIF,
                )
            if quote_depth:
                markup = f"<i>{markup}</i>"
            paragraph = _paragraph(markup, style, plain=plain)
            if bullet is not None:
                paragraph.bulletText = bullet
            yield paragraph


# --- pages -----------------------------------------------------------------------------------

class _Document(BaseDocTemplate):
    """Page templates: the title page, text pages and pages of two columns.
    The running header and the folio are drawn when a page ends, when the
    part it belongs to is known."""

    def __init__(self, buffer, data: DocumentData, labels: Labels, draft: bool):
        self.data = data
        self.labels = labels
        self.draft = draft
        self.part = ""
        super().__init__(
            buffer,
            pagesize=ts.PAGE_SIZE,
            leftMargin=ts.MARGIN_LEFT,
            rightMargin=ts.MARGIN_RIGHT,
            topMargin=ts.MARGIN_TOP,
            bottomMargin=ts.MARGIN_BOTTOM,
            title=" ".join(data.title.split()),
            author=" ".join(data.organiser.split()),
            subject=labels.subject,
            creator="Signatory",
            producer="Signatory (ReportLab)",
            keywords="",
            lang=data.language,
            invariant=1,
            pageCompression=1,
            initialFontName=ts.SERIF,  # else every page names Helvetica
        )
        full = Frame(ts.MARGIN_LEFT, ts.MARGIN_BOTTOM, ts.FRAME_WIDTH, self.height, id="full",
                     leftPadding=ts.FRAME_PADDING, rightPadding=ts.FRAME_PADDING,
                     topPadding=ts.FRAME_PADDING, bottomPadding=ts.FRAME_PADDING)
        self.text_frame_height = self.height - 2 * ts.FRAME_PADDING
        left = Frame(ts.MARGIN_LEFT, ts.MARGIN_BOTTOM, COLUMN_WIDTH, self.height, id="left")
        right = Frame(ts.MARGIN_LEFT + COLUMN_WIDTH + COLUMN_GUTTER, ts.MARGIN_BOTTOM, COLUMN_WIDTH,
                      self.height, id="right")
        head_height = 124
        head = Frame(ts.MARGIN_LEFT, ts.MARGIN_BOTTOM + self.height - head_height, ts.FRAME_WIDTH,
                     head_height, id="head")
        left_first = Frame(ts.MARGIN_LEFT, ts.MARGIN_BOTTOM, COLUMN_WIDTH, self.height - head_height,
                           id="left-first")
        right_first = Frame(ts.MARGIN_LEFT + COLUMN_WIDTH + COLUMN_GUTTER, ts.MARGIN_BOTTOM, COLUMN_WIDTH,
                            self.height - head_height, id="right-first")
        self.column_inner_width = COLUMN_WIDTH - 2 * ts.FRAME_PADDING
        self.addPageTemplates([
            PageTemplate("title", [full], onPage=self._page_start, onPageEnd=self._title_page_end),
            PageTemplate("text", [full], onPage=self._page_start, onPageEnd=self._page_end),
            PageTemplate("columns-first", [head, left_first, right_first], onPage=self._page_start,
                         onPageEnd=self._page_end),
            PageTemplate("columns", [left, right], onPage=self._page_start, onPageEnd=self._page_end),
        ])

    # Each page: a watermark below the content while it is a draft.
    def _page_start(self, canv: Canvas, doc) -> None:
        if self.draft:
            canv.saveState()
            canv.setFillColor(WATERMARK)
            canv.setFont(f"{ts.SERIF}-Bold", 92)
            canv.translate(ts.PAGE_SIZE[0] / 2, ts.PAGE_SIZE[1] / 2)
            canv.rotate(54)
            canv.drawCentredString(0, -30, self.labels.draft)
            canv.restoreState()

    def _folio(self, canv: Canvas) -> None:
        canv.doForm(f"folio{canv.getPageNumber()}")

    def _title_page_end(self, canv: Canvas, doc) -> None:
        self._folio(canv)

    def _page_end(self, canv: Canvas, doc) -> None:
        canv.saveState()
        left = ts.MARGIN_LEFT + ts.FRAME_PADDING
        right = ts.PAGE_SIZE[0] - ts.MARGIN_RIGHT - ts.FRAME_PADDING
        _draw_line(canv, left, HEADER_Y, " ".join(self.data.title.split()), f"{ts.SERIF}-Italic", 8.5, GREY,
                   max_width=(right - left) * 0.55)
        end = right
        if self.part:
            end -= _draw_line(canv, right, HEADER_Y, self.part, ts.SERIF, 8.5, GREY, align_right=True)
        if self.draft:
            face, size = f"{ts.SERIF}-Bold", 8.5
            canv.setFillColor(DRAFT_RED)
            canv.setFont(face, size)
            canv.drawRightString(end - (12 if self.part else 0), HEADER_Y, self.labels.draft)
        canv.setStrokeColor(RULE)
        canv.setLineWidth(0.4)
        canv.line(left, HEADER_Y - 5, right, HEADER_Y - 5)
        canv.restoreState()
        self._folio(canv)

    def afterFlowable(self, flowable) -> None:
        part = getattr(flowable, "part_name", None)
        if part is not None:
            self.part = part


def _draw_line(canv: Canvas, x: float, y: float, text: str, face: str, size: float, colour: Color, *,
               max_width: float | None = None, align_right: bool = False) -> float:
    """One line of typed text with a font per script (shortened with an
    ellipsis to max_width), for headers and footers."""
    runs = []
    for font, run in ts.script_runs(text):
        if font == ts.ARABIC:
            run = ts.arabic_reshaper.reshape(run)
        bold = face.endswith("Bold") or face.endswith("BoldItalic")
        italic = "Italic" in face
        runs.append((_face(font, bold, italic) if font != ts.SERIF else face, run))
    if ts.has_arabic(text):
        # One line: reorder it as a whole for display.
        visual = get_display("".join(run for _, run in runs))
        runs = [(_face(font, False, False) if font != ts.SERIF else face, run) for font, run in ts.script_runs(visual)]
    if max_width is not None:
        total = 0.0
        kept = []
        for run_face, run in runs:
            width = stringWidth(run, run_face, size)
            if total + width > max_width:
                room = max_width - total - stringWidth("…", face, size)
                cut = ""
                for char in run:
                    if stringWidth(cut + char, run_face, size) > room:
                        break
                    cut += char
                kept.append((run_face, cut.rstrip() + "…"))
                break
            kept.append((run_face, run))
            total += width
        runs = kept
    width = sum(stringWidth(run, run_face, size) for run_face, run in runs)
    start = x - width if align_right else x
    text_object = canv.beginText(start, y)
    text_object.setFillColor(colour)
    for run_face, run in runs:
        text_object.setFont(run_face, size)
        text_object.textOut(run)
    canv.drawText(text_object)
    return width


class _FolioCanvas(Canvas):
    """Writes the folio forms ("pagina 3 van 41") once the page count is
    known, just before saving: one pass, no page kept in memory."""

    folio_label: Callable[[int, int], str] = staticmethod(lambda page, pages: f"{page}/{pages}")
    creation_date: str = "D:20000101000000+00'00'"
    page_total = 0

    def save(self):
        total = self.page_total = self.getPageNumber() - 1
        centre = ts.PAGE_SIZE[0] / 2
        for page in range(1, total + 1):
            self.beginForm(f"folio{page}")
            self.setFont(ts.SERIF, 8.5)
            self.setFillColor(GREY)
            self.drawCentredString(centre, FOOTER_Y, self.folio_label(page, total))
            self.endForm()
        super().save()


class PartStart(Flowable):
    """Marks where a part begins, for the running header."""

    def __init__(self, name: str):
        super().__init__()
        self.part_name = name
        self.width = self.height = 0

    def wrap(self, availWidth, availHeight):
        return 0, 0

    def draw(self):
        pass


# --- the story --------------------------------------------------------------------------------

def _title_page(data: DocumentData, labels: Labels, draft: bool) -> Iterator[Flowable]:
    styles = _styles()
    yield Spacer(1, 40)
    if data.organiser.strip():
        yield _text_paragraph(data.organiser, styles["title-organiser"])
    yield Spacer(1, 110)
    yield HRFlowable(width="22%", thickness=0.6, color=INK, spaceBefore=0, spaceAfter=22)
    yield _text_paragraph(" ".join(data.title.split()), styles["title"])
    if data.subtitle.strip():
        yield _text_paragraph(" ".join(data.subtitle.split()), styles["title-subtitle"])
    yield HRFlowable(width="22%", thickness=0.6, color=INK, spaceBefore=24, spaceAfter=26)
    if data.place_date.strip():
        yield _text_paragraph(data.place_date, styles["title-line"])
    yield Spacer(1, 6)
    yield _text_paragraph(labels.signed_by, styles["title-line"])
    bottom = []
    if draft:
        bottom.append(f'<font color="#9e1a1a"><b>{ts.inline_markup(labels.draft_note)}</b></font>')
    elif data.publication_date:
        bottom.append(ts.inline_markup(
            labels.published_on % {"date": _date(data.publication_date, data.language)}))
    for line in (data.contact, data.url):
        if line.strip():
            bottom.append(ts.paragraph_markup(line))
    if data.revision:
        bottom.append(ts.inline_markup(labels.revision % {"revision": data.revision}))
    if bottom:
        plain = "\n".join([data.contact, data.url])
        yield TopPadder(_paragraph("<br/>".join(bottom), styles["title-small"], plain=plain, rtl=False))


def _story(doc: _Document, data: DocumentData, labels: Labels, draft: bool) -> Iterator[Flowable]:
    styles = _styles()
    outline = _Outline()
    yield from _title_page(data, labels, draft)

    # The text.
    yield NextPageTemplate("text")
    yield PageBreak()
    yield PartStart(labels.text_part)
    yield Anchor(outline.entry(" ".join(data.title.split()) or labels.text_part, 0))
    yield _text_paragraph(" ".join(data.title.split()), styles["part"])
    if data.subtitle.strip():
        yield _text_paragraph(" ".join(data.subtitle.split()), styles["part-subtitle"])
    else:
        yield Spacer(1, 10)
    yield from _body_flowables(data.body, outline)
    if data.place_date.strip():
        yield _text_paragraph(data.place_date, styles["signoff"])
    if data.organiser.strip():
        yield _text_paragraph(data.organiser, styles["signoff-name"])

    # The signatories, in two columns.
    yield NextPageTemplate("columns-first")
    yield PageBreak()
    yield NextPageTemplate("columns")
    yield PartStart(labels.signatories_part)
    yield _heading(labels.signatories_part, styles["part"], outline, 0)
    yield _text_paragraph(labels.signed_by + ".", styles["note"])
    yield _text_paragraph(labels.collation_note, styles["note"])
    yield FrameBreak()
    width = doc.column_inner_width
    yield NameColumns(_column_items(data, labels, outline, width), width)

    # The paragraphs.
    contributions = iter(data.contributions)
    first = next(contributions, None)
    if first is None:
        return
    yield NextPageTemplate("text")
    yield PageBreak()
    yield PartStart(labels.paragraphs_part)
    yield _heading(labels.paragraphs_part, styles["part"], outline, 0)
    yield _text_paragraph(labels.paragraphs_note, styles["note"])
    yield Spacer(1, 6)
    attribution_style = styles["attribution"]
    contribution = first
    while contribution is not None:
        text = ts.normalise_paragraph(contribution.text)
        if text:
            yield ContributionBlock(
                ts.build_paragraph(text),
                _paragraph(ts.inline_markup(_attribution(contribution, labels)), attribution_style,
                           plain=contribution.name, rtl=False),
                doc.text_frame_height,
            )
        contribution = next(contributions, None)


# --- entry point ----------------------------------------------------------------------------------

def compile_document(data: DocumentData, *, draft: bool) -> CompiledDocument:
    """Compile the verrijkte opinie; `draft` marks every page as such."""
    import io

    ts.register_fonts()
    labels = _labels(data)
    buffer = io.BytesIO()
    doc = _Document(buffer, data, labels, draft)
    creation = data.created.strftime("D:%Y%m%d%H%M%S+00'00'")
    state = {}

    def canvasmaker(*args, **kwargs):
        canvas = _FolioCanvas(*args, **kwargs)
        canvas.folio_label = labels.page
        canvas.setDateFormatter(lambda *_: creation)
        state["canvas"] = canvas
        return canvas

    doc.build(LazyStory(_story(doc, data, labels, draft)), canvasmaker=canvasmaker)
    pdf = buffer.getvalue()
    return CompiledDocument(pdf=pdf, page_count=state["canvas"].page_total,
                            sha256=hashlib.sha256(pdf).hexdigest())


def render_pdf(data: DocumentData, *, draft: bool) -> bytes:
    """The PDF's bytes: the same data gives the same bytes."""
    return compile_document(data, draft=draft).pdf
