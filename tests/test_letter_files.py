"""Reading the file an organiser has: Markdown with and without front matter,
plain text, Word and OpenDocument built here, the seed letter with its paper
form, and malformed files with messages that say where."""
from __future__ import annotations

import io
from pathlib import Path

import pytest
from flask_babel import force_locale

from signatory.letter_files import INTRO, OMIT, TEXT, read_letter_file
from signatory.letters import LetterError

SEED = Path(__file__).resolve().parents[2] / "shared" / "seeds" / "integratie-hoezo-mislukt.txt"
if not SEED.exists():  # a worktree beside the checkout
    SEED = Path("/work/shared/seeds/integratie-hoezo-mislukt.txt")


@pytest.fixture
def app_context(sqlite_app):
    with sqlite_app.app_context():
        yield


def refusal(name: str, data: bytes | str, language: str = "nl") -> str:
    if isinstance(data, str):
        data = data.encode("utf-8")
    with force_locale(language):
        with pytest.raises(LetterError) as caught:
            read_letter_file(name, data).source()
        return str(caught.value)


def docx_bytes() -> bytes:
    from docx import Document

    document = Document()
    document.add_heading("Integratie: hoezo mislukt?", level=1)
    paragraph = document.add_paragraph("Wij zijn ")
    paragraph.add_run("benieuwd").bold = True
    paragraph.add_run(" naar de ")
    paragraph.add_run("antwoorden").italic = True
    paragraph.add_run(".")
    document.add_heading("Wat wij vragen", level=2)
    document.add_paragraph("ontmoeting", style="List Bullet")
    document.add_paragraph("dialoog", style="List Bullet")
    document.add_paragraph("Het moet van twee kanten komen.", style="Quote")
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def odt_bytes() -> bytes:
    from odf.opendocument import OpenDocumentText
    from odf.style import Style, TextProperties
    from odf.text import H, List, ListItem, P, Span

    document = OpenDocumentText()
    bold = Style(name="T1", family="text")
    bold.addElement(TextProperties(fontweight="bold"))
    italic = Style(name="T2", family="text")
    italic.addElement(TextProperties(fontstyle="italic"))
    quotations = Style(name="Quotations", family="paragraph")
    quote = Style(name="P1", family="paragraph", parentstylename="Quotations")
    document.styles.addElement(quotations)
    for style in (bold, italic, quote):
        document.automaticstyles.addElement(style)
    document.text.addElement(H(outlinelevel=1, text="Integratie: hoezo mislukt?"))
    paragraph = P(text="Wij zijn ")
    paragraph.addElement(Span(stylename=bold, text="benieuwd"))
    paragraph.addText(" naar de ")
    paragraph.addElement(Span(stylename=italic, text="antwoorden"))
    paragraph.addText(".")
    document.text.addElement(paragraph)
    document.text.addElement(H(outlinelevel=2, text="Wat wij vragen"))
    items = List()
    for word in ("ontmoeting", "dialoog"):
        item = ListItem()
        item.addElement(P(text=word))
        items.addElement(item)
    document.text.addElement(items)
    document.text.addElement(P(stylename=quote, text="Het moet van twee kanten komen."))
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


@pytest.mark.parametrize("name, make", [("brief.docx", docx_bytes), ("brief.odt", odt_bytes)])
def test_word_and_opendocument_keep_headings_emphasis_lists_and_quotes(app_context, name, make):
    letter_file = read_letter_file(name, make())
    source = letter_file.source()
    assert source.title == "Integratie: hoezo mislukt?", "the first heading is the title"
    assert "Integratie: hoezo" not in source.body, "and is not repeated in the text"
    assert "Wij zijn **benieuwd** naar de *antwoorden*." in source.body
    assert "## Wat wij vragen" in source.body
    assert "- ontmoeting\n- dialoog" in source.body
    assert "> Het moet van twee kanten komen." in source.body
    assert letter_file.where(letter_file.blocks[1]) == "alinea 2", "documents count paragraphs, not lines"


def test_markdown_without_front_matter_takes_its_first_line_as_title(app_context):
    source = read_letter_file("brief.md", b"# Laat de bib open\n\nWij vragen *u* om te tekenen.\n").source()
    assert source.title == "Laat de bib open"
    assert source.body == "Wij vragen *u* om te tekenen.\n"


def test_the_title_flag_wins_and_a_title_with_a_colon_just_works(app_context):
    text = "---\ntitle: Integratie: hoezo mislukt?\naddressee: Aan de leden van het Vlaams Parlement\ngoal: 500\n---\n\nDe tekst.\n"
    source = read_letter_file("brief.md", text.encode()).source()
    assert source.title == "Integratie: hoezo mislukt?"
    assert source.addressee == "Aan de leden van het Vlaams Parlement" and source.goal == 500
    flagged = read_letter_file("brief.md", text.encode(), title="Een andere titel").source()
    assert flagged.title == "Een andere titel"


def test_plain_text_is_unwrapped_and_never_read_as_markdown(app_context):
    text = (
        "Onze brief\n\nDit is een lange zin die de tekstverwerker\nafbrak, met een niet-\n"
        "gouvernementele inzet en *sterretjes* en <b>tags</b>.\n\n# geen kop\n\n- eerste punt\n- tweede\n  punt\n"
    )
    source = read_letter_file("brief.txt", text.encode()).source()
    from signatory.markup import to_html

    html = to_html(source.body)
    assert "tekstverwerker afbrak" in source.body and "niet-gouvernementele" in source.body
    assert "<em>" not in html and "<b>" not in html and "&lt;b&gt;" in html, "typed characters stay characters"
    assert "<h1>" not in html and "# geen kop" in html
    assert "<li>eerste punt</li>" in html and "<li>tweede punt</li>" in html, "bullet lines are a list"


def test_windows_1252_text_is_read(app_context):
    source = read_letter_file("brief.txt", "Brief\n\nWij zijn benieuwd naar ‘de antwoorden’ – reëel.".encode("cp1252")).source()
    assert "‘de antwoorden’ – reëel" in source.body


def test_the_seed_letter_the_call_to_sign_the_text_and_the_paper_form_cut(app_context):
    letter_file = read_letter_file(SEED.name, SEED.read_bytes())
    source = letter_file.source()
    assert source.title == "Integratie: hoezo mislukt?"
    assert source.subtitle == "Een gedeelde opinie n.a.v. het KMS FORUM van 12 mei 2011"
    assert source.intro.startswith("WERK MEE AAN EEN VERRIJKTE OPINIE")
    assert "Bedankt voor uw medewerking!" in source.intro and "Het is waar" not in source.intro
    assert source.body.startswith("Het is waar: Het volwaardig samenspel")
    assert "Aan doemscenario’s hebben we geen boodschap." in source.body
    assert "Tekstvoorstel: KMS" in source.body
    for form_part in ("VOORNAAM", "Handtekening", "bijgaand formulier", "ik geef toelating", "…"):
        assert form_part not in source.body, f"the paper form ({form_part}) is not part of the letter"
    cut = letter_file.blocks[letter_file.cut]
    assert cut.markdown.startswith("Onderschrijf deze tekst") and letter_file.where(cut) == "lijn 105"
    assert letter_file.blocks[letter_file.cut - 1].markdown.startswith("Tekstvoorstel"), "the text before the form stays"


def test_the_organisers_choices_win_over_the_suggestions(app_context):
    letter_file = read_letter_file(SEED.name, SEED.read_bytes())
    roles = [TEXT] * len(letter_file.blocks)
    roles[1] = INTRO
    roles[0] = OMIT
    source = letter_file.source(title="Integratie | hoezo mislukt?", subtitle="", roles=roles, cut=None)
    assert source.title == "Integratie | hoezo mislukt?" and source.subtitle == ""
    assert source.intro == "WERK MEE AAN EEN VERRIJKTE OPINIE"
    assert "VOORNAAM" in source.body, "keeping the whole file keeps the form (the organiser's choice)"


def test_a_letter_without_a_form_is_not_cut(app_context):
    text = "Titel\n\nEerste alinea over naam en adres van de vzw.\n\nTweede alinea.\n"
    letter_file = read_letter_file("brief.txt", text.encode())
    assert letter_file.cut is None
    assert "Tweede alinea." in letter_file.source().body


MALFORMED = {
    "unclosed front matter": ("brief.md", "---\ntitle: x\n\nTekst\n", "Lijn 1", "Line 1"),
    "unknown key": ("brief.md", "---\ntitle: x\n\nfoo: bar\n---\nTekst\n", "Lijn 4", "Line 4"),
    "unreadable front matter": ("brief.md", "---\ntitle: x\n  - [a\nbody\n---\nTekst\n", "Lijn 3", "Line 3"),
    "bad deadline": ("brief.md", "---\ntitle: x\ndeadline: morgen\n---\nTekst\n", "Lijn 3", "Line 3"),
    "bad goal": ("brief.md", "---\ntitle: x\n\ngoal: veel\n---\nTekst\n", "Lijn 4", "Line 4"),
    "bad time zone": ("brief.md", "---\ntimezone: Mars/Olympus\ntitle: x\n---\nTekst\n", "Lijn 2", "Line 2"),
    "bad language": ("brief.md", "---\ntitle: x\nlanguage: fr\n---\nTekst\n", "Lijn 3", "Line 3"),
    "title only": ("brief.md", "# Titel\n", "geen tekst", "no text"),
    "empty": ("brief.txt", "  \n\n", "geen tekst", "no text"),
    "not a docx": ("brief.docx", "dit is geen zip", "Word", "Word"),
    "not an odt": ("brief.odt", "dit is geen zip", "OpenDocument", "OpenDocument"),
    "old word": ("brief.doc", "x", ".docx", ".docx"),
    "pdf": ("brief.pdf", "%PDF-1.4", ".pdf", ".pdf"),
}


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_malformed_files_are_refused_in_the_organisers_language_saying_where(app_context, case):
    name, data, dutch, english = MALFORMED[case]
    assert dutch in refusal(name, data, "nl")
    assert english in refusal(name, data, "en")
    assert "yaml" not in refusal(name, data, "en").lower() or case == "unreadable front matter"


def test_a_zip_that_is_not_a_document_and_a_zip_bomb_are_refused(app_context):
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("word/document.xml", b"\0" * (60 * 1024 * 1024))
    assert "50 MB" in refusal("brief.docx", buffer.getvalue())
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("hello.txt", b"hallo")
    assert "Word" in refusal("brief.docx", buffer.getvalue())


def test_control_characters_are_dropped(app_context):
    source = read_letter_file("brief.txt", b"Titel\x00\n\nTekst\x07 met NUL\x00.\n").source()
    assert source.title == "Titel" and source.body == "Tekst met NUL.\n"


def test_flask_letters_import_reads_every_kind_of_file(app, runner, tmp_path):
    from sqlalchemy import select

    from signatory.extensions import db
    from signatory.models import Letter

    seed = runner.invoke(args=["letters", "import", str(SEED), "--slug", "seed", "--open"])
    assert seed.exit_code == 0, seed.output
    assert "created: seed — Integratie: hoezo mislukt? [open]" in seed.output
    assert "cut from lijn 105 on, a paper reply form" in seed.output and "call to sign: 6 part(s)" in seed.output
    titled = runner.invoke(args=["letters", "import", str(SEED), "--slug", "titled", "--title", "Integratie: hoezo mislukt? (2011)"])
    assert titled.exit_code == 0 and "Integratie: hoezo mislukt? (2011)" in titled.output
    for name, data in (("brief.docx", docx_bytes()), ("brief.odt", odt_bytes())):
        path = tmp_path / name
        path.write_bytes(data)
        result = runner.invoke(args=["letters", "import", str(path), "--slug", name.replace(".", "-")])
        assert result.exit_code == 0, result.output
    colon = tmp_path / "colon.md"
    colon.write_text("---\ntitle: Integratie: hoezo mislukt?\n---\n\nDe tekst.\n", encoding="utf-8")
    assert runner.invoke(args=["letters", "import", str(colon), "--slug", "colon"]).exit_code == 0
    with app.app_context():
        letters = {letter.slug: letter for letter in db.session.scalars(select(Letter))}
        assert "VOORNAAM" not in letters["seed"].body and letters["seed"].intro.startswith("WERK MEE")
        assert "- ontmoeting" in letters["brief-docx"].body and "*antwoorden*" in letters["brief-odt"].body
        assert letters["colon"].title == "Integratie: hoezo mislukt?"


def test_flask_letters_import_refuses_a_malformed_file_in_one_line_that_says_where(app, runner, tmp_path):
    path = tmp_path / "kapot.md"
    path.write_text("---\ntitle: x\ndeadline: morgen\n---\nTekst\n", encoding="utf-8")
    result = runner.invoke(args=["letters", "import", str(path), "--slug", "kapot"])
    assert result.exit_code != 0 and "Traceback" not in result.output
    assert "kapot.md: Lijn 3: De deadline is een datum als JJJJ-MM-DD" in result.output
