"""OpenDocument text to HTML, through odfpy's own XHTML converter.

odfpy writes bold and italic as CSS classes of spans and quotes as classes of
paragraphs; a letter needs them as <strong>, <em> and <blockquote>, so this
converter asks the styles odfpy collected what each span and paragraph means.
"""
from __future__ import annotations

import io

from odf.namespaces import FONS, STYLENS, TEXTNS
from odf.odf2xhtml import ODF2XHTML

_QUOTE_STYLES = ("quotations", "quote", "citaat", "citation")


class _LetterXHTML(ODF2XHTML):
    def __init__(self):
        super().__init__(generate_css=False, embedable=True)
        self._parents: dict[str, str] = {}
        self._span_tags: list[list[str]] = []
        self._quote_paragraphs: list[bool] = []

    # Styles: remember each one's parent, which odfpy folds away.
    def s_style_style(self, tag, attrs):
        super().s_style_style(tag, attrs)
        name, parent = attrs.get((STYLENS, "name")), attrs.get((STYLENS, "parent-style-name"))
        if name and parent:
            self._parents[name] = parent

    def _properties(self, prefix: str, name: str) -> dict:
        merged: dict = {}
        seen = set()
        while name and name not in seen:
            seen.add(name)
            for key, value in self.styledict.get(f".{prefix}-{name.replace('.', '_')}", {}).items():
                merged.setdefault(key, value)
            name = self._parents.get(name)
        return merged

    def _lineage(self, name: str) -> list[str]:
        names = []
        while name and name not in names:
            names.append(name)
            name = self._parents.get(name)
        return names

    def s_text_span(self, tag, attrs):
        self.writedata()
        properties = self._properties("S", attrs.get((TEXTNS, "style-name"), ""))
        tags = []
        if properties.get((FONS, "font-weight")) in ("bold", "600", "700", "800", "900"):
            tags.append("strong")
        if properties.get((FONS, "font-style")) in ("italic", "oblique"):
            tags.append("em")
        for name in tags:
            self.opentag(name, {})
        self._span_tags.append(tags)
        self.purgedata()

    def e_text_span(self, tag, attrs):
        self.writedata()
        for name in reversed(self._span_tags.pop() if self._span_tags else []):
            self.closetag(name, False)
        self.purgedata()

    def s_text_p(self, tag, attrs):
        names = [n.lower() for n in self._lineage(attrs.get((TEXTNS, "style-name"), ""))]
        quote = any(n.startswith(_QUOTE_STYLES) for n in names)
        self._quote_paragraphs.append(quote)
        if quote:
            self.opentag("blockquote", {})
        self.opentag("p", {})
        self.purgedata()

    def e_text_p(self, tag, attrs):
        self.writedata()
        self.closetag("p")
        if self._quote_paragraphs and self._quote_paragraphs.pop():
            self.closetag("blockquote")
        self.purgedata()


def odt_to_html(data: bytes) -> str:
    converter = _LetterXHTML()
    converter.load(io.BytesIO(data))
    return converter.xhtml()
