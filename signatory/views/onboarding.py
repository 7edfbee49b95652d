"""Getting organisers in: the first account from the set-up link, an
invitation's password, and inviting from the accounts page."""
from __future__ import annotations

import time

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_user
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, SelectField
from wtforms.validators import DataRequired, Email, Length

from .. import onboarding
from ..auth import MIN_PASSWORD_LENGTH, AccountError, admin_required_or_403
from ..extensions import db
from ..i18n import current_language
from ..letters import get_letter
from ..models import Letter
from ..forms import _strip
from ..text import strip_controls


bp = Blueprint("onboarding", __name__, url_prefix="/organise")

PUBLIC_ENDPOINTS = {"onboarding.setup", "onboarding.invitation"}


def _new_password_field():
    return PasswordField(
        _l("Wachtwoord"), filters=[strip_controls],
        validators=[
            DataRequired(_l("Kies een wachtwoord.")),
            Length(min=MIN_PASSWORD_LENGTH, max=1000, message=_l("Minstens %(min)d tekens.", min=MIN_PASSWORD_LENGTH)),
        ],
        description=_l("Minstens %(min)d tekens. Een zin van enkele woorden is sterk en makkelijk te onthouden.", min=MIN_PASSWORD_LENGTH),
        render_kw={"autocomplete": "new-password"},
    )


class SetupForm(FlaskForm):
    email = EmailField(
        _l("Jouw e-mailadres"), filters=[strip_controls, _strip],
        validators=[DataRequired(_l("Vul je e-mailadres in.")), Email(_l("Dit is geen geldig e-mailadres.")), Length(max=320)],
        description=_l("Hiermee meld je je voortaan aan."),
        render_kw={"autocomplete": "username", "spellcheck": "false"},
    )
    password = _new_password_field()


class InvitationForm(FlaskForm):
    password = _new_password_field()


class InviteForm(FlaskForm):
    email = EmailField(
        _l("E-mailadres"), filters=[strip_controls, _strip],
        validators=[DataRequired(_l("Vul een e-mailadres in.")), Email(_l("Dit is geen geldig e-mailadres.")), Length(max=320)],
        render_kw={"autocomplete": "off", "spellcheck": "false"},
    )
    letter = SelectField(_l("Brief"), choices=[], validate_choice=True,
                         description=_l("De uitgenodigde mag deze brief beheren; later kan je meer brieven toekennen."))


def letter_choices() -> list[tuple[str, str]]:
    letters = db.session.scalars(db.select(Letter).order_by(Letter.created_at.desc())).all()
    return [("", _("(nog geen brief)"))] + [(letter.slug, letter.title) for letter in letters]


def _refused(error: onboarding.LinkRefused, kind: str):
    status = 404 if error.reason == "invalid" else 410
    return render_template("organise/link_refused.html", reason=error.reason, kind=kind), status


def _log_in(user) -> None:
    """As the login page logs in: a new session (nothing from before survives),
    with the times `views.auth.session_expired` reads."""
    session.clear()
    login_user(user)
    session.permanent = False
    session["logged_in_at"] = session["seen_at"] = time.time()


@bp.route("/setup/<token>", methods=["GET", "POST"])
def setup(token: str):
    try:
        onboarding.check_setup_token(token)
    except onboarding.LinkRefused as error:
        return _refused(error, "setup")
    form = SetupForm()
    if form.validate_on_submit():
        try:
            user = onboarding.create_first_admin(token, form.email.data, form.password.data)
        except onboarding.LinkRefused as error:
            db.session.rollback()
            return _refused(error, "setup")
        except AccountError as error:
            form.email.errors.append(str(error))
        else:
            db.session.commit()
            _log_in(user)
            flash(_("Welkom! Je account is aangemaakt en je bent aangemeld als beheerder."))
            return redirect(url_for("organise.index"), 303)
    return render_template("organise/setup.html", form=form), 422 if form.errors else 200


@bp.route("/invitation/<token>", methods=["GET", "POST"])
def invitation(token: str):
    try:
        invitee, letter = onboarding.read_invitation(token)
    except onboarding.LinkRefused as error:
        return _refused(error, "invitation")
    form = InvitationForm()
    if form.validate_on_submit():
        try:
            user, letter = onboarding.accept_invitation(token, form.password.data)
        except onboarding.LinkRefused as error:
            db.session.rollback()
            return _refused(error, "invitation")
        except AccountError as error:
            form.password.errors.append(str(error))
        else:
            db.session.commit()
            _log_in(user)
            flash(_("Welkom! Je wachtwoord is ingesteld en je bent aangemeld."))
            if letter is not None:
                return redirect(url_for("organise.letter", slug=letter.slug), 303)
            return redirect(url_for("organise.index"), 303)
    status = 422 if form.errors else 200
    return render_template("organise/invitation.html", form=form, invitee=invitee, letter=letter), status


@bp.route("/users/invite", methods=["GET", "POST"])
def invite():
    admin_required_or_403()
    form = InviteForm()
    form.letter.choices = letter_choices()
    if form.validate_on_submit():
        letter = get_letter(form.letter.data) if form.letter.data else None
        try:
            invitation = onboarding.invite(form.email.data, letter=letter, by=current_user, language=current_language())
        except AccountError as error:
            form.email.errors.append(str(error))
        else:
            db.session.commit()
            flash(_("Uitnodiging verstuurd naar %(email)s. De link werkt %(days)d dagen.",
                    email=invitation.user.email, days=onboarding.INVITATION_DAYS))
            return redirect(url_for("admin.users"), 303)
    elif not form.is_submitted():
        form.letter.data = request.args.get("letter", "")
    return render_template("organise/invite.html", form=form), 422 if form.errors else 200


def invite_form() -> InviteForm:
    form = InviteForm(formdata=None)
    form.letter.choices = letter_choices()
    return form


@bp.app_context_processor
def onboarding_context():
    return {
        "invite_form": invite_form,
        "pending_invitations": onboarding.pending_invitations,
        "lonely_admin": onboarding.is_the_only_account,
        "no_accounts_yet": lambda: not onboarding.has_accounts(),
    }
