"""Admins: organiser accounts, who may manage which letter, the audit log."""
from __future__ import annotations

import json

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from ..auth import AccountError, admin_required_or_403, create_user, grant_letter, granted_slugs, revoke_letter, set_account_active
from ..extensions import db
from ..forms import show_refusal
from ..letters import SLUG_PATTERN, get_letter
from ..models import AuditEntry, Letter, User
from .organise_forms import ActionForm, UserForm

bp = Blueprint("admin", __name__, url_prefix="/organise")

AUDIT_PAGE_SIZE = 100


@bp.before_request
def admins_only():
    admin_required_or_403()


@bp.route("/users", methods=["GET", "POST"])
def users():
    form = UserForm()
    status = 200
    if form.validate_on_submit():
        try:
            user = create_user(form.email.data, form.password.data, is_admin=form.is_admin.data, by=current_user)
        except AccountError as error:
            show_refusal(form, error)
            status = 422
        else:
            db.session.commit()
            flash(_("Account aangemaakt voor %(email)s.", email=user.email))
            return redirect(url_for("admin.users"), 303)
    elif request.method == "POST":
        status = 422
    accounts = db.session.scalars(select(User).order_by(User.email)).all()
    return render_template(
        "organise/users.html", form=form, accounts=accounts, grants=granted_slugs(), action_form=ActionForm()
    ), status


@bp.post("/users/<int:user_id>/active")
def set_active(user_id: int):
    user = db.session.get(User, user_id)
    if user is None:
        abort(404)
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        set_account_active(user, request.form.get("value") == "1", by=current_user)
    except AccountError as error:
        flash(str(error))
        return redirect(url_for("admin.users"), 303)
    db.session.commit()
    flash(_("Account ingeschakeld.") if user.active else _("Account uitgeschakeld."))
    return redirect(url_for("admin.users"), 303)


@bp.post("/letters/<slug>/grants")
def grant(slug: str):
    letter = get_letter(slug)
    if letter is None:
        abort(404)
    if not ActionForm().validate_on_submit():
        abort(400)
    user_id = request.form.get("user_id", "")
    user = db.session.get(User, int(user_id)) if user_id.isdecimal() and len(user_id) < 18 else None
    if user is None:
        flash(_("Kies een organisator."))
        return redirect(url_for("organise.letter", slug=slug), 303)
    if request.form.get("revoke") == "1":
        revoke_letter(letter, user, by=current_user)
        flash(_("%(email)s beheert deze brief niet meer.", email=user.email))
    else:
        grant_letter(letter, user, by=current_user)
        flash(_("%(email)s mag deze brief beheren.", email=user.email))
    db.session.commit()
    return redirect(url_for("organise.letter", slug=slug), 303)


@bp.get("/audit")
def audit_log():
    page = request.args.get("page", "1")
    page = max(1, min(int(page), 100_000)) if page.isdecimal() else 1
    query = select(AuditEntry).order_by(AuditEntry.id.desc())
    letter = None
    if request.args.get("letter"):
        slug = request.args["letter"]
        letter = get_letter(slug) if SLUG_PATTERN.match(slug) else None
        if letter is None:
            abort(404)
        query = query.where(AuditEntry.letter_id == letter.id)
    entries = db.session.scalars(query.limit(AUDIT_PAGE_SIZE + 1).offset((page - 1) * AUDIT_PAGE_SIZE)).all()
    slugs = dict(db.session.execute(select(Letter.id, Letter.slug)).all())
    rows = [(entry, _detail(entry.detail)) for entry in entries[:AUDIT_PAGE_SIZE]]
    return render_template(
        "organise/audit.html", rows=rows, slugs=slugs, letter=letter, page=page,
        has_more=len(entries) > AUDIT_PAGE_SIZE,
    )


def _detail(text: str) -> str:
    try:
        value = json.loads(text or "{}")
    except ValueError:
        return text
    if not isinstance(value, dict):
        return str(value)
    return ", ".join(f"{key}={value[key]}" for key in sorted(value))
