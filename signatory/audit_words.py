"""The audit log in words: what happened, as an organiser says it
("Paragraaf goedgekeurd (was: te beoordelen)"), never a code such as
`paragraph.approve, previous=pending`. One sentence per entry; an action this
module does not know yet is still shown, its details in words."""
from __future__ import annotations

import json

from flask_babel import gettext as _, lazy_gettext as _l

from . import labels
from .models import AuditEntry

ACTIONS = {
    "paragraph.approve": _l("Paragraaf goedgekeurd"),
    "paragraph.reject": _l("Paragraaf geweigerd"),
    "paragraph.revise": _l("Herschrijven van de paragraaf gevraagd"),
    "paragraph.approve.mailed": _l("E-mail over de goedgekeurde paragraaf klaargezet"),
    "paragraph.reject.mailed": _l("E-mail over de geweigerde paragraaf klaargezet"),
    "paragraph.revise.mailed": _l("Vraag om te herschrijven gemaild"),
    "paragraph.bulk_approve": _l("Paragrafen samen goedgekeurd"),
    "paragraph.line_rule_override": _l("Tienlijnenregel niet toegepast"),
    "signature.correct": _l("Handtekening gecorrigeerd"),
    "signature.reject": _l("Handtekening geweigerd"),
    "signature.unreject": _l("Weigering ongedaan gemaakt"),
    "signature.erase": _l("Persoonsgegevens gewist op verzoek"),
    "signature.paper_entry": _l("Formulier ingevoerd"),
    "signature.first_signatory": _l("Eerste ondertekenaar"),
    "signature.verify": _l("Organisatie geverifieerd"),
    "letter.create": _l("Brief aangemaakt"),
    "letter.edit": _l("Tekst of instellingen van de brief gewijzigd"),
    "letter.open": _l("Brief geopend voor ondertekening"),
    "letter.close": _l("Ondertekening afgesloten"),
    "letter.deadline": _l("Deadline gewijzigd"),
    "letter.publish": _l("Brief gepubliceerd"),
    "letter.notify": _l("Ondertekenaars verwittigd van de publicatie"),
    "letter.grant": _l("Toegang tot de brief gegeven"),
    "letter.revoke": _l("Toegang tot de brief ingetrokken"),
    "answer.record": _l("Antwoord geregistreerd"),
    "answer.delete": _l("Antwoord verwijderd"),
    "export.csv": _l("Handtekeningen gedownload (CSV)"),
    "export.xlsx": _l("Handtekeningen gedownload (Excel)"),
    "export.postal_notify": _l("Lijst om per post te verwittigen gedownload"),
    "privacy.purge": _l("Bewaartermijnen toegepast"),
    "privacy.addresses_erased": _l("Adressen gewist na de bewaartermijn"),
    "user.create": _l("Account aangemaakt"),
    "user.active": _l("Account in- of uitgeschakeld"),
    "user.login": _l("Aangemeld"),
    "user.password_changed": _l("Wachtwoord gewijzigd"),
}

# Details named in words (the rest is shown as "name: value").
DETAIL_NAMES = {
    "previous": _l("was"),
    "status": _l("nu"),
    "with_reason": _l("met reden"),
    "reason": _l("reden"),
    "count": _l("aantal"),
    "queued": _l("klaargezet"),
    "value": _l("aan"),
    "old": _l("van"),
    "new": _l("naar"),
    "source": _l("bron"),
    "with_email": _l("met e-mailadres"),
    "with_paragraph": _l("met paragraaf"),
    "lines": _l("lijnen"),
    "was_counted": _l("telde mee"),
    "had_published_paragraph": _l("met gepubliceerde paragraaf"),
    "after_publication": _l("na de publicatie"),
    "publication_date": _l("publicatiedatum"),
    "sha256": "SHA-256",
    "account": _l("account"),
    "grantee": _l("organisator"),
    "admin": _l("beheerder"),
    "active": _l("actief"),
    "months": _l("maanden"),
    "unconfirmed_deleted": _l("onbevestigde gewist"),
    "ip_hashes_cleared": _l("IP-hashes gewist"),
    "version": _l("versie"),
    "new_version": _l("nieuwe versie"),
    "answer_id": _l("antwoord"),
}
STATUS_DETAILS = {"previous": "paragraph_status", "status": "status"}
HIDDEN_DETAILS = {"signature_ids", "changes", "paragraph", "erased"}


def detail_of(entry: AuditEntry) -> dict:
    try:
        detail = json.loads(entry.detail or "{}")
    except ValueError:
        return {}
    return detail if isinstance(detail, dict) else {}


def title(entry: AuditEntry) -> str:
    name = ACTIONS.get(entry.action)
    return str(name) if name is not None else entry.action


def _value_in_words(name: str, value) -> str:
    if name in STATUS_DETAILS:
        return labels.in_words(STATUS_DETAILS[name], value)
    if isinstance(value, bool):
        return labels.yes_no(value)
    if isinstance(value, list):
        return ", ".join(str(item) for item in value)
    return labels.in_words(name, value)


def _quoted(value) -> str:
    if isinstance(value, bool):
        return labels.yes_no(value)
    if value is None or value == "":
        return _("(leeg)")
    return f"‘{value}’"


def changes_in_words(detail: dict) -> list[str]:
    """A correction, field by field: "Gemeente: ‘Gnek’ → ‘Genk’"."""
    lines = []
    for change in detail.get("changes", []):
        field = change.get("field", "")
        name = labels.field_name(field)
        if "old" not in change:
            lines.append(_("%(field)s gewijzigd", field=name))
        else:
            old, new = change["old"], change["new"]
            if field == "kind":
                old, new = labels.in_words("kind", old), labels.in_words("kind", new)
            lines.append(f"{name}: {_quoted(old)} → {_quoted(new)}")
    return lines


PARAGRAPH_OUTCOMES = {
    "pending": _l("de paragraaf gaat terug naar de moderatie"),
    "approved": _l("de gewijzigde paragraaf is meteen goedgekeurd"),
    "removed": _l("de paragraaf is verwijderd"),
}


def details_in_words(entry: AuditEntry) -> list[str]:
    """The entry's details as short phrases in the organiser's language."""
    detail = detail_of(entry)
    phrases = changes_in_words(detail) if entry.action == "signature.correct" else []
    if detail.get("paragraph") in PARAGRAPH_OUTCOMES:
        phrases.append(str(PARAGRAPH_OUTCOMES[detail["paragraph"]]))
    if detail.get("erased"):
        phrases.append(_("de waarden zijn mee gewist"))
    for name, value in sorted(detail.items()):
        if name in HIDDEN_DETAILS or value in (None, "", []) or (name.startswith("with_") and value is False):
            continue
        label = DETAIL_NAMES.get(name)
        label = str(label) if label is not None else name
        phrases.append(f"{label}: {_value_in_words(name, value)}")
    return phrases
