"""The document's data contract: what the renderer is given (plain
dataclasses, no database, no Flask) and what it gives back. The database side
(`store.document_data`) fills it with lazy iterables over its rows; the tests
and the benchmark fill it by hand.
"""
from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime

from ..collation import sortable_surname
from ..states import Kind


@dataclass(frozen=True, slots=True)
class Signatory:
    """One named signatory as listed under the text. Never an e-mail or a
    postal address: there is no field for them."""

    name: str  # "First Last" of the person who signed
    kind: str = Kind.PERSON
    organisation: str = ""
    function: str = ""
    place: str = ""
    index: str = ""  # the letter of the alphabet it is listed under, if any

    @property
    def is_organisation(self) -> bool:
        return self.kind == Kind.ORGANISATION and bool(self.organisation.strip())


@dataclass(frozen=True, slots=True)
class Contribution:
    """An approved motivating paragraph, attributed as its signer consented:
    `name` is empty when the name may not be published."""

    text: str
    name: str = ""
    kind: str = Kind.PERSON
    organisation: str = ""
    function: str = ""
    place: str = ""


@dataclass
class DocumentData:
    """Everything the document shows. The iterables are consumed once, in
    order: first signatories, organisations, persons, then contributions —
    each already sorted by the caller (the database sorts by `sort_key`)."""

    title: str
    subtitle: str = ""
    addressee: str = ""  # "Aan de leden van het Vlaams Parlement"
    organiser: str = ""
    place_date: str = ""
    contact: str = ""
    body: str = ""  # Markdown
    language: str = "nl"
    locale: str = "nl-BE"
    signatory_count: int = 0  # every counted signature, named or not
    unnamed_count: int = 0  # counted, but without consent to publish the name
    contribution_count: int = 0
    first_signatories: Iterable[Signatory] = ()
    organisations: Iterable[Signatory] = ()
    persons: Iterable[Signatory] = ()
    contributions: Iterable[Contribution] = ()
    # The PDF's creation date: taken from the letter, never from the clock.
    created: datetime = datetime(2000, 1, 1)
    timezone: str = "Europe/Brussels"  # the letter's: the colophon's date is a local one
    publication_date: date | None = None
    revision: int = 0  # of the data: every change counts
    text_version: int = 1  # of the text: a new version only when the text changed
    url: str = ""
    # The organiser's logo for the title page (PNG, JPEG or SVG), if any.
    logo: bytes | None = None
    logo_mime: str = ""
    # How the signatures were gathered and checked, for the colophon.
    confirmed_by_email: int = 0  # signed online and confirmed from the e-mail's link
    typed_in: int = 0  # typed in by the organisers from paper or e-mailed forms
    organisation_count: int = 0  # signatures on behalf of an organisation
    organisations_verified: int = 0  # of those, verified by the organisers


@dataclass(frozen=True)
class CompiledDocument:
    pdf: bytes
    page_count: int
    sha256: str


def index_letter(last_name: str, locale: str) -> str:
    """The letter a person is listed under: the first letter of the surname
    as it sorts (nl-NL: "van den Broek" under B), without its accents."""
    surname = sortable_surname(last_name, locale).strip()
    for char in unicodedata.normalize("NFD", surname):
        if char.isalnum():
            return char.upper()
    return ""

