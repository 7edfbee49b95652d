"""The document's front and back matter (issue 13, DESIGN §5): the title page
with the text's version, the addressee and the organiser's logo; a contents
page for long documents; the short head over the names and letter headings
only for long lists; the colophon with the real figures — on `render_pdf`
alone and through the database.
"""
from __future__ import annotations

import io
import re
from datetime import date, datetime

import pytest
from PIL import Image
from pypdf import PdfReader

from signatory.pdf.build import CONTENTS_FROM_PAGES, compile_document, estimated_pages, render_pdf
from signatory.pdf.columns import INDEX_THRESHOLD
from signatory.pdf.contract import Contribution, DocumentData, Signatory

ADDRESSEE = "Aan de leden van het Vlaams Parlement"


def _data(**overrides) -> DocumentData:
    fields = dict(
        title="Integratie: hoezo mislukt?",
        organiser="Minderhedenforum vzw",
        addressee=ADDRESSEE,
        place_date="Gent, 1 mei 2011",
        url="https://brieven.example/letters/integratie",
        signatory_count=12,
        unnamed_count=2,
        persons=[Signatory(name=f"Persoon {number}", place="Gent", index="P") for number in range(10)],
        created=datetime(2011, 5, 1, 22, 30),  # UTC: already 2 May in Brussels
        revision=35,
        text_version=1,
        confirmed_by_email=9,
        typed_in=3,
        organisation_count=4,
        organisations_verified=2,
        contribution_count=1,
        contributions=[Contribution(text="Omdat het moet.", name="Ayşe Yılmaz", place="Gent")],
    )
    fields.update(overrides)
    return DocumentData(**fields)


def _pages(pdf: bytes) -> list[str]:
    return [" ".join((page.extract_text() or "").split()) for page in PdfReader(io.BytesIO(pdf)).pages]


# --- the title page ----------------------------------------------------------------------------------

def test_the_title_page_shows_the_text_version_and_the_addressee():
    title_page = _pages(render_pdf(_data(), draft=False))[0]
    assert ADDRESSEE in title_page
    assert "Versie 1 van de tekst" in title_page
    assert "35" not in title_page  # the data's revision is not the text's version
    assert title_page.index("Integratie") < title_page.index(ADDRESSEE)


def test_the_title_page_in_english():
    title_page = _pages(render_pdf(_data(language="en", text_version=3), draft=False))[0]
    assert "Version 3 of the text" in title_page


def _png_logo() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (300, 100), (20, 90, 160)).save(buffer, format="PNG")
    return buffer.getvalue()


SVG_LOGO = (b'<svg xmlns="http://www.w3.org/2000/svg" width="120" height="40" viewBox="0 0 120 40">'
            b'<rect x="0" y="0" width="120" height="40" fill="#1a5aa0"/>'
            b'<circle cx="20" cy="20" r="12" fill="#ffffff"/></svg>')


def _title_page_images(pdf: bytes) -> list:
    page = PdfReader(io.BytesIO(pdf)).pages[0]
    objects = page["/Resources"].get("/XObject") or {}
    return [name for name, ref in objects.items() if ref.get_object().get("/Subtype") == "/Image"]


def test_the_organisers_logo_is_on_the_title_page():
    assert _title_page_images(render_pdf(_data(), draft=False)) == []
    with_logo = render_pdf(_data(logo=_png_logo(), logo_mime="image/png"), draft=False)
    assert len(_title_page_images(with_logo)) == 1
    assert render_pdf(_data(logo=_png_logo(), logo_mime="image/png"), draft=False) == with_logo


def test_an_svg_logo_is_drawn_and_a_broken_one_is_left_out():
    plain = PdfReader(io.BytesIO(render_pdf(_data(), draft=False))).pages[0].get_contents().get_data()
    svg = PdfReader(io.BytesIO(render_pdf(_data(logo=SVG_LOGO, logo_mime="image/svg+xml"), draft=False)))
    drawn = svg.pages[0].get_contents().get_data()
    assert b" re" in drawn and len(drawn) > len(plain)  # the rectangle, as vector paths
    broken = render_pdf(_data(logo=b"not an image", logo_mime="image/png"), draft=False)
    assert _pages(broken)[0] == _pages(render_pdf(_data(), draft=False))[0]


# --- the colophon ---------------------------------------------------------------------------------------

def test_the_colophon_gives_the_figures_and_how_to_check_the_digest():
    pages = _pages(render_pdf(_data(), draft=False))
    colophon = pages[-1]
    assert colophon.startswith("Colofon Dit document werd samengesteld")
    assert "9 handtekeningen werden online gezet en elk bevestigd" in colophon
    assert "3 handtekeningen werden door de organisatoren ingetikt van papieren of gemailde formulieren" in colophon
    assert "2 van de 4 organisaties die tekenden, werden door de organisatoren geverifieerd" in colophon
    assert "1 motiverende paragraaf werd door de organisatoren nagelezen" in colophon
    assert "samengesteld op 2 mei 2011" in colophon  # the data's day, in the letter's time zone
    assert "versie 1 van de tekst (gegevensrevisie 35)" in colophon
    assert "SHA-256" in colophon and "https://brieven.example/letters/integratie" in colophon
    assert "sha256sum document.pdf" in colophon and "Get-FileHash" in colophon
    assert "Van den Broeck staat onder de V" in colophon  # the collation note lives here now


def test_a_drafts_colophon_says_it_has_no_digest_yet():
    colophon = _pages(render_pdf(_data(), draft=True))[-1]
    assert "Dit is een ontwerp" in colophon and "sha256sum" not in colophon


def test_singular_figures_and_no_organisations():
    colophon = _pages(render_pdf(_data(confirmed_by_email=1, typed_in=0, organisation_count=0,
                                       organisations_verified=0), draft=False))[-1]
    assert "1 handtekening werd online gezet en bevestigd" in colophon
    assert "0 handtekeningen werden door de organisatoren ingetikt" in colophon
    assert "organisaties die tekenden" not in colophon


# --- the signatories' head and the letters --------------------------------------------------------------

def test_a_short_line_under_the_signatories_heading():
    page = next(page for page in _pages(render_pdf(_data(), draft=False)) if page.startswith("De ondertekenaars"))
    assert page.startswith("De ondertekenaars Ondertekend door 12 personen en organisaties. Personen Persoon 0")
    assert "Belgische gewoonte" not in page


def test_the_names_begin_right_under_the_head():
    from signatory.pdf.labels import labels_for
    from signatory.pdf.pages import DocumentTemplate

    doc = DocumentTemplate(io.BytesIO(), _data(), labels_for(_data()), False)
    head = next(frame for template in doc.pageTemplates if template.id == "columns-first"
                for frame in template.frames if frame.id == "head")
    # The heading (22 pt), its space (6 pt), one line (13 pt), the padding.
    assert head._height < 60


def _outline_titles(pdf: bytes) -> list[str]:
    titles = []

    def walk(items):
        for item in items:
            if isinstance(item, list):
                walk(item)
            else:
                titles.append(item.title)

    walk(PdfReader(io.BytesIO(pdf)).outline)
    return titles


def test_letters_of_the_alphabet_only_for_a_long_list():
    def persons(count):
        return [Signatory(name=f"{letter} Naam{number}", place="Gent", index=letter)
                for number, letter in enumerate(chr(ord("A") + n % 26) for n in range(count))]

    few = render_pdf(_data(persons=sorted(persons(INDEX_THRESHOLD), key=lambda s: s.index)), draft=False)
    assert "A" not in _outline_titles(few)
    many = render_pdf(_data(persons=sorted(persons(INDEX_THRESHOLD + 1), key=lambda s: s.index)), draft=False)
    assert {"A", "B", "Z"} <= set(_outline_titles(many))


# --- the contents page -----------------------------------------------------------------------------------

def _long_data() -> DocumentData:
    count = 3000
    return _data(
        signatory_count=count, unnamed_count=0,
        persons=(Signatory(name=f"Persoon {number:05d}", place="Gent") for number in range(count)),
        contribution_count=20,
        contributions=[Contribution(text="Omdat het moet. " * 30, name=f"Schrijver {n}") for n in range(20)],
    )


def test_a_long_document_has_a_contents_page_with_the_right_page_numbers():
    assert estimated_pages(_long_data()) > CONTENTS_FROM_PAGES
    compiled = compile_document(_long_data(), draft=False)
    pages = _pages(compiled.pdf)
    assert compiled.page_count > CONTENTS_FROM_PAGES
    contents = pages[1]
    assert contents.startswith("Inhoud ")
    numbers = {}
    rest = contents[len("Inhoud "):]
    for key, title in (("text", "Integratie: hoezo mislukt?"), ("signatories", "De ondertekenaars"),
                       ("paragraphs", "Motiverende paragrafen"), ("colophon", "Colofon")):
        match = re.match(re.escape(title) + r"[ .]*?(\d+) ", rest)
        assert match, (title, rest)
        numbers[key] = int(match.group(1))
        rest = rest[match.end():]
    # Each number is the page (counted from 1) its part begins on.
    assert pages[numbers["text"] - 1].startswith("Integratie: hoezo mislukt?")
    assert pages[numbers["signatories"] - 1].startswith("De ondertekenaars Ondertekend door")
    assert pages[numbers["paragraphs"] - 1].startswith("Motiverende paragrafen")
    assert pages[numbers["paragraphs"] - 2].startswith("Persoon")
    assert numbers["colophon"] == compiled.page_count
    # And each line links to its part.
    reader = PdfReader(io.BytesIO(compiled.pdf))
    links = [annotation.get_object() for annotation in reader.pages[1].get("/Annots") or []]
    assert len(links) == 4


def test_a_short_document_has_no_contents_page():
    pages = _pages(render_pdf(_data(), draft=False))
    assert not any(page.startswith("Inhoud") for page in pages)


# --- through the database ---------------------------------------------------------------------------------

from conftest import make_letter, make_signature, make_user  # noqa: E402


def test_the_figures_come_from_the_data(ctx):
    from signatory import moderation, paper, signing
    from signatory.extensions import db
    from signatory.pdf import store

    organiser = make_user()
    letter = make_letter("cijfers", addressee=ADDRESSEE)
    for number in range(3):
        make_signature(letter, first_name=f"Online{number}", email=f"online{number}@example.org")
    make_signature(letter, first_name="Onbevestigd", email="later@example.org", confirmed=False)
    verified = make_signature(letter, first_name="Jan", kind="organisation", organisation="Buurtwerk",
                              email="buurt@example.org")
    make_signature(letter, first_name="Els", kind="organisation", organisation="Sportclub",
                   email="sport@example.org")
    moderation.set_verified(verified, organiser, True)
    for number, source in enumerate(("paper", "email")):
        details = signing.SignatureDetails(first_name=f"Papier{number}", last_name="Peeters", kind="person",
                                           organisation="", function="", address="", email="", place="Gent",
                                           paragraph="", consent_name=True, consent_paragraph=False,
                                           consent_notify=False, language="nl")
        paper.enter_form(letter, details, source=source, received_on=date(2026, 1, 5), organiser=organiser)
    db.session.commit()

    data = store.document_data(letter)
    assert data.addressee == ADDRESSEE
    assert (data.confirmed_by_email, data.typed_in) == (5, 2)  # the unconfirmed one does not count
    assert (data.organisation_count, data.organisations_verified) == (2, 1)
    assert data.text_version == letter.version == 1
    colophon = _pages(compile_document(data, draft=True).pdf)[-1]
    assert "5 handtekeningen werden online gezet" in colophon
    assert "2 handtekeningen werden door de organisatoren ingetikt" in colophon
    assert "1 van de 2 organisaties die tekenden" in colophon
    assert ADDRESSEE in _pages(compile_document(store.document_data(letter), draft=True).pdf)[0]
