"""The citizen's path: sign, confirm, change, withdraw, ask for the links again.

Plain functions that change data and queue e-mail but never commit; the
request commits once. They speak in domain exceptions, which the views turn
into messages next to the form's fields.
"""
from __future__ import annotations

import hashlib
import hmac
import importlib
from dataclasses import dataclass, fields
from functools import lru_cache

from email_validator import EmailNotValidError, validate_email
from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import update

from . import mail, tokens
from .collation import name_sort_key
from .extensions import db
from .database import DriverInsert
from .letters import SigningTarget, adjust_counts, bump_revision
from .models import Letter, Signature, utcnow
from .refusals import LinkError, Refusal
from .states import (
    LIVE_STATUSES,
    Kind,
    ParagraphStatus,
    SignatureStatus,
    Source,
)
from .pdf.line_rule import MAX_PARAGRAPH_LINES, line_verdict
from .text import clean_line, clean_multiline, normalise_paragraph

FIELD_LIMITS = {
    "first_name": 100,
    "last_name": 100,
    "organisation": 200,
    "function": 100,
    "address": 500,
    "email": 254,
    "place": 100,
}


class SigningError(Refusal):
    """A refusal the signer can act on."""


class LetterNotSignable(SigningError):
    pass


@dataclass
class SignatureDetails:
    """What a signer typed, field by field as on the paper form (DESIGN §2)."""

    first_name: str = ""
    last_name: str = ""
    kind: str = Kind.PERSON
    organisation: str = ""
    function: str = ""
    address: str = ""
    email: str = ""
    place: str = ""
    paragraph: str = ""
    consent_name: bool = False
    consent_paragraph: bool = False
    consent_notify: bool = False
    language: str = "nl"


# The details a form's fields fill in; the language comes with the request.
TYPED_DETAILS = frozenset(field.name for field in fields(SignatureDetails)) - {"language"}


def normalise_email(address: str) -> tuple[str, str]:
    """(address as typed, key). The key is email-validator's normalised form,
    case-folded as a whole (DESIGN §3). No network call while a request waits."""
    address = address.strip()
    return address, _email_key(address)


def _keep_domain_verdicts() -> None:
    """email-validator checks the part after the @ with the idna package
    (the UTS 46 mapping, in pure Python): on the signing path that was most
    of the address check, 5 % of the request's instructions (DESIGN §8), for
    the handful of domains (gmail.com, telenet.be) most signers share. The
    check depends on the domain, its two flags and the library's list of
    special-use domains, which this app never changes; its result is only
    read. So its verdict is kept per domain; a domain it refuses raises,
    which is never kept. Wrapped where validate_email looks it up, once per
    process; a release that moves it loses the saving, not the check
    (tests/test_signing.py then fails)."""
    module = importlib.import_module("email_validator.validate_email")
    check = getattr(module, "validate_email_domain_name", None)
    if check is not None and not hasattr(check, "cache_info"):
        module.validate_email_domain_name = lru_cache(maxsize=1024)(check)


_keep_domain_verdicts()


@lru_cache(maxsize=256)
def _email_key(address: str) -> str:
    """Kept for a moment: the form checks an address and signing uses it
    again in the same request; the rule is one, the work is done once."""
    try:
        result = validate_email(address, check_deliverability=False)
    except EmailNotValidError:
        raise SigningError(_l("Dit is geen geldig e-mailadres."), "email") from None
    return result.normalized.casefold()


ORGANISATION_KEY_LENGTH = 200  # the column's length


def organisation_key(kind: str, organisation: str) -> str:
    """What makes two organisation names the same one: white space folded,
    case folded. Case folding can lengthen a name (ß → ss); a key longer than
    its column keeps its start and ends in a digest of the whole, so that it
    fits and stays distinct."""
    if kind != Kind.ORGANISATION:
        return ""
    key = " ".join(organisation.split()).casefold()
    if len(key) <= ORGANISATION_KEY_LENGTH:
        return key
    digest = hashlib.sha256(key.encode()).hexdigest()[:24]
    return key[: ORGANISATION_KEY_LENGTH - len(digest) - 1] + "~" + digest


def hash_ip(ip: str | None) -> str | None:
    """A keyed hash: enough to spot abuse from one address, useless to anyone
    without the key. Expires with the unconfirmed window (privacy)."""
    if not ip:
        return None
    return _keyed_ip_hash(current_app.config["SECRET_KEY"], ip)


@lru_cache(maxsize=1024)
def _keyed_ip_hash(secret: str, ip: str) -> str:
    """Kept for a while: a crowd signs from fewer addresses than it has people."""
    return hmac.new(secret.encode(), ip.encode(), hashlib.sha256).hexdigest()[:32]


# The form and the signing both apply the ten-line rule to the same text:
# it is typeset once.
_line_verdict = lru_cache(maxsize=256)(line_verdict)


def check_paragraph(paragraph: str) -> str:
    """The ten-line rule (DESIGN §4): decided by the document's typesetter."""
    paragraph = normalise_paragraph(paragraph)
    if not paragraph:
        return ""
    lines, fits = _line_verdict(paragraph)
    if not fits:
        raise SigningError(
            _l(
                "Uw paragraaf neemt %(lines)d lijnen in het document; het maximum is %(max)d. "
                "Kort hem wat in.",
                lines=lines,
                max=MAX_PARAGRAPH_LINES,
            ),
            "paragraph",
        )
    return paragraph


def clean_details(details: SignatureDetails) -> SignatureDetails:
    """Apply the rules of the paper form to what was typed; raise
    SigningError for the first field that breaks one."""
    cleaned = SignatureDetails(
        first_name=clean_line(details.first_name),
        last_name=clean_line(details.last_name),
        kind=details.kind if details.kind in (Kind.PERSON, Kind.ORGANISATION) else "",
        organisation=clean_line(details.organisation),
        function=clean_line(details.function),
        address=clean_multiline(details.address),
        email=clean_line(details.email),
        place=clean_line(details.place),
        paragraph=details.paragraph or "",
        consent_name=bool(details.consent_name),
        consent_paragraph=bool(details.consent_paragraph),
        consent_notify=bool(details.consent_notify),
        language=details.language if details.language in ("nl", "en") else "nl",
    )
    for name in ("first_name", "last_name"):
        if not getattr(cleaned, name):
            raise SigningError(_l("Vul dit veld in."), name)
    if not cleaned.kind:
        raise SigningError(_l("Kies of u in eigen naam of namens een organisatie tekent."), "kind")
    if cleaned.kind == Kind.ORGANISATION and not cleaned.organisation:
        raise SigningError(_l("Vul de naam van de organisatie in."), "organisation")
    if cleaned.kind == Kind.PERSON:
        cleaned.organisation = ""
    for name, limit in FIELD_LIMITS.items():
        if len(getattr(cleaned, name)) > limit:
            raise SigningError(_l("Maximaal %(limit)d tekens.", limit=limit), name)
    cleaned.paragraph = check_paragraph(cleaned.paragraph)
    return cleaned


# --- signing ------------------------------------------------------------------

@dataclass
class SignOutcome:
    """What happened; the visitor is told the same in every case (DESIGN §3:
    no response reveals whether an address has signed)."""

    signature_id: int | None
    duplicate: bool = False

    @property
    def signature(self) -> Signature | None:
        return db.session.get(Signature, self.signature_id) if self.signature_id else None


def sign(letter: Letter | SigningTarget, details: SignatureDetails, *, ip: str | None = None) -> SignOutcome:
    """Sign a letter online. The signature counts once its e-mail address is
    confirmed; exactly one e-mail is queued: the confirmation."""
    return store_signature(prepare_signature(letter, details, ip=ip))


@dataclass
class PreparedSignature:
    """Every row a signing may write, worked out before the first write."""

    values: dict
    confirmation: dict
    links_request: dict


def prepare_signature(
    letter: Letter | SigningTarget, details: SignatureDetails, *, ip: str | None = None
) -> PreparedSignature:
    """Apply the rules (SigningError for the first one broken) and make the
    rows: the signature, its confirmation, and the links request that
    replaces the confirmation when the address signed before. Both outbox
    rows are made every time, so that a known address costs what a new one
    costs (DESIGN §3). Writes nothing: on SQLite the write lock is then held
    for the INSERTs and the commit only (DESIGN §8)."""
    if not letter.is_signable:
        raise LetterNotSignable(_l("Deze brief kan niet meer ondertekend worden."))
    details = clean_details(details)
    if not details.email:
        raise SigningError(_l("Vul uw e-mailadres in."), "email")
    email, email_key = normalise_email(details.email)
    values = signature_values(letter, details, email=email, email_key=email_key, ip_hash=hash_ip(ip))
    return PreparedSignature(
        values=values,
        confirmation=mail.outbox_row(
            "confirm", recipient=email, template="confirm", language=details.language,
            letter_id=letter.id, signature_id=None,
        ),
        links_request=mail.links_request_row(
            letter.id, recipient=email, email_key=email_key, language=details.language,
            organisation_key=values["organisation_key"],
        ),
    )


def store_signature(prepared: PreparedSignature, connection=None) -> SignOutcome:
    """The hot path of DESIGN §8: two plain INSERTs and nothing else, on
    `connection` (the signing request's `driver_transaction()`) or else in
    the session's transaction, straight on the driver's cursor. The database's
    unique index decides about duplicates (ON CONFLICT DO NOTHING, no
    savepoint); the e-mail is rendered when it is delivered."""
    if connection is None:
        connection = db.session.connection()
    signature_id = insert_signature(connection, prepared.values)
    if signature_id is None:
        # Signed before with this address (and organisation): the owner gets
        # their links by mail instead.
        mail.queue_row(prepared.links_request, connection)
        return SignOutcome(None, duplicate=True)
    mail.queue_row({**prepared.confirmation, "signature_id": signature_id}, connection)
    return SignOutcome(signature_id)


insert_signature = DriverInsert(Signature.__table__)


def signature_values(letter: Letter | SigningTarget, details: SignatureDetails, **extra) -> dict:
    """The columns of a new signature from what its signer wrote."""
    now = utcnow()
    return {
        "letter_id": letter.id,
        "letter_version": letter.version,
        "first_name": details.first_name,
        "last_name": details.last_name,
        "kind": details.kind,
        "organisation": details.organisation,
        "organisation_key": organisation_key(details.kind, details.organisation),
        "function": details.function,
        "address": details.address,
        "place": details.place,
        "paragraph": details.paragraph,
        "paragraph_status": ParagraphStatus.PENDING if details.paragraph else ParagraphStatus.NONE,
        "consent_name": details.consent_name,
        "consent_paragraph": details.consent_paragraph,
        "consent_notify": details.consent_notify,
        "language": details.language,
        "source": Source.ONLINE,
        "status": SignatureStatus.UNCONFIRMED,
        "sort_key": sort_key_for(letter, details),
        "created_at": now,
        "updated_at": now,
        **extra,
    }


def new_signature(letter: Letter, details: SignatureDetails, **extra) -> Signature:
    return Signature(**signature_values(letter, details, **extra))


def sort_key_for(letter: Letter, details) -> bytes:
    return name_sort_key(
        kind=details.kind,
        last_name=details.last_name,
        first_name=details.first_name,
        organisation=details.organisation,
        locale=letter.locale,
    )


def queue_links_reminder(signature: Signature) -> None:
    """The links of an existing signature, for its owner's mailbox."""
    # Rendered without the confirmation link once the signature is confirmed.
    mail.queue_to_signer("links", signature, template="links")


# --- confirming -------------------------------------------------------------------

def signature_from_token(purpose: str, token: str, max_age: int | None = None) -> Signature:
    signature_id = tokens.read_token(purpose, token, max_age=max_age)
    signature = db.session.get(Signature, signature_id)
    if signature is None or signature.status == SignatureStatus.ERASED:
        raise LinkError(_l("Deze handtekening bestaat niet meer."))
    return signature


def confirm(token: str) -> Signature:
    """Follow the confirmation link: the signature counts from now on. A
    signature made before the deadline counts when confirmed later; after
    publication the list is frozen."""
    signature = signature_from_token(tokens.CONFIRM, token, max_age=tokens.CONFIRM_MAX_AGE)
    if signature.status == SignatureStatus.CONFIRMED:
        return signature
    if signature.status != SignatureStatus.UNCONFIRMED:
        raise LinkError(_l("Deze handtekening werd ingetrokken en kan niet meer bevestigd worden."))
    if signature.letter.is_published:
        raise LinkError(_l("De brief is intussen gepubliceerd; er kan niet meer bevestigd worden."))
    if change_status(signature, SignatureStatus.UNCONFIRMED, SignatureStatus.CONFIRMED, confirmed_at=utcnow()):
        adjust_counts(signature, +1)
    return signature


def change_status(signature: Signature, expected: str, new: str, **values) -> bool:
    """Move a signature from one status to another with one conditional
    UPDATE, so that when the same link is followed twice at once, only one
    request makes the change (and only that one adjusts the counts)."""
    db.session.flush()
    changed = db.session.execute(
        update(Signature)
        .where(Signature.id == signature.id, Signature.status == expected)
        .values(status=new, updated_at=utcnow(), **values)
        .execution_options(synchronize_session=False)
    ).rowcount
    db.session.refresh(signature)
    return changed == 1


# --- managing ------------------------------------------------------------------------

def manageable_signature(token: str) -> Signature:
    """The signature behind a manage link, valid until publication."""
    signature = signature_from_token(tokens.MANAGE, token)
    if signature.letter.is_published:
        raise LinkError(
            _l("De brief is gepubliceerd; handtekeningen kunnen niet meer gewijzigd worden. "
               "Wilt u gewist worden, neem dan contact op met de organisator.")
        )
    return signature


EDITABLE_FIELDS = (
    "first_name", "last_name", "function", "address", "place", "paragraph",
    "consent_name", "consent_paragraph", "consent_notify",
)


def change(signature: Signature, details: SignatureDetails) -> list[str]:
    """Change a signature through its manage link. The e-mail address, kind
    and organisation make the signature what it is: to change those, withdraw
    and sign again. A changed paragraph goes back to moderation."""
    if signature.status not in LIVE_STATUSES:
        raise SigningError(_l("Deze handtekening werd ingetrokken; u kunt opnieuw tekenen."))
    details.kind = signature.kind
    details.organisation = signature.organisation
    details = clean_details(details)
    changed = [name for name in EDITABLE_FIELDS if getattr(details, name) != getattr(signature, name)]
    if not changed:
        return []
    for name in changed:
        setattr(signature, name, getattr(details, name))
    if "paragraph" in changed:
        signature.paragraph_changed_at = utcnow()
        signature.paragraph_status = ParagraphStatus.PENDING if signature.paragraph else ParagraphStatus.NONE
        signature.paragraph_reason = ""
    if {"first_name", "last_name"} & set(changed):
        signature.sort_key = sort_key_for(signature.letter, signature)
    if signature.is_counted:
        bump_revision(signature.letter_id)
    return changed


def withdraw(signature: Signature) -> None:
    """Withdraw a signature (a POST, never a GET: mail scanners follow links)."""
    now = utcnow()
    if change_status(signature, SignatureStatus.CONFIRMED, SignatureStatus.WITHDRAWN, withdrawn_at=now):
        adjust_counts(signature, -1)
    else:
        change_status(signature, SignatureStatus.UNCONFIRMED, SignatureStatus.WITHDRAWN, withdrawn_at=now)


def resend_links(letter: Letter, address: str) -> None:
    """"Send me my link again": the links of every live signature of this
    address on this letter, by mail. Which signatures those are is decided
    when the mail is delivered: the request does the same work whether the
    address signed or not, and the page answers the same."""
    try:
        typed, email_key = normalise_email(address)
    except SigningError:
        return
    # The mail goes out in the language of each signature it is about.
    mail.queue_links_request(letter.id, recipient=typed, email_key=email_key, language="nl")
