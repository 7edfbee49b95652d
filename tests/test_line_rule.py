"""The ten-line rule (DESIGN §4), decided by the document's typesetter."""
from __future__ import annotations

import pytest
from reportlab.pdfbase.pdfmetrics import stringWidth

from signatory.pdf import typography
from signatory.pdf.line_rule import MAX_PARAGRAPH_LINES, count_lines, line_verdict

PROSE = (
    "Integratie is geen eenrichtingsverkeer maar werk voor de hele samenleving. Wie hier "
    "opgroeit, werkt, leert en samenleeft, draagt bij aan een gemeenschap die groter is dan "
    "de som van haar delen. Wij vragen daarom beleid dat mensen kansen geeft in plaats van "
    "ze te wantrouwen, dat investeert in taal, onderwijs en werk, en dat erkent hoeveel er "
    "elke dag al lukt in onze straten, scholen, sportclubs en buurthuizen. Het verhaal van "
    "de mislukte integratie doet onrecht aan al die mensen die elke dag bouwen aan een "
    "gedeelde toekomst, en het maakt het moeilijker om de echte problemen aan te pakken: "
    "discriminatie op de arbeidsmarkt, segregatie in het onderwijs en armoede die zich van "
    "generatie op generatie doorgeeft. Wij zijn benieuwd naar de antwoorden van de politiek "
    "en hopen op een debat dat recht doet aan de werkelijkheid in plaats van aan de angst."
)


def text_of(lines: int, *, tight: bool = True) -> str:
    """Prose that takes exactly `lines` lines; with tight=True its last line
    ends within a few characters of the margin."""
    words = (PROSE + " " + PROSE).split()
    best = ""
    for end in range(1, len(words) + 1):
        candidate = " ".join(words[:end])
        if count_lines(candidate) > lines:
            break
        best = candidate
    assert count_lines(best) == lines
    if tight:
        _remaining = typography.FRAME_INNER_WIDTH - _last_line_width(best)
        assert _remaining < stringWidth("nnnnnnnnnnnn", typography.SERIF, typography.BODY_SIZE), "not tight"
    return best


def _last_line_width(text: str) -> float:
    paragraph = typography.build_paragraph(text)
    paragraph.wrap(typography.FRAME_INNER_WIDTH, 1e9)
    last = paragraph.blPara.lines[-1]
    return typography.FRAME_INNER_WIDTH - last[0] if isinstance(last, tuple) else last.currentWidth


@pytest.mark.parametrize("lines", [9, 10])
def test_prose_up_to_ten_lines_fits(lines):
    text = text_of(lines)
    assert line_verdict(text) == (lines, True)


def test_one_word_more_than_ten_lines_is_refused():
    ten = text_of(10)
    eleven = ten + " " + (PROSE + " " + PROSE).split()[len(ten.split())]
    assert count_lines(eleven) == 11
    assert line_verdict(eleven) == (11, False)


def test_the_body_measure_holds_75_to_90_characters():
    ten = text_of(10)
    assert 700 <= len(ten) <= 900, len(ten)


def test_typed_line_breaks_and_blank_lines_count():
    assert count_lines("een\ntwee\ndrie") == 3
    assert count_lines("een\n\ndrie") == 3
    assert line_verdict("\n".join(["regel"] * 10)) == (10, True)
    assert line_verdict("\n".join(["regel"] * 11)) == (11, False)
    assert line_verdict("a\n\n\n\n\n\n\n\n\n\n\nb") == (12, False)
    assert count_lines("\n\n  tekst  \n\n") == 1, "surrounding blank lines are trimmed"


def test_hard_caps_guard_the_server():
    lines, fits = line_verdict("woord " * 5000)
    assert not fits and lines > MAX_PARAGRAPH_LINES
    lines, fits = line_verdict("\n" * 10_000 + "x" + "\ny" * 10_000)
    assert not fits


def test_markup_and_other_scripts_are_measured_as_printed():
    assert count_lines("<b>vet</b> &amp; <para>") == 1
    assert count_lines("محمد علي يكتب رسالة") == 1
    assert count_lines("Ελληνικά Кириллица ሰላም şğıłë") == 1


def test_the_form_refuses_eleven_lines_and_says_how_many(signer):
    eleven = text_of(10) + " " + "aanvulling " * 6
    lines = count_lines(eleven)
    assert lines == 11
    response = signer.sign(paragraph=eleven)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "11 lijnen" in html
    assert eleven.split()[-3] in html, "the paragraph comes back as typed"


def test_the_form_accepts_exactly_ten_tight_lines(signer):
    assert signer.sign(paragraph=text_of(10)).status_code == 303


def test_the_estimate_endpoint_agrees_with_the_server(sqlite_app):
    client = sqlite_app.test_client()
    for lines in (9, 10, 11):
        text = text_of(lines, tight=lines != 11) if lines <= 10 else text_of(10) + " " + "aanvulling " * 6
        answer = client.post("/api/paragraph-lines", json={"text": text}).get_json()
        assert answer == {"lines": count_lines(text), "max": 10, "fits": count_lines(text) <= 10}
    assert client.post("/api/paragraph-lines", data="nonsense").get_json()["lines"] == 0
