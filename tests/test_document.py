"""The verrijkte opinie (issue 5): content, order, scripts, markup, metadata,
outline, page numbers, the ten-line agreement, determinism — first on
`render_pdf` alone (no database), then through the database, the organiser's
route and `flask pdf`."""
from __future__ import annotations

import hashlib
import io
import os
import re
import shutil
import subprocess
import sys
import textwrap
import unicodedata
from datetime import date, datetime
from pathlib import Path

import pytest
from hypothesis import given, settings, strategies as st
from pypdf import PdfReader

from signatory.pdf import line_rule
from signatory.pdf import typography as ts
from signatory.pdf.build import compile_document, render_pdf
from signatory.pdf.contract import Contribution, DocumentData, Signatory, index_letter
from signatory.pdf.columns import ColumnChunk
from signatory.pdf.flowables import ContributionBlock, LazyStory
from signatory.pdf.styles import NAME_LEADING

ROOT = Path(__file__).resolve().parent.parent

NAMES = {
    "latin": "Ayşe Yılmaz-Ğüneş",
    "polish": "Łukasz Ołówek",
    "nordic": "Søren Ærø-Åsberg",
    "dutch": "Chloë Van den Broeck",
    "cyrillic": "Иван Петров",
    "greek": "Άννα Παπαδοπούλου",
    "geez": "አበበ ቢቂላ",
    "arabic": "محمد علي",
}


def sample_data(**overrides) -> DocumentData:
    persons = [
        Signatory(name=NAMES["latin"], function="lerares", place="Gent", index="Y"),
        Signatory(name=NAMES["polish"], place="Kraków", index="O"),
        Signatory(name=NAMES["nordic"], place="Aarhus", index="A"),
        Signatory(name=NAMES["dutch"], function="arts", place="Brugge", index="V"),
        Signatory(name=NAMES["cyrillic"], place="Sofia", index="П"),
        Signatory(name=NAMES["greek"], place="Αθήνα", index="Π"),
        Signatory(name=NAMES["geez"], place="Addis Abeba", index="ቢ"),
        Signatory(name=NAMES["arabic"], place="Gent", index="ع"),
        Signatory(name="Piet <b>Vet</b> &amp; <para>", place="Leuven", index="V"),
    ]
    data = dict(
        title="Integratie: hoezo mislukt?",
        subtitle="Een open brief",
        organiser="Minderhedenforum vzw",
        place_date="Gent, 1 mei 2011",
        contact="info@minderhedenforum.example",
        body=textwrap.dedent("""\
            Wij zijn benieuwd naar de **antwoorden** & *reacties*.

            ## Wat wij vragen

            1. Een eerste vraag met <b>geen vet</b>.
            2. Een tweede vraag.

            > Een citaat.
            """),
        signatory_count=len(persons) + 2 + 3,
        unnamed_count=3,
        first_signatories=[Signatory(name="Eric Eerste", function="socioloog", place="Brussel")],
        organisations=[
            Signatory(name="Jan Peeters", kind="organisation", organisation="Vluchtelingenwerk Vlaanderen",
                      function="voorzitter", place="Brussel"),
        ],
        persons=persons,
        contributions=[
            Contribution(text="Omdat samenleven een werkwoord is.", name=NAMES["latin"], place="Gent"),
            Contribution(text="Ik teken <b>niet vet</b> &amp; <para> zoals getypt.", name="", place="Gent"),
            Contribution(text="Zonder plaats en zonder naam.", name="", place=""),
        ],
        created=datetime(2011, 5, 1, 12, 0),
        revision=7,
    )
    data.update(overrides)
    return DocumentData(**data)


def pdf_text(pdf: bytes) -> list[str]:
    return [page.extract_text() or "" for page in PdfReader(io.BytesIO(pdf)).pages]


@pytest.fixture(scope="module")
def sample_pdf() -> bytes:
    return render_pdf(sample_data(), draft=True)


@pytest.fixture(scope="module")
def sample_text(sample_pdf) -> str:
    return "\n".join(pdf_text(sample_pdf))


def squash(text: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", text).split())


# --- content --------------------------------------------------------------------------

@pytest.mark.parametrize("script", [s for s in NAMES if s != "arabic"])
def test_every_script_is_printed(sample_text, script):
    assert NAMES[script] in squash(sample_text)


def test_arabic_is_joined_and_right_to_left(sample_text):
    # Joined: presentation forms in the PDF. Right to left: pypdf reads the
    # PDF's (visual) order back into logical order by reversing right-to-left
    # runs, so the name comes out as typed only if it was drawn reversed.
    assert "\ufee3" in sample_text or "\ufee4" in sample_text  # a joined MEEM form
    assert NAMES["arabic"] in squash(sample_text)
    assert NAMES["arabic"][::-1] not in squash(sample_text)


def test_markup_is_printed_as_typed(sample_text):
    text = squash(sample_text)
    assert "Piet <b>Vet</b> &amp; <para>" in text
    assert "Ik teken <b>niet vet</b> &amp; <para> zoals getypt." in text
    assert "Een eerste vraag met <b>geen vet</b>." in text
    assert "antwoorden & reacties" in text


def test_sections_in_order(sample_text):
    text = squash(sample_text)
    order = [
        "Integratie: hoezo mislukt?",
        "Wij zijn benieuwd",
        "Gent, 1 mei 2011",
        "De ondertekenaars",
        "Eerste ondertekenaars",
        "Eric Eerste",
        "Organisaties",
        "Vluchtelingenwerk Vlaanderen",
        "Personen",
        NAMES["latin"],
        "en 3 anderen die tekenden zonder hun naam te publiceren",
        "Motiverende paragrafen",
        "Omdat samenleven een werkwoord is.",
    ]
    positions = [text.find(part, text.find("Wij zijn benieuwd") if i > 1 else 0) for i, part in enumerate(order)]
    assert -1 not in positions, dict(zip(order, positions))
    assert positions[1:] == sorted(positions[1:])


def test_function_place_and_organisation_are_shown(sample_text):
    text = squash(sample_text)
    assert "Eric Eerste, socioloog, Brussel" in text
    assert "Vluchtelingenwerk Vlaanderen, Jan Peeters, voorzitter, Brussel" in text
    assert f"{NAMES['latin']}, lerares, Gent" in text


def test_attribution_follows_consent(sample_text):
    text = squash(sample_text)
    assert f"— {NAMES['latin']}, Gent" in text
    assert "— een ondertekenaar uit Gent" in text
    assert "— een ondertekenaar" in text


def test_title_page(sample_pdf):
    first = squash(pdf_text(sample_pdf)[0])
    for part in ("Minderhedenforum vzw", "Integratie: hoezo mislukt?", "Een open brief", "Gent, 1 mei 2011",
                 "Ondertekend door 14 personen en organisaties"):
        assert part in first


def test_page_numbers_and_running_header(sample_pdf):
    pages = pdf_text(sample_pdf)
    total = len(pages)
    assert total >= 4
    for number, text in enumerate(pages, start=1):
        assert f"pagina {number} van {total}" in text
    # The running header (not on the title page) carries the title.
    assert all("Integratie: hoezo mislukt?" in text for text in pages[1:])


def test_draft_and_published(sample_pdf):
    assert "ONTWERP" in pdf_text(sample_pdf)[1]
    published = render_pdf(sample_data(publication_date=date(2011, 6, 20)), draft=False)
    text = "\n".join(pdf_text(published))
    assert "ONTWERP" not in text
    assert "Gepubliceerd op 20 juni 2011" in squash(text)


def test_metadata(sample_pdf):
    reader = PdfReader(io.BytesIO(sample_pdf))
    meta = reader.metadata
    assert meta.title == "Integratie: hoezo mislukt?"
    assert meta.author == "Minderhedenforum vzw"
    assert "ondertekenaars" in meta.subject
    assert reader.trailer["/Root"]["/Lang"] == "nl"
    assert meta["/CreationDate"].startswith("D:20110501120000")


def test_outline(sample_pdf):
    reader = PdfReader(io.BytesIO(sample_pdf))

    def titles(items):
        for item in items:
            if isinstance(item, list):
                yield from titles(item)
            else:
                yield item.title

    found = list(titles(reader.outline))
    for expected in ("Integratie: hoezo mislukt?", "Wat wij vragen", "De ondertekenaars", "Eerste ondertekenaars",
                     "Organisaties", "Personen", "Motiverende paragrafen"):
        assert expected in found
    assert found.index("De ondertekenaars") < found.index("Personen") < found.index("Motiverende paragrafen")


def test_fonts_are_embedded_and_subset(sample_pdf):
    reader = PdfReader(io.BytesIO(sample_pdf))
    fonts = {}
    for page in reader.pages:
        resources = page["/Resources"]
        for font in (resources.get("/Font") or {}).values():
            font = font.get_object()
            fonts[str(font["/BaseFont"])] = font
        for xobject in (resources.get("/XObject") or {}).values():
            for font in (xobject.get_object().get("/Resources", {}).get("/Font") or {}).values():
                font = font.get_object()
                fonts[str(font["/BaseFont"])] = font
    names = " ".join(fonts)
    for family in ("NotoSerif", "NotoNaskhArabic", "NotoSerifEthiopic"):
        assert family in names
    for name, font in fonts.items():
        assert re.match(r"^/?[A-Z]{6}\+", name), f"{name} is not a subset"
        descendant = font["/DescendantFonts"][0].get_object() if "/DescendantFonts" in font else font
        descriptor = descendant["/FontDescriptor"].get_object()
        assert "/FontFile2" in descriptor, f"{name} is not embedded"


def test_no_empty_boxes_for_emoji_and_symbols():
    runs = ts.script_runs("Ja 😀 ✓ ❤️!")
    fonts = {font for font, run in runs if run.strip()}
    assert ts.EMOJI in fonts and ts.SYMBOLS in fonts
    assert "\ufe0f" not in "".join(run for _, run in runs)  # invisible selectors dropped


def test_long_words_wrap_inside_the_measure():
    word = "Donaudampfschiffahrtsgesellschaftskapitänswitwe" * 6
    paragraph = ts.build_paragraph(word)
    paragraph.wrap(ts.FRAME_INNER_WIDTH, 10_000)
    lines = paragraph.blPara.lines
    assert len(lines) > 1
    pdf = render_pdf(sample_data(contributions=[Contribution(text=word, name="Lang Woord")]), draft=False)
    reader = PdfReader(io.BytesIO(pdf))
    right_edge = ts.PAGE_SIZE[0] - ts.MARGIN_RIGHT
    for page in reader.pages:
        xs = []

        def visitor(text, cm, tm, font, size):
            if text.strip() and font is not None:
                xs.append((tm[4] * cm[0] + cm[4], text))

        page.extract_text(visitor_text=visitor)
        for x, text in xs:
            assert x < right_edge, text
    assert word[:40] in "".join(squash(t).replace(" ", "") for t in pdf_text(pdf))


def test_index_letter_follows_the_locale():
    assert index_letter("Van den Broeck", "nl-BE") == "V"
    assert index_letter("van den Broek", "nl-NL") == "B"
    assert index_letter("Çelik", "nl-BE") == "C"


def test_lazy_story_consumes_the_iterables_lazily(monkeypatch):
    # The names are pulled one column at a time and the paragraphs one
    # flowable at a time: when the first column of names and the first
    # paragraph are drawn, the rest has not been read yet. A story made
    # eagerly (a list of every flowable, or of every row) fails here.
    consumed = []
    consumed_paragraphs = []

    def persons():
        for number in range(3000):
            consumed.append(number)
            yield Signatory(name=f"Persoon {number:05d}", place="Gent", index="P")

    def contributions():
        for number in range(200):
            consumed_paragraphs.append(number)
            yield Contribution(text=f"Paragraaf {number:03d}.", name=f"Schrijver {number:03d}")

    at_first_column = []
    at_first_paragraph = []
    draw_column, draw_paragraph = ColumnChunk.draw, ContributionBlock.draw

    def recording_column_draw(self):
        at_first_column.append(len(consumed))
        return draw_column(self)

    def recording_paragraph_draw(self):
        at_first_paragraph.append(len(consumed_paragraphs))
        return draw_paragraph(self)

    monkeypatch.setattr(ColumnChunk, "draw", recording_column_draw)
    monkeypatch.setattr(ContributionBlock, "draw", recording_paragraph_draw)
    story = LazyStory(iter(range(10)))
    assert len(story) == LazyStory.LOOKAHEAD
    pdf = render_pdf(sample_data(persons=persons(), contributions=contributions()), draft=True)
    names_per_column = ts.PAGE_SIZE[1] / NAME_LEADING
    assert 0 < at_first_column[0] <= names_per_column + 1, at_first_column[0]
    assert 0 < at_first_paragraph[0] <= LazyStory.LOOKAHEAD + 1, at_first_paragraph[0]
    assert len(consumed) == 3000 and len(consumed_paragraphs) == 200
    text = squash("\n".join(pdf_text(pdf)))
    assert "Persoon 00000" in text and "Persoon 02999" in text
    assert text.index("Persoon 00000") < text.index("Persoon 01500") < text.index("Persoon 02999")


def test_a_right_to_left_paragraph_keeps_its_line_order():
    # Reordering the whole paragraph before breaking it would put its last
    # words on its first line; each line is reordered on its own instead.
    text = " ".join("كلمة%d" % number for number in range(60))
    assert line_rule.count_lines(text) > 2
    pdf = render_pdf(sample_data(contributions=[Contribution(text=text, name="R T L")]), draft=False)
    page = next(t for t in pdf_text(pdf) if "R T L" in t)
    lines = [line for line in page.splitlines() if "\ufecb" in line or "\ufec9" in line or "\ufedb" in line]
    numbers = [sorted(int(n) for n in re.findall(r"\d+", line)) for line in lines]
    assert len(numbers) >= 3 and numbers[0][0] == 0 and numbers[-1][-1] == 59
    for line, following in zip(numbers, numbers[1:]):
        assert line[-1] < following[0]


# --- the ten-line rule and the document agree --------------------------------------------------

PROSE = (
    "wij zijn er van overtuigd dat een samenleving pas sterk is als ze al haar leden een plaats geeft en "
    "dat wie hier woont en werkt mee mag praten over de toekomst van de stad het land en de wijk waar hij of "
    "zij elke dag leeft en waar de kinderen naar school gaan en waar we elkaar ontmoeten op de markt en in "
    "de bus en op het werk en in de vereniging en in de sportclub en op het plein voor het stadhuis "
) * 4


def text_of_lines(lines: int, prefix: str = "") -> str:
    """Prose that takes exactly `lines` lines, its last line full to within
    one short word of the margin."""
    words = PROSE.split()
    text = prefix
    for word in words:
        candidate = f"{text} {word}".strip()
        if line_rule.count_lines(candidate) > lines:
            break
        text = candidate
    assert line_rule.count_lines(text) == lines
    return text


@pytest.mark.parametrize("lines", [9, 10, 11])
def test_the_document_prints_as_many_lines_as_the_rule_counts(lines):
    marker = f"LIJNEN{lines}"
    text = text_of_lines(lines, prefix=marker)
    paragraph = ts.build_paragraph(text)
    paragraph.wrap(ts.FRAME_INNER_WIDTH, 10_000)
    last_line_room = paragraph.blPara.lines[-1][0]  # (extraSpace, words)
    assert last_line_room < 6 * ts.BODY_SIZE  # within a few characters of the margin
    assert line_rule.line_verdict(text) == (lines, lines <= line_rule.MAX_PARAGRAPH_LINES)
    pdf = render_pdf(sample_data(contributions=[Contribution(text=text, name=f"Teller {lines}")]), draft=False)
    page = next(t for t in pdf_text(pdf) if marker in t)
    printed = page.splitlines()
    start = next(i for i, line in enumerate(printed) if line.startswith(marker))
    end = next(i for i, line in enumerate(printed) if f"Teller {lines}" in line)
    assert end - start == lines


def test_motivating_paragraphs_use_the_frame_inner_width(monkeypatch):
    # The width the ten-line rule measures at is the width the document
    # really sets the paragraph in: measured on the flowable as it is laid
    # out on the page, so that changing either side breaks this test.
    widths = []
    real_wrap = ContributionBlock.wrap

    def recording_wrap(self, availWidth, availHeight):
        widths.append(availWidth)
        return real_wrap(self, availWidth, availHeight)

    monkeypatch.setattr(ContributionBlock, "wrap", recording_wrap)
    render_pdf(sample_data(contributions=[Contribution(text="Een paragraaf.", name="A")]), draft=False)
    assert widths
    assert all(width == pytest.approx(ts.FRAME_INNER_WIDTH, abs=1e-6) for width in widths), widths


# --- determinism, rendering, versions ------------------------------------------------------------

DETERMINISM_SCRIPT = """
import hashlib, sys
sys.path.insert(0, {root!r})
sys.path.insert(0, {tests!r})
from test_document import sample_data
from signatory.pdf.build import render_pdf
print(hashlib.sha256(render_pdf(sample_data(), draft=True)).hexdigest())
"""


def test_same_data_same_bytes_across_processes_and_hash_seeds(sample_pdf):
    script = DETERMINISM_SCRIPT.format(root=str(ROOT), tests=str(ROOT / "tests"))
    digests = set()
    for seed in ("1", "4242"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env,
                                timeout=120, check=True)
        digests.add(result.stdout.strip())
    digests.add(hashlib.sha256(sample_pdf).hexdigest())
    assert len(digests) == 1


def test_page_one_renders(sample_pdf, tmp_path):
    if shutil.which("pdftoppm") is None:
        from conftest import IN_CI

        message = "pdftoppm (poppler-utils) is not installed"
        pytest.fail(f"CI=true requires it: {message}") if IN_CI else pytest.skip(message)
    source = tmp_path / "document.pdf"
    source.write_bytes(sample_pdf)
    subprocess.run(["pdftoppm", "-r", "40", "-f", "1", "-l", "1", "-png", str(source), str(tmp_path / "page")],
                   check=True, timeout=60)
    png = next(tmp_path.glob("page*.png"))
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert png.stat().st_size > 2000


def test_compile_reports_pages_and_digest():
    compiled = compile_document(sample_data(), draft=True)
    assert compiled.page_count == len(PdfReader(io.BytesIO(compiled.pdf)).pages)
    assert compiled.sha256 == hashlib.sha256(compiled.pdf).hexdigest()


# --- through the database --------------------------------------------------------------------------

from conftest import login, make_letter, make_signature, make_user  # noqa: E402


def _sign(letter, **fields):
    from signatory.extensions import db

    paragraph_status = fields.pop("paragraph_status", None)
    status = fields.pop("status", None)
    first = fields.pop("first_signatory", None)
    signature = make_signature(letter, **fields)
    if paragraph_status is not None:
        signature.paragraph_status = paragraph_status
    if status is not None:
        signature.status = status
    if first is not None:
        signature.first_signatory = first
    db.session.commit()
    return signature


def test_document_from_the_database(ctx):
    from signatory.pdf import store

    letter = make_letter("db-brief")
    _sign(letter, first_name="Eric", last_name="Eerste", email="eric@example.org", first_signatory=True,
          address="Kerkstraat 1, 9000 Gent")
    _sign(letter, first_name="Jan", last_name="Peeters", kind="organisation", organisation="Vluchtelingenwerk",
          function="voorzitter", email="jan@example.org", place="Brussel")
    _sign(letter, first_name="Ayşe", last_name="Yılmaz", email="ayse@example.org",
          address="Geheime Dreef 7, 2000 Antwerpen",
          paragraph="Goedgekeurd en gepubliceerd.", paragraph_status="approved")
    _sign(letter, first_name="Anoniem", last_name="Verborgen", email="anon@example.org", consent_name=False,
          place="Gent", paragraph="Anoniem gepubliceerd.", paragraph_status="approved")
    _sign(letter, first_name="Piet", last_name="Pending", email="piet@example.org",
          paragraph="Nog niet gemodereerd.", paragraph_status="pending")
    _sign(letter, first_name="Rita", last_name="Rejected", email="rita@example.org",
          paragraph="Afgewezen paragraaf.", paragraph_status="rejected")
    _sign(letter, first_name="Geen", last_name="Toelating", email="geen@example.org", consent_paragraph=False,
          paragraph="Zonder toelating.", paragraph_status="approved")
    _sign(letter, first_name="Onbevestigd", last_name="Persoon", email="unconfirmed@example.org", confirmed=False)
    _sign(letter, first_name="Ingetrokken", last_name="Persoon", email="withdrawn@example.org", status="withdrawn")
    _sign(letter, first_name="Spam", last_name="Persoon", email="spam@example.org", status="rejected")

    compiled = store.compile_letter(letter)
    text = squash("\n".join(pdf_text(compiled.pdf)))
    for shown in ("Eric Eerste", "Vluchtelingenwerk, Jan Peeters, voorzitter, Brussel", "Ayşe Yılmaz",
                  "Goedgekeurd en gepubliceerd.", "— Ayşe Yılmaz, Gent", "Anoniem gepubliceerd.",
                  "— een ondertekenaar uit Gent", "en 1 andere die tekende zonder de naam te publiceren",
                  "ONTWERP"):
        assert shown in text, shown
    for hidden in ("Verborgen", "Nog niet gemodereerd", "Afgewezen paragraaf", "Zonder toelating", "Onbevestigd",
                   "Ingetrokken", "Spam", "eric@", "jan@", "ayse@", "anon@", "Kerkstraat", "Geheime Dreef",
                   "2000 Antwerpen"):
        assert hidden not in text, hidden
    assert text.index("Eric Eerste") < text.index("Vluchtelingenwerk,") < text.index("Ayşe Yılmaz")


@pytest.mark.parametrize("locale, expected", [
    ("nl-BE", ["Bakker", "Maes", "van den Broek", "Wouters"]),
    ("nl-NL", ["Bakker", "van den Broek", "Maes", "Wouters"]),
])
def test_collation_follows_the_letter_locale(ctx, locale, expected):
    from signatory.pdf import store

    letter = make_letter(f"brief-{locale.lower()}", locale=locale)
    for number, last_name in enumerate(["Wouters", "van den Broek", "Maes", "Bakker"]):
        _sign(letter, first_name="Kim", last_name=last_name, email=f"kim{number}@example.org")
    text = squash("\n".join(pdf_text(store.compile_letter(letter).pdf)))
    listed = text[text.index("Personen"):]
    positions = [listed.index(f"Kim {name}") for name in expected]
    assert positions == sorted(positions)



NAME_CHARACTERS = st.sampled_from(
    list("  aeijlnorstuvyz'-.") + list("ëéèçñøåæœßıİ") + ["\u0301", "\u0308", "\u0327", "\u0344"]
    + list("ΑαΩωЖжЯяשלוםعليאٌ日本語한글ไทย") + ["\u0e31", "\u0e47"]
)


@settings(max_examples=1500, deadline=None)
@given(st.one_of(st.text(max_size=40), st.text(NAME_CHARACTERS, max_size=30)))
def test_a_sort_key_is_the_collation_weights_as_big_endian_16_bit_numbers(text):
    """The stored keys keep their format: pyuca's sort key of the whole
    text, every weight as two bytes (clamped to 0xFFFF, which DUCET never
    exceeds), also when it is put together word by word."""
    import struct

    from signatory.collation import _collator, text_key

    weights = _collator().sort_key(text)
    text_key.cache_clear()
    assert text_key(text) == struct.pack(f">{len(weights)}H", *(min(weight, 0xFFFF) for weight in weights))

def test_kept_per_revision_and_compiled_inline_when_small(ctx):
    from signatory.pdf import store
    from signatory.extensions import db
    from signatory.letters import bump_revision

    letter = make_letter("kept")
    _sign(letter, email="a@example.org")
    first = store.get_or_compile(letter)
    db.session.commit()
    first_id = first.id
    assert first.status == "ready" and first.pdf.startswith(b"%PDF") and first.page_count >= 3
    again = store.get_or_compile(letter)
    assert again.id == first_id
    bump_revision(letter)
    db.session.commit()
    db.session.refresh(letter)
    newer = store.get_or_compile(letter)
    db.session.commit()
    assert newer.id != first_id and newer.data_revision == letter.data_revision
    # Older drafts are not kept once a newer one is ready.
    from signatory.models import Document

    assert db.session.get(Document, first_id) is None


def test_a_large_letter_compiles_in_the_background(ctx):
    from signatory.pdf import store
    from signatory.extensions import db
    from signatory.models import Document

    ctx.config["PDF_INLINE_SECONDS"] = -1  # every letter counts as large
    letter = make_letter("large")
    _sign(letter, email="a@example.org")
    document = store.get_or_compile(letter)
    assert document.status == "pending"
    db.session.commit()  # starts the worker
    store.wait_for_compiles(120)
    db.session.expire_all()
    stored = db.session.get(Document, document.id)
    assert stored.status == "ready", stored.error
    assert stored.pdf.startswith(b"%PDF") and stored.sha256 == hashlib.sha256(stored.pdf).hexdigest()
    assert store.get_or_compile(letter).id == stored.id


def test_freeze_published_document(ctx):
    from signatory.pdf import store
    from signatory.extensions import db

    letter = make_letter("frozen")
    _sign(letter, email="a@example.org")
    db.session.refresh(letter)
    letter.state = "published"
    letter.publication_date = date(2011, 6, 20)
    letter.published_at = datetime(2011, 6, 20, 10, 0)
    db.session.commit()
    document = store.freeze_published_document(letter)
    db.session.commit()
    assert document.published and document.status == "ready"
    assert document.sha256 == hashlib.sha256(document.pdf).hexdigest()
    assert "ONTWERP" not in "\n".join(pdf_text(document.pdf))
    assert store.freeze_published_document(letter).id == document.id


def test_organiser_route(app, client, held_compiles):
    from signatory.pdf import store

    with app.app_context():
        make_user(admin=True)
        letter = make_letter("route")
        _sign(letter, email="a@example.org")
    login(client)
    response = client.get("/organise/letters/route/document.pdf")
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    assert response.headers["Content-Disposition"].startswith("inline; filename=")
    assert response.data.startswith(b"%PDF")
    assert client.get("/organise/letters/nope/document.pdf").status_code == 404

    app.config["PDF_INLINE_SECONDS"] = -1
    with app.app_context():
        from signatory.letters import bump_revision, get_letter
        from signatory.extensions import db

        bump_revision(get_letter("route"))
        db.session.commit()
    # The background compile waits until the pending page is read: a small
    # letter would otherwise be ready before the view looks again.
    pending = client.get("/organise/letters/route/document.pdf")
    held_compiles()
    assert pending.status_code == 202
    page = pending.get_data(as_text=True)
    assert "wordt voorbereid" in page
    assert '<meta http-equiv="refresh" content="5">' in page
    assert "<script>" not in page
    store.wait_for_compiles(120)
    ready = client.get("/organise/letters/route/document.pdf")
    assert ready.status_code == 200 and ready.data.startswith(b"%PDF")


def test_pdf_command(app, runner, tmp_path):
    with app.app_context():
        letter = make_letter("cli-brief", state="draft")
        del letter
    target = tmp_path / "brief.pdf"
    result = runner.invoke(args=["pdf", "cli-brief", "-o", str(target)])
    assert result.exit_code == 0, result.output
    assert target.read_bytes().startswith(b"%PDF")
    assert "ONTWERP" in pdf_text(target.read_bytes())[1]
    missing = runner.invoke(args=["pdf", "nope", "-o", str(tmp_path / "x.pdf")])
    assert missing.exit_code != 0
