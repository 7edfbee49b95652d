"""The document's styles: its colours, the paragraph styles built on the
motivating paragraph's own (`typography.paragraph_style`), and the one way to make a paragraph of typed text.
"""
from __future__ import annotations

from functools import cache

from reportlab.lib.colors import Color
from reportlab.lib.enums import TA_CENTER, TA_RIGHT
from reportlab.lib.styles import ParagraphStyle
from reportlab.platypus import Paragraph

from .typography import (
    SERIF,
    BidiParagraph,
    is_rtl,
    paragraph_markup,
    paragraph_style,
    rtl_style,
)

INK = Color(0.08, 0.08, 0.08)
GREY = Color(0.38, 0.38, 0.38)
RULE = Color(0.6, 0.6, 0.6)
WATERMARK = Color(0.88, 0.88, 0.88)
DRAFT_RED = Color(0.62, 0.1, 0.1)

NAME_SIZE = 9
NAME_LEADING = 11.8
HANGING_INDENT = 10


@cache
def document_styles() -> dict[str, ParagraphStyle]:
    base = paragraph_style()
    serif, bold, italic = SERIF, f"{SERIF}-Bold", f"{SERIF}-Italic"

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
        "title-addressee": style(
            "title-addressee", fontName=italic, fontSize=12, leading=17, alignment=TA_CENTER
        ),
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
        "h3": style("h3", fontName=f"{SERIF}-BoldItalic", fontSize=10.5, leading=14.5, spaceBefore=7,
                    spaceAfter=3, keepWithNext=1),
        "quote": style("quote", leftIndent=18, rightIndent=18, textColor=Color(0.2, 0.2, 0.2), spaceAfter=7),
        "code": style("code", fontSize=9.5, leading=13, leftIndent=18, spaceAfter=7),
        "signoff": style("signoff", alignment=TA_RIGHT, fontName=italic, spaceBefore=10),
        "signoff-name": style("signoff-name", alignment=TA_RIGHT, fontName=bold),
        "note": style("note", fontName=italic, fontSize=9.5, leading=13, textColor=GREY, spaceAfter=10),
        "column-heading": style("column-heading", fontName=bold, fontSize=10.5, leading=14),
        "contents": style("contents", fontSize=11, leading=22),
        "colophon": style("colophon", fontSize=9.5, leading=13.5, spaceAfter=6),
        "colophon-heading": style("colophon-heading", fontName=bold, fontSize=10.5, leading=14, spaceBefore=10,
                                  spaceAfter=4, keepWithNext=1),
        "colophon-command": style("colophon-command", fontSize=9.5, leading=13.5, leftIndent=18, spaceAfter=2),
        "name": style("name", fontSize=NAME_SIZE, leading=NAME_LEADING, leftIndent=HANGING_INDENT,
                      firstLineIndent=-HANGING_INDENT),
        "others": style("others", fontName=italic, fontSize=NAME_SIZE + 0.5, leading=NAME_LEADING + 1),
        "attribution": style("attribution", fontName=italic, fontSize=9.5, leading=13, textColor=GREY,
                             leftIndent=0),
    }


def safe_paragraph(markup: str, style: ParagraphStyle, *, plain: str, rtl: bool | None = None,
                   fallback: str | None = None, kind: type[Paragraph] = BidiParagraph) -> Paragraph:
    """A paragraph of converted markup; should ReportLab refuse the markup,
    the plain text is printed instead (escaped: `fallback`, by default the
    plain text's paragraph markup), never an error."""
    if rtl is None:
        rtl = is_rtl(plain)
    if rtl:
        style = rtl_style(style)
    try:
        return kind(markup, style)
    except ValueError:
        return kind(paragraph_markup(plain) if fallback is None else fallback, style)


def text_paragraph(text: str, style: ParagraphStyle) -> Paragraph:
    """Typed text (one or more lines) as a paragraph of the given style."""
    return safe_paragraph(paragraph_markup(text), style, plain=text)

