"""Rejecting a flood from the signatures page, and undoing it (the bursts
themselves are found by `floods.py`)."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, request, url_for
from flask_babel import gettext as _, ngettext
from flask_login import current_user

from .. import floods
from ..auth import organiser_letter_or_404
from ..extensions import db
from ..moderation import ModerationError
from .organise_forms import ActionForm

bp = Blueprint("floods", __name__, url_prefix="/organise")

@bp.post("/letters/<slug>/bursts/reject")
def reject(slug: str):
    letter = organiser_letter_or_404(slug)
    if not ActionForm().validate():
        abort(400)
    burst = floods.find_burst(letter, request.form.get("burst", ""), request.form.get("start", ""))
    if burst is None:
        flash(_("Deze piek is er niet meer (al geweigerd of veranderd). Bekijk de lijst opnieuw."))
        return redirect(url_for("moderate.signatures", slug=slug), 303)
    try:
        rejected = floods.reject_burst(burst, current_user)
    except ModerationError as error:
        db.session.rollback()
        flash(str(error.message))
        return redirect(url_for("moderate.signatures", slug=slug), 303)
    db.session.commit()
    flash(ngettext("%(num)s handtekening geweigerd.", "%(num)s handtekeningen geweigerd.", len(rejected)))
    return redirect(url_for("moderate.signatures", slug=slug), 303)


@bp.post("/letters/<slug>/bursts/undo")
def undo(slug: str):
    letter = organiser_letter_or_404(slug)
    if not ActionForm().validate():
        abort(400)
    try:
        restored = floods.undo_rejections(letter, request.form.get("reason", "")[:1000], current_user)
    except ModerationError as error:
        db.session.rollback()
        flash(str(error.message))
        return redirect(url_for("moderate.signatures", slug=slug), 303)
    db.session.commit()
    flash(ngettext("%(num)s weigering ongedaan gemaakt.", "%(num)s weigeringen ongedaan gemaakt.", restored))
    return redirect(url_for("moderate.signatures", slug=slug), 303)
