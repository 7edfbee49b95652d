"""The organiser's logo: a PNG or an SVG, checked before it is kept.

A PNG must be one (Pillow reads it) and of a sensible size. An SVG is XML
that could carry script: it is parsed with defusedxml (no entity bombs) and
refused when it holds script, event handlers, embedded documents or links to
anything outside itself. It is served as an image only, with a policy that
forbids script in any case (see `views.letter_settings.logo`).
"""
from __future__ import annotations

import io
import re

from flask_babel import lazy_gettext as _l

from .letters import LetterError
from .models import Letter

MAX_PNG_BYTES = 512 * 1024
MAX_SVG_BYTES = 256 * 1024
MAX_PIXELS = 4000
PNG, SVG = "image/png", "image/svg+xml"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

_FORBIDDEN_ELEMENTS = {"script", "foreignobject", "iframe", "embed", "object", "audio", "video", "handler", "listener"}
_URL_IN_STYLE = re.compile(r"url\s*\(\s*['\"]?\s*(?!#)|@import|expression\s*\(|javascript:", re.I)


def checked_logo(data: bytes, filename: str = "") -> tuple[bytes, str]:
    """(the bytes, their media type), or LetterError saying what is wrong."""
    if not data:
        raise LetterError(_l("Het logobestand is leeg."))
    if data.startswith(PNG_SIGNATURE):
        return _checked_png(data), PNG
    head = data[:1024].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if head.startswith((b"<?xml", b"<svg", b"<!--")) or filename.lower().endswith(".svg"):
        return _checked_svg(data), SVG
    raise LetterError(_l("Een logo is een PNG- of SVG-bestand."))


def _checked_png(data: bytes) -> bytes:
    if len(data) > MAX_PNG_BYTES:
        raise LetterError(_l("Het logo is groter dan %(size)s kB; maak het kleiner (een logo van 600 pixels breed volstaat).", size=MAX_PNG_BYTES // 1024))
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as image:
            width, height = image.size
            image.verify()
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
        raise LetterError(_l("Dit PNG-bestand is beschadigd.")) from None
    if not (8 <= width <= MAX_PIXELS and 8 <= height <= MAX_PIXELS):
        raise LetterError(_l("Het logo is %(width)s × %(height)s pixels; tussen 8 en %(max)s pixels breed en hoog, graag.",
                             width=width, height=height, max=MAX_PIXELS))
    return data


def _checked_svg(data: bytes) -> bytes:
    if len(data) > MAX_SVG_BYTES:
        raise LetterError(_l("Het logo is groter dan %(size)s kB; maak het kleiner.", size=MAX_SVG_BYTES // 1024))
    from defusedxml import DefusedXmlException
    from defusedxml.ElementTree import ParseError, fromstring

    try:
        root = fromstring(data, forbid_dtd=True)
    except (ParseError, DefusedXmlException, ValueError):
        raise LetterError(_l("Dit SVG-bestand is geen geldige SVG.")) from None
    if _local(root.tag) != "svg":
        raise LetterError(_l("Dit SVG-bestand is geen geldige SVG."))
    for element in root.iter():
        if _local(element.tag).lower() in _FORBIDDEN_ELEMENTS or _unsafe_attributes(element):
            raise LetterError(_l(
                "Dit SVG-bestand bevat scripts of verwijzingen naar andere bestanden. Bewaar het als eenvoudige SVG, of gebruik een PNG."
            ))
    return data


def _local(tag) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _unsafe_attributes(element) -> bool:
    for name, value in element.attrib.items():
        local = _local(name).lower()
        if local.startswith("on"):
            return True
        if local in ("href", "src") and not value.strip().startswith(("#", "data:image/png", "data:image/jpeg")):
            return True
        if _URL_IN_STYLE.search(value):
            return True
    if _local(element.tag).lower() == "style" and _URL_IN_STYLE.search(element.text or ""):
        return True
    return False


def set_logo(letter: Letter, data: bytes, filename: str = "") -> None:
    letter.logo, letter.logo_mime = checked_logo(data, filename)


def remove_logo(letter: Letter) -> None:
    letter.logo, letter.logo_mime = None, ""
