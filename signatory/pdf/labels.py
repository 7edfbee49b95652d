"""Every word the document adds to what people typed: Dutch is the source,
other languages come from the compiled catalogues (`translations/`). Read
without Flask, in the letter's language, not the reader's.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError
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
    text_version: str
    subject: str
    contents: str
    colophon_part: str
    colophon_compiled: str
    colophon_gathered: str
    colophon_counts: list[str]
    colophon_privacy: str
    colophon_verify_heading: str
    colophon_verify: str
    colophon_verify_steps: list[str]
    colophon_draft: str


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
    counts = _gathering_lines(data, _, ngettext)
    compiled_on = long_date(_local_date(data), language)
    if data.url.strip():
        verify = _(
            "De pagina van deze brief, %(url)s, vermeldt de SHA-256-vingerafdruk van het "
            "gepubliceerde document. Berekent u die van uw exemplaar en is ze dezelfde, dan is uw "
            "exemplaar het document zoals het gepubliceerd werd, tot op de laatste byte:"
        ) % {"url": " ".join(data.url.split())}
    else:
        verify = _(
            "De pagina van deze brief vermeldt de SHA-256-vingerafdruk van het gepubliceerde "
            "document. Berekent u die van uw exemplaar en is ze dezelfde, dan is uw exemplaar het "
            "document zoals het gepubliceerd werd, tot op de laatste byte:"
        )
    file_name = _("document.pdf")
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
        text_version=_("Versie %(version)s van de tekst") % {"version": data.text_version},
        subject=_("Verrijkte opinie: de tekst, de ondertekenaars en hun motiverende paragrafen"),
        contents=_("Inhoud"),
        colophon_part=_("Colofon"),
        colophon_compiled=_(
            "Dit document werd samengesteld op %(date)s uit versie %(version)s van de tekst "
            "(gegevensrevisie %(revision)s)."
        ) % {"date": compiled_on, "version": data.text_version, "revision": data.revision},
        colophon_gathered=_("Hoe de handtekeningen verzameld en gecontroleerd werden"),
        colophon_counts=counts,
        colophon_privacy=_(
            "Wie tekende zonder de naam te laten publiceren, is meegeteld maar niet vermeld. Geen "
            "e-mailadres of postadres van een ondertekenaar staat in dit document."
        ),
        colophon_verify_heading=_("De echtheid nagaan"),
        colophon_verify=verify,
        colophon_draft=_(
            "Dit is een ontwerp. Pas het gepubliceerde document krijgt een SHA-256-vingerafdruk op de "
            "pagina van de brief; een ontwerp verandert met elke handtekening die erbij komt."
        ),
        colophon_verify_steps=[  # the systems' names and commands are the same in every language
            f"Linux: sha256sum {file_name}",
            f"macOS: shasum -a 256 {file_name}",
            f"Windows (PowerShell): Get-FileHash {file_name} -Algorithm SHA256",
        ],
    )


def _local_date(data: DocumentData) -> date:
    """The day the data are from, in the letter's time zone (the data's own
    date, never the clock's: the same data give the same document)."""
    created = data.created
    if created.tzinfo is None:
        created = created.replace(tzinfo=timezone.utc)
    try:
        return created.astimezone(ZoneInfo(data.timezone)).date()
    except (ZoneInfoNotFoundError, ValueError):
        return created.date()


def _gathering_lines(data: DocumentData, _, ngettext) -> list[str]:
    """The colophon's account of the signatures, one sentence per way in."""
    language = data.language
    lines = [
        ngettext(
            "%(num)s handtekening werd online gezet en bevestigd met de persoonlijke link in een "
            "e-mail aan het opgegeven adres.",
            "%(num)s handtekeningen werden online gezet en elk bevestigd met de persoonlijke link in "
            "een e-mail aan het opgegeven adres.",
            data.confirmed_by_email,
        ) % {"num": _number(data.confirmed_by_email, language)},
        ngettext(
            "%(num)s handtekening werd door de organisatoren ingetikt van een papieren of gemaild "
            "formulier.",
            "%(num)s handtekeningen werden door de organisatoren ingetikt van papieren of gemailde "
            "formulieren.",
            data.typed_in,
        ) % {"num": _number(data.typed_in, language)},
    ]
    if data.organisation_count:
        lines.append(ngettext(
            "%(verified)s van de %(num)s organisatie die tekende, werd door de organisatoren "
            "geverifieerd.",
            "%(verified)s van de %(num)s organisaties die tekenden, werden door de organisatoren "
            "geverifieerd.",
            data.organisation_count,
        ) % {"verified": _number(data.organisations_verified, language),
             "num": _number(data.organisation_count, language)})
    if data.contribution_count:
        lines.append(ngettext(
            "%(num)s motiverende paragraaf werd door de organisatoren nagelezen en gepubliceerd met "
            "de toestemming van wie hem schreef.",
            "%(num)s motiverende paragrafen werden door de organisatoren nagelezen en gepubliceerd "
            "met de toestemming van wie ze schreef.",
            data.contribution_count,
        ) % {"num": _number(data.contribution_count, language)})
    return lines

