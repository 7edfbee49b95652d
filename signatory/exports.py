"""Signatory lists for organisers: CSV (RFC 4180, UTF-8 with BOM), an .xlsx
workbook (a Flemish Excel opens a comma-separated file in one column), and
the list of signatories to notify by post.

Every cell a spreadsheet would read as a formula is prefixed with `'`; empty
cells stay empty; everything else is exported as typed. Every download is
recorded in the audit log by the function that makes it.
"""
from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from datetime import date, datetime

from sqlalchemy import select

from . import audit
from .extensions import db
from .models import Letter, Signature
from .states import SignatureStatus

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

# (column heading, how to read it from a signature)
COLUMNS: list[tuple[str, callable]] = [
    ("id", lambda s: s.id),
    ("status", lambda s: s.status),
    ("kind", lambda s: s.kind),
    ("first_name", lambda s: s.first_name),
    ("last_name", lambda s: s.last_name),
    ("organisation", lambda s: s.organisation),
    ("function", lambda s: s.function),
    ("place", lambda s: s.place),
    ("email", lambda s: s.email),
    ("address", lambda s: s.address),
    ("consent_name", lambda s: s.consent_name),
    ("consent_paragraph", lambda s: s.consent_paragraph),
    ("consent_notify", lambda s: s.consent_notify),
    ("paragraph", lambda s: s.paragraph),
    ("paragraph_status", lambda s: s.paragraph_status),
    ("paragraph_reason", lambda s: s.paragraph_reason),
    ("first_signatory", lambda s: s.first_signatory),
    ("verified_at", lambda s: s.verified_at),
    ("source", lambda s: s.source),
    ("received_on", lambda s: s.received_on),
    ("language", lambda s: s.language),
    ("letter_version", lambda s: s.letter_version),
    ("created_at", lambda s: s.created_at),
    ("confirmed_at", lambda s: s.confirmed_at),
    ("withdrawn_at", lambda s: s.withdrawn_at),
    ("rejected_at", lambda s: s.rejected_at),
    ("rejection_reason", lambda s: s.rejection_reason),
]

POSTAL_COLUMNS: list[tuple[str, callable]] = [
    ("id", lambda s: s.id),
    ("first_name", lambda s: s.first_name),
    ("last_name", lambda s: s.last_name),
    ("organisation", lambda s: s.organisation),
    ("function", lambda s: s.function),
    ("address", lambda s: s.address),
    ("source", lambda s: s.source),
]


def cell_text(value) -> str:
    """A value as the text of one cell."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, datetime):
        return value.replace(microsecond=0).isoformat(sep=" ") + "Z" if value.tzinfo is None else value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def neutralise(text: str) -> str:
    """Prefix a would-be formula with `'` (CSV injection)."""
    if text and text.startswith(FORMULA_STARTS):
        return "'" + text
    return text


def signatures_for_export(letter: Letter | int, batch: int = 1000) -> Iterator[Signature]:
    """Every signature of a letter but erased shells, oldest first, read in
    batches (a streamed response may outlive the letter's session)."""
    letter_id = letter if isinstance(letter, int) else letter.id
    last_id = 0
    while True:
        rows = db.session.scalars(
            select(Signature)
            .where(
                Signature.letter_id == letter_id,
                Signature.status != SignatureStatus.ERASED,
                Signature.id > last_id,
            )
            .order_by(Signature.id)
            .limit(batch)
        ).all()
        if not rows:
            return
        yield from rows
        last_id = rows[-1].id


def postal_notify_signatures(letter: Letter) -> list[Signature]:
    """Counted signatories who asked to be notified but have no e-mail
    address, only a postal one: for a mailing by post."""
    return list(
        db.session.scalars(
            select(Signature)
            .where(
                Signature.letter_id == letter.id,
                Signature.status == SignatureStatus.CONFIRMED,
                Signature.consent_notify.is_(True),
                Signature.email.is_(None) | (Signature.email == ""),
                Signature.address != "",
            )
            .order_by(Signature.sort_key, Signature.id)
        )
    )


def rows(signatures: Iterable[Signature], columns=COLUMNS) -> Iterator[list[str]]:
    yield [name for name, _get in columns]
    for signature in signatures:
        yield [neutralise(cell_text(get(signature))) for _name, get in columns]


def csv_chunks(signatures: Iterable[Signature], columns=COLUMNS) -> Iterator[bytes]:
    """RFC 4180: comma-separated, CRLF line ends, quotes doubled; UTF-8 with
    a byte-order mark so that spreadsheets recognise the encoding."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, dialect="excel", lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    yield "\ufeff".encode()
    for count, row in enumerate(rows(signatures, columns), 1):
        writer.writerow(row)
        if count % 500 == 0:
            yield buffer.getvalue().encode("utf-8")
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode("utf-8")


def csv_bytes(signatures: Iterable[Signature], columns=COLUMNS) -> bytes:
    return b"".join(csv_chunks(signatures, columns))


_ILLEGAL_XLSX = {c: " " for c in range(32) if c not in (9, 10, 13)}


def xlsx_bytes(signatures: Iterable[Signature], columns=COLUMNS, title: str = "signatures") -> bytes:
    """The same list as an Excel workbook (every cell as text, formulas
    neutralised the same way)."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=title[:31])
    for row in rows(signatures, columns):
        cells = []
        for text in row:
            if not text:
                cells.append(None)  # empty stays empty
                continue
            cell = WriteOnlyCell(sheet, value=text.translate(_ILLEGAL_XLSX))
            cell.data_type = "s"  # text, never a formula or a number
            cells.append(cell)
        sheet.append(cells)
    output = io.BytesIO()
    workbook.save(output)
    return output.getvalue()


# --- the downloads, each audited --------------------------------------------------------

def signatures_csv(letter: Letter, *, by: audit.Actor) -> Iterator[bytes]:
    """Every signature as CSV, read lazily while it is sent; audited at once,
    so the entry can be committed before the rows are read."""
    audit.record("export.csv", by=by, letter=letter)
    return csv_chunks(signatures_for_export(letter.id))


def signatures_xlsx(letter: Letter, *, by: audit.Actor) -> bytes:
    body = xlsx_bytes(signatures_for_export(letter), COLUMNS)
    audit.record("export.xlsx", by=by, letter=letter)
    return body


def postal_notify_csv(letter: Letter, *, by: audit.Actor) -> bytes:
    body = csv_bytes(postal_notify_signatures(letter), POSTAL_COLUMNS)
    audit.record("export.postal_notify", by=by, letter=letter)
    return body


def postal_notify_xlsx(letter: Letter, *, by: audit.Actor) -> bytes:
    body = xlsx_bytes(postal_notify_signatures(letter), POSTAL_COLUMNS, title="per post")
    audit.record("export.postal_notify", by=by, letter=letter)
    return body
