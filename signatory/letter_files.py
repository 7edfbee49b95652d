"""Reading the file an organiser has into a letter.

An organiser brings Markdown (with or without YAML front matter), plain text,
Word (.docx) or OpenDocument (.odt). Each becomes Markdown cut into blocks
(paragraphs, headings, lists, quotes), with the line (or paragraph) where each
block starts, so that an organiser can say which blocks are the call to sign,
which are the letter, and where the paper form that often ends a letter
begins — and so that every error can say where.

Word goes through mammoth, OpenDocument through odfpy's XHTML converter; both
give HTML, which markdownify turns into Markdown.
"""
from __future__ import annotations

import io
import re
import unicodedata
import zipfile
from dataclasses import dataclass, field
from pathlib import PurePath

import yaml
from flask_babel import lazy_gettext as _l

from .letters import (
    LANGUAGE_LOCALES,
    LetterError,
    LetterSource,
    parse_deadline,
    parse_goal,
    validate_timezone,
)

FRONT_MATTER_KEYS = (
    "title", "subtitle", "addressee", "organiser", "place_date", "contact", "intro",
    "deadline", "timezone", "goal", "language",
)
EXTENSIONS = {".md": "markdown", ".markdown": "markdown", ".txt": "text", ".docx": "word", ".odt": "odt"}
MAX_FILE_BYTES = 5 * 1024 * 1024
# A .docx or .odt is a ZIP: refuse one that would unpack to more than this.
MAX_UNPACKED_BYTES = 50 * 1024 * 1024

INTRO, TEXT, OMIT = "intro", "text", "omit"
ROLES = (INTRO, TEXT, OMIT)


@dataclass
class Block:
    markdown: str
    line: int  # 1-based: a line of a text file, a paragraph of a document
    role: str = TEXT

    @property
    def plain(self) -> str:
        return _plain(self.markdown)


@dataclass
class LetterFile:
    """A read file with the reader's suggestions; `source()` makes the letter."""

    kind: str  # markdown, text, word, odt
    meta: dict
    meta_lines: dict[str, int]
    blocks: list[Block]
    title: str = ""
    subtitle: str = ""
    cut: int | None = None  # index of the first block of a paper form
    notes: list[str] = field(default_factory=list)

    @property
    def counts_paragraphs(self) -> bool:
        return self.kind in ("word", "odt")

    def where(self, block: Block) -> str:
        if self.counts_paragraphs:
            return str(_l("alinea %(number)s", number=block.line))
        return str(_l("lijn %(number)s", number=block.line))

    def source(
        self,
        *,
        title: str | None = None,
        subtitle: str | None = None,
        roles: list[str] | None = None,
        cut: int | None = -1,
    ) -> LetterSource:
        """The letter: the suggestions, or the organiser's choices where given
        (`cut=None` keeps the whole file; the default -1 takes the suggestion)."""
        roles = roles if roles is not None else [block.role for block in self.blocks]
        cut = self.cut if cut == -1 else cut
        kept = list(zip(self.blocks, roles))[: cut if cut is not None else len(self.blocks)]
        intro = "\n\n".join(block.markdown for block, role in kept if role == INTRO)
        body = "\n\n".join(block.markdown for block, role in kept if role == TEXT)
        title = " ".join((title if title is not None else self.title).split())
        if not title:
            raise LetterError(_l("De brief heeft een titel nodig."))
        if not body.strip():
            raise LetterError(_l("De brief heeft geen tekst: markeer minstens één deel als tekst."))
        return _source_from(self.meta, self.meta_lines, title=title, body=body,
                            subtitle=subtitle if subtitle is not None else self.subtitle,
                            intro=intro or None)


# --- reading ------------------------------------------------------------------

def read_letter_file(name: str, data: bytes, *, title: str | None = None) -> LetterFile:
    """Read a letter file; raises LetterError with a message that says where."""
    suffix = PurePath(name or "").suffix.lower()
    kind = EXTENSIONS.get(suffix)
    if kind is None:
        hint = _l(" Sla het op als .docx.") if suffix == ".doc" else ""
        raise LetterError(_l(
            "Signatory leest Markdown (.md), tekst (.txt), Word (.docx) en OpenDocument (.odt), niet '%(suffix)s'.%(hint)s",
            suffix=suffix or name, hint=hint,
        ))
    if len(data) > MAX_FILE_BYTES:
        raise LetterError(_l("Het bestand is groter dan 5 MB; een brief is veel kleiner."))
    if kind in ("word", "odt"):
        meta, meta_lines, markdown = {}, {}, _document_markdown(kind, data)
        blocks = markdown_blocks(markdown, paragraph_numbers=True)
    else:
        text = _decode(data)
        meta, meta_lines, body, offset = split_front_matter(text)
        if kind == "markdown":
            blocks = markdown_blocks(body, first_line=offset + 1)
        else:
            blocks = text_blocks(body, first_line=offset + 1)
    if not blocks:
        raise LetterError(_l("Het bestand bevat geen tekst."))
    letter_file = LetterFile(kind=kind, meta=meta, meta_lines=meta_lines, blocks=blocks)
    suggest(letter_file, title=title)
    return letter_file


def _decode(data: bytes) -> str:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        # Notepad and older Word save Windows-1252; every byte but five decodes.
        try:
            text = data.decode("cp1252")
        except UnicodeDecodeError as error:
            line = data[: error.start].count(b"\n") + 1
            raise LetterError(_l("Lijn %(line)s: dit is geen tekst in UTF-8.", line=line)) from None
    return clean_text(text)


def clean_text(text: str) -> str:
    """Line ends made \\n; control characters (NUL and the like) dropped."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return "".join(c for c in text if c in "\n\t" or unicodedata.category(c) != "Cc")


# --- front matter -----------------------------------------------------------------

_FENCE = re.compile(r"^---[ \t]*$")
_KEY_LINE = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)[ \t]*:(?:[ \t]+(.*))?$")


def split_front_matter(text: str) -> tuple[dict, dict[str, int], str, int]:
    """(values, line of each key, the rest, lines before the rest). A file
    without a front-matter block gives empty values and the whole text."""
    lines = text.split("\n")
    start = 0
    while start < len(lines) and not lines[start].strip():
        start += 1
    if start >= len(lines) or not _FENCE.match(lines[start]):
        return {}, {}, text, 0
    end = next((i for i in range(start + 1, len(lines)) if _FENCE.match(lines[i])), None)
    if end is None:
        raise LetterError(_l(
            "Lijn %(line)s opent de gegevens bovenaan (front matter) met ---, maar er volgt geen afsluitende ---.",
            line=start + 1,
        ))
    block = lines[start + 1 : end]
    first = start + 2  # the line number of block[0]
    meta_lines = {}
    for number, line in enumerate(block, first):
        match = _KEY_LINE.match(line)
        if match:
            meta_lines.setdefault(match.group(1), number)
    meta = _front_matter_values(block, first)
    for key in meta:
        if key not in FRONT_MATTER_KEYS:
            raise LetterError(_l(
                "Lijn %(line)s: onbekende sleutel '%(key)s'. Bekend zijn: %(keys)s.",
                line=meta_lines.get(key, first), key=key, keys=", ".join(FRONT_MATTER_KEYS),
            ))
    return meta, meta_lines, "\n".join(lines[end + 1 :]), end + 1


def _front_matter_values(block: list[str], first: int) -> dict:
    try:
        meta = yaml.safe_load("\n".join(block)) or {}
    except yaml.YAMLError:
        meta = None
    if isinstance(meta, dict):
        return {str(key): value for key, value in meta.items()}
    # Not YAML as written, but most often "title: Integratie: hoezo mislukt?":
    # simple "key: value" lines, which mean what they say.
    values, bad = _simple_key_values(block)
    if bad is None:
        return values
    raise LetterError(_l(
        "Lijn %(line)s: de gegevens bovenaan lees ik niet. Schrijf elke regel als 'sleutel: waarde', bv. 'title: Mijn brief'.",
        line=first + bad,
    ))


def _simple_key_values(block: list[str]) -> tuple[dict, int | None]:
    """The values of 'key: value' lines, or the index of the first other line."""
    values = {}
    for index, line in enumerate(block):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        match = _KEY_LINE.match(line)
        if not match:
            return values, index
        value = (match.group(2) or "").strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        values[match.group(1)] = value
    return values, None


def _source_from(meta: dict, meta_lines: dict[str, int], *, title: str, body: str, subtitle: str,
                 intro: str | None) -> LetterSource:
    def checked(key, parse):
        try:
            return parse(meta.get(key))
        except LetterError as error:
            if key in meta_lines:
                raise LetterError(_l("Lijn %(line)s: %(message)s", line=meta_lines[key], message=error)) from None
            raise

    def text(key, limit=None):
        value = _one_line(meta.get(key)) if key != "intro" else _multi_line(meta.get(key))
        return value[:limit] if limit else value

    language_tag = text("language") or "nl"
    if language_tag.lower() not in LANGUAGE_LOCALES:
        raise LetterError(_l(
            "Lijn %(line)s: de taal is nl, nl-BE, nl-NL of en, niet '%(value)s'.",
            line=meta_lines.get("language", 1), value=language_tag,
        ))
    return LetterSource(
        title=title[:300],
        body=body.strip() + "\n",
        subtitle=" ".join((subtitle or "").split())[:300],
        addressee=text("addressee", 300),
        organiser=text("organiser", 200),
        place_date=text("place_date", 200),
        contact=text("contact", 500),
        intro=intro if intro is not None else text("intro"),
        deadline=checked("deadline", parse_deadline),
        timezone=checked("timezone", lambda value: validate_timezone(_one_line(value) or "Europe/Brussels")),
        goal=checked("goal", parse_goal),
        language=language_tag[:2].lower(),
        locale=LANGUAGE_LOCALES[language_tag.lower()],
    )


def _one_line(value) -> str:
    return "" if value is None else " ".join(str(value).split())


def _multi_line(value) -> str:
    return "" if value is None else str(value).strip()


# --- Markdown and plain text into blocks ----------------------------------------------

def markdown_blocks(markdown: str, *, first_line: int = 1, paragraph_numbers: bool = False) -> list[Block]:
    """The top-level blocks of Markdown as markdown-it-py finds them, each
    with its first line (or, for a converted document, its paragraph number)."""
    from .markup import parse

    lines = markdown.split("\n")
    blocks = []
    for token in parse(markdown):
        if token.level != 0 or token.map is None or token.nesting == -1:
            continue
        start, end = token.map
        chunk = "\n".join(lines[start:end]).strip("\n")
        if chunk.strip() and not (blocks and blocks[-1][1] == start):
            blocks.append((chunk, start))
    if paragraph_numbers:
        return [Block(chunk, number) for number, (chunk, _start) in enumerate(blocks, 1)]
    return [Block(chunk, start + first_line) for chunk, start in blocks]


_BULLET = re.compile(r"^\s*(?:[-*•‣◦]|\d{1,3}[.)])\s+\S")
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]<>])")
_LINE_START_SPECIAL = re.compile(r"^(\s*)(#{1,6}\s|>|[-+=]{3,}\s*$|\d{1,9}[.)]\s)")


def text_blocks(text: str, *, first_line: int = 1) -> list[Block]:
    """Plain text as it comes out of a word processor or a mail: paragraphs
    between blank lines, hard-wrapped lines joined, bullet lines kept as a
    list, and nothing in it mistaken for Markdown."""
    blocks, paragraph, start = [], [], 0
    for number, line in enumerate(text.split("\n")):
        if line.strip():
            if not paragraph:
                start = number
            paragraph.append(line)
        elif paragraph:
            blocks.append(Block(_paragraph_markdown(paragraph), start + first_line))
            paragraph = []
    if paragraph:
        blocks.append(Block(_paragraph_markdown(paragraph), start + first_line))
    return blocks


def _paragraph_markdown(lines: list[str]) -> str:
    items: list[str] = []  # list items, or one run of prose
    for line in lines:
        line = line.strip()
        if _BULLET.match(line):
            marker, rest = line.split(None, 1)
            items.append(("1. " if marker[0].isdigit() else "- ") + _escape(rest))
        elif items:
            items[-1] = _join(items[-1], _escape(line))
        else:
            items.append(_escape_line_start(_escape(line)))
    return "\n".join(items)


def _join(previous: str, line: str) -> str:
    # "niet-" at a line end, then "gouvernementele": one word with its hyphen.
    if re.search(r"\w-$", previous):
        return previous + line
    return previous + " " + line


def _escape(text: str) -> str:
    return _MARKDOWN_SPECIAL.sub(r"\\\1", " ".join(text.split()))


def _escape_line_start(text: str) -> str:
    return _LINE_START_SPECIAL.sub(lambda m: m.group(1) + "\\" + m.group(2), text, count=1)


def _plain(markdown: str) -> str:
    from .markup import to_plain_text

    return to_plain_text(markdown)


# --- Word and OpenDocument -----------------------------------------------------------------

def _document_markdown(kind: str, data: bytes) -> str:
    _check_zip(kind, data)
    try:
        html = _word_html(data) if kind == "word" else _odt_html(data)
    except LetterError:
        raise
    except Exception:  # a damaged or disguised file: any library error means "cannot read"
        raise LetterError(_unreadable(kind)) from None
    return html_markdown(html)


def _unreadable(kind: str):
    if kind == "word":
        return _l("Dit Word-bestand (.docx) kan ik niet lezen; is het beschadigd of een ander soort bestand?")
    return _l("Dit OpenDocument-bestand (.odt) kan ik niet lezen; is het beschadigd of een ander soort bestand?")


def _check_zip(kind: str, data: bytes) -> None:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, ValueError, OSError):
        raise LetterError(_unreadable(kind)) from None
    if unpacked > MAX_UNPACKED_BYTES:
        raise LetterError(_l("Het document is uitgepakt groter dan 50 MB; een brief is veel kleiner."))


# Word's own style names for quotes and headings, in English and Dutch.
_WORD_STYLE_MAP = """
p[style-name='Quote'] => blockquote > p:fresh
p[style-name='Intense Quote'] => blockquote > p:fresh
p[style-name='Citaat'] => blockquote > p:fresh
p[style-name='Duidelijk citaat'] => blockquote > p:fresh
p[style-name='Title'] => h1:fresh
p[style-name='Titel'] => h1:fresh
p[style-name='Subtitle'] => h2:fresh
p[style-name='Ondertitel'] => h2:fresh
p[style-name^='Kop 1'] => h1:fresh
p[style-name^='Kop 2'] => h2:fresh
p[style-name^='Kop 3'] => h3:fresh
"""


def _word_html(data: bytes) -> str:
    import mammoth

    result = mammoth.convert_to_html(
        io.BytesIO(data),
        style_map=_WORD_STYLE_MAP,
        convert_image=mammoth.images.img_element(lambda image: {}),  # no images in a letter
    )
    return result.value


def _odt_html(data: bytes) -> str:
    from .odt import odt_to_html

    return odt_to_html(data)


def html_markdown(html: str) -> str:
    from markdownify import markdownify

    markdown = markdownify(
        html, heading_style="ATX", bullets="-", strong_em_symbol="*", strip=["img", "a", "span", "table"],
        escape_underscores=True, escape_asterisks=True,
    )
    markdown = "\n".join(line.rstrip() for line in markdown.split("\n"))
    return re.sub(r"\n{3,}", "\n\n", markdown).strip() + "\n"


# --- suggestions ---------------------------------------------------------------------

_FORM_LABEL = re.compile(
    r"^\s*(naam|voornaam|familienaam|adres|e-?mail|telefoon|gemeente|woonplaats|organisatie|functie|"
    r"handtekening|ondergetekende|datum|gedaan te|name|first name|surname|address|signature|date)\b[^.!?]{0,40}$",
    re.I,
)
_CHECKBOX = re.compile(r"^\s*(?:[Oo□☐❑▢]|\\?\[\s?\\?\])\s+\S")
_FILL_IN = re.compile(r"(?:…{2,}|\.{5,}|_{5,}|\\_){1}")
_FORM_WORDS = re.compile(r"formulier|strookje|invullen|terugsturen|form\b|return this", re.I)


def _looks_like_form_line(line: str) -> bool:
    return bool(_FORM_LABEL.match(line) or _CHECKBOX.match(line) or _FILL_IN.search(line))


def _form_markers(block: Block) -> int:
    source = block.markdown.replace("\\", "")
    lines = [line for line in re.split(r"\n| (?=O )", source) if line.strip()]
    return sum(1 for line in lines if _looks_like_form_line(line))


def find_paper_form(blocks: list[Block]) -> int | None:
    """Where a paper reply form starts: the first block from which on the
    rest is mostly fields to fill in (labels, tick boxes, dotted lines),
    together with the sentence that introduces the form just before it."""
    markers = [_form_markers(block) for block in blocks]
    for index, count in enumerate(markers):
        if not count:
            continue
        tail = markers[index:]
        if sum(tail) >= 3 and sum(1 for m in tail if m) * 2 >= len(tail) - 2:
            start = index
            while start > 0 and _FORM_WORDS.search(blocks[start - 1].markdown) and start > index - 2:
                start -= 1
            if _FORM_WORDS.search(blocks[start].markdown) or start == index:
                return start
    return None


def _key(text: str) -> str:
    return "".join(c for c in text.casefold() if c.isalnum())


def _title_text(block: Block) -> str:
    return " ".join(block.plain.split())


def _readable_case(text: str) -> str:
    """A title typed in capitals, as a sentence: 'INTEGRATIE: HOEZO MISLUKT?'
    becomes 'Integratie: hoezo mislukt?'."""
    letters = [c for c in text if c.isalpha()]
    if len(letters) < 4 or any(c.islower() for c in letters):
        return text
    lowered = text.lower()
    return lowered[:1].upper() + lowered[1:]


def suggest(letter_file: LetterFile, *, title: str | None = None) -> None:
    """Fill in the title, the subtitle, each block's role and the cut."""
    blocks = letter_file.blocks
    meta = letter_file.meta
    letter_file.cut = find_paper_form(blocks)
    end = letter_file.cut if letter_file.cut is not None else len(blocks)
    given = " ".join((title or _one_line(meta.get("title"))).split())
    first = _title_text(blocks[0])
    if given:
        letter_file.title = given
        if _key(first) == _key(given):
            blocks[0].role = OMIT
    else:
        letter_file.title = _readable_case(first)[:300]
        blocks[0].role = OMIT
    letter_file.subtitle = _one_line(meta.get("subtitle"))

    # A flyer often opens with the title and the call to sign, then repeats
    # the title where the letter itself begins.
    title_key = _key(letter_file.title)
    start = 1 if blocks[0].role == OMIT else 0
    repeat = next((i for i in range(start, end) if _key(_title_text(blocks[i])) in (title_key, _key(first))), None)
    if repeat is not None and repeat > start:
        if not given:
            letter_file.title = _readable_case(_title_text(blocks[repeat]))[:300]
        if not meta.get("intro"):
            for block in blocks[start:repeat]:
                block.role = INTRO
        blocks[repeat].role = OMIT
        following = repeat + 1
        if (
            not letter_file.subtitle and following < end and len(blocks[following].plain) <= 150
            and "\n" not in blocks[following].markdown and not blocks[following].plain.endswith(".")
        ):
            letter_file.subtitle = _title_text(blocks[following])
            blocks[following].role = OMIT


def import_report(letter_file: LetterFile) -> list[str]:
    """What the reader made of the file, for `flask letters import`: the
    organiser checks it, and changes it in the browser if need be."""
    def places(blocks: list[Block]) -> str:
        return ", ".join(letter_file.where(block) for block in blocks)

    end = letter_file.cut if letter_file.cut is not None else len(letter_file.blocks)
    kept = letter_file.blocks[:end]
    report = [f"title: {letter_file.title}"]
    if letter_file.subtitle:
        report.append(f"subtitle: {letter_file.subtitle}")
    intro = [block for block in kept if block.role == INTRO]
    if intro:
        report.append(f"call to sign: {len(intro)} part(s), {places(intro)}")
    left_out = [block for block in kept if block.role == OMIT]
    if left_out:
        report.append(f"left out (title lines): {places(left_out)}")
    if letter_file.cut is not None:
        first = letter_file.blocks[letter_file.cut]
        words = " ".join(first.plain.split()[:6])
        report.append(f"cut from {letter_file.where(first)} on, a paper reply form: \u201c{words}\u2026\u201d")
    return report
