"""Publishing, notifying and answers: the organiser's side under
/organise/letters/<slug>/…, and the public document and paragraphs."""
from __future__ import annotations

from datetime import date

from flask import Blueprint, abort, flash, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import DateField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from .. import publication
from ..auth import organiser_letter_or_404
from ..extensions import db
from ..forms import show_refusal
from ..letters import public_letter_or_404
from ..models import Answer
from ..moderation import queue_counts, unverified_organisation_count
from ..states import LetterState
from ..text import strip_controls
from .caching import shared_page
from .responses import pdf_response

bp = Blueprint("publication", __name__)

PARAGRAPHS_PER_PAGE = 50


class PublishForm(FlaskForm):
    publication_date = DateField(
        _l("Publicatiedatum"), validators=[DataRequired(_l("Vul een datum in (JJJJ-MM-DD)."))],
        default=date.today,
    )
    publication_manner = TextAreaField(
        _l("Manier van publicatie"),
        validators=[DataRequired(_l("Beschrijf hoe de brief gepubliceerd wordt.")), Length(max=2000)],
        description=_l("Bijvoorbeeld: op 20 juni verstuurd naar alle leden van het Vlaams Parlement; gepubliceerd op onze website."),
        render_kw={"rows": 3},
    )


class NotifyForm(FlaskForm):
    """Only the form token."""


class AnswerForm(FlaskForm):
    # NUL and the other control characters never reach the database.
    author_name = StringField(_l("Van (naam)"), filters=[strip_controls], validators=[DataRequired(_l("Van wie komt het antwoord?")), Length(max=200)])
    author_function = StringField(_l("Functie"), filters=[strip_controls], validators=[Optional(), Length(max=200)])
    author_affiliation = StringField(_l("Partij of instelling"), filters=[strip_controls], validators=[Optional(), Length(max=200)])
    received_on = DateField(_l("Ontvangen op"), validators=[DataRequired(_l("Vul een datum in (JJJJ-MM-DD)."))], default=date.today)
    body = TextAreaField(_l("Tekst van het antwoord"), filters=[strip_controls], validators=[Optional(), Length(max=50_000)], render_kw={"rows": 8})
    attachment = FileField(_l("Bijlage (PDF, niet verplicht)"))


# --- organiser -------------------------------------------------------------------------

def _render_publication(letter, publish_form=None, answer_form=None, status=200):
    return render_template(
        "organise/publication.html",
        letter=letter,
        publish_form=publish_form or PublishForm(),
        notify_form=NotifyForm(),
        answer_form=answer_form or AnswerForm(),
        notices=publication.notice_counts(letter),
        answers=publication.answers_of(letter),
        document=publication.frozen_document(letter),
        unverified=unverified_organisation_count(letter),
    ), status


@bp.get("/organise/letters/<slug>/publication")
@login_required
def overview(slug: str):
    # Back from the confirmation: the date and manner as they were typed.
    typed = PublishForm(formdata=request.args, meta={"csrf": False}) if request.args else None
    return _render_publication(organiser_letter_or_404(slug), publish_form=typed)


@bp.get("/organise/letters/<slug>/publish")
@login_required
def confirm_publish(slug: str):
    """Publishing asks first: the date and manner as they will stand, the
    draft PDF, and what is still open. The POST below publishes."""
    letter = organiser_letter_or_404(slug)
    if letter.state == LetterState.PUBLISHED or not request.args:
        return redirect(url_for("publication.overview", slug=slug), 303)
    typed = PublishForm(formdata=request.args, meta={"csrf": False})
    if not typed.validate():
        return _render_publication(letter, publish_form=typed, status=422)
    confirm = PublishForm(formdata=None, data=typed.data)
    return render_template(
        "organise/confirm_publish.html", letter=letter, form=confirm,
        queue_counts=queue_counts(letter), unverified=unverified_organisation_count(letter),
    )


@bp.post("/organise/letters/<slug>/publish")
@login_required
def publish(slug: str):
    letter = organiser_letter_or_404(slug)
    form = PublishForm()
    if not form.validate():
        return _render_publication(letter, publish_form=form, status=400 if form.csrf_token.errors else 422)
    try:
        publication.publish(letter, form.publication_date.data, form.publication_manner.data, current_user)
    except publication.PublicationError as error:
        db.session.rollback()
        show_refusal(form, error)
        return _render_publication(letter, publish_form=form, status=409)
    db.session.commit()
    flash(_("De brief is gepubliceerd. Het document is vastgelegd."))
    return redirect(url_for("publication.overview", slug=slug), 303)


@bp.post("/organise/letters/<slug>/notify")
@login_required
def notify(slug: str):
    letter = organiser_letter_or_404(slug)
    if not NotifyForm().validate():
        abort(400)
    try:
        report = publication.notify_signatories(letter, current_user)
    except publication.PublicationError as error:
        flash(str(error.message))
        return redirect(url_for("publication.overview", slug=slug), 303)
    db.session.commit()
    if report.queued:
        flash(_("%(n)s e-mails klaargezet.", n=report.queued))
    else:
        flash(_("Iedereen die het vroeg, kreeg al een bericht: er is niemand bijgekomen."))
    return redirect(url_for("publication.overview", slug=slug), 303)


@bp.post("/organise/letters/<slug>/answers")
@login_required
def add_answer(slug: str):
    letter = organiser_letter_or_404(slug)
    form = AnswerForm()
    if not form.validate():
        return _render_publication(letter, answer_form=form, status=422)
    upload = form.attachment.data
    attachment = upload.read() if upload and getattr(upload, "filename", "") else None
    try:
        publication.record_answer(
            letter,
            publication.AnswerInput(
                author_name=form.author_name.data, received_on=form.received_on.data,
                author_function=form.author_function.data or "", author_affiliation=form.author_affiliation.data or "",
                body=form.body.data or "", attachment=attachment,
                attachment_name=upload.filename if attachment else "",
            ),
            current_user,
        )
    except publication.PublicationError as error:
        db.session.rollback()
        show_refusal(form, error)
        return _render_publication(letter, answer_form=form, status=422)
    db.session.commit()
    flash(_("Het antwoord staat op de publieke pagina."))
    return redirect(url_for("publication.overview", slug=slug) + "#answers", 303)


@bp.post("/organise/answers/<int:answer_id>/delete")
@login_required
def delete_answer(answer_id: int):
    answer = db.session.get(Answer, answer_id) or abort(404)
    letter = organiser_letter_or_404(_slug_of(answer.letter_id))
    if not NotifyForm().validate():
        abort(400)
    publication.delete_answer(answer, current_user)
    db.session.commit()
    flash(_("Het antwoord is verwijderd."))
    return redirect(url_for("publication.overview", slug=letter.slug) + "#answers", 303)


def _slug_of(letter_id: int) -> str:
    from ..models import Letter

    letter = db.session.get(Letter, letter_id)
    return letter.slug if letter else ""


# --- public ---------------------------------------------------------------------------------

@bp.get("/letters/<slug>/document.pdf")
def public_document(slug: str):
    letter = public_letter_or_404(slug)
    if not letter.is_published:
        abort(404)
    document = publication.frozen_document(letter)
    if document is None or document.pdf is None:
        # Published a moment ago and still being compiled (a large letter).
        response = make_response(render_template("public/document_pending.html", letter=letter), 503)
        response.headers["Retry-After"] = "30"
        return response
    return pdf_response(document.pdf, f"{letter.slug}.pdf", sha256=document.sha256,
                        cache_control="public, max-age=300")


@bp.get("/letters/<slug>/paragraphs")
@shared_page
def paragraphs(slug: str):
    """The approved, consented paragraphs, each with its own anchor, in pages."""
    letter = public_letter_or_404(slug)
    after = request.args.get("after", type=int)
    if after is not None and not 0 <= after < 2**62:
        abort(400)
    rows = publication.published_paragraphs(letter, after=after, limit=PARAGRAPHS_PER_PAGE + 1)
    next_after = rows[PARAGRAPHS_PER_PAGE - 1].id if len(rows) > PARAGRAPHS_PER_PAGE else None
    return render_template(
        "public/paragraphs.html", letter=letter, paragraphs=rows[:PARAGRAPHS_PER_PAGE],
        next_after=next_after, is_first_page=after is None,
    )


@bp.get("/letters/<slug>/answers/<int:answer_id>.pdf")
def answer_attachment(slug: str, answer_id: int):
    letter = public_letter_or_404(slug)
    answer = db.session.get(Answer, answer_id)
    if answer is None or answer.letter_id != letter.id or not answer.attachment:
        abort(404)
    # Made by whoever answered, not by us: downloaded and sandboxed.
    return pdf_response(answer.attachment, f"antwoord-{answer.id}.pdf", untrusted=True)

