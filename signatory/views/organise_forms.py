"""Forms of the organiser's workspace (Flask-WTF, CSRF included)."""
from __future__ import annotations

from flask_babel import format_number, gettext as _, lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    FileField,
    DateField,
    EmailField,
    HiddenField,
    IntegerField,
    PasswordField,
    RadioField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.fields.core import UnboundField
from wtforms.validators import DataRequired, Email, EqualTo, Length, Optional, Regexp, StopValidation, ValidationError

from .. import corrections
from ..auth import MIN_PASSWORD_LENGTH
from ..forms import SignatureFieldsMixin, _strip, choices, show_refusal
from ..letters import MAX_GOAL, SETTINGS_FIELDS, SLUG_PATTERN, LetterSettings
from ..models import Signature
from ..signing import FIELD_LIMITS, SigningError, normalise_email
from ..states import Kind, Source
from ..text import strip_controls


class LoginForm(FlaskForm):
    email = EmailField(
        _l("E-mailadres"), filters=[strip_controls, _strip],
        validators=[DataRequired(_l("Vul je e-mailadres in.")), Length(max=320)],
        render_kw={"autocomplete": "username", "spellcheck": "false"},
    )
    password = PasswordField(
        _l("Wachtwoord"), filters=[strip_controls], validators=[DataRequired(_l("Vul je wachtwoord in.")), Length(max=1000)],
        render_kw={"autocomplete": "current-password"},
    )
    next = HiddenField(filters=[strip_controls])


class PasswordForm(FlaskForm):
    current = PasswordField(
        _l("Huidig wachtwoord"), validators=[DataRequired(_l("Vul je huidige wachtwoord in."))],
        render_kw={"autocomplete": "current-password"},
    )
    new = PasswordField(
        _l("Nieuw wachtwoord"),
        validators=[
            DataRequired(_l("Kies een nieuw wachtwoord.")),
            Length(min=MIN_PASSWORD_LENGTH, max=1000, message=_l("Minstens %(min)d tekens.", min=MIN_PASSWORD_LENGTH)),
        ],
        description=_l("Minstens %(min)d tekens. Een zin van enkele woorden is sterk en makkelijk te onthouden.", min=MIN_PASSWORD_LENGTH),
        render_kw={"autocomplete": "new-password"},
    )
    repeat = PasswordField(
        _l("Nieuw wachtwoord, nog eens"),
        validators=[DataRequired(_l("Herhaal het nieuwe wachtwoord.")), EqualTo("new", _l("De twee wachtwoorden verschillen."))],
        render_kw={"autocomplete": "new-password"},
    )


class UserForm(FlaskForm):
    email = EmailField(_l("E-mailadres"), filters=[strip_controls, _strip], validators=[DataRequired(_l("Vul een e-mailadres in.")), Email(_l("Dit is geen geldig e-mailadres.")), Length(max=320)])
    password = PasswordField(
        _l("Wachtwoord"),
        validators=[DataRequired(_l("Kies een wachtwoord.")), Length(min=MIN_PASSWORD_LENGTH, max=1000, message=_l("Minstens %(min)d tekens.", min=MIN_PASSWORD_LENGTH))],
        description=_l("Geef het wachtwoord persoonlijk door; de organisator kan het daarna zelf wijzigen."),
        render_kw={"autocomplete": "new-password"},
    )
    is_admin = BooleanField(_l("Beheerder: mag alle brieven en accounts beheren"))


class ActionForm(FlaskForm):
    """A button that changes something: only the form token."""


class ReasonForm(FlaskForm):
    reason = StringField(_l("Reden (niet verplicht)"), filters=[strip_controls, _strip], validators=[Optional(), Length(max=1000)])


class DeadlineForm(FlaskForm):
    deadline = DateField(_l("Nieuwe deadline"), validators=[DataRequired(_l("Kies een datum."))],
                         description=_l("Laatste dag om te tekenen, tot 23:59 in de tijdzone van de brief."))


TIMEZONES = [
    "Europe/Brussels", "Europe/Amsterdam", "Europe/Luxembourg", "Europe/Paris", "Europe/London",
    "Europe/Berlin", "UTC",
]


class LetterForm(FlaskForm):
    """A letter's text; its settings have their own form (`SettingsFieldsMixin`)."""

    slug = StringField(
        _l("Adres (slug)"), filters=[strip_controls, lambda v: v.strip().lower() if isinstance(v, str) else v],
        validators=[DataRequired(_l("Kies een adres.")), Regexp(SLUG_PATTERN.pattern, message=_l("Kleine letters, cijfers en koppeltekens, bv. integratie-2011."))],
        description=_l("Het stuk na /letters/ in de link, bv. integratie-2011. Kan later niet meer veranderen."),
    )
    title = StringField(_l("Titel"), filters=[strip_controls, _strip], validators=[DataRequired(_l("Geef de brief een titel.")), Length(max=300)])
    subtitle = StringField(_l("Ondertitel"), filters=[strip_controls, _strip], validators=[Optional(), Length(max=300)])
    intro = TextAreaField(_l("Oproep om te tekenen"), filters=[strip_controls, _strip], validators=[Optional(), Length(max=5000)], render_kw={"rows": 3})
    letter_file = FileField(
        _l("Heb je de brief al in een bestand? Lees hem in"),
        description=_l("Word (.docx), OpenDocument (.odt), tekst (.txt) of Markdown (.md). Daarna duid je aan wat de oproep is, wat de tekst, en wat weg mag. Anders typ of plak je de tekst hieronder."),
        render_kw={"accept": ".docx,.odt,.txt,.md,.markdown"},
    )
    body = TextAreaField(
        _l("Tekst (Markdown)"), filters=[strip_controls], validators=[DataRequired(_l("Schrijf de tekst van de brief.")), Length(max=200_000)],
        description=_l("Een lege lijn begint een nieuwe alinea; ## Tussentitel, *schuin*, **vet**, - opsomming, > citaat."),
        render_kw={"rows": 18},
    )
    language = SelectField(
        _l("Taal en sortering"),
        choices=choices(("nl-BE", _l("Nederlands (België): 'Van den Broeck' onder V")), ("nl-NL", _l("Nederlands (Nederland): 'van den Broek' onder B")), ("en", _l("Engels"))),
        default="nl-BE",
    )
    note = StringField(_l("Wat is er veranderd? (niet verplicht)"), filters=[strip_controls, _strip], validators=[Optional(), Length(max=500)],
                       description=_l("Als er al getekend werd, wordt een wijziging van de tekst een nieuwe, zichtbare versie."))


class SettingsFieldsMixin:
    """A letter's settings (`LetterSettings`): edited on their own page, and
    given at once when a letter is created."""

    addressee = StringField(
        _l("Aan wie is de brief gericht?"), filters=[strip_controls, _strip], validators=[Optional(), Length(max=300)],
        description=_l("Bijvoorbeeld: Aan de leden van het Vlaams Parlement. Staat boven de brief en op het titelblad."),
    )
    organiser = StringField(
        _l("Organisator"), filters=[strip_controls, _strip], validators=[Optional(), Length(max=200)],
        description=_l("Wie de brief verstuurt; ook verwerkingsverantwoordelijke in de privacyverklaring."),
    )
    place_date = StringField(_l("Plaats en datum van de tekst"), filters=[strip_controls, _strip], validators=[Optional(), Length(max=200)],
                             description=_l("Bijvoorbeeld: Brussel, 12 mei 2011."))
    contact = StringField(
        _l("Contact"), filters=[strip_controls, _strip], validators=[Optional(), Length(max=500)],
        description=_l("Adres en e-mail waar formulieren naartoe mogen; staat op het papieren formulier en in het document."),
    )
    deadline = DateField(_l("Deadline"), validators=[Optional()], description=_l("Laatste dag om te tekenen (tot en met)."))
    timezone = SelectField(_l("Tijdzone"), choices=choices(*((z, z) for z in TIMEZONES)), default="Europe/Brussels")
    goal = IntegerField(_l("Doel (aantal handtekeningen, niet verplicht)"), validators=[Optional()])

    def validate_goal(self, field):
        # Not NumberRange: its message would print the maximum as 100000000.
        if field.data is not None and not 1 <= field.data <= MAX_GOAL:
            raise ValidationError(
                _("Het doel is een aantal handtekeningen van 1 tot %(max)s.", max=format_number(MAX_GOAL))
            )

    def letter_settings(self) -> LetterSettings:
        """The settings as given; an empty field is the setting's default."""
        defaults = LetterSettings()
        return LetterSettings(**{
            name: getattr(self, name).data or getattr(defaults, name) for name in SETTINGS_FIELDS
        })


class NewLetterForm(LetterForm, SettingsFieldsMixin):
    """A new letter: its text and its first settings."""


class ModerationForm(FlaskForm):
    decision = RadioField(
        _l("Beslissing"),
        choices=choices(("approve", _l("Goedkeuren")), ("reject", _l("Weigeren")), ("revise", _l("Laten herschrijven"))),
        validators=[DataRequired(_l("Kies een beslissing."))],
    )
    reason = TextAreaField(_l("Reden of vraag aan de ondertekenaar"), filters=[strip_controls, _strip], validators=[Optional(), Length(max=1000)])
    notify = BooleanField(_l("Stuur de reden naar de ondertekenaar"))
    next = HiddenField(filters=[strip_controls])


class NeededForAnOrganisation:
    """Optional, unless the form signs for an organisation. (An inline
    validator after Optional() would never see the empty field.)"""

    field_flags = {"optional": True}

    def __call__(self, form, field):
        if field.data:
            return
        field.errors[:] = []
        if form.kind.data == Kind.ORGANISATION:
            raise StopValidation(_l("Vul de naam van de organisatie in."))
        raise StopValidation()


def reworded(field: UnboundField, *, required: str | None = None, description: str | None = None) -> UnboundField:
    """The signing form's field, worded for an organiser: the signing form
    says "u" to the signer, the organiser's forms speak about the signatory.
    Everything else (label, filters, limits) stays the signing form's."""
    kwargs = dict(field.kwargs)
    if required is not None:
        validators = kwargs["validators"]
        assert any(isinstance(validator, DataRequired) for validator in validators), field
        kwargs["validators"] = [
            DataRequired(required) if isinstance(validator, DataRequired) else validator for validator in validators
        ]
    if description is not None:
        kwargs["description"] = description
    return field.field_class(*field.args, **kwargs)


class TypedInSignatureMixin(SignatureFieldsMixin):
    """A signature an organiser types in: an organisation needs its name, and
    an e-mail address, optional here, is checked as the signing form checks it."""

    last_name = reworded(SignatureFieldsMixin.last_name, required=_l("Vul de familienaam in."))
    first_name = reworded(SignatureFieldsMixin.first_name, required=_l("Vul de voornaam in."))
    place = reworded(SignatureFieldsMixin.place, description=_l("'Gedaan te …': verschijnt bij de naam."))
    paragraph = reworded(
        SignatureFieldsMixin.paragraph, description=_l("Maximaal tien lijnen zoals ze in het document gedrukt worden.")
    )

    # The order of `typed_in_signature_fields` (_macros.html), the printed
    # form's: family name first. Each form adds its own fields around it.
    TYPED_IN_ORDER = (
        "last_name", "first_name", "kind", "organisation", "function", "address", "email", "place", "paragraph",
    )
    CONSENTS_ORDER = ("consent_name", "consent_paragraph", "consent_notify")
    page_order: tuple[str, ...] = TYPED_IN_ORDER + CONSENTS_ORDER

    def __iter__(self):
        """The fields in the order of the page, so that the error summary
        lists the mistakes as the organiser meets them; fields the page does
        not show in order (the form token) come last."""
        position = {name: index for index, name in enumerate(self.page_order)}
        return iter(sorted(super().__iter__(), key=lambda field: position.get(field.name, len(position))))
    organisation = StringField(_l("Naam van de organisatie"), filters=[strip_controls, _strip],
                               validators=[NeededForAnOrganisation(), Length(max=FIELD_LIMITS["organisation"])])

    def validate_email(self, field):
        if field.data:
            try:
                normalise_email(field.data)
            except SigningError as error:
                raise ValidationError(str(error.message)) from None


class PaperForm(TypedInSignatureMixin, FlaskForm):
    """A paper or e-mailed form, typed in by an organiser."""

    source = RadioField(
        _l("Ontvangen per"),
        choices=choices((Source.PAPER.value, _l("post (papier)")), (Source.EMAIL.value, _l("e-mail"))),
        default=Source.PAPER.value,
        validators=[DataRequired(_l("Kies post of e-mail."))],
    )
    received_on = DateField(_l("Ontvangen op"), validators=[DataRequired(_l("Vul de ontvangstdatum in."))])
    kind = RadioField(
        _l("Tekent"),
        choices=choices((Kind.PERSON.value, _l("in persoonlijke naam")), (Kind.ORGANISATION.value, _l("in naam van een organisatie"))),
        default=Kind.PERSON.value,
        validators=[DataRequired(_l("Kies persoon of organisatie."))],
    )
    email = EmailField(_l("E-mailadres (niet verplicht)"), filters=[strip_controls, _strip], validators=[Optional(), Length(max=FIELD_LIMITS["email"])],
                       description=_l("Alleen als het op het formulier staat."))
    override_reason = StringField(
        _l("Reden om de tienlijnenregel niet toe te passen (niet verplicht)"), filters=[strip_controls, _strip],
        validators=[Optional(), Length(max=500)],
        description=_l("Alleen invullen als de paragraaf langer is dan tien lijnen en toch zo gepubliceerd mag worden; de reden komt in het auditlogboek."),
    )

    checks_line_rule = False  # paper.enter_form applies it, with the override
    page_order = (
        "source", "received_on", *TypedInSignatureMixin.TYPED_IN_ORDER, "override_reason",
        *TypedInSignatureMixin.CONSENTS_ORDER,
    )


class EraseForm(FlaskForm):
    confirm = BooleanField(_l("Ja, wis de persoonsgegevens van deze ondertekenaar definitief."),
                           validators=[DataRequired(_l("Vink aan dat je dit wil."))])


class CorrectionForm(TypedInSignatureMixin, FlaskForm):
    """An organiser corrects a signature: the signing form's fields, a reason
    for the audit log, and whether a changed paragraph is approved at once."""

    kind = RadioField(
        _l("Tekent"),
        choices=choices((Kind.PERSON.value, _l("in persoonlijke naam")), (Kind.ORGANISATION.value, _l("in naam van een organisatie"))),
        validators=[DataRequired(_l("Kies persoon of organisatie."))],
    )
    email = EmailField(_l("E-mailadres"), filters=[strip_controls, _strip], validators=[Optional(), Length(max=FIELD_LIMITS["email"])])
    reason = StringField(
        _l("Reden van de correctie (niet verplicht)"), filters=[strip_controls, _strip], validators=[Optional(), Length(max=500)],
        description=_l("Bijvoorbeeld: tikfout overgenomen van het papieren formulier. Komt in het auditlogboek."),
    )
    approve_paragraph = BooleanField(_l("De paragraaf is nagelezen: keur hem meteen goed"))
    page_order = (
        *TypedInSignatureMixin.TYPED_IN_ORDER, "approve_paragraph", *TypedInSignatureMixin.CONSENTS_ORDER, "reason",
    )

    # The signing form's check ignores a paper form's override of the rule.
    checks_line_rule = False

    @classmethod
    def for_signature(cls, signature: Signature, **kwargs) -> CorrectionForm:
        form = cls(**kwargs)
        form.signature = signature
        return form

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        if not valid and self.paragraph.data and not self.paragraph.errors:
            # corrections.correct will not see this submission: tell about
            # the paragraph now, together with the other messages.
            try:
                self.paragraph.data = corrections.corrected_paragraph(self.signature, self.paragraph.data)
            except SigningError as error:
                show_refusal(self, error)
        return valid
