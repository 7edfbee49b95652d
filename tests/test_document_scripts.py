"""Every script shaped (issue 13, DESIGN §5): HarfBuzz through ReportLab's own
shaping, marks kept and placed, right-to-left runs in their order,
punctuation with the text it belongs to, scripts size-matched, and the bytes
still the same for the same data — checked on rendered pages (pdftoppm), on
the text a reader copies out (pdftotext) and on the typesetter's own lines.
"""
from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
import unicodedata
from datetime import datetime
from pathlib import Path

import pytest
from pypdf import PdfReader
from reportlab.platypus import Paragraph

from signatory.pdf import line_rule, shaping
from signatory.pdf import typography as ts
from signatory.pdf.build import render_pdf
from signatory.pdf.contract import Contribution, DocumentData, Signatory

ROOT = Path(__file__).resolve().parent.parent

WITH_HARAKAT = "مُحَمَّد العَرَبِيّ"
WITHOUT_HARAKAT = "محمد العربي"
GEEZ = "አበበ ቢቂላ"
HEBREW_POINTED = "מֹשֶׁה כֹּהֵן"
DEVANAGARI = "प्रिया शर्मा"
VIETNAMESE = "Nguyễn Thị Minh Khai"


def _tool(name: str) -> None:
    if shutil.which(name) is None:
        from conftest import IN_CI

        message = f"{name} (poppler-utils) is not installed"
        pytest.fail(f"CI=true requires it: {message}") if IN_CI else pytest.skip(message)


def _document(names: list[str], contributions: list[Contribution] = ()) -> bytes:
    persons = [Signatory(name=name, place="Gent") for name in names]
    return render_pdf(DocumentData(title="Brief", signatory_count=len(persons), persons=persons,
                                   contributions=list(contributions),
                                   contribution_count=len(contributions),
                                   created=datetime(2026, 5, 1)), draft=False)


def _page_png(pdf: bytes, page: int, tmp_path: Path, name: str) -> bytes:
    _tool("pdftoppm")
    source = tmp_path / f"{name}.pdf"
    source.write_bytes(pdf)
    subprocess.run(["pdftoppm", "-r", "100", "-f", str(page), "-l", str(page), "-png", str(source),
                    str(tmp_path / name)], check=True, timeout=60)
    return next(tmp_path.glob(f"{name}*.png")).read_bytes()


def _pdftotext(pdf: bytes, tmp_path: Path) -> str:
    _tool("pdftotext")
    source = tmp_path / "text.pdf"
    source.write_bytes(pdf)
    result = subprocess.run(["pdftotext", "-enc", "UTF-8", str(source), "-"], capture_output=True, text=True,
                            check=True, timeout=60)
    return result.stdout


# --- marks are kept and placed ---------------------------------------------------------------------

def test_a_name_with_harakat_draws_differently_from_one_without(tmp_path):
    # The page of names: the third (the title page, the text, the names).
    with_marks = _page_png(_document([WITH_HARAKAT]), 3, tmp_path, "with")
    without_marks = _page_png(_document([WITHOUT_HARAKAT]), 3, tmp_path, "without")
    again = _page_png(_document([WITHOUT_HARAKAT]), 3, tmp_path, "again")
    assert without_marks == again  # the rendering itself is stable
    assert with_marks != without_marks  # so the vowel marks are drawn


@pytest.mark.parametrize("name, marks", [
    (WITH_HARAKAT, "\u064f\u064e\u0651\u0650"),  # damma, fatha, shadda, kasra
    (HEBREW_POINTED, "\u05b9\u05b6\u05bc\u05b5"),  # holam, segol, dagesh, tsere
])
def test_marks_are_in_the_text_a_reader_copies(name, marks, tmp_path):
    text = _pdftotext(_document([name]), tmp_path)
    for mark in marks:
        assert mark in text, f"U+{ord(mark):04X} lost"


def test_combining_marks_reach_harfbuzz_with_their_letter():
    # "ṇ̃": a letter whose second mark has no precomposed form stays in one
    # run with it, and the paragraph is shaped (marks positioned by the font).
    text = "Ama\u0323\u0303ka"
    assert ts.script_runs(text) == [(ts.SERIF, text)]
    assert ts.needs_shaping(text)
    paragraph = ts.build_paragraph(text)
    paragraph.wrap(ts.FRAME_INNER_WIDTH, 1000)
    assert paragraph.style.shaping
    assert not ts.needs_shaping("Ayşe Yılmaz-Ğüneş, Łukasz, Chloë, Иван, Άννα")


# --- fonts and runs ----------------------------------------------------------------------------------

def test_every_script_gets_a_bundled_font_that_has_its_glyphs():
    for text, font in ((WITH_HARAKAT, ts.ARABIC), (GEEZ, ts.ETHIOPIC), (HEBREW_POINTED, ts.HEBREW),
                       (DEVANAGARI, ts.DEVANAGARI), (VIETNAMESE, ts.SERIF), ("Иван Άννα", ts.SERIF)):
        runs = ts.script_runs(text)
        assert [run_font for run_font, _ in runs] == [font], (text, runs)
        coverage = ts._coverage(font)
        assert all(ord(char) in coverage for char in text if not char.isspace()), text


def test_punctuation_between_runs_stays_with_the_text_it_belongs_to():
    assert ts.script_runs(f"— {GEEZ}, Leuven") == [
        (ts.SERIF, "— "), (ts.ETHIOPIC, GEEZ), (ts.SERIF, ", Leuven")]
    assert ts.script_runs(f"Karim {WITH_HARAKAT}, Brussel") == [
        (ts.SERIF, "Karim "), (ts.ARABIC, WITH_HARAKAT), (ts.SERIF, ", Brussel")]
    # Between two words of one script, its space stays in its font.
    assert ts.script_runs(WITHOUT_HARAKAT) == [(ts.ARABIC, WITHOUT_HARAKAT)]


def test_the_comma_after_a_geez_name_is_printed(tmp_path):
    contribution = Contribution(text="Wij zijn één stad.", name=GEEZ, place="Leuven")
    text = _pdftotext(_document(["Jan Peeters"], [contribution]), tmp_path)
    assert f"— {GEEZ}, Leuven" in text
    # In the list of names too.
    assert f"{GEEZ}, Gent" in _pdftotext(_document([GEEZ]), tmp_path)


def test_devanagari_hebrew_and_vietnamese_are_printed_in_their_fonts(tmp_path):
    pdf = _document([DEVANAGARI, HEBREW_POINTED, VIETNAMESE])
    text = _pdftotext(pdf, tmp_path)
    assert VIETNAMESE in text
    # Conjuncts and the reph are glyphs of their own: the letters that start
    # the syllables come out as letters.
    assert all(letter in text for letter in "पयश")
    assert all(letter in text for letter in "משהכן")
    fonts = {str(font) for page in PdfReader(io.BytesIO(pdf)).pages
             for font in (page["/Resources"].get("/Font") or {}).values()
             for font in [font.get_object()["/BaseFont"]]}
    assert any("NotoSerifDevanagari" in font for font in fonts), fonts
    assert any("NotoSerifHebrew" in font for font in fonts), fonts


# --- right to left -------------------------------------------------------------------------------------

def _display_words(text: str, style=None) -> list[str]:
    """The line's pieces of text in display order, as the canvas draws them."""
    paragraph = ts.BidiParagraph(ts.inline_markup(text), style or ts.paragraph_style())
    paragraph.wrap(ts.FRAME_INNER_WIDTH, 1000)
    base = 1 if paragraph.style.alignment == 2 else 0
    line = paragraph.blPara.lines[0]
    return [str(frag.text) for frag in shaping.reorder_line(line.words, base)]


def _shaped(word: str) -> str:
    return str(shaping.shaped_line(word, ts.ARABIC, ts.BODY_SIZE * ts.size_scales().get(ts.ARABIC, 1))[0])


def test_arabic_words_read_right_to_left_inside_a_latin_line():
    first, second = WITH_HARAKAT.split()
    pieces = "".join(_display_words(f"Karim {WITH_HARAKAT}, Brussel"))
    # Drawn left to right: the second Arabic word first, each one joined.
    assert pieces.startswith("Karim ")
    assert pieces.index(_shaped(second)) < pieces.index(_shaped(first))
    assert pieces.endswith(", Brussel")


def test_digits_in_an_arabic_paragraph_read_left_to_right():
    pieces = _display_words("كتب محمد 2011 كتابا.")
    assert any("2011" in piece for piece in pieces)
    assert not any("1102" in piece for piece in pieces)


def test_an_arabic_line_is_drawn_as_its_shaped_words_in_reverse():
    words = "نحن نؤمن بأن الاندماج ليس طريقا".split()
    paragraph = ts.build_paragraph(" ".join(words))
    paragraph.wrap(ts.FRAME_INNER_WIDTH, 1000)
    (line,) = paragraph.blPara.lines
    (drawn,) = shaping.reorder_line(line.words, 1)
    assert str(drawn.text).rstrip() == " ".join(_shaped(word) for word in reversed(words))
    # Each glyph keeps HarfBuzz's position: one entry of shape data per glyph, in the new order.
    positions = {str(piece): piece.__shapeData__ for piece in (_shaped_piece(word) for word in words)}
    data = drawn.text.__shapeData__
    assert len(data) == len(drawn.text)
    start = 0
    for word in reversed(words):
        shaped = _shaped(word)
        assert data[start:start + len(shaped)] == positions[shaped]
        start += len(shaped) + 1


def _shaped_piece(word: str):
    return shaping.shaped_line(word, ts.ARABIC, ts.BODY_SIZE * ts.size_scales().get(ts.ARABIC, 1))[0]


def test_a_right_to_left_paragraph_is_aligned_right_and_ends_with_its_full_stop_on_the_left():
    text = "نحن نؤمن بأن الاندماج ليس طريقا في اتجاه واحد 2011."
    paragraph = ts.build_paragraph(text)
    assert paragraph.style.alignment == 2  # TA_RIGHT
    pieces = _display_words(text, paragraph.style)
    assert pieces[0].startswith(".")


# --- sizes ------------------------------------------------------------------------------------------------

def test_scripts_are_size_matched_by_the_height_of_their_letters():
    scales = ts.size_scales()
    # Naskh's letters are about 12% lower than Noto Serif's x-height: set larger.
    assert 1.05 < scales[ts.ARABIC] <= 1.25
    assert scales[f"{ts.ARABIC}-Bold"] == scales[ts.ARABIC]
    # Ge'ez, Hebrew and Devanagari letters already stand as high as the Latin.
    for family in (ts.ETHIOPIC, ts.HEBREW, ts.DEVANAGARI):
        assert scales.get(family, 1.0) == 1.0
    paragraph = ts.build_paragraph(f"Karim {WITHOUT_HARAKAT}")
    sizes = {frag.fontName: frag.fontSize for frag in paragraph.frags}
    assert sizes[ts.SERIF] == ts.BODY_SIZE
    assert sizes[ts.ARABIC] == pytest.approx(ts.BODY_SIZE * scales[ts.ARABIC], abs=0.01)


def test_the_ten_line_rule_counts_shaped_text():
    words = " ".join(WITH_HARAKAT for _ in range(60))
    lines = line_rule.count_lines(words)
    assert 3 < lines < 12
    paragraph = ts.build_paragraph(words)
    paragraph.wrap(ts.FRAME_INNER_WIDTH, 10_000)
    assert len(paragraph.blPara.lines) == lines


# --- determinism -------------------------------------------------------------------------------------------

SHAPED_FIRST = """
import hashlib, sys
sys.path.insert(0, {root!r})
sys.path.insert(0, {tests!r})
from signatory.pdf import line_rule
if {shape_first}:
    # Shape other text first, in other fonts: joined forms and ligatures get
    # their code points from the font, not from what came before.
    line_rule.count_lines("لا إله، فلسطين، مستشفى ﷲ 12 الأول — שָׁלוֹם हिन्दी ffi")
from test_document_scripts import _document, WITH_HARAKAT, GEEZ, HEBREW_POINTED, DEVANAGARI
print(hashlib.sha256(_document([WITH_HARAKAT, "Karim " + WITH_HARAKAT, GEEZ, HEBREW_POINTED, DEVANAGARI])).hexdigest())
"""


def test_shaped_text_gives_the_same_bytes_whatever_was_shaped_before():
    digests = set()
    for seed, shape_first in (("1", False), ("777", True)):
        script = SHAPED_FIRST.format(root=str(ROOT), tests=str(ROOT / "tests"), shape_first=shape_first)
        result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120,
                                env={**os.environ, "PYTHONHASHSEED": seed}, check=True)
        digests.add(result.stdout.strip())
    assert len(digests) == 1


def test_joined_forms_copy_out_as_arabic_letters(tmp_path):
    # Glyphs without a character of their own carry the text they stand for
    # in the PDF's ToUnicode map, never a private code point.
    text = _pdftotext(_document(["مستشفى الأمل"]), tmp_path)
    assert not any(0xE000 <= ord(char) <= 0xF8FF for char in text)
    assert set("مستشفىالأل") <= set(unicodedata.normalize("NFKC", text))


def test_the_reshaper_is_gone():
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert "arabic-reshaper" not in pyproject and '"uharfbuzz>=' in pyproject
    source = "".join(path.read_text() for path in (ROOT / "signatory").rglob("*.py"))
    assert "arabic_reshaper" not in source


def test_a_typed_private_use_character_is_left_out():
    # The shaper keeps glyphs without a character there; a typed one must
    # not print one of them (an Arabic joined form in a Latin name).
    assert ts.script_runs("Jan\ue000 Peeters") == [(ts.SERIF, "Jan Peeters")]
    assert ts.script_runs("محمد\uf8ff علي") == [(ts.ARABIC, "محمد علي")]


# --- plain text without the parser ---------------------------------------------------------------------

@pytest.mark.parametrize("text", ["Wij geloven dat integratie werkt.", "  twee   spaties\nen een regel ", "Ayşe Yılmaz, Gent"])
def test_plain_text_is_the_fragment_reportlab_would_parse(text):
    style = ts.paragraph_style()
    ours, parsed = ts.BidiParagraph(text, style), Paragraph(text, style)
    assert ours.text == parsed.text
    assert [frag.__dict__ for frag in ours.frags] == [frag.__dict__ for frag in parsed.frags]


def test_text_with_markup_or_entities_is_still_parsed():
    paragraph = ts.BidiParagraph("<b>vet</b> &amp; recht", ts.paragraph_style())
    assert "".join(frag.text for frag in paragraph.frags) == "vet & recht"
    assert paragraph.frags[0].bold == 1
