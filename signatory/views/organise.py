"""The organiser's workspace: letters (create, edit, open, close, deadline),
the letter dashboard, the overview, paper forms, the blank form and the
exports. Moderation and signatures live in `moderate.py`, accounts and the
audit log in `admin.py`. Login is required by the guard in `auth.py`."""
from __future__ import annotations

from datetime import date

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, stream_with_context, url_for
from flask_babel import gettext as _
from flask_login import current_user

from .. import exports, letters, mail, moderation, overview, paper
from ..auth import grantees, manageable_letters, organiser_letter_or_404, ungranted_organisers
from ..database import reads_only_from_here
from ..extensions import db
from ..i18n import current_language
from ..forms import show_refusal
from ..letters import LetterError, LetterSettings, LetterSource
from ..markup import to_html
from ..signing import SigningError
from ..states import LetterState
from ..view_marks import writes_on_get
from .organise_forms import ActionForm, DeadlineForm, LetterForm, NewLetterForm, PaperForm
from .responses import pdf_response

bp = Blueprint("organise", __name__, url_prefix="/organise")

LANGUAGE_CHOICES = {"nl-BE": ("nl", "nl-BE"), "nl-NL": ("nl", "nl-NL"), "en": ("en", "nl-BE")}


@bp.app_context_processor
def organise_context():
    return {"LetterState": LetterState}


@bp.get("/")
def index():
    return render_template("organise/index.html", letters=manageable_letters(current_user))


# --- letters ---------------------------------------------------------------------------

def _source_from_form(form: LetterForm, settings: LetterSettings) -> LetterSource:
    language, locale = LANGUAGE_CHOICES.get(form.language.data, ("nl", "nl-BE"))
    letters.validate_timezone(settings.timezone)
    return LetterSource(
        **vars(settings),
        title=form.title.data,
        body=(form.body.data or "").replace("\r\n", "\n").strip() + "\n",
        subtitle=form.subtitle.data or "",
        intro=form.intro.data or "",
        language=language,
        locale=locale,
    )


@bp.route("/letters/new", methods=["GET", "POST"])
def new_letter():
    form = NewLetterForm()
    preview = None
    chosen_file = request.files.get("letter_file")
    if request.method == "POST" and chosen_file is not None and chosen_file.filename:
        from .letter_files import read_file  # a file chosen, then "create" pressed: read it first

        return read_file()
    if request.method == "POST":
        from .letter_files import arrange_pasted_paper_form  # a pasted letter that ends in a paper form

        arranging = arrange_pasted_paper_form(form)
        if arranging is not None:
            return arranging
    if request.method == "POST" and request.form.get("action") == "preview":
        preview = to_html(form.body.data or "")
    elif form.validate_on_submit():
        try:
            letter = letters.create_letter(form.slug.data, _source_from_form(form, form.letter_settings()), by=current_user)
        except LetterError as error:
            show_refusal(form, error)
        else:
            db.session.commit()
            flash(_("De brief is aangemaakt als ontwerp. Open hem wanneer hij klaar is."))
            return redirect(url_for("organise.letter", slug=letter.slug), 303)
    status = 422 if form.errors else 200
    return render_template("organise/letter_form.html", form=form, letter=None, preview=preview), status


@bp.route("/letters/<slug>/edit", methods=["GET", "POST"])
def edit_letter(slug: str):
    letter = organiser_letter_or_404(slug)
    if request.method == "GET":
        form = LetterForm(obj=letter)
        form.language.data = "en" if letter.language == "en" else letter.locale
    else:
        form = LetterForm()
    form.slug.data = letter.slug  # fixed once created
    preview = None
    if request.method == "POST":
        try:
            letters.ensure_changeable(letter)
        except LetterError as error:
            flash(str(error))
            return redirect(url_for("organise.letter", slug=slug), 303)
    if request.method == "POST" and request.form.get("action") == "preview":
        preview = to_html(form.body.data or "")
    elif form.validate_on_submit():
        try:
            source = _source_from_form(form, LetterSettings.of(letter))  # the text only: settings stay
            new_version = letters.update_letter(letter, source, note=form.note.data or "", by=current_user)
        except LetterError as error:
            show_refusal(form, error)
        else:
            db.session.commit()
            flash(
                _("Opgeslagen als versie %(n)d: de publieke pagina toont dat de tekst gewijzigd is.", n=letter.version)
                if new_version else _("Opgeslagen.")
            )
            return redirect(url_for("organise.letter", slug=slug), 303)
    status = 422 if form.errors or form.form_errors else 200
    return render_template("organise/letter_form.html", form=form, letter=letter, preview=preview), status


@bp.get("/letters/<slug>")
def letter(slug: str):
    letter = organiser_letter_or_404(slug)
    deadline_form = DeadlineForm(deadline=letter.deadline)
    grants = grantees(letter) if current_user.is_admin else []
    organisers = ungranted_organisers(letter) if current_user.is_admin else []
    return render_template(
        "organise/letter.html",
        letter=letter,
        action_form=ActionForm(),
        deadline_form=deadline_form,
        queue_counts=moderation.queue_counts(letter),
        unverified=moderation.unverified_organisation_count(letter),
        summary=overview.overview(letter),
        grants=grants,
        organisers=organisers,
        failed_mail=mail.failed_messages(letter.id),
    )


def _letter_action(slug: str, action, message: str):
    letter = organiser_letter_or_404(slug)
    form = ActionForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        action(letter, by=current_user)
    except LetterError as error:
        db.session.rollback()
        flash(str(error))
    else:
        db.session.commit()
        flash(message)
    return redirect(url_for("organise.letter", slug=slug), 303)


@bp.post("/letters/<slug>/open")
def open_letter(slug: str):
    return _letter_action(slug, letters.open_letter, _("De brief is open: er kan getekend worden."))


@bp.get("/letters/<slug>/close")
def confirm_close(slug: str):
    """Closing asks first, with the draft PDF and what is still open."""
    letter = organiser_letter_or_404(slug)
    if letter.state != LetterState.OPEN:
        return redirect(url_for("organise.letter", slug=slug), 303)
    return render_template(
        "organise/confirm_close.html", letter=letter, action_form=ActionForm(),
        queue_counts=moderation.queue_counts(letter), unverified=moderation.unverified_organisation_count(letter),
    )


@bp.post("/letters/<slug>/close")
def close_letter(slug: str):
    return _letter_action(slug, letters.close_letter, _("De brief is afgesloten: er kan niet meer getekend worden."))


@bp.post("/letters/<slug>/deadline")
def set_deadline(slug: str):
    letter = organiser_letter_or_404(slug)
    form = DeadlineForm()
    if not form.validate_on_submit():
        flash(_("Kies een geldige datum."))
        return redirect(url_for("organise.letter", slug=slug), 303)
    try:
        letters.set_deadline(letter, form.deadline.data, by=current_user)
    except LetterError as error:
        flash(str(error))
        return redirect(url_for("organise.letter", slug=slug), 303)
    db.session.commit()
    flash(_("De deadline is nu %(date)s.", date=form.deadline.data.isoformat()))
    return redirect(url_for("organise.letter", slug=slug), 303)


# --- overview ------------------------------------------------------------------------

@bp.get("/letters/<slug>/overview")
def letter_overview(slug: str):
    letter = organiser_letter_or_404(slug)
    summary = overview.overview(letter)
    chart = overview.chart_svg(
        summary.per_day,
        title=_("Bevestigde handtekeningen per dag"),
        label_for=lambda day, count: _("%(date)s: %(count)d", date=day.isoformat(), count=count),
    )
    return render_template(
        "organise/overview.html", letter=letter, summary=summary, chart=chart,
        unverified=moderation.unverified_organisation_count(letter),
    )


# --- paper forms ------------------------------------------------------------------------

@bp.route("/letters/<slug>/paper", methods=["GET", "POST"])
def paper_form(slug: str):
    letter = organiser_letter_or_404(slug)
    form = PaperForm()
    if request.method == "GET":
        form.received_on.data = date.today()
        form.consent_name.data = False
    status = 200
    if form.validate_on_submit():
        try:
            signature = paper.enter_form(
                letter,
                form.details(letter.language),
                source=form.source.data,
                received_on=form.received_on.data,
                organiser=current_user,
                override_reason=form.override_reason.data or "",
            )
        except SigningError as error:
            db.session.rollback()
            show_refusal(form, error)
            status = 422
        else:
            db.session.commit()
            flash(_("Ingevoerd: %(name)s. Het formulier telt mee.", name=signature.display_name))
            return redirect(url_for("organise.paper_form", slug=slug), 303)
    elif request.method == "POST":
        status = 400 if form.csrf_token.errors else 422
        if form.csrf_token.errors:
            form.form_errors.append(_("Het formulier was verlopen. Je gegevens staan er nog: verstuur opnieuw."))
    return render_template("organise/paper.html", letter=letter, form=form), status


@bp.get("/letters/<slug>/form.pdf")
def blank_form(slug: str):
    letter = organiser_letter_or_404(slug)
    return pdf_response(paper.blank_form_pdf(letter), f"{letter.slug}-formulier.pdf")


# --- exports --------------------------------------------------------------------------

def _download(body, mimetype: str, filename: str) -> Response:
    response = Response(body, mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@bp.get("/letters/<slug>/signatures.csv")
@writes_on_get  # the audit entry
def signatures_csv(slug: str):
    """Headers and words in the organiser's language, times in the letter's zone."""
    letter = organiser_letter_or_404(slug)
    chunks = exports.signatures_csv(letter, by=current_user, language=current_language())
    db.session.commit()
    reads_only_from_here()
    return _download(stream_with_context(chunks), "text/csv; charset=utf-8", f"{slug}-{_('handtekeningen')}.csv")


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _xlsx_export(slug: str, export, filename: str, title: str) -> Response:
    body = export(organiser_letter_or_404(slug), by=current_user, language=current_language(), title=title)
    db.session.commit()
    return _download(body, XLSX, f"{slug}-{filename}.xlsx")


@bp.get("/letters/<slug>/signatures.xlsx")
@writes_on_get
def signatures_xlsx(slug: str):
    return _xlsx_export(slug, exports.signatures_xlsx, _("handtekeningen"), _("handtekeningen"))


@bp.get("/letters/<slug>/notify-by-post.csv")
@writes_on_get
def postal_notify_csv(slug: str):
    letter = organiser_letter_or_404(slug)
    body = exports.postal_notify_csv(letter, by=current_user, language=current_language())
    db.session.commit()
    return _download(body, "text/csv; charset=utf-8", f"{slug}-{_('verwittigen-per-post')}.csv")


@bp.get("/letters/<slug>/notify-by-post.xlsx")
@writes_on_get
def postal_notify_xlsx(slug: str):
    return _xlsx_export(slug, exports.postal_notify_xlsx, _("verwittigen-per-post"), _("per post"))
