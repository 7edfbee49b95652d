"""Exports as a Flemish organiser's spreadsheet expects them (DESIGN §6):
headers in the organiser's language, values in words, times in the letter's
time zone; CSV with `;` for Dutch and `,` for English, UTF-8 with BOM, no
cell that starts a formula whatever the separator; XLSX with real dates,
widths, a frozen header and an autofilter; the list to notify by post."""
from __future__ import annotations

import csv
import io
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings, strategies as st
from openpyxl import load_workbook

from conftest import make_signature
from signatory import exports, paper
from signatory.extensions import db
from signatory.models import User
from signatory.signing import SignatureDetails

HOSTILE = {
    "first_name": "=HYPERLINK(\"http://evil\")",
    "last_name": "+Tweede",
    "function": "-1+1",
    "place": "@SUM(A1)",
}
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


@pytest.fixture
def filled(app, letter, admin, auth):
    """Two online signatures (one hostile to spreadsheets), one on paper; the
    admin logged in."""
    with app.app_context():
        hostile = make_signature(letter, email="a@example.org", **HOSTILE, paragraph='Regel één, "citaat"\nRegel twee; ş ğ ı ł ë')
        make_signature(letter, email="b@example.org", first_name="Ayşe", last_name="Yılmaz", function="", place="X;=1+1;Y", consent_notify=False)
        paper.enter_form(
            letter.row(),
            SignatureDetails(first_name="Jan", last_name="Per Post", address="Kerkstraat 1\n9000 Gent", consent_notify=True, consent_name=True),
            source="paper", received_on=date(2026, 6, 3), organiser=db.session.get(User, admin.id),
        )
        # A summer evening in Brussels: 21:30 UTC is 23:30 there.
        hostile.created_at = datetime(2026, 6, 1, 21, 30)
        db.session.commit()
    auth.login(admin)


def _csv_rows(body: bytes, delimiter: str) -> list[list[str]]:
    assert body.startswith(b"\xef\xbb\xbf")
    return list(csv.reader(io.StringIO(body.decode("utf-8")[1:], newline=""), delimiter=delimiter))


def test_dutch_csv_splits_on_semicolons_with_dutch_headers_and_words(client, filled):
    response = client.get("/organise/letters/brief/signatures.csv")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    assert "\r\n" in response.data.decode("utf-8")
    header, *records = _csv_rows(response.data, ";")
    assert header[:5] == ["Nummer", "Status", "Ondertekend als", "Voornaam", "Familienaam"]
    assert "E-mailadres" in header and "Getekend op" in header
    assert len(records) == 3
    column = {name: index for index, name in enumerate(header)}
    by_name = {row[column["Familienaam"]]: row for row in records}
    hostile = by_name["'+Tweede"]
    assert hostile[column["Voornaam"]] == "'=HYPERLINK(\"http://evil\")"
    assert hostile[column["Functie"]] == "'-1+1"
    assert hostile[column["Gemeente"]] == "'@SUM(A1)"
    assert hostile[column["Motiverende paragraaf"]] == 'Regel één, "citaat"\nRegel twee; ş ğ ı ł ë'
    assert hostile[column["Status"]] == "bevestigd"
    assert hostile[column["Ondertekend als"]] == "persoon"
    assert hostile[column["Getekend op"]] == "2026-06-01 23:30:00"  # the letter's time, not UTC
    plain = by_name["Yılmaz"]
    assert plain[column["Voornaam"]] == "Ayşe"
    assert plain[column["Functie"]] == ""  # empty stays empty
    assert plain[column["Naam publiceren"]] == "ja"
    assert plain[column["Verwittigen bij publicatie"]] == "nee"
    assert plain[column["Gemeente"]] == "X;'=1+1;Y"
    posted = by_name["Per Post"]
    assert posted[column["Bron"]] == "papier" and posted[column["E-mailadres"]] == ""
    assert posted[column["Ontvangen op"]] == "2026-06-03"


def test_english_csv_splits_on_commas_with_english_headers(client, filled):
    client.set_cookie("lang", "en")
    response = client.get("/organise/letters/brief/signatures.csv")
    header, *records = _csv_rows(response.data, ",")
    assert header[:5] == ["Number", "Status", "Signed as", "First name", "Surname"]
    column = {name: index for index, name in enumerate(header)}
    statuses = {row[column["Status"]] for row in records}
    assert statuses == {"confirmed"}
    assert {row[column["Source"]] for row in records} == {"online", "paper"}


def test_no_cell_starts_a_formula_whatever_the_separator(client, filled):
    """Split the produced file on `,`, `;` and tab, as a spreadsheet might:
    no cell of any split starts with a formula character."""
    for language in ("nl", "en"):
        client.set_cookie("lang", language)
        body = client.get("/organise/letters/brief/signatures.csv").data
        for delimiter in (",", ";", "\t"):
            cells = [cell for row in _csv_rows(body, delimiter) for cell in row]
            assert cells and not [cell for cell in cells if cell.startswith(FORMULA_STARTS)], (language, delimiter)
            naive = [cell for line in body.decode("utf-8-sig").split("\r\n") for cell in line.split(delimiter)]
            assert not [cell for cell in naive if cell.lstrip('"').startswith(FORMULA_STARTS)], (language, delimiter)


HOSTILE_TEXT = st.text(alphabet=st.sampled_from(list('=+-@\t\r\n,;" aZ1\'')), max_size=24)


@settings(max_examples=300, deadline=None)
@given(cells=st.lists(HOSTILE_TEXT, min_size=1, max_size=4), written=st.sampled_from([",", ";"]))
def test_formula_safety_holds_for_any_text_and_any_split(cells, written):
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=written, lineterminator="\r\n").writerow([exports.csv_text(c) for c in cells])
    produced = buffer.getvalue()
    for delimiter in (",", ";", "\t"):
        for row in csv.reader(io.StringIO(produced, newline=""), delimiter=delimiter):
            assert not [cell for cell in row if cell.startswith(FORMULA_STARTS)]
        for line in produced.split("\r\n"):
            assert not [cell for cell in line.split(delimiter) if cell.lstrip('"').startswith(FORMULA_STARTS)]
    # Read back on the separator it was written with, only the marks differ.
    (row,) = csv.reader(io.StringIO(produced, newline=""), delimiter=written)
    assert [cell.replace("'", "") for cell in row] == [cell.replace("'", "") for cell in cells]


def test_neutralise_every_formula_start():
    for start in FORMULA_STARTS:
        assert exports.neutralise(f"{start}1") == f"'{start}1"
        assert exports.neutralise_everywhere(f"a;{start}1") == f"a;'{start}1"
    assert exports.neutralise("") == ""
    assert exports.neutralise_everywhere("Gent, Sint-Amandsberg") == "Gent, Sint-Amandsberg"


def test_xlsx_is_a_real_table_in_the_organisers_language(client, filled):
    response = client.get("/organise/letters/brief/signatures.xlsx")
    assert response.status_code == 200
    workbook = load_workbook(io.BytesIO(response.data))
    sheet = workbook.active
    assert sheet.title == "handtekeningen"
    values = [[cell.value for cell in row] for row in sheet.iter_rows()]
    header = values[0]
    assert header[:5] == ["Nummer", "Status", "Ondertekend als", "Voornaam", "Familienaam"]
    column = {name: index for index, name in enumerate(header)}
    assert sheet.freeze_panes == "A2"
    assert sheet.auto_filter.ref == f"A1:{sheet.cell(1, len(header)).column_letter}4"
    assert sheet.column_dimensions["N"].width >= 50  # the paragraph column is wide
    assert sheet.column_dimensions["A"].width < sheet.column_dimensions["I"].width
    by_name = {row[column["Familienaam"]]: row for row in values[1:]}
    assert set(by_name) == {"'+Tweede", "Yılmaz", "Per Post"}
    hostile = by_name["'+Tweede"]
    assert hostile[column["Status"]] == "bevestigd"
    assert hostile[column["Naam publiceren"]] == "ja"
    assert isinstance(hostile[column["Nummer"]], int)
    assert hostile[column["Getekend op"]] == datetime(2026, 6, 1, 23, 30)  # Brussels time, a real date
    assert by_name["Per Post"][column["Ontvangen op"]] == datetime(2026, 6, 3)
    assert by_name["Per Post"][column["Bron"]] == "papier"
    created = sheet.cell(row=2, column=column["Getekend op"] + 1)
    assert created.is_date and "dd/mm/yyyy" in created.number_format
    assert sheet.cell(row=1, column=1).font.bold
    for row in sheet.iter_rows(min_row=2):
        for cell in row:
            assert cell.data_type in ("s", "n", "d") and not (isinstance(cell.value, str) and cell.value.startswith("="))


def test_xlsx_in_english(client, filled):
    client.set_cookie("lang", "en")
    sheet = load_workbook(io.BytesIO(client.get("/organise/letters/brief/signatures.xlsx").data)).active
    header = [cell.value for cell in sheet[1]]
    assert header[:5] == ["Number", "Status", "Signed as", "First name", "Surname"]
    assert {row[1] for row in sheet.iter_rows(min_row=2, values_only=True)} == {"confirmed"}


def test_local_time_follows_the_letters_zone():
    assert exports.local_time(datetime(2026, 1, 15, 12, 0), ZoneInfo("Europe/Brussels")) == datetime(2026, 1, 15, 13, 0)
    assert exports.local_time(datetime(2026, 7, 15, 12, 0), ZoneInfo("America/New_York")) == datetime(2026, 7, 15, 8, 0)


def test_postal_notify_list(client, filled):
    response = client.get("/organise/letters/brief/notify-by-post.csv")
    rows = _csv_rows(response.data, ";")
    assert rows[0] == ["Nummer", "Voornaam", "Familienaam", "Organisatie", "Functie", "Postadres", "Bron"]
    assert [row[2] for row in rows[1:]] == ["Per Post"]
    assert rows[1][5] == "Kerkstraat 1\n9000 Gent"
    assert rows[1][6] == "papier"
    xlsx = client.get("/organise/letters/brief/notify-by-post.xlsx")
    assert xlsx.status_code == 200 and xlsx.data[:2] == b"PK"
    sheet = load_workbook(io.BytesIO(xlsx.data)).active
    assert sheet.title == "per post" and sheet.freeze_panes == "A2"
