"""Stored codes in words, one definition for pages, exports and the audit
log: an organiser reads "bevestigd", never "confirmed" or `True`."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l

SIGNATURE_STATUS = {
    "unconfirmed": _l("onbevestigd"),
    "confirmed": _l("bevestigd"),
    "withdrawn": _l("ingetrokken"),
    "rejected": _l("geweigerd"),
    "erased": _l("gewist"),
}

PARAGRAPH_STATUS = {
    "none": _l("geen paragraaf"),
    "pending": _l("te beoordelen"),
    "approved": _l("goedgekeurd"),
    "rejected": _l("geweigerd"),
    "revision_requested": _l("herschrijven gevraagd"),
}

# The paragraph's state as the signer reads it (manage and confirmed pages).
PARAGRAPH_STATUS_FOR_SIGNER = {
    "none": _l("geen paragraaf"),
    "pending": _l("na nalezing"),
    "approved": _l("goedgekeurd"),
    "rejected": _l("niet gepubliceerd"),
    "revision_requested": _l("aanpassing gevraagd"),
}

KIND = {"person": _l("persoon"), "organisation": _l("organisatie")}

SOURCE = {"online": _l("online"), "paper": _l("papier"), "email": _l("e-mail")}

LETTER_STATUS = {
    "draft": _l("ontwerp"),
    "open": _l("open"),
    "closed": _l("afgesloten"),
    "published": _l("gepubliceerd"),
}

LANGUAGE = {"nl": _l("Nederlands"), "en": _l("Engels")}

# Every field of a signature an organiser may see or correct, by its form name.
FIELD = {
    "first_name": _l("Voornaam"),
    "last_name": _l("Familienaam"),
    "kind": _l("Ondertekend als"),
    "organisation": _l("Organisatie"),
    "function": _l("Functie"),
    "address": _l("Postadres"),
    "email": _l("E-mailadres"),
    "place": _l("Gemeente"),
    "paragraph": _l("Motiverende paragraaf"),
    "consent_name": _l("Naam publiceren"),
    "consent_paragraph": _l("Paragraaf publiceren"),
    "consent_notify": _l("Verwittigen bij publicatie"),
    "status": _l("Status"),
    "paragraph_status": _l("Paragraaf"),
    "paragraph_reason": _l("Reden bij de paragraaf"),
    "first_signatory": _l("Eerste ondertekenaar"),
    "source": _l("Bron"),
    "received_on": _l("Ontvangen op"),
}

_BY_FIELD = {
    "status": SIGNATURE_STATUS,
    "paragraph_status": PARAGRAPH_STATUS,
    "kind": KIND,
    "source": SOURCE,
    "language": LANGUAGE,
}


def yes_no(value) -> str:
    return str(_l("ja") if value else _l("nee"))


def in_words(field: str, value) -> str:
    """A stored value of `field` as an organiser reads it."""
    if value is None or value == "":
        return ""
    if isinstance(value, bool):
        return yes_no(value)
    table = _BY_FIELD.get(field)
    if table is not None:
        return str(table.get(str(value), value))
    return str(value)


def field_name(field: str) -> str:
    return str(FIELD.get(field, field))


def init_app(app) -> None:
    from . import audit_words, labels

    app.jinja_env.globals.update(
        in_words=in_words, field_name=field_name, labels=labels,
        audit_title=audit_words.title, audit_details=audit_words.details_in_words,
    )
