"""Moderation and signatures in the organiser's workspace: the queue (DESIGN
§6: one form per entry posting to /organise/signatures/<id>/moderation),
bulk approve, the list of signatures and organisations, and the actions on
one signature (reject, first signatory, verify, erase)."""
from __future__ import annotations

from flask import Blueprint, abort, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user
from sqlalchemy import select

from .. import floods, moderation, privacy
from ..auth import can_manage, organiser_letter_or_404
from ..extensions import db
from ..models import AuditEntry, Signature, User
from ..states import ParagraphStatus, SignatureStatus
from ..pdf.line_rule import MAX_PARAGRAPH_LINES, count_lines
from .auth import safe_next
from .organise_forms import ActionForm, EraseForm, ModerationForm, ReasonForm

bp = Blueprint("moderate", __name__, url_prefix="/organise")

QUEUE_PAGE_SIZE = 50
LIST_PAGE_SIZE = 100


def signature_or_404(signature_id: int) -> Signature:
    signature = db.session.get(Signature, signature_id)
    if signature is None or not can_manage(current_user, signature.letter):
        abort(404)
    return signature


def _page() -> int:
    value = request.args.get("page", "1")
    return max(1, min(int(value), 100_000)) if value.isdecimal() else 1


def _wants_json() -> bool:
    return request.accept_mimetypes.best == "application/json"


def _decision_message(decision: str, signature: Signature) -> str:
    messages = {
        "approve": _("Goedgekeurd: paragraaf van %(name)s.", name=signature.display_name),
        "reject": _("Geweigerd: paragraaf van %(name)s.", name=signature.display_name),
        "revise": _("%(name)s krijgt een e-mail met de vraag om de paragraaf te herschrijven.", name=signature.display_name),
    }
    return messages.get(decision, "")


# --- the queue ---------------------------------------------------------------------------

@bp.get("/letters/<slug>/moderation")
def queue(slug: str):
    letter = organiser_letter_or_404(slug)
    status = request.args.get("status", ParagraphStatus.PENDING.value)
    if status not in {s.value for s in moderation.QUEUE_FILTERS}:
        status = ParagraphStatus.PENDING.value
    page = _page()
    counts = moderation.queue_counts(letter)
    entries = moderation.queue(letter, status, limit=QUEUE_PAGE_SIZE, offset=(page - 1) * QUEUE_PAGE_SIZE)
    here = url_for("moderate.queue", slug=slug, status=status, page=page if page > 1 else None)
    return render_template(
        "organise/moderation.html",
        letter=letter,
        status=status,
        counts=counts,
        entries=entries,
        lines={s.id: count_lines(s.paragraph) for s in entries},
        max_lines=MAX_PARAGRAPH_LINES,
        page=page,
        has_more=counts.get(status, 0) > page * QUEUE_PAGE_SIZE,
        here=here,
        action_form=ActionForm(),
        frozen=letter.is_published,
    )


@bp.post("/signatures/<int:signature_id>/moderation")
def moderate(signature_id: int):
    signature = signature_or_404(signature_id)
    form = ModerationForm()
    back = safe_next(form.next.data) or url_for("moderate.queue", slug=signature.letter.slug)
    if not form.validate_on_submit():
        message = _("Kies goedkeuren, weigeren of laten herschrijven.")
        if _wants_json():
            return jsonify(ok=False, error=message), 422
        flash(message)
        return redirect(back, 303)
    decision = form.decision.data
    try:
        mailed = moderation.moderate(signature, decision, current_user, form.reason.data or "", notify=form.notify.data)
    except moderation.ModerationError as error:
        db.session.rollback()
        if _wants_json():
            return jsonify(ok=False, error=str(error.message)), 422
        flash(str(error.message))
        return redirect(back + f"#s-{signature_id}", 303)
    db.session.commit()
    message = _decision_message(decision, signature)
    if mailed and decision == "reject":
        message += " " + _("De reden wordt gemaild.")
    if _wants_json():
        return jsonify(
            ok=True, id=signature.id, status=signature.paragraph_status, message=message,
            counts=moderation.queue_counts(signature.letter),
        )
    flash(message)
    return redirect(back, 303)


@bp.post("/letters/<slug>/moderation/approve")
def bulk_approve(slug: str):
    letter = organiser_letter_or_404(slug)
    form = ActionForm()
    if not form.validate_on_submit():
        abort(400)
    field = "shown" if request.form.get("scope") == "page" else "ids"
    ids = [int(v) for v in request.form.getlist(field) if v.isdecimal() and len(v) < 18]
    try:
        count = moderation.bulk_approve(letter, ids, current_user)
    except moderation.ModerationError as error:
        db.session.rollback()
        flash(str(error.message))
    else:
        db.session.commit()
        flash(ngettext("%(num)d paragraaf goedgekeurd.", "%(num)d paragrafen goedgekeurd.", count) if count else _("Niets aangevinkt: er werd niets goedgekeurd."))
    return redirect(url_for("moderate.queue", slug=slug), 303)


# --- signatures -------------------------------------------------------------------------

@bp.get("/letters/<slug>/signatures")
def signatures(slug: str):
    letter = organiser_letter_or_404(slug)
    flt = moderation.SignatureFilter(
        status=request.args.get("status", ""), kind=request.args.get("kind", ""),
        source=request.args.get("source", ""), query=request.args.get("q", "")[:100],
    )
    page = _page()
    rows, total = moderation.search_signatures(letter, flt, limit=LIST_PAGE_SIZE, offset=(page - 1) * LIST_PAGE_SIZE)
    return render_template(
        "organise/signatures.html", letter=letter, rows=rows, total=total, flt=flt, page=page,
        has_more=total > page * LIST_PAGE_SIZE, statuses=[s.value for s in SignatureStatus],
        bursts=floods.bursts(letter), rejected_groups=floods.rejected_groups(letter), action_form=ActionForm(),
    )


@bp.get("/letters/<slug>/organisations")
def organisations(slug: str):
    letter = organiser_letter_or_404(slug)
    return render_template(
        "organise/organisations.html", letter=letter, rows=moderation.organisations(letter),
        unverified=moderation.unverified_organisation_count(letter), action_form=ActionForm(),
    )


@bp.get("/signatures/<int:signature_id>")
def signature(signature_id: int):
    signature = signature_or_404(signature_id)
    history = db.session.scalars(
        select(AuditEntry).where(AuditEntry.signature_id == signature.id).order_by(AuditEntry.id.desc()).limit(100)
    ).all()
    moderator = db.session.get(User, signature.paragraph_moderated_by) if signature.paragraph_moderated_by else None
    return render_template(
        "organise/signature.html", signature=signature, letter=signature.letter, history=history,
        moderator=moderator, action_form=ActionForm(), reason_form=ReasonForm(), erase_form=EraseForm(),
        lines=count_lines(signature.paragraph) if signature.paragraph else 0, max_lines=MAX_PARAGRAPH_LINES,
        in_queue=moderation.in_queue(signature),
    )


def _signature_action(signature_id: int, form_class, action, message: str):
    signature = signature_or_404(signature_id)
    form = form_class()
    if not form.validate_on_submit():
        abort(400)
    try:
        action(signature, form)
    except moderation.ModerationError as error:
        db.session.rollback()
        flash(str(error.message))
    else:
        db.session.commit()
        flash(message)
    back = safe_next(request.form.get("next")) or url_for("moderate.signature", signature_id=signature_id)
    return redirect(back, 303)


@bp.post("/signatures/<int:signature_id>/reject")
def reject(signature_id: int):
    return _signature_action(
        signature_id, ReasonForm,
        lambda s, f: moderation.reject_signature(s, current_user, f.reason.data or ""),
        _("De handtekening is geweigerd en telt niet meer mee."),
    )


@bp.post("/signatures/<int:signature_id>/unreject")
def unreject(signature_id: int):
    return _signature_action(
        signature_id, ActionForm, lambda s, f: moderation.unreject_signature(s, current_user),
        _("De weigering is ongedaan gemaakt."),
    )


@bp.post("/signatures/<int:signature_id>/first")
def first(signature_id: int):
    value = request.form.get("value") == "1"
    return _signature_action(
        signature_id, ActionForm, lambda s, f: moderation.set_first_signatory(s, current_user, value),
        _("Gemarkeerd als eerste ondertekenaar.") if value else _("Niet langer eerste ondertekenaar."),
    )


@bp.post("/signatures/<int:signature_id>/verify")
def verify(signature_id: int):
    value = request.form.get("value") != "0"
    return _signature_action(
        signature_id, ActionForm, lambda s, f: moderation.set_verified(s, current_user, value),
        _("De organisatie is geverifieerd.") if value else _("De verificatie is ingetrokken."),
    )


@bp.post("/signatures/<int:signature_id>/erase")
def erase(signature_id: int):
    signature = signature_or_404(signature_id)
    form = EraseForm()
    if not form.validate_on_submit():
        flash(_("Vink aan dat je de gegevens definitief wil wissen."))
        return redirect(url_for("moderate.signature", signature_id=signature_id) + "#erase", 303)
    slug = signature.letter.slug
    privacy.erase(signature, current_user)
    db.session.commit()
    flash(_("De persoonsgegevens van handtekening #%(id)d zijn gewist.", id=signature_id))
    return redirect(url_for("moderate.signatures", slug=slug), 303)
