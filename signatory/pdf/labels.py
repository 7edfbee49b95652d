"""Every word the document adds to what people typed: Dutch is the source,
other languages come from the compiled catalogues (`translations/`). Read
without Flask, in the letter's language, not the reader's.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path

from babel.dates import format_date
from babel.numbers import format_decimal
from babel.support import NullTranslations, Translations

from .contract import DocumentData

TRANSLATIONS_DIR = Path(__file__).resolve().parent.parent / "translations"


@cache
def _translations(language: str) -> NullTranslations:
    """Dutch is the source language; other languages from the compiled
    catalogues, when there are any."""
    if language == "nl" or not TRANSLATIONS_DIR.is_dir():
        return NullTranslations()
    return Translations.load(str(TRANSLATIONS_DIR), [language])


def _number(value: int, language: str) -> str:
    try:
        return format_decimal(value, locale=language)
    except Exception:  # an unknown locale: digits as they are
        return str(value)


def long_date(value: date, language: str) -> str:
    try:
        return format_date(value, format="long", locale=language)
    except Exception:
        return value.isoformat()


@dataclass(frozen=True)
class Labels:
    """Every word the document adds to what people typed, translated once
    per document."""

    page: Callable[[int, int], str]
    draft: str
    draft_note: str
    published_on: str
    text_part: str
    signatories_part: str
    first_signatories: str
    organisations: str
    persons: str
    paragraphs_part: str
    signed_by: str
    others: str
    anonymous: str
    anonymous_from: str
    collation_note: str
    paragraphs_note: str
    revision: str
    subject: str


def labels_for(data: DocumentData) -> Labels:
    translations = _translations(data.language)
    _ = translations.gettext
    ngettext = translations.ngettext
    language = data.language
    count = data.signatory_count
    unnamed = data.unnamed_count
    signed_by = ngettext(
        "Ondertekend door %(num)s persoon of organisatie",
        "Ondertekend door %(num)s personen en organisaties",
        count,
    ) % {"num": _number(count, language)}
    others = (
        ngettext(
            "en %(num)s andere die tekende zonder de naam te publiceren",
            "en %(num)s anderen die tekenden zonder hun naam te publiceren",
            unnamed,
        )
        % {"num": _number(unnamed, language)}
        if unnamed
        else ""
    )
    if data.locale == "nl-NL":
        collation = _(
            "Alfabetisch op naam, volgens de Nederlandse gewoonte: een voorvoegsel in kleine letters "
            "telt niet mee (van den Broek staat onder de B)."
        )
    else:
        collation = _(
            "Alfabetisch op naam, volgens de Belgische gewoonte: het voorvoegsel hoort bij de "
            "familienaam (Van den Broeck staat onder de V)."
        )
    page_label = _("pagina %(page)s van %(pages)s")
    return Labels(
        page=lambda page, pages: page_label % {"page": page, "pages": pages},
        draft=_("ONTWERP"),
        draft_note=_("Ontwerp — deze tekst is nog niet gepubliceerd."),
        published_on=_("Gepubliceerd op %(date)s"),
        text_part=_("De tekst"),
        signatories_part=_("De ondertekenaars"),
        first_signatories=_("Eerste ondertekenaars"),
        organisations=_("Organisaties"),
        persons=_("Personen"),
        paragraphs_part=_("Motiverende paragrafen"),
        signed_by=signed_by,
        others=others,
        anonymous=_("een ondertekenaar"),
        anonymous_from=_("een ondertekenaar uit %(place)s"),
        collation_note=collation,
        paragraphs_note=_(
            "Ondertekenaars konden hun handtekening met een paragraaf van ten hoogste tien lijnen "
            "motiveren. Hieronder staan de paragrafen die ze lieten publiceren, in de volgorde "
            "waarin ze tekenden."
        ),
        revision=_("versie %(revision)s"),
        subject=_("Verrijkte opinie: de tekst, de ondertekenaars en hun motiverende paragrafen"),
    )

