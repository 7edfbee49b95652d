"""Organiser accounts in the browser: log in, log out, change the password.

Every page under /organise/ but the login page requires login; the guard
below holds for every blueprint that adds pages there (documents included).
"""
from __future__ import annotations

import time
from datetime import timedelta
from urllib.parse import urlsplit

from flask import Blueprint, current_app, flash, make_response, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user

from ..auth import AccountError, authenticate, change_password, end_sessions, normalise_login
from ..extensions import db, limiter, login_manager
from ..forms import show_refusal
from .organise_forms import ActionForm, LoginForm, PasswordForm

bp = Blueprint("auth", __name__, url_prefix="/organise")

PUBLIC_ENDPOINTS = {"auth.login", "static", "onboarding.setup", "onboarding.invitation"}
LOGIN_RATE_PER_IP = "20 per minute;200 per hour"
LOGIN_RATE_PER_ACCOUNT = "5 per minute;30 per hour"
SEEN_RESOLUTION_SECONDS = 60


def init_login(app) -> None:
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = None  # the login page says enough
    login_manager.session_protection = "basic"
    app.config.setdefault("ORGANISER_IDLE_TIMEOUT", timedelta(hours=8))
    app.config.setdefault("ORGANISER_SESSION_LIFETIME", timedelta(days=14))


def session_expired(now: float) -> bool:
    """Idle too long, or logged in too long ago (DESIGN §3: organiser
    sessions end by themselves). Both times travel in the signed cookie."""
    app = current_app
    logged_in_at, seen_at = session.get("logged_in_at"), session.get("seen_at")
    if not isinstance(logged_in_at, (int, float)) or not isinstance(seen_at, (int, float)):
        return True
    return (
        now - seen_at > app.config["ORGANISER_IDLE_TIMEOUT"].total_seconds()
        or now - logged_in_at > app.config["ORGANISER_SESSION_LIFETIME"].total_seconds()
    )


@bp.before_app_request
def expire_idle_or_old_sessions():
    if "_user_id" not in session:
        return None
    now = time.time()
    if session_expired(now):
        logout_user()
        session.clear()
        return None
    if now - session["seen_at"] > SEEN_RESOLUTION_SECONDS:
        session["seen_at"] = now  # a new cookie at most once a minute
    return None


def is_organise_path(path: str) -> bool:
    return path == "/organise" or path.startswith("/organise/")


@bp.before_app_request
def require_login_for_organise():
    """Anonymous requests to /organise/… are sent to the login page."""
    if not is_organise_path(request.path) or request.endpoint in PUBLIC_ENDPOINTS:
        return None
    if current_user.is_authenticated:
        return None
    return login_manager.unauthorized()


@bp.after_app_request
def no_store_for_organise(response):
    """Organiser pages carry personal data: never kept by a cache."""
    if is_organise_path(request.path):
        response.headers["Cache-Control"] = "no-store"
    return response


def safe_next(target: str | None) -> str | None:
    """Only a path on this site, inside the workspace (no open redirect)."""
    if not target or not isinstance(target, str):
        return None
    target = target.strip()
    if any(char in target for char in "\\\r\n\t\x00") or target.startswith("//"):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not is_organise_path(parts.path):
        return None
    if parts.path.rstrip("/") in ("/organise/login", "/organise/logout"):
        return None
    return target


def _account_key() -> str:
    return "login:" + normalise_login(request.form.get("email", ""))[:320]


def _refuse_throttled(_limit):
    form = LoginForm(formdata=request.form, meta={"csrf": False})
    form.password.data = ""
    form.form_errors.append(_("Te veel mislukte pogingen. Wacht een minuut en probeer opnieuw."))
    return make_response(render_template("organise/login.html", form=form), 429)


def _failed(response) -> bool:
    # Only failed attempts count against the limits.
    return response.status_code != 303


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(LOGIN_RATE_PER_IP, methods=["POST"], deduct_when=_failed, on_breach=_refuse_throttled)
@limiter.limit(LOGIN_RATE_PER_ACCOUNT, methods=["POST"], key_func=_account_key, deduct_when=_failed, on_breach=_refuse_throttled)
def login():
    form = LoginForm()
    if request.method == "GET":
        form.next.data = safe_next(request.args.get("next")) or ""
        if current_user.is_authenticated:
            return redirect(form.next.data or url_for("organise.index"))
    if form.validate_on_submit():
        user = authenticate(form.email.data, form.password.data)
        if user is not None:
            target = safe_next(form.next.data) or url_for("organise.index")
            # A new session on login: nothing from before survives (fixation).
            session.clear()
            login_user(user)
            session.permanent = False
            session["logged_in_at"] = session["seen_at"] = time.time()
            db.session.commit()
            return redirect(target, 303)
        db.session.commit()  # a rehash or nothing: never leave a transaction open
        form.form_errors.append(_("Dit e-mailadres en wachtwoord horen niet bij elkaar."))
        form.password.data = ""
        return render_template("organise/login.html", form=form), 401
    status = 400 if request.method == "POST" else 200
    if form.csrf_token.errors:
        form.form_errors.append(_("Het formulier was verlopen. Probeer opnieuw."))
    return render_template("organise/login.html", form=form), status


@bp.post("/logout")
def logout():
    form = ActionForm()
    if form.validate_on_submit():
        if current_user.is_authenticated:
            end_sessions(current_user)
            db.session.commit()
        logout_user()
        session.clear()
    return redirect(url_for("auth.login"), 303)


@bp.route("/password", methods=["GET", "POST"])
def password():
    form = PasswordForm()
    if form.validate_on_submit():
        try:
            change_password(current_user, form.current.data, form.new.data)
        except AccountError as error:
            show_refusal(form, error)
        else:
            db.session.commit()
            # Other sessions end (session_version); this one carries on.
            session.clear()
            login_user(current_user._get_current_object())
            session["logged_in_at"] = session["seen_at"] = time.time()
            flash(_("Je wachtwoord is gewijzigd. Je andere sessies zijn afgemeld."))
            return redirect(url_for("organise.index"), 303)
    status = 422 if form.errors else 200
    return render_template("organise/password.html", form=form), status
