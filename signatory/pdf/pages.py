"""The pages: A4 with the measure of `typography`, four page templates
(the title page, text pages, the first page of the names with its head, pages
of two columns), the draft watermark, the running header, and the folio
"pagina 3 van 41" written without a second pass: each page draws a reference
to a form `folio<n>`; the forms are written once the number of pages is
known, just before the file is saved.
"""
from __future__ import annotations

from collections.abc import Callable

from functools import lru_cache

from reportlab.lib.colors import Color, toColor
from reportlab.lib.styles import ParagraphStyle
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import BaseDocTemplate, Frame, PageTemplate

from .contract import DocumentData
from .labels import Labels
from .styles import DRAFT_RED, GREY, INK, RULE, WATERMARK, document_styles
from .typography import (
    FRAME_PADDING,
    FRAME_WIDTH,
    MARGIN_BOTTOM,
    MARGIN_LEFT,
    MARGIN_RIGHT,
    MARGIN_TOP,
    PAGE_SIZE,
    SERIF,
    BidiParagraph,
    face,
    has_right_to_left,
    inline_markup,
    needs_shaping,
    script_runs,
)

# Names: two columns of the full measure, separated by a gutter.
COLUMN_GUTTER = 18
COLUMN_WIDTH = (FRAME_WIDTH - COLUMN_GUTTER) / 2

HEADER_Y = PAGE_SIZE[1] - MARGIN_TOP + 14
FOOTER_Y = MARGIN_BOTTOM - 24


class DocumentTemplate(BaseDocTemplate):
    """Page templates: the title page, text pages and pages of two columns.
    The running header and the folio are drawn when a page ends, when the
    part it belongs to is known."""

    def __init__(self, buffer, data: DocumentData, labels: Labels, draft: bool):
        self.data = data
        self.labels = labels
        self.draft = draft
        self.part = ""
        self.part_pages: dict[str, int] = {}  # part key → the page it begins on
        super().__init__(
            buffer,
            pagesize=PAGE_SIZE,
            leftMargin=MARGIN_LEFT,
            rightMargin=MARGIN_RIGHT,
            topMargin=MARGIN_TOP,
            bottomMargin=MARGIN_BOTTOM,
            title=" ".join(data.title.split()),
            author=" ".join(data.organiser.split()),
            subject=labels.subject,
            creator="Signatory",
            producer="Signatory (ReportLab)",
            keywords="",
            lang=data.language,
            invariant=1,
            pageCompression=1,
            initialFontName=SERIF,  # else every page names Helvetica
        )
        full = Frame(MARGIN_LEFT, MARGIN_BOTTOM, FRAME_WIDTH, self.height, id="full",
                     leftPadding=FRAME_PADDING, rightPadding=FRAME_PADDING,
                     topPadding=FRAME_PADDING, bottomPadding=FRAME_PADDING)
        self.text_frame_height = self.height - 2 * FRAME_PADDING
        left = Frame(MARGIN_LEFT, MARGIN_BOTTOM, COLUMN_WIDTH, self.height, id="left")
        right = Frame(MARGIN_LEFT + COLUMN_WIDTH + COLUMN_GUTTER, MARGIN_BOTTOM, COLUMN_WIDTH,
                      self.height, id="right")
        head_height = _head_height(labels, FRAME_WIDTH - 2 * FRAME_PADDING) + 2 * FRAME_PADDING
        head = Frame(MARGIN_LEFT, MARGIN_BOTTOM + self.height - head_height, FRAME_WIDTH,
                     head_height, id="head")
        left_first = Frame(MARGIN_LEFT, MARGIN_BOTTOM, COLUMN_WIDTH, self.height - head_height,
                           id="left-first")
        right_first = Frame(MARGIN_LEFT + COLUMN_WIDTH + COLUMN_GUTTER, MARGIN_BOTTOM, COLUMN_WIDTH,
                            self.height - head_height, id="right-first")
        self.column_inner_width = COLUMN_WIDTH - 2 * FRAME_PADDING
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
            canv.setFont(f"{SERIF}-Bold", 92)
            canv.translate(PAGE_SIZE[0] / 2, PAGE_SIZE[1] / 2)
            canv.rotate(54)
            canv.drawCentredString(0, -30, self.labels.draft)
            canv.restoreState()

    def _folio(self, canv: Canvas) -> None:
        canv.doForm(f"folio{canv.getPageNumber()}")

    def _title_page_end(self, canv: Canvas, doc) -> None:
        self._folio(canv)

    def _page_end(self, canv: Canvas, doc) -> None:
        canv.saveState()
        left = MARGIN_LEFT + FRAME_PADDING
        right = PAGE_SIZE[0] - MARGIN_RIGHT - FRAME_PADDING
        draw_line(canv, left, HEADER_Y, " ".join(self.data.title.split()), f"{SERIF}-Italic", 8.5, GREY,
                   max_width=(right - left) * 0.55)
        end = right
        if self.part:
            end -= draw_line(canv, right, HEADER_Y, self.part, SERIF, 8.5, GREY, align_right=True)
        if self.draft:
            canv.setFillColor(DRAFT_RED)
            canv.setFont(f"{SERIF}-Bold", 8.5)
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
            if flowable.part_key:
                self.part_pages.setdefault(flowable.part_key, self.page)


def _head_height(labels: Labels, width: float) -> float:
    """The height of the head over the first page of names (the part's
    heading and its one line), so that the names begin right under it."""
    styles = document_styles()
    heading = BidiParagraph(inline_markup(labels.signatories_part), styles["part"])
    line = BidiParagraph(inline_markup(labels.signed_by + "."), styles["note"])
    return (heading.wrap(width, 1_000)[1] + styles["part"].spaceAfter
            + line.wrap(width, 1_000)[1] + 1)


def draw_line(canv: Canvas, x: float, y: float, text: str, line_face: str, size: float, colour: Color, *,
              max_width: float | None = None, align_right: bool = False) -> float:
    """One line of typed text on the baseline y, with a font per script
    (shortened with an ellipsis to max_width), for headers and footers.
    Gives its width. Text that HarfBuzz shapes or that runs right to left is
    set as a one-line paragraph, so that it is shaped and ordered like the
    rest of the document."""
    if needs_shaping(text) or has_right_to_left(text):
        paragraph = _line_paragraph(text, line_face, size, colour.hexval(), max_width)
        width = paragraph.line_width
        start = x - width if align_right else x
        paragraph.drawOn(canv, start, y - paragraph.baseline)
        return width
    bold = line_face.endswith("Bold") or line_face.endswith("BoldItalic")
    italic = "Italic" in line_face
    runs = [(face(font, bold, italic) if font != SERIF else line_face, run) for font, run in script_runs(text)]
    if max_width is not None:
        total = 0.0
        kept = []
        for run_face, run in runs:
            width = stringWidth(run, run_face, size)
            if total + width > max_width:
                room = max_width - total - stringWidth("…", line_face, size)
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


@lru_cache(maxsize=32)
def _line_paragraph(text: str, line_face: str, size: float, colour: str, max_width: float | None) -> BidiParagraph:
    """A one-line paragraph of text, cut word by word (then with an
    ellipsis) until it fits max_width; made once per header text."""
    style = ParagraphStyle("line", fontName=line_face, fontSize=size, leading=size * 1.25,
                           textColor=toColor(colour), wordWrap=None, splitLongWords=0)
    available = max_width if max_width is not None else 10_000
    words = text.split()
    kept = len(words)
    while True:
        shown = " ".join(words[:kept]) + ("" if kept == len(words) else " …")
        paragraph = BidiParagraph(inline_markup(shown), style)
        paragraph.wrap(available, 1_000)
        lines = paragraph.blPara.lines
        if len(lines) <= 1 or kept <= 1:
            break
        kept -= 1
    line = lines[0] if lines else None
    extra = 0.0 if line is None else (line.extraSpace if hasattr(line, "extraSpace") else line[0])
    paragraph.line_width = min(available, available - extra)
    paragraph.baseline = paragraph.height - size  # ReportLab's first baseline sits one font size down
    return paragraph


class FolioCanvas(Canvas):
    """Writes the folio forms ("pagina 3 van 41") once the page count is
    known, just before saving: one pass, no page kept in memory."""

    folio_label: Callable[[int, int], str] = staticmethod(lambda page, pages: f"{page}/{pages}")
    creation_date: str = "D:20000101000000+00'00'"
    page_total = 0
    part_pages: dict[str, int] = {}
    contents_keys: list[str] = []  # the parts a contents page lists, if there is one

    def save(self):
        total = self.page_total = self.getPageNumber() - 1
        centre = PAGE_SIZE[0] / 2
        for page in range(1, total + 1):
            self.beginForm(f"folio{page}")
            self.setFont(SERIF, 8.5)
            self.setFillColor(GREY)
            self.drawCentredString(centre, FOOTER_Y, self.folio_label(page, total))
            self.endForm()
        for key in self.contents_keys:
            # Drawn where the contents line ends: right-aligned at the origin.
            self.beginForm(f"contents-{key}", lowerx=-100, lowery=-10, upperx=10, uppery=30)
            self.setFont(SERIF, 11)
            self.setFillColor(INK)
            page = self.part_pages.get(key)
            self.drawRightString(0, 0, str(page) if page else "–")
            self.endForm()
        super().save()

