"""The verrijkte opinie: the letter, its signatories and their paragraphs,
compiled into one PDF (DESIGN §5). No Flask in the renderer: `render_pdf` takes a
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
the paragraph style of `typography` — the ten-line rule of the signing form
(`line_rule`) is decided by the very paragraph this document prints.

The package, along its seams: `contract` (the data in, the bytes out),
`labels` (the words the document adds), `styles`, `flowables`, `columns` (the
names), `markdown` (the letter's text), `pages` (page templates, header,
folio) and here the story and its entry point.
"""
from __future__ import annotations

import hashlib
import io
from collections.abc import Iterator

from reportlab.platypus import Flowable, NextPageTemplate, PageBreak, Spacer
from reportlab.platypus.doctemplate import FrameBreak
from reportlab.platypus.flowables import HRFlowable, TopPadder

from ..states import Kind
from ..text import normalise_paragraph

from .columns import NameColumns, column_items
from .contract import CompiledDocument, Contribution, DocumentData
from .flowables import Anchor, ContentsList, ContributionBlock, LazyStory, Outline, PartStart, heading, logo_flowable
from .labels import Labels, labels_for, long_date
from .markdown import body_flowables
from .pages import DocumentTemplate, FolioCanvas
from .styles import INK, document_styles, safe_paragraph, text_paragraph
from .typography import build_paragraph, inline_markup, paragraph_markup, register_fonts


def _attribution(contribution: Contribution, labels: Labels) -> str:
    if contribution.name:
        parts = [contribution.name, contribution.function]
        if contribution.kind == Kind.ORGANISATION and contribution.organisation:
            parts.append(contribution.organisation)
        parts.append(contribution.place)
        who = ", ".join(" ".join(part.split()) for part in parts if part and part.strip())
    elif contribution.place.strip():
        who = labels.anonymous_from % {"place": " ".join(contribution.place.split())}
    else:
        who = labels.anonymous
    return f"— {who}"


# --- the story --------------------------------------------------------------------------------

# Past about this many pages a reader wants a table of contents.
CONTENTS_FROM_PAGES = 20
# For the estimate that decides it, before the document exists: what a page
# holds (two columns of names; motivating paragraphs of about seven lines).
NAMES_PER_PAGE = 110
PARAGRAPHS_PER_PAGE = 4.5
TEXT_CHARACTERS_PER_PAGE = 3500


def estimated_pages(data: DocumentData) -> int:
    named = max(0, data.signatory_count - data.unnamed_count)
    return round(3 + len(data.body) / TEXT_CHARACTERS_PER_PAGE + named / NAMES_PER_PAGE
                 + data.contribution_count / PARAGRAPHS_PER_PAGE)


def _title_page(data: DocumentData, labels: Labels, draft: bool) -> Iterator[Flowable]:
    styles = document_styles()
    logo = logo_flowable(data.logo, data.logo_mime)
    yield Spacer(1, 24 if logo is not None else 40)
    if logo is not None:
        yield logo
        yield Spacer(1, 10)
    if data.organiser.strip():
        yield text_paragraph(data.organiser, styles["title-organiser"])
    yield Spacer(1, 70 if logo is not None else 110)
    yield HRFlowable(width="22%", thickness=0.6, color=INK, spaceBefore=0, spaceAfter=22)
    yield text_paragraph(" ".join(data.title.split()), styles["title"])
    if data.subtitle.strip():
        yield text_paragraph(" ".join(data.subtitle.split()), styles["title-subtitle"])
    yield HRFlowable(width="22%", thickness=0.6, color=INK, spaceBefore=24, spaceAfter=26)
    if data.addressee.strip():
        yield text_paragraph(" ".join(data.addressee.split()), styles["title-addressee"])
        yield Spacer(1, 14)
    if data.place_date.strip():
        yield text_paragraph(data.place_date, styles["title-line"])
    yield Spacer(1, 6)
    yield text_paragraph(labels.signed_by, styles["title-line"])
    bottom = [inline_markup(labels.text_version)]
    if draft:
        bottom.append(f'<font color="#9e1a1a"><b>{inline_markup(labels.draft_note)}</b></font>')
    elif data.publication_date:
        bottom.append(inline_markup(
            labels.published_on % {"date": long_date(data.publication_date, data.language)}))
    for line in (data.contact, data.url):
        if line.strip():
            bottom.append(paragraph_markup(line))
    plain = "\n".join([data.contact, data.url])
    yield TopPadder(safe_paragraph("<br/>".join(bottom), styles["title-small"], plain=plain, rtl=False))


def _contents(data: DocumentData, labels: Labels) -> list[tuple[str, str]]:
    """(part key, title) of the parts a table of contents lists."""
    entries = [("text", " ".join(data.title.split()) or labels.text_part),
               ("signatories", labels.signatories_part)]
    if data.contribution_count:
        entries.append(("paragraphs", labels.paragraphs_part))
    entries.append(("colophon", labels.colophon_part))
    return entries


def _colophon(data: DocumentData, labels: Labels, draft: bool, outline: Outline) -> Iterator[Flowable]:
    styles = document_styles()
    yield PartStart(labels.colophon_part, "colophon")
    yield heading(labels.colophon_part, styles["part"], outline, 0)
    yield text_paragraph(labels.colophon_compiled, styles["colophon"])
    yield text_paragraph(labels.colophon_gathered, styles["colophon-heading"])
    for line in labels.colophon_counts:
        yield text_paragraph(line, styles["colophon"])
    yield text_paragraph(labels.colophon_privacy, styles["colophon"])
    yield text_paragraph(labels.collation_note, styles["colophon"])
    yield text_paragraph(labels.colophon_verify_heading, styles["colophon-heading"])
    yield text_paragraph(labels.colophon_verify if not draft else labels.colophon_draft, styles["colophon"])
    if not draft:
        for step in labels.colophon_verify_steps:
            yield text_paragraph(step, styles["colophon-command"])


def _story(doc: DocumentTemplate, data: DocumentData, labels: Labels, draft: bool) -> Iterator[Flowable]:
    styles = document_styles()
    outline = Outline()
    yield from _title_page(data, labels, draft)

    if estimated_pages(data) > CONTENTS_FROM_PAGES:
        yield NextPageTemplate("text")
        yield PageBreak()
        yield PartStart(labels.contents, "contents")
        yield text_paragraph(labels.contents, styles["part"])
        yield Spacer(1, 8)
        yield ContentsList(_contents(data, labels))

    # The text.
    yield NextPageTemplate("text")
    yield PageBreak()
    yield PartStart(labels.text_part, "text")
    yield Anchor(outline.entry(" ".join(data.title.split()) or labels.text_part, 0))
    yield text_paragraph(" ".join(data.title.split()), styles["part"])
    if data.subtitle.strip():
        yield text_paragraph(" ".join(data.subtitle.split()), styles["part-subtitle"])
    else:
        yield Spacer(1, 10)
    yield from body_flowables(data.body, outline)
    if data.place_date.strip():
        yield text_paragraph(data.place_date, styles["signoff"])
    if data.organiser.strip():
        yield text_paragraph(data.organiser, styles["signoff-name"])

    # The signatories, in two columns under a short head.
    yield NextPageTemplate("columns-first")
    yield PageBreak()
    yield NextPageTemplate("columns")
    yield PartStart(labels.signatories_part, "signatories")
    yield heading(labels.signatories_part, styles["part"], outline, 0)
    yield text_paragraph(labels.signed_by + ".", styles["note"])
    yield FrameBreak()
    width = doc.column_inner_width
    yield NameColumns(column_items(data, labels, outline, width), width)

    # The paragraphs.
    contributions = iter(data.contributions)
    first = next(contributions, None)
    if first is not None:
        yield NextPageTemplate("text")
        yield PageBreak()
        yield PartStart(labels.paragraphs_part, "paragraphs")
        yield heading(labels.paragraphs_part, styles["part"], outline, 0)
        yield text_paragraph(labels.paragraphs_note, styles["note"])
        yield Spacer(1, 6)
        attribution_style = styles["attribution"]
        contribution = first
        while contribution is not None:
            text = normalise_paragraph(contribution.text)
            if text:
                yield ContributionBlock(
                    build_paragraph(text),
                    safe_paragraph(inline_markup(_attribution(contribution, labels)), attribution_style,
                                   plain=contribution.name, rtl=False),
                    doc.text_frame_height,
                )
            contribution = next(contributions, None)

    # How it was made and how to check it.
    yield NextPageTemplate("text")
    yield PageBreak()
    yield from _colophon(data, labels, draft, outline)


# --- entry point ----------------------------------------------------------------------------------

def compile_document(data: DocumentData, *, draft: bool) -> CompiledDocument:
    """Compile the verrijkte opinie; `draft` marks every page as such."""
    register_fonts()
    labels = labels_for(data)
    buffer = io.BytesIO()
    doc = DocumentTemplate(buffer, data, labels, draft)
    contents_keys = ([key for key, _ in _contents(data, labels)]
                     if estimated_pages(data) > CONTENTS_FROM_PAGES else [])
    creation = data.created.strftime("D:%Y%m%d%H%M%S+00'00'")
    state = {}

    def canvasmaker(*args, **kwargs):
        canvas = FolioCanvas(*args, **kwargs)
        canvas.folio_label = labels.page
        canvas.part_pages = doc.part_pages
        canvas.contents_keys = contents_keys
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
