"""The organiser's copy of the verrijkte opinie, at any time (DESIGN §6):
the PDF when it is ready, else a page that says it is being prepared."""
from __future__ import annotations

from flask import Blueprint, abort, make_response, render_template, request
from flask_login import login_required

from ..auth import organiser_letter_or_404
from ..extensions import db
from ..pdf import store
from ..states import DocumentStatus
from .responses import pdf_response
from ..view_marks import writes_on_get

bp = Blueprint("documents", __name__)


def _pdf_response(letter, document):
    suffix = "" if document.published else "-ontwerp"
    return pdf_response(document.pdf, f"{letter.slug}-r{document.data_revision}{suffix}.pdf",
                        sha256=document.sha256, cache_control="private, no-cache")


@bp.get("/organise/letters/<slug>/document.pdf")
@writes_on_get
@login_required
def organiser_document(slug: str):
    letter = organiser_letter_or_404(slug)
    if request.args.get("version") == "previous":
        previous = store.latest_ready(letter)
        if previous is None:
            abort(404)
        return _pdf_response(letter, previous)
    document = store.get_or_compile(letter)
    db.session.commit()
    if document.status == DocumentStatus.READY:
        return _pdf_response(letter, document)
    previous = store.latest_ready(letter)
    response = make_response(
        render_template(
            "organise/document_pending.html",
            letter=letter,
            document=document,
            previous=previous,
            draft=not letter.is_published,
        ),
        202 if document.status == DocumentStatus.PENDING else 200,
    )
    response.headers["Cache-Control"] = "no-store"
    return response
