"""`/organise/signatures/<id>/edit` (DESIGN §6): an organiser corrects a
signature. The rules and the audit entry live in `corrections.py`."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _, ngettext
from flask_login import current_user

from .. import corrections
from ..extensions import csrf, db
from ..forms import show_refusal
from ..signing import SigningError
from .moderate import signature_or_404
from .organise_forms import CorrectionForm

bp = Blueprint("corrections", __name__, url_prefix="/organise")


@bp.route("/signatures/<int:signature_id>/edit", methods=["GET", "POST"])
@csrf.exempt  # the form checks its own token, so a refusal keeps what was typed
def edit_signature(signature_id: int):
    signature = signature_or_404(signature_id)
    back = url_for("moderate.signature", signature_id=signature_id)
    if not corrections.correctable(signature):
        flash(_("Deze handtekening kan niet meer gecorrigeerd worden."))
        return redirect(back, 303)
    posted = request.method == "POST"
    form = CorrectionForm.for_signature(signature, data=None if posted else vars(corrections.details_of(signature)))
    status = 200
    if posted and form.validate():
        try:
            changes = corrections.correct(
                signature, form.details(signature.language), current_user,
                reason=form.reason.data or "", approve_paragraph=form.approve_paragraph.data,
            )
        except SigningError as error:
            db.session.rollback()
            show_refusal(form, error)
            status = 422
        else:
            db.session.commit()
            flash(
                ngettext("%(num)s veld gecorrigeerd.", "%(num)s velden gecorrigeerd.", len(changes))
                if changes else _("Er was niets gewijzigd.")
            )
            return redirect(back, 303)
    elif posted:
        status = 400 if form.csrf_token.errors else 422
        if form.csrf_token.errors:
            form.csrf_token.errors = []
            form.form_errors.append(_("Het formulier was verlopen. De gegevens staan er nog: verstuur opnieuw."))
    return render_template(
        "organise/signature_edit.html", signature=signature, letter=signature.letter, form=form,
    ), status
