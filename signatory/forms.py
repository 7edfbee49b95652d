"""Forms. Field names are the public contract of DESIGN §6.

The forms check everything a signer can fix, all at once, so the page comes
back with every message next to its field; the domain functions enforce the
same rules again (they are called by other paths too). The one costly rule,
the ten-line rule, typesets the paragraph: it is checked once per request,
by the domain when the rest of the form is valid, else by the form.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
from functools import lru_cache

from flask import current_app
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, RadioField, StringField, TextAreaField
from wtforms.csrf.core import CSRF
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from .refusals import Refusal
from .signing import FIELD_LIMITS, TYPED_DETAILS, SignatureDetails, SigningError, check_paragraph, normalise_email
from .states import Kind
from .pdf.line_rule import MAX_PARAGRAPH_CHARS
from .text import clean_line, clean_multiline, has_control_characters, normalise_paragraph


def choices(*pairs) -> list[SelectChoice]:
    """Options of a radio group or select, as WTForms 3.3+ wants them."""
    return [SelectChoice(value, label) for value, label in pairs]


def _strip(value):
    return value.strip() if isinstance(value, str) else value


class ControlCharacterCheck:
    """Refuse NUL and the other characters of the text policy (`text.py`)
    with a clear message; the refilled field shows the text without them."""

    def __call__(self, form, field):
        raw = field.raw_data[0] if field.raw_data else ""
        if isinstance(raw, str) and has_control_characters(raw):
            cleaner = clean_multiline if isinstance(field, TextAreaField) else clean_line
            field.data = cleaner(raw) if field.name != "paragraph" else normalise_paragraph(raw)
            raise ValidationError(
                _l("Dit veld bevatte onzichtbare stuurtekens; we hebben ze verwijderd. Kijk het na en verstuur opnieuw.")
            )


class SignatureFieldsMixin:
    first_name = StringField(
        _l("Voornaam"),
        filters=[_strip],
        validators=[DataRequired(_l("Vul uw voornaam in.")), Length(max=FIELD_LIMITS["first_name"]), ControlCharacterCheck()],
        render_kw={"autocomplete": "given-name"},
    )
    last_name = StringField(
        _l("Familienaam"),
        filters=[_strip],
        validators=[DataRequired(_l("Vul uw familienaam in.")), Length(max=FIELD_LIMITS["last_name"]), ControlCharacterCheck()],
        render_kw={"autocomplete": "family-name"},
    )
    function = StringField(
        _l("Functie (niet verplicht)"),
        filters=[_strip],
        validators=[Optional(), Length(max=FIELD_LIMITS["function"]), ControlCharacterCheck()],
        description=_l("Bijvoorbeeld: voorzitter, docent, huisarts."),
    )
    address = TextAreaField(
        _l("Postadres (niet verplicht)"),
        filters=[_strip],
        validators=[Optional(), Length(max=FIELD_LIMITS["address"]), ControlCharacterCheck()],
        description=_l("Wordt nooit gepubliceerd."),
        render_kw={"autocomplete": "street-address", "rows": 2},
    )
    place = StringField(
        _l("Gemeente"),
        filters=[_strip],
        validators=[Optional(), Length(max=FIELD_LIMITS["place"]), ControlCharacterCheck()],
        description=_l("'Gedaan te …': verschijnt bij uw naam."),
        render_kw={"autocomplete": "address-level2"},
    )
    paragraph = TextAreaField(
        _l("Motiverende paragraaf (niet verplicht, max. 10 lijnen)"),
        validators=[Optional(), Length(max=MAX_PARAGRAPH_CHARS), ControlCharacterCheck()],
        description=_l("Waarom tekent u? Maximaal tien lijnen zoals ze in het document gedrukt worden."),
        render_kw={"rows": 8},
    )
    consent_name = BooleanField(_l("Mijn naam (of die van mijn organisatie) mag onder de tekst verschijnen."))
    consent_paragraph = BooleanField(_l("Mijn paragraaf mag gepubliceerd worden."))
    consent_notify = BooleanField(
        _l("Verwittig me per e-mail van de datum en de manier waarop de brief gepubliceerd wordt.")
    )

    # The paper form applies the ten-line rule itself, with its override.
    checks_line_rule = True

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        if not valid and self.checks_line_rule:
            # The domain will not see this submission: tell about the
            # paragraph now, together with the other messages.
            self._check_line_rule()
        return valid

    def _check_line_rule(self) -> None:
        field = self.paragraph
        if field.errors or not field.data:
            return
        try:
            field.data = check_paragraph(field.data)
        except SigningError as error:
            show_refusal(self, error)

    def details(self, language: str) -> SignatureDetails:
        typed = {name: field.data for name, field in self._fields.items() if name in TYPED_DETAILS}
        return SignatureDetails(**typed, language=language)


def letter_form_token(letter_id: int) -> str:
    """The signing form's token (DESIGN §6): signed with SECRET_KEY, bound to
    one letter, the same for every visitor, so the page that carries it can
    be shared by a cache; it never expires (people read before they sign).
    Cross-site posts are stopped by the Origin check, not by this token."""
    return _letter_form_token(current_app.config["SECRET_KEY"], letter_id)


@lru_cache(maxsize=1024)
def _letter_form_token(secret: str, letter_id: int) -> str:
    digest = hmac.new(secret.encode(), f"signatory.sign-form.{letter_id}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:24]).decode()


class LetterFormToken(CSRF):
    """WTForms' CSRF hook with the stateless token: the form's
    `csrf_context` is the letter's id; no session is read or written."""

    def setup_form(self, form):
        self.token = letter_form_token(form.meta.csrf_context)
        return super().setup_form(form)

    def generate_csrf_token(self, csrf_token_field):
        return self.token

    def validate_csrf_token(self, form, field):
        if not isinstance(field.data, str) or not hmac.compare_digest(field.data.encode(), self.token.encode()):
            raise ValidationError(_l("Het formulier hoort niet bij deze brief of is onvolledig."))


class SignForm(SignatureFieldsMixin, FlaskForm):
    """The signing form. Build it with `SignForm.for_letter(letter_id)`."""

    class Meta:
        csrf = True
        csrf_class = LetterFormToken

        def bind_field(self, form, unbound_field, options):
            """Each field bound to the form's meta, not to the form: WTForms'
            back reference (read only by callable choices, data lists and
            nested forms, none of them here) makes every form a reference
            cycle, a hundred objects per signing left to the cyclic garbage
            collector; without it a form is freed the moment the request
            lets go of it (DESIGN §8)."""
            return unbound_field.bind(form=None, _meta=form.meta, **options)

    @classmethod
    def for_letter(cls, letter_id: int, **kwargs) -> SignForm:
        return cls(meta={"csrf_context": letter_id}, **kwargs)

    kind = RadioField(
        _l("Ik teken"),
        choices=choices((Kind.PERSON.value, _l("in eigen naam")), (Kind.ORGANISATION.value, _l("in naam van een organisatie"))),
        default=Kind.PERSON.value,
        validators=[DataRequired(_l("Kies of u in eigen naam of namens een organisatie tekent."))],
    )
    organisation = StringField(
        _l("Naam van de organisatie"),
        filters=[_strip],
        validators=[Optional(), Length(max=FIELD_LIMITS["organisation"]), ControlCharacterCheck()],
        render_kw={"autocomplete": "organization"},
    )
    email = EmailField(
        _l("E-mailadres"),
        filters=[_strip],
        validators=[DataRequired(_l("Vul uw e-mailadres in.")), Length(max=FIELD_LIMITS["email"]), ControlCharacterCheck()],
        description=_l("U krijgt een link om uw handtekening te bevestigen. Nooit gepubliceerd."),
        render_kw={"autocomplete": "email", "inputmode": "email", "spellcheck": "false"},
    )
    # A field people never see; bots fill it in.
    website = StringField(_l("Laat dit veld leeg"), validators=[Optional()])

    def validate_organisation(self, field):
        if self.kind.data == Kind.ORGANISATION and not field.data:
            raise ValidationError(_l("Vul de naam van de organisatie in."))

    def validate_email(self, field):
        if field.errors or not field.data:
            return
        try:
            normalise_email(field.data)
        except SigningError as error:
            raise ValidationError(str(error.message)) from None

    @property
    def is_bot(self) -> bool:
        return bool((self.website.data or "").strip())


class ManageForm(SignatureFieldsMixin, FlaskForm):
    """Change a signature through its manage link."""


class ResendForm(FlaskForm):
    email = EmailField(
        _l("E-mailadres"),
        filters=[_strip],
        validators=[DataRequired(_l("Vul uw e-mailadres in.")), Length(max=254), ControlCharacterCheck()],
        render_kw={"autocomplete": "email", "inputmode": "email"},
    )


class WithdrawForm(FlaskForm):
    """Only the form token: withdrawing is a POST, never a link."""


def show_refusal(form, refusal: Refusal) -> None:
    """Put a domain refusal on the form: next to its field when the form has
    that field, else at the top, in the error summary."""
    message = str(refusal.message)
    if refusal.field and refusal.field in form:
        field = form[refusal.field]
        field.errors = [*field.errors, message]
    else:
        form.form_errors.append(message)


def field_attributes(field, required: bool = False) -> dict:
    """ARIA and required attributes for a form field, only those that apply
    (a None would be rendered by WTForms as the text "None")."""
    described = [f"{field.id}-hint"] if field.description else []
    attributes = {}
    if field.errors:
        attributes["aria-invalid"] = "true"
        described.append(f"{field.id}-error")
    if described:
        attributes["aria-describedby"] = " ".join(described)
    if required:
        attributes["required"] = True
    return attributes
