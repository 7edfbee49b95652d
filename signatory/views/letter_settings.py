"""The letter's settings in the browser, and its logo, served as an image only."""
from __future__ import annotations

import hashlib

from flask import Blueprint, abort, flash, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import BooleanField, FileField

from ..auth import can_manage, organiser_letter_or_404
from ..extensions import db
from ..letter_settings import update_settings
from ..letters import LetterError, get_letter
from ..states import LetterState
from .organise_forms import SettingsFieldsMixin

bp = Blueprint("letter_settings", __name__)

# The logo is an image, never a document: no script, no styles from elsewhere,
# no forms, in a sandbox even when opened on its own.
LOGO_POLICY = "default-src 'none'; img-src data:; style-src 'unsafe-inline'; sandbox"


class SettingsForm(SettingsFieldsMixin, FlaskForm):
    logo = FileField(
        _l("Logo (PNG of SVG, niet verplicht)"),
        description=_l("Staat op de publieke pagina en op het titelblad van het document. PNG tot 512 kB, SVG tot 256 kB."),
        render_kw={"accept": ".png,.svg,image/png,image/svg+xml"},
    )
    remove_logo = BooleanField(_l("Het logo weghalen"))


@bp.route("/organise/letters/<slug>/settings", methods=["GET", "POST"])
def settings(slug: str):
    letter = organiser_letter_or_404(slug)
    form = SettingsForm(obj=letter if request.method == "GET" else None)
    if letter.is_published and request.method == "POST":
        flash(_("Een gepubliceerde brief kan niet meer gewijzigd worden."))
        return redirect(url_for("letter_settings.settings", slug=slug), 303)
    if form.validate_on_submit():
        upload = request.files.get("logo")
        logo = (upload.read(), upload.filename or "") if upload is not None and upload.filename else None
        try:
            changed = update_settings(letter, form.letter_settings(), by=current_user, logo=logo, remove_logo=form.remove_logo.data)
        except LetterError as error:
            db.session.rollback()
            letter = organiser_letter_or_404(slug)
            form.logo.errors = [str(error)]
        else:
            db.session.commit()
            flash(_("De instellingen zijn bewaard.") if changed else _("Er was niets veranderd."))
            return redirect(url_for("letter_settings.settings", slug=slug), 303)
    status = 422 if form.errors else 200
    return render_template("organise/settings.html", letter=letter, form=form), status


def logo_version(letter) -> str:
    return str(letter.data_revision)


@bp.get("/letters/<slug>/logo")
def logo(slug: str):
    letter = get_letter(slug)
    if letter is None or not letter.logo_mime:
        abort(404)
    if letter.state == LetterState.DRAFT and not (current_user.is_authenticated and can_manage(current_user, letter)):
        abort(404)
    data = letter.logo or b""
    response = make_response(data)
    response.mimetype = letter.logo_mime
    response.headers["Content-Security-Policy"] = LOGO_POLICY
    response.headers["Content-Disposition"] = "inline"
    response.headers["Cache-Control"] = "public, max-age=300" if letter.is_public else "private, no-store"
    response.set_etag(hashlib.sha256(data).hexdigest()[:32])
    return response.make_conditional(request)


@bp.app_context_processor
def logo_context():
    return {"logo_version": logo_version}
