"""The letter's Markdown: one parse for the public page and the PDF.

Raw HTML in the source is not interpreted (it shows as typed), and the HTML we
render is sanitised again with nh3 before it reaches a page.
"""
from __future__ import annotations

from functools import cache, lru_cache

import nh3
from markdown_it import MarkdownIt
from markdown_it.token import Token

ALLOWED_TAGS = {
    "p", "h1", "h2", "h3", "h4", "h5", "h6", "em", "strong", "ul", "ol", "li",
    "blockquote", "br", "hr", "a", "code", "pre",
}


@cache
def _parser() -> MarkdownIt:
    return MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})


def parse(source: str) -> list[Token]:
    """Block and inline tokens of the letter text (markdown-it-py)."""
    return _parser().parse(source or "")


@lru_cache(maxsize=64)  # a letter's text changes rarely and is read on every view
def to_html(source: str) -> str:
    html = _parser().renderer.render(parse(source), _parser().options, {})
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes={"a": {"href", "title"}, "ol": {"start"}},
        url_schemes={"http", "https", "mailto"},
        link_rel="nofollow noopener",
    )


@lru_cache(maxsize=64)
def to_plain_text(source: str, limit: int | None = None) -> str:
    """The text without markup, for descriptions (Open Graph) and e-mails."""
    words = []
    for token in parse(source):
        if token.type == "inline":
            words.append(" ".join(child.content for child in token.children or [] if child.content))
    text = " ".join(" ".join(words).split())
    if limit and len(text) > limit:
        text = text[: limit - 1].rsplit(" ", 1)[0] + "…"
    return text
