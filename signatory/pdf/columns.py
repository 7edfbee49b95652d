"""The list of names in two columns: one `NameColumns` flowable pulls
items (a group heading, a letter of the index, a name) from an iterator only
as far as the current column reaches and draws them straight onto the canvas;
a ReportLab Paragraph only for the rare name that wraps or is right to left.
"""
from __future__ import annotations

from collections.abc import Iterator
from itertools import chain, islice

from reportlab.lib.colors import Color
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Flowable, Paragraph

from .contract import DocumentData, Signatory
from .flowables import Outline, bookmark
from .labels import Labels
from .styles import GREY, INK, NAME_LEADING, NAME_SIZE, document_styles, safe_paragraph, text_paragraph
from .typography import (
    BidiParagraph,
    face,
    has_right_to_left,
    inline_markup,
    needs_shaping,
    script_runs,
    size_scales,
)

# Persons are listed under letters of the alphabet only in a list this long:
# in a short one the letters are more noise than help.
INDEX_THRESHOLD = 60


class _Item:
    """One thing in the columns: a name, a heading, a letter of the index."""

    __slots__ = ("height", "space_before", "runs", "paragraph", "lift", "sticky", "outline")

    def __init__(self, height, *, space_before=0.0, runs=None, paragraph=None, lift=0.0, sticky=False,
                 outline=None):
        self.height = height  # including space_before
        self.space_before = space_before
        self.runs = runs  # [(face, text, colour)] drawn on one line, or None
        self.paragraph = paragraph  # a wrapped Paragraph, or None
        self.lift = lift  # how far to raise the paragraph to keep the list's baselines
        self.sticky = sticky  # keep with the next item
        self.outline = outline

    def draw(self, canv: Canvas, top: float) -> None:
        y = top - self.space_before
        bookmark(canv, self.outline, 0, y)
        if self.paragraph is not None:
            self.paragraph.drawOn(canv, 0, y - self.paragraph.height + self.lift)
            return
        text = canv.beginText(0, y - NAME_SIZE)
        colour = None
        for run_face, run, run_colour in self.runs:
            text.setFont(run_face, NAME_SIZE)
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
        if needs_shaping(text) or has_right_to_left(text):
            simple = False
            break
        for font, run in script_runs(text):
            run_face = face(font, bold, italic)
            if run_face in size_scales():
                simple = False
            runs.append((run_face, run, colour))
            total += stringWidth(run, run_face, NAME_SIZE)
    if simple and total <= width:
        return _Item(NAME_LEADING, runs=runs)
    # Rare: a name that wraps (hanging indent), that is right to left or
    # that HarfBuzz shapes (joined letters, combining marks).
    markup = []
    plain = []
    for text, bold, italic, colour in segments:
        text = " ".join(text.split())
        inner = inline_markup(text)
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
    paragraph = safe_paragraph("".join(markup), document_styles()["name"], plain="".join(plain), rtl=False)
    _, height = paragraph.wrap(width, 1_000_000)
    # ReportLab sets a line's baseline one font size down, and a script set
    # larger (`size_scales`) would lower it: raise it back onto the list's.
    lines = paragraph.blPara.lines
    first_size = getattr(lines[0], "fontSize", NAME_SIZE) if lines else NAME_SIZE
    return _Item(height, paragraph=paragraph, lift=max(0.0, first_size - NAME_SIZE))


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


def column_items(data: DocumentData, labels: Labels, outline: Outline, width: float) -> Iterator[_Item]:
    styles = document_styles()
    groups = (
        (labels.first_signatories, data.first_signatories, False),
        (labels.organisations, data.organisations, False),
        (labels.persons, data.persons, True),
    )
    first_group = True
    for title, signatories, with_index in groups:
        iterator = iter(signatories)
        if with_index:
            # Look ahead (lazily, no further than the threshold) to see
            # whether the list is long enough for letters.
            ahead = list(islice(iterator, INDEX_THRESHOLD + 1))
            with_index = len(ahead) > INDEX_THRESHOLD
            iterator = chain(ahead, iterator)
        first = next(iterator, None)
        if first is None:
            continue
        heading = BidiParagraph(inline_markup(title), styles["column-heading"])
        yield _paragraph_item(heading, width, space_before=0 if first_group else 14, space_after=4,
                              sticky=True, outline=outline.entry(title, 1))
        first_group = False
        current_index = None
        signatory = first
        while signatory is not None:
            if with_index and signatory.index and signatory.index != current_index:
                current_index = signatory.index
                letter = BidiParagraph(f"<b>{inline_markup(current_index)}</b>", styles["column-heading"])
                yield _paragraph_item(letter, width, space_before=6, space_after=2, sticky=True,
                                      outline=outline.entry(current_index, 2))
            yield _entry_item(signatory, width)
            signatory = next(iterator, None)
    if labels.others:
        others = text_paragraph(labels.others, styles["others"])
        yield _paragraph_item(others, width, space_before=12)

