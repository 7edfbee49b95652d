"""Signatory lists for organisers, as a Flemish organiser's spreadsheet
expects them (DESIGN §6): headers in the organiser's language, values in
words ("bevestigd", "ja"), times in the letter's time zone.

- CSV: UTF-8 with a byte-order mark, `;` between fields for Dutch (a Flemish
  Excel splits on `;`), `,` for English, CRLF line ends, quotes doubled.
- XLSX (openpyxl): real dates and numbers, column widths, a frozen header
  row and an autofilter, every text cell stored as text.
- The list of signatories to notify by post, in both forms.

Formulas: no cell may start one, whatever separator a spreadsheet splits the
CSV on. A signer's `X;=1+1;Y` is one cell when split on `,` but three when
split on `;`, so a `'` goes before every would-be formula start at the
beginning of a cell *and* after every `,`, `;`, tab, CR or line break inside
it (a paragraph's line that starts with "- " reads "'- " in the CSV; the
workbook keeps it as typed, its cells are text and never split).

Every download is recorded in the audit log by the function that makes it.
"""
from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from . import audit, labels
from .extensions import db
from .models import Letter, Signature
from .states import SignatureStatus

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
SEPARATORS = {"nl": ";", "en": ","}

# Where a cell may begin: the start of the text, or after any character a
# spreadsheet may split on. A would-be formula there gets a `'`, looking
# through the quotes a reader strips; so does a split character that ends
# the text, since a misaligned reader opens a quoted cell at the writer's
# closing quote and runs it into the line end that follows.
_CELL_START = r"(?:^|(?<=[,;\t\r\n]))"
_FORMULA_AT_A_CELL_START = re.compile(_CELL_START + r'(?="*[=+\-@\t\r])|(?<=[,;\t\r\n])(?="*$)')


@dataclass(frozen=True)
class Column:
    key: str
    heading: object  # a lazy string: translated when the export is made
    get: Callable[[Signature], object]
    width: int = 14  # in characters, for the workbook


def _field(key: str, width: int = 14, heading=None) -> Column:
    return Column(key, heading if heading is not None else labels.FIELD[key], lambda s: getattr(s, key), width)


COLUMNS: list[Column] = [
    Column("id", _l("Nummer"), lambda s: s.id, 9),
    _field("status", 13),
    _field("kind", 13),
    _field("first_name", 16),
    _field("last_name", 18),
    _field("organisation", 24),
    _field("function", 18),
    _field("place", 16),
    _field("email", 28),
    _field("address", 30),
    _field("consent_name", 11),
    _field("consent_paragraph", 11),
    _field("consent_notify", 11),
    _field("paragraph", 60),
    _field("paragraph_status", 16),
    _field("paragraph_reason", 24),
    _field("first_signatory", 11),
    Column("verified_at", _l("Organisatie nagekeken op"), lambda s: s.verified_at, 17),
    _field("source", 10),
    Column("received_on", _l("Ontvangen op"), lambda s: s.received_on, 12),
    Column("language", _l("Taal"), lambda s: s.language, 12),
    Column("letter_version", _l("Versie van de tekst"), lambda s: s.letter_version, 9),
    Column("created_at", _l("Getekend op"), lambda s: s.created_at, 17),
    Column("confirmed_at", _l("Bevestigd op"), lambda s: s.confirmed_at, 17),
    Column("withdrawn_at", _l("Ingetrokken op"), lambda s: s.withdrawn_at, 17),
    Column("rejected_at", _l("Geweigerd op"), lambda s: s.rejected_at, 17),
    Column("rejection_reason", _l("Reden van weigering"), lambda s: s.rejection_reason, 24),
]

POSTAL_COLUMNS: list[Column] = [
    Column("id", _l("Nummer"), lambda s: s.id, 9),
    _field("first_name", 16),
    _field("last_name", 18),
    _field("organisation", 24),
    _field("function", 18),
    _field("address", 36),
    _field("source", 10),
]


@dataclass(frozen=True)
class ExportSettings:
    """What a list depends on besides its rows: the letter's time zone and
    the organiser's language."""

    zone: ZoneInfo
    language: str = "nl"

    @classmethod
    def for_letter(cls, letter: Letter, language: str) -> ExportSettings:
        return cls(zone=ZoneInfo(letter.timezone or "Europe/Brussels"), language=language if language in SEPARATORS else "nl")

    @property
    def separator(self) -> str:
        return SEPARATORS[self.language]


def local_time(moment: datetime, zone: ZoneInfo) -> datetime:
    """A stored UTC moment as the letter's wall-clock time (a spreadsheet
    has no time zones: the value is naive)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(zone).replace(tzinfo=None, microsecond=0)


def typed_value(column: Column, signature: Signature, settings: ExportSettings):
    """The cell's value: a number, a date, a local time, or words."""
    value = column.get(signature)
    if isinstance(value, datetime):
        return local_time(value, settings.zone)
    if isinstance(value, (date, int)) and not isinstance(value, bool):
        return value
    return labels.in_words(column.key, value)


def neutralise(text: str) -> str:
    """Prefix a would-be formula at the start of a cell with `'`."""
    if text and text.startswith(FORMULA_STARTS):
        return "'" + text
    return text


def neutralise_everywhere(text: str) -> str:
    """Prefix a would-be formula with `'` wherever a cell may begin when a
    spreadsheet splits on `,`, `;` or tab — not only at the start."""
    return _FORMULA_AT_A_CELL_START.sub("'", text)


def csv_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, date):
        return value.isoformat()
    return neutralise_everywhere(str(value))


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


def headings(columns: list[Column]) -> list[str]:
    return [str(column.heading) for column in columns]


def csv_chunks(signatures: Iterable[Signature], settings: ExportSettings, columns=COLUMNS) -> Iterator[bytes]:
    """The list as CSV, in chunks for a streamed response."""
    buffer = io.StringIO()
    writer = csv.writer(
        buffer, delimiter=settings.separator, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL
    )
    yield "\ufeff".encode()
    writer.writerow([csv_text(heading) for heading in headings(columns)])
    for count, signature in enumerate(signatures, 1):
        writer.writerow([csv_text(typed_value(column, signature, settings)) for column in columns])
        if count % 500 == 0:
            yield buffer.getvalue().encode("utf-8")
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode("utf-8")


def csv_bytes(signatures: Iterable[Signature], settings: ExportSettings, columns=COLUMNS) -> bytes:
    return b"".join(csv_chunks(signatures, settings, columns))


_ILLEGAL_XLSX = {c: " " for c in range(32) if c not in (9, 10, 13)}
DATE_FORMATS = {"nl": ("dd/mm/yyyy", "dd/mm/yyyy hh:mm"), "en": ("yyyy-mm-dd", "yyyy-mm-dd hh:mm")}


def xlsx_bytes(
    signatures: Iterable[Signature], settings: ExportSettings, columns=COLUMNS, title: str = "signatures"
) -> bytes:
    """The list as a workbook, with openpyxl's own features: typed cells,
    column widths, the header row frozen and an autofilter over the table."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=title[:31])
    # A write-only sheet writes its head first: widths and panes come before the rows.
    for number, column in enumerate(columns, 1):
        width = max(column.width, min(len(str(column.heading)) + 2, 30))
        sheet.column_dimensions[get_column_letter(number)].width = width
    sheet.freeze_panes = "A2"
    date_format, time_format = DATE_FORMATS[settings.language]
    bold = Font(bold=True)
    wrap = Alignment(wrap_text=True, vertical="top")

    def text_cell(text: str, **style):
        cell = WriteOnlyCell(sheet, value=neutralise(text.translate(_ILLEGAL_XLSX)))
        cell.data_type = "s"  # text, never a formula or a number
        for name, value in style.items():
            setattr(cell, name, value)
        return cell

    def cell(value, column: Column):
        if value is None or value == "":
            return None  # empty stays empty
        if isinstance(value, (datetime, date)):
            typed = WriteOnlyCell(sheet, value=value)
            typed.number_format = time_format if isinstance(value, datetime) else date_format
            return typed
        if isinstance(value, int):
            return WriteOnlyCell(sheet, value=value)
        return text_cell(str(value), alignment=wrap) if column.key in ("paragraph", "address") else text_cell(str(value))

    sheet.append([text_cell(heading, font=bold) for heading in headings(columns)])
    count = 1
    for signature in signatures:
        sheet.append([cell(typed_value(column, signature, settings), column) for column in columns])
        count += 1
    sheet.auto_filter.ref = f"A1:{get_column_letter(len(columns))}{count}"
    output = io.BytesIO()
    workbook.save(output)
    return output.getvalue()


# --- the downloads, each audited --------------------------------------------------------

def signatures_csv(letter: Letter, *, by: audit.Actor, language: str) -> Iterator[bytes]:
    """Every signature as CSV, read lazily while it is sent; audited at once,
    so the entry can be committed before the rows are read."""
    settings = ExportSettings.for_letter(letter, language)
    audit.record("export.csv", by=by, letter=letter)
    return csv_chunks(signatures_for_export(letter.id), settings)


def signatures_xlsx(letter: Letter, *, by: audit.Actor, language: str, title: str = "signatures") -> bytes:
    body = xlsx_bytes(signatures_for_export(letter), ExportSettings.for_letter(letter, language), COLUMNS, title=title)
    audit.record("export.xlsx", by=by, letter=letter)
    return body


def postal_notify_csv(letter: Letter, *, by: audit.Actor, language: str) -> bytes:
    body = csv_bytes(postal_notify_signatures(letter), ExportSettings.for_letter(letter, language), POSTAL_COLUMNS)
    audit.record("export.postal_notify", by=by, letter=letter)
    return body


def postal_notify_xlsx(letter: Letter, *, by: audit.Actor, language: str, title: str = "per post") -> bytes:
    body = xlsx_bytes(postal_notify_signatures(letter), ExportSettings.for_letter(letter, language), POSTAL_COLUMNS, title=title)
    audit.record("export.postal_notify", by=by, letter=letter)
    return body
