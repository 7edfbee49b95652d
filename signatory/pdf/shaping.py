"""Text shaping with HarfBuzz through ReportLab's own support, and the order
of right-to-left runs on a line.

ReportLab 5 shapes a paragraph's words with HarfBuzz (`uharfbuzz`) when its
style has `shaping=1` and the font is shapable: Arabic joined, vowel marks
and diacritics placed by the font's own rules, Devanagari conjuncts formed.
Three things it leaves to us, done here:

* A word of two fonts ("ቢቂላ," — Ge'ez letters, then a comma from the serif)
  is shaped by ReportLab with the first fragment's font throughout, which
  loses the comma. `shape_frag_word` shapes such a word one font at a time.
* Glyphs without a character of their own (joined forms, ligatures) get
  private code points in the order they are first met, so the bytes of a
  PDF would depend on what the process shaped before. `ShapingFont` fixes
  them at registration, in glyph order, and writes their text (the
  characters they replace, from the font's substitution rules) into the
  PDF's ToUnicode map, so the document can be searched and copied from.
* ReportLab's bidi needs a package that is not on our registry, and its
  shaped words come out left to right. Lines are broken in logical order and
  each broken line's runs (words) are put in display order here
  (`reorder_line`), a shaped right-to-left word being already in display
  order inside itself: runs are reordered, never characters.
"""
from __future__ import annotations

import re
import statistics
import threading
import unicodedata
from weakref import WeakKeyDictionary

from reportlab.pdfbase import pdfmetrics, ttfonts
from reportlab.pdfbase.ttfonts import ShapedStr, TTFont
from reportlab.platypus import paragraph as rl_paragraph

_writing = threading.local()  # the font whose PDF objects are being written
_FIRST_SHAPING = threading.Lock()


class ShapingFont(TTFont):
    """A TrueType font for shaped text, with fixed private code points and a
    ToUnicode map that gives the text of joined forms and ligatures."""

    def __init__(self, name: str, filename: str, *, right_to_left: bool = False):
        super().__init__(name, filename, shapable=True)
        self.filename = filename
        self.right_to_left = right_to_left
        self._hb_fonts: dict[float, object] = {}
        self._private_texts: dict[int, str] | None = None
        self.private_glyphs: dict[int, int] = {}  # private code point → glyph id
        self._first_subset: WeakKeyDictionary = WeakKeyDictionary()  # PDF document → _FirstSubset

    def splitString(self, text, doc, encoding="utf-8"):
        # ReportLab gives each character of every drawn line its subset code
        # in a Python loop. A line whose characters all have a code in the
        # first subset already (nearly every line of prose after the first
        # page) becomes one str.translate, with the same bytes.
        first = self._first_subset.get(doc)
        if first is not None and isinstance(text, str) and first.characters.issuperset(text):
            return [(0, text.translate(first.codes).encode("latin-1"))] if text else []
        chunks = super().splitString(text, doc, encoding)
        if isinstance(text, str):
            if first is None:
                first = self._first_subset[doc] = _FirstSubset()
            first.learn(text, self.state[doc].assignments)
        return chunks

    def _fix_private_codes(self, hb_font) -> None:
        """Before the first word is shaped: every glyph without a character
        gets its private code point now, in glyph order."""
        face = self.face
        scale = 1000 / face.unitsPerEm
        for glyph in range(1, face.numGlyphs):
            if glyph not in face.glyphToChar:
                code = self.hbAddPrivate(hb_font.glyph_to_string(glyph), glyph,
                                         hb_font.get_glyph_h_advance(glyph) * scale)
                self.private_glyphs[code] = glyph

    def hbFont(self, fontSize=10):
        # One HarfBuzz font per size, not one per word shaped.
        hb_font = self._hb_fonts.get(fontSize)
        if hb_font is None:
            with _FIRST_SHAPING:  # a background compile and a request may start together
                hb_font = self._hb_fonts.get(fontSize)
                if hb_font is None:
                    hb_font = super().hbFont(fontSize)
                    if not self._hb_fonts:
                        self._fix_private_codes(hb_font)
                    self._hb_fonts[fontSize] = hb_font
        return hb_font

    def private_texts(self) -> dict[int, str]:
        """Private code point → the text its glyph stands for."""
        if self._private_texts is None:
            by_name = glyph_texts(self.filename)
            hb_font = self.hbFont(1000)
            self._private_texts = {
                code: by_name.get(hb_font.glyph_to_string(glyph), "")
                for code, glyph in self.private_glyphs.items()
            }
        return self._private_texts

    def addObjects(self, doc):
        _writing.font = self
        try:
            super().addObjects(doc)
        finally:
            _writing.font = None


class _FirstSubset:
    """The characters of one PDF document that have a code in a font's
    first subset, as a str.translate table to those codes."""

    __slots__ = ("characters", "codes")

    def __init__(self):
        self.characters: set[str] = set()
        self.codes: dict[int, str] = {}

    def learn(self, text: str, assignments: dict[int, int]) -> None:
        for character in set(text) - self.characters:
            point = ord(character)
            code = assignments.get(32 if point == 0xA0 else point)  # ReportLab sets a no-break space as a space
            if code is not None and code < 256:
                self.characters.add(character)
                self.codes[point] = chr(code)


def glyph_texts(path: str) -> dict[str, str]:
    """The text each glyph stands for: its character from the cmap, or —
    following the font's substitutions (single, multiple, alternate,
    ligature) — the characters of the glyphs it replaces."""
    from fontTools.ttLib import TTFont as FontFile  # only when a PDF has such glyphs

    font = FontFile(path, lazy=True)
    texts: dict[str, str] = {}
    for code, name in sorted(font.getBestCmap().items()):
        texts.setdefault(name, chr(code))
    if "GSUB" not in font:
        return texts
    rules: list[tuple[tuple[str, ...], tuple[str, ...]]] = []
    for lookup in font["GSUB"].table.LookupList.Lookup:
        for table in lookup.SubTable:
            kind = lookup.LookupType
            if kind == 7:  # an extension: the real table inside
                kind, table = table.ExtensionLookupType, table.ExtSubTable
            if kind == 1:
                rules.extend(((source,), (target,)) for source, target in table.mapping.items())
            elif kind == 2:
                rules.extend(((source,), tuple(targets)) for source, targets in table.mapping.items())
            elif kind == 3:
                for source, targets in table.alternates.items():
                    rules.extend(((source,), (target,)) for target in targets)
            elif kind == 4:
                for first, ligatures in table.ligatures.items():
                    rules.extend(((first, *ligature.Component), (ligature.LigGlyph,)) for ligature in ligatures)
    changed = True
    while changed:
        changed = False
        for sources, targets in rules:
            if all(source in texts for source in sources):
                text = "".join(texts[source] for source in sources)
                for position, target in enumerate(targets):
                    if target not in texts:
                        texts[target] = text if position == 0 else ""
                        changed = True
    return texts


_original_to_unicode = ttfonts.makeToUnicodeCMap


def _to_unicode_cmap(fontname, subset):
    """ReportLab's ToUnicode map, with the text of each private glyph."""
    font = getattr(_writing, "font", None)
    if font is None or not any(code in font.private_glyphs for code in subset):
        return _original_to_unicode(fontname, subset)
    texts = font.private_texts()
    lines = _original_to_unicode(fontname, subset).split("\n")
    start = lines.index(next(line for line in lines if line.endswith("beginbfchar"))) + 1
    for index, code in enumerate(subset):
        if code in font.private_glyphs:
            text = texts.get(code) or "\ufffd"
            lines[start + index] = "<%02X> <%s>" % (index, text.encode("utf-16-be").hex().upper())
    return "\n".join(lines)


# --- shaping words ----------------------------------------------------------------

_original_shape = rl_paragraph.shapeFragWord
_UNCHANGED = object()
_shaped: dict[tuple, object] = {}
_SHAPED_LIMIT = 50_000


def _shape_single(word):
    """A word of one fragment, shaped once per process: shaping is a pure
    function of font, size and text (the private code points are fixed), and
    words repeat."""
    frag, text = word[1]
    if hasattr(frag, "cbDefn"):
        return word
    key = (frag.fontName, frag.fontSize, text)
    cached = _shaped.get(key)
    if cached is None:
        shaped = _original_shape(word)
        cached = _UNCHANGED if shaped is word else (shaped[0], shaped[1][1])
        if len(_shaped) >= _SHAPED_LIMIT:
            _shaped.clear()
        _shaped[key] = cached
    if cached is _UNCHANGED:
        return word
    width, shaped_text = cached
    result = ttfonts.makeShapedFragWord(word)([(frag, shaped_text)])
    result.insert(0, width)
    return result


_DIGITS = re.compile(r"[0-9\u0660-\u0669\u06f0-\u06f9]+")


def _direction_items(items: list) -> list:
    """A right-to-left font's text cut where digits begin and end: HarfBuzz
    shapes one direction at a time, and digits read left to right even in
    an Arabic word ("كلمة12")."""
    result = []
    for item in items:
        frag, text = item
        if not _DIGITS.search(text) or hasattr(frag, "cbDefn") or not _is_right_to_left_font(frag.fontName):
            result.append(item)
            continue
        position = 0
        for match in _DIGITS.finditer(text):
            if match.start() > position:
                result.append((frag, text[position:match.start()]))
            result.append((frag, match.group()))
            position = match.end()
        if position < len(text):
            result.append((frag, text[position:]))
    return result


def shape_frag_word(word, *args, **kwargs):
    """ReportLab's `shapeFragWord`, one font and one direction at a time."""
    if isinstance(word, ttfonts.ShapedFragWord):
        return word
    if len(word) == 2 and not _DIGITS.search(word[1][1]):
        return _shape_single(word)  # the common case: one fragment, no digits
    items = _direction_items(word[1:])
    if len(items) == 1:
        return _shape_single(word)
    groups: list[tuple[tuple | None, list]] = []
    for item in items:
        frag, text = item
        key = None if hasattr(frag, "cbDefn") else (frag.fontName, frag.fontSize, bool(_DIGITS.fullmatch(text)))
        if groups and key is not None and groups[-1][0] == key:
            groups[-1][1].append(item)
        else:
            groups.append((key, [item]))
    if len(groups) < 2:
        return _original_shape(word, *args, **kwargs)
    parts: list = []
    width = 0.0
    changed = False
    for key, group in groups:
        if key is None:
            parts.extend(group)
            continue
        part_width = sum(pdfmetrics.stringWidth(text, key[0], key[1]) for _, text in group)
        part = [part_width, *group]
        shaped = _shape_single(part) if len(group) == 1 else _original_shape(part, *args, **kwargs)
        changed = changed or shaped is not part
        width += shaped[0]
        parts.extend(shaped[1:])
    if not changed:
        return word
    result = ttfonts.makeShapedFragWord(word)(parts)
    result.insert(0, width)
    return result


def install() -> None:
    """Put the two corrections in place in ReportLab (idempotent)."""
    rl_paragraph.shapeFragWord = shape_frag_word
    ttfonts.makeToUnicodeCMap = _to_unicode_cmap


def shaped_line(text: str, font_name: str, size: float) -> tuple[str, float]:
    """One run shaped for drawing straight onto a canvas: (text, width)."""
    shaped = ttfonts.shapeStr(text, font_name, size)
    if isinstance(shaped, ShapedStr) and shaped.__shapeData__:
        return shaped, sum(data.x_advance for data in shaped.__shapeData__) * size / 1000
    return text, pdfmetrics.stringWidth(text, font_name, size)


# --- sizes ----------------------------------------------------------------------------

def median_height(font_name: str, letters: str) -> float | None:
    """The median height above the baseline of the given letters' outlines
    in a registered font, in thousandths of its size."""
    font = pdfmetrics.getFont(font_name)
    hb_font = font.hbFont(1000)
    scale = 1000 / font.face.unitsPerEm
    heights = []
    for letter in letters:
        glyph = hb_font.get_nominal_glyph(ord(letter))
        extents = hb_font.get_glyph_extents(glyph) if glyph else None
        if extents is not None and extents.height:
            heights.append(extents.y_bearing * scale)
    return statistics.median(heights) if heights else None


# --- display order of a line ---------------------------------------------------

_PIECES = re.compile(r" +|[^ ]+")
_MIRRORED = str.maketrans("()[]{}<>«»‹›", ")(][}{><»«›‹")


def _piece_class(text: str, right_to_left_font: bool) -> str:
    """The bidi class of a run of text: R, L, EN (digits), N or WS. In a
    right-to-left font everything but digits reads right to left: its
    neutrals are there only between its own letters."""
    if not text.strip():
        return "WS"
    if right_to_left_font:
        return "EN" if _DIGITS.fullmatch(text) else "R"
    digits = False
    for char in text:
        kind = unicodedata.bidirectional(char)
        if kind in ("R", "AL"):
            return "R"
        if 0xE000 <= ord(char) <= 0xF8FF or kind == "L":
            # A private code point is a shaped glyph of the run's own font.
            return "R" if right_to_left_font else "L"
        if kind in ("EN", "AN"):
            digits = True
    return "EN" if digits else "N"


def _levels(classes: list[str], base: int) -> list[int]:
    """Embedding levels of a line's runs: the Unicode bidi algorithm's rules
    W2, W7, N1, N2, I1, I2 and L1, applied to whole runs."""
    outside = "R" if base else "L"
    resolved = []
    strong = outside
    for kind in classes:
        if kind == "EN" and strong == "L":
            kind = "L"  # W7: digits after Latin are Latin
        if kind in ("L", "R"):
            strong = kind
        resolved.append(kind)
    # N1/N2: neutrals between runs of one direction take it (digits count as
    # right to left here), others the paragraph's.
    index = 0
    while index < len(resolved):
        if resolved[index] not in ("N", "WS"):
            index += 1
            continue
        end = index
        while end < len(resolved) and resolved[end] in ("N", "WS"):
            end += 1
        before = resolved[index - 1] if index else outside
        after = resolved[end] if end < len(resolved) else outside
        before, after = ("R" if side == "EN" else side for side in (before, after))
        direction = before if before == after else outside
        resolved[index:end] = [direction] * (end - index)
        index = end
    table = {"L": 0, "R": 1, "EN": 2} if base == 0 else {"L": 2, "R": 1, "EN": 2}
    levels = [table[kind] for kind in resolved]
    for position in range(len(classes) - 1, -1, -1):  # L1: trailing spaces
        if classes[position] != "WS":
            break
        levels[position] = base
    return levels


def _display_order(items: list, levels: list[int]) -> tuple[list, list[int]]:
    """Rule L2: from the highest level down to the lowest odd one, reverse
    every sequence of items at that level or higher."""
    items, levels = list(items), list(levels)
    highest = max(levels, default=0)
    lowest_odd = min((level for level in levels if level % 2), default=highest + 1)
    for level in range(highest, lowest_odd - 1, -1):
        index = 0
        while index < len(items):
            if levels[index] < level:
                index += 1
                continue
            end = index
            while end < len(items) and levels[end] >= level:
                end += 1
            items[index:end] = items[index:end][::-1]
            levels[index:end] = levels[index:end][::-1]
            index = end
    return items, levels


def _is_right_to_left_font(name: str) -> bool:
    try:
        return getattr(pdfmetrics.getFont(name), "right_to_left", False)
    except KeyError:
        return False


def _char_class(char: str) -> str:
    kind = unicodedata.bidirectional(char)
    if kind in ("EN", "AN"):
        return "EN"
    if kind == "NSM":
        return ""  # a mark: the class of its letter
    if kind in ("L", "R", "AL") or 0xE000 <= ord(char) <= 0xF8FF:
        return "S"
    return "N"


def _spans(text: str, start: int, end: int, rtl_font: bool) -> list[tuple[int, int]]:
    """A word cut where its bidi class changes. A right-to-left font's word
    was shaped (so put in display order) by HarfBuzz as a whole, except its
    digits (`_direction_items`): only they are cut out. A left-to-right
    font's glyphs are in logical order and can be cut anywhere: "2011." is
    digits and a full stop, which go different ways in an Arabic line."""
    if rtl_font:
        spans = []
        position = start
        for match in _DIGITS.finditer(text, start, end):
            if match.start() > position:
                spans.append((position, match.start()))
            spans.append((match.start(), match.end()))
            position = match.end()
        if position < end:
            spans.append((position, end))
        return spans
    if text[start:end].isalpha():
        return [(start, end)]
    cuts: list[list] = []
    for position in range(start, end):
        kind = _char_class(text[position])
        if cuts and (kind == "" or kind == cuts[-1][2]):
            cuts[-1][1] = position + 1
        else:
            cuts.append([position, position + 1, kind or "S"])
    return [(low, high) for low, high, _ in cuts]


def reorder_line(frags: list, base: int) -> list:
    """A broken line's fragments in display order. Each fragment is cut into
    words and spaces; the words are reordered as wholes."""
    if base == 0 and not any(_is_right_to_left_font(getattr(frag, "fontName", "")) for frag in frags):
        return frags
    if base == 1 and len(frags) == 1:
        reversed_words = _words_reversed(frags[0])
        if reversed_words is not None:
            return [reversed_words]
    pieces: list = []
    classes: list[str] = []
    any_rtl = False
    for frag in frags:
        text = getattr(frag, "text", None)
        if text is None or hasattr(frag, "cbDefn"):
            pieces.append((frag, None))
            classes.append("N")
            continue
        rtl_font = _is_right_to_left_font(frag.fontName)
        for match in _PIECES.finditer(text):
            for start, end in _spans(text, match.start(), match.end(), rtl_font):
                piece = text[start:end]
                kind = _piece_class(piece, rtl_font)
                any_rtl = any_rtl or kind == "R"
                pieces.append((frag, piece))
                classes.append(kind)
    if not any_rtl and base == 0:
        return frags
    if base == 1 and all(kind in ("R", "WS") for kind in classes):
        # All right to left (most lines of an Arabic paragraph): the words in
        # reverse, the line's trailing spaces kept at its end.
        end = len(classes)
        while end and classes[end - 1] == "WS":
            end -= 1
        ordered, levels = pieces[:end][::-1] + pieces[end:], [1] * end + [base] * (len(pieces) - end)
    else:
        ordered, levels = _display_order(pieces, _levels(classes, base))
    merged: list[list] = []  # [frag, [pieces]] in display order
    for (frag, piece), level in zip(ordered, levels):
        if piece is not None and level % 2 and not isinstance(piece, ShapedStr):
            piece = piece.translate(_MIRRORED)  # "(" reads ")" right to left
        if merged and piece is not None and merged[-1][0] is frag and merged[-1][1] is not None:
            merged[-1][1].append(piece)
        else:
            merged.append([frag, None if piece is None else [piece]])
    result = []
    for frag, pieces in merged:
        if pieces is None:
            result.append(frag)
        else:
            clone = frag.clone()
            clone.text = _joined(pieces)
            result.append(clone)
    return result


def _words_reversed(frag):
    """The line of a right-to-left paragraph that is one fragment in a
    right-to-left font without digits (most lines of an Arabic paragraph),
    in display order: its words in reverse, its trailing spaces kept at its
    end. What `reorder_line` does in general, without cutting the shaped
    text into a string per word; None for any other fragment."""
    text = getattr(frag, "text", None)
    if not text or hasattr(frag, "cbDefn") or not _is_right_to_left_font(frag.fontName) or _DIGITS.search(text):
        return None
    plain = str.__str__(text)
    end = len(plain.rstrip(" "))
    spans = [match.span() for match in _PIECES.finditer(plain, 0, end)][::-1]
    if end < len(plain):
        spans.append((end, len(plain)))
    ordered = "".join(plain[start:stop] for start, stop in spans)
    clone = frag.clone()
    if isinstance(text, ShapedStr):
        data = text.__shapeData__
        clone.text = ShapedStr(ordered, shapeData=[item for start, stop in spans for item in data[start:stop]])
    else:
        clone.text = ordered.translate(_MIRRORED)  # "(" reads ")" right to left
    return clone


def _joined(pieces: list[str]) -> str:
    """Pieces of text as one, keeping HarfBuzz's positions of shaped ones."""
    if len(pieces) == 1:
        return pieces[0]
    if not any(isinstance(piece, ShapedStr) for piece in pieces):
        return "".join(pieces)
    data: list = []
    for piece in pieces:
        data.extend(piece.__shapeData__ if isinstance(piece, ShapedStr) else [ttfonts._sdSimple] * len(piece))
    return ShapedStr("".join(pieces), shapeData=data)
