"""Exports: CSV (RFC 4180, UTF-8 with BOM, formulas neutralised), the same
list as .xlsx, and the list of signatories to notify by post."""
from __future__ import annotations

import csv
import io
from datetime import date

import pytest
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


@pytest.fixture
def filled(app, letter, admin, auth):
    """Two online signatures (one hostile to spreadsheets), one on paper; the
    admin logged in."""
    with app.app_context():
        make_signature(letter, email="a@example.org", **HOSTILE, paragraph='Regel één, "citaat"\nRegel twee; ş ğ ı ł ë')
        make_signature(letter, email="b@example.org", first_name="Ayşe", last_name="Yılmaz", function="", place="")
        paper.enter_form(
            letter.row(),
            SignatureDetails(first_name="Jan", last_name="Per Post", address="Kerkstraat 1\n9000 Gent", consent_notify=True, consent_name=True),
            source="paper", received_on=date.today(), organiser=db.session.get(User, admin.id),
        )
        db.session.commit()
    auth.login(admin)


def test_csv_is_rfc4180_with_bom_and_no_formulas(client, filled):
    response = client.get("/organise/letters/brief/signatures.csv")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    body = response.data
    assert body.startswith(b"\xef\xbb\xbf")
    text = body.decode("utf-8")[1:]
    assert "\r\n" in text
    rows = list(csv.reader(io.StringIO(text, newline="")))
    header, *records = rows
    assert header[:5] == ["id", "status", "kind", "first_name", "last_name"]
    assert len(records) == 3
    by_name = {row[header.index("last_name")]: row for row in records}
    hostile = by_name["'+Tweede"]
    assert hostile[header.index("first_name")] == "'=HYPERLINK(\"http://evil\")"
    assert hostile[header.index("function")] == "'-1+1"
    assert hostile[header.index("place")] == "'@SUM(A1)"
    assert hostile[header.index("paragraph")] == 'Regel één, "citaat"\nRegel twee; ş ğ ı ł ë'
    plain = by_name["Yılmaz"]
    assert plain[header.index("first_name")] == "Ayşe"
    assert plain[header.index("function")] == ""  # empty stays empty
    assert plain[header.index("consent_name")] == "yes"
    posted = by_name["Per Post"]
    assert posted[header.index("source")] == "paper" and posted[header.index("email")] == ""


def test_neutralise_every_formula_start():
    for start in ("=", "+", "-", "@", "\t", "\r"):
        assert exports.neutralise(f"{start}1") == f"'{start}1"
    assert exports.neutralise("") == ""
    assert exports.neutralise("Gent") == "Gent"


def test_xlsx_has_the_same_rows_as_text(client, filled):
    response = client.get("/organise/letters/brief/signatures.xlsx")
    assert response.status_code == 200
    workbook = load_workbook(io.BytesIO(response.data))
    sheet = workbook.active
    values = [[cell.value for cell in row] for row in sheet.iter_rows()]
    header = values[0]
    assert header[3] == "first_name"
    names = {row[header.index("last_name")] for row in values[1:]}
    assert names == {"'+Tweede", "Yılmaz", "Per Post"}
    for row in sheet.iter_rows(min_row=2):
        for cell in row:
            assert cell.data_type in ("s", "n") and not (isinstance(cell.value, str) and cell.value.startswith("="))


def test_postal_notify_list(client, filled):
    response = client.get("/organise/letters/brief/notify-by-post.csv")
    rows = list(csv.reader(io.StringIO(response.data.decode("utf-8-sig"), newline="")))
    assert rows[0] == ["id", "first_name", "last_name", "organisation", "function", "address", "source"]
    assert [row[2] for row in rows[1:]] == ["Per Post"]
    assert rows[1][5] == "Kerkstraat 1\n9000 Gent"
    xlsx = client.get("/organise/letters/brief/notify-by-post.xlsx")
    assert xlsx.status_code == 200 and xlsx.data[:2] == b"PK"
