"""The document's own flowables: outline entries and the headings that
carry them, markers for the running header, the lazy story, and a motivating
paragraph kept with its attribution.
"""
from __future__ import annotations

import io
from collections.abc import Iterable, Iterator

from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.lib.utils import ImageReader
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Flowable, Image, Paragraph

from .styles import INK, RULE, document_styles, safe_paragraph
from .typography import BidiParagraph, inline_markup

# --- outline ------------------------------------------------------------------------------

class Outline:
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


def bookmark(canv: Canvas, entry: tuple[str, str, int] | None, x: float = 0, y: float = 0) -> None:
    if entry is None:
        return
    key, title, level = entry
    canv.bookmarkHorizontal(key, x, y)
    canv.addOutlineEntry(title, key, level=level, closed=level >= 1)



class Heading(BidiParagraph):
    """A paragraph that is also a bookmark in the PDF outline."""

    outline_entry: tuple[str, str, int] | None = None

    def draw(self):
        bookmark(self.canv, self.outline_entry, 0, self.height)
        super().draw()


def heading(text: str, style: ParagraphStyle, outline: Outline, level: int, markup: str | None = None) -> Heading:
    fallback = inline_markup(text)
    made = safe_paragraph(markup if markup is not None else fallback, style, plain=text, fallback=fallback,
                          kind=Heading)
    made.outline_entry = outline.entry(text, level)
    return made


class _Marker(Flowable):
    """Takes no room and draws nothing of its own."""

    def __init__(self):
        super().__init__()
        self.width = self.height = 0

    def wrap(self, availWidth, availHeight):
        return 0, 0

    def draw(self):
        pass


class Anchor(_Marker):
    """An invisible bookmark."""

    def __init__(self, entry: tuple[str, str, int]):
        super().__init__()
        self.entry = entry

    def draw(self):
        bookmark(self.canv, self.entry)


class PartStart(_Marker):
    """Marks where a part begins: for the running header, and as the
    destination `part-<key>` of the contents' links."""

    def __init__(self, name: str, key: str = ""):
        super().__init__()
        self.part_name = name
        self.part_key = key

    def draw(self):
        if self.part_key:
            self.canv.bookmarkHorizontal(f"part-{self.part_key}", 0, 0)


class ContentsList(Flowable):
    """The table of contents: each part's title, a dotted leader and its page
    number, which is a form (`contents-<key>`) the canvas writes once the
    page is known (see `pages.FolioCanvas`); each line links to its part."""

    def __init__(self, entries: list[tuple[str, str]]):
        super().__init__()
        self.entries = entries
        self.style = document_styles()["contents"]

    def wrap(self, availWidth, availHeight):
        self.width = availWidth
        self.height = self.style.leading * len(self.entries)
        return self.width, self.height

    def draw(self):
        from .pages import draw_line  # pages builds on these flowables

        canv = self.canv
        size, leading = self.style.fontSize, self.style.leading
        number_room = 4 * size
        for row, (key, title) in enumerate(self.entries):
            baseline = self.height - leading * (row + 1) + (leading - size) / 2
            width = draw_line(canv, 0, baseline, title, self.style.fontName, size, INK,
                              max_width=self.width - number_room - size)
            canv.saveState()
            canv.setFillColor(RULE)
            canv.setFont(self.style.fontName, size)
            dot = canv.stringWidth(". ", self.style.fontName, size)
            start = width + size / 2
            dots = int((self.width - number_room / 2 - start) / dot)
            if dots > 0:
                canv.drawString(self.width - number_room / 2 - dots * dot, baseline, ". " * dots)
            canv.translate(self.width, baseline)
            canv.doForm(f"contents-{key}")
            canv.restoreState()
            canv.linkRect("", f"part-{key}", (0, baseline - size * 0.3, self.width, baseline + size),
                          relative=1, thickness=0)


def logo_flowable(data: bytes | None, mime: str, *, max_width: float = 60 * mm,
                  max_height: float = 22 * mm) -> Flowable | None:
    """The organiser's logo, scaled to fit the box and centred; None when
    there is none or it cannot be read (the document is made without it)."""
    if not data:
        return None
    try:
        if mime == "image/svg+xml" or data.lstrip()[:5] in (b"<?xml", b"<svg "):
            from svglib.svglib import svg2rlg

            drawing = svg2rlg(io.BytesIO(data))
            if drawing is None or not drawing.width or not drawing.height:
                return None
            scale = min(max_width / drawing.width, max_height / drawing.height)
            drawing.scale(scale, scale)
            drawing.width, drawing.height = drawing.width * scale, drawing.height * scale
            drawing.hAlign = "CENTER"
            return drawing
        reader = ImageReader(io.BytesIO(data))
        width, height = reader.getSize()
        scale = min(max_width / width, max_height / height)
        image = Image(io.BytesIO(data), width=width * scale, height=height * scale)
        image.hAlign = "CENTER"
        return image
    except Exception:  # a broken logo must not stop the document
        return None


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



# --- the motivating paragraphs ------------------------------------------------------------------

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

