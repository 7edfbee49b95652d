"""The letter's Markdown as the document's typography, from the same parse
as the public page (`markup.parse`): headings (in the outline), paragraphs,
lists, quotes, code and rules; links only with an allowed scheme.
"""
from __future__ import annotations

from collections.abc import Iterator
from xml.sax.saxutils import quoteattr

from reportlab.lib.styles import ParagraphStyle
from reportlab.platypus import Flowable, Spacer
from reportlab.platypus.flowables import HRFlowable

from ..markup import parse
from .flowables import Outline, heading
from .styles import RULE, document_styles, safe_paragraph, text_paragraph
from .typography import SERIF, inline_markup

_LINK_SCHEMES = ("http://", "https://", "mailto:")
_EMPHASIS = {"strong_open": "<b>", "strong_close": "</b>", "em_open": "<i>", "em_close": "</i>"}


def _inline(token) -> tuple[str, str]:
    """ReportLab markup and plain text of an inline token's children."""
    markup: list[str] = []
    plain: list[str] = []
    links: list[bool] = []  # open links: printed as links only with an allowed scheme
    for child in token.children or []:
        kind = child.type
        if kind in ("text", "code_inline", "html_inline"):
            markup.append(inline_markup(child.content))
            plain.append(child.content)
        elif kind == "softbreak":
            markup.append(" ")
            plain.append(" ")
        elif kind == "hardbreak":
            markup.append("<br/>")
            plain.append("\n")
        elif kind in _EMPHASIS:
            markup.append(_EMPHASIS[kind])
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
            markup.append(inline_markup(child.content))
            plain.append(child.content)
    text = "".join(markup)
    return text, "".join(plain)


def body_flowables(body: str, outline: Outline) -> Iterator[Flowable]:
    """The letter's Markdown as typography, from the same parse as the
    public page (`markup.parse`)."""
    styles = document_styles()
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
            yield text_paragraph(token.content.rstrip("\n"), styles["code"])
        elif kind == "inline":
            markup, plain = _inline(token)
            if heading_level:
                style = styles[f"h{min(heading_level, 3)}"]
                yield heading(plain, style, outline, min(heading_level, 3), markup=markup)
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
                    bulletFontName=SERIF,
                )
            if quote_depth:
                markup = f"<i>{markup}</i>"
            paragraph = safe_paragraph(markup, style, plain=plain)
            if bullet is not None:
                paragraph.bulletText = bullet
            yield paragraph
