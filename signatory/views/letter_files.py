"""A new letter from the file the organiser has: read it, let the organiser
mark the call to sign, the text and the paper form to cut, then create it.

The read blocks travel in the arranging form itself (hidden fields), so
nothing is stored before the organiser says "create"."""
from __future__ import annotations

import json
import re
import unicodedata

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf import FlaskForm
from markupsafe import Markup

from .. import letters
from ..extensions import db
from ..letter_files import FRONT_MATTER_KEYS, INTRO, OMIT, ROLES, TEXT, Block, LetterFile, clean_text, read_letter_file
from ..letters import SETTINGS_FIELDS, LetterError
from ..markup import to_html
from .organise_forms import NewLetterForm

bp = Blueprint("letter_files", __name__, url_prefix="/organise")

MAX_BLOCKS = 5000
MAX_TOTAL_CHARS = 1_000_000
# What the new-letter form adds to the file's own details, when filled in.
FORM_DETAILS = ("subtitle", *SETTINGS_FIELDS)


@bp.app_template_filter("markdown")
def markdown_filter(source: str) -> Markup:
    return Markup(to_html(source or ""))


@bp.post("/letters/new/file")
def read_file():
    """The new-letter form's "read from file" button."""
    form = NewLetterForm()
    upload = request.files.get("letter_file")
    if upload is None or not upload.filename:
        form.letter_file.errors = [_("Kies een bestand: Word (.docx), OpenDocument (.odt), tekst (.txt) of Markdown (.md).")]
        return _new_letter_page(form), 422
    try:
        letter_file = read_letter_file(upload.filename, upload.read(), title=(form.title.data or None))
    except LetterError as error:
        form.letter_file.errors = [_("%(file)s: %(message)s", file=upload.filename, message=error)]
        return _new_letter_page(form), 422
    _add_form_details(letter_file, form)
    return _arrange_page(letter_file, slug=form.slug.data or "", file_name=upload.filename)


def arrange_pasted_paper_form(form: NewLetterForm):
    """A text pasted into the box that ends in a paper reply form goes to the
    arranging page, where the form is cut before anything is stored."""
    body = form.body.data or ""
    if not body.strip() or len(body) > 200_000:
        return None
    try:
        letter_file = read_letter_file("pasted.md", body.encode("utf-8"), title=(form.title.data or None))
    except LetterError:
        return None
    if letter_file.cut is None:
        return None
    _add_form_details(letter_file, form)
    if form.intro.data:
        letter_file.meta["intro"] = form.intro.data
    return _arrange_page(letter_file, slug=form.slug.data or "", file_name="")


def _new_letter_page(form: NewLetterForm):
    return render_template("organise/letter_form.html", form=form, letter=None, preview=None)


def _add_form_details(letter_file: LetterFile, form: NewLetterForm) -> None:
    for name in FORM_DETAILS:
        value = form[name].data
        if name == "timezone" and value == "Europe/Brussels":
            continue  # the field's default says nothing
        if value not in (None, ""):
            letter_file.meta[name] = value.isoformat() if hasattr(value, "isoformat") else value
            letter_file.meta_lines.pop(name, None)
    if form.language.data and form.language.data != "nl-BE":
        letter_file.meta["language"] = form.language.data
    if form.subtitle.data:
        letter_file.subtitle = form.subtitle.data


@bp.post("/letters/new/arrange")
def arrange():
    form = FlaskForm()
    if not form.validate_on_submit():
        flash(_("Het formulier was verlopen. Lees het bestand opnieuw in."))
        return redirect(url_for("organise.new_letter"), 303)
    letter_file, errors = _letter_file_from_form()
    if letter_file is None:
        flash(errors[0])
        return redirect(url_for("organise.new_letter"), 303)
    slug = clean_text(request.form.get("slug") or "").strip().lower()[:200]
    file_name = clean_text(request.form.get("file_name", ""))[:200]
    try:
        source = letter_file.source(cut=letter_file.cut)
        if request.form.get("action") != "create":
            return _arrange_page(letter_file, slug=slug, file_name=file_name, preview=source)
        letter = letters.create_letter(slug, source, by=current_user)
    except LetterError as error:
        return _arrange_page(letter_file, slug=slug, file_name=file_name, errors=[str(error)]), 422
    db.session.commit()
    flash(_("De brief is aangemaakt als ontwerp. Vul de instellingen aan en open hem wanneer hij klaar is."))
    return redirect(url_for("organise.letter", slug=letter.slug), 303)


def _letter_file_from_form() -> tuple[LetterFile | None, list[str]]:
    texts = request.form.getlist("block")
    lines = request.form.getlist("line")
    if not texts or len(texts) > MAX_BLOCKS or len(lines) != len(texts) or sum(map(len, texts)) > MAX_TOTAL_CHARS:
        return None, [_("Het ingelezen bestand kwam niet volledig aan. Lees het opnieuw in.")]
    try:
        meta = json.loads(request.form.get("meta") or "{}")
        meta_lines = json.loads(request.form.get("meta_lines") or "{}")
    except ValueError:
        meta, meta_lines = None, None
    if not isinstance(meta, dict) or not isinstance(meta_lines, dict):
        return None, [_("Het ingelezen bestand kwam niet volledig aan. Lees het opnieuw in.")]
    meta = {
        key: clean_text(value) if isinstance(value, str) else value
        for key, value in meta.items() if key in FRONT_MATTER_KEYS and isinstance(value, (str, int, float))
    }
    meta_lines = {key: value for key, value in meta_lines.items() if isinstance(value, int)}
    blocks = []
    for index, (text, line) in enumerate(zip(texts, lines)):
        role = request.form.get(f"role-{index}", TEXT)
        blocks.append(Block(clean_text(text), int(line) if line.isdecimal() and len(line) < 9 else index + 1,
                            role if role in ROLES else TEXT))
    cut = request.form.get("cut", "none")
    kind = request.form.get("kind", "text")
    letter_file = LetterFile(
        kind=kind if kind in ("markdown", "text", "word", "odt") else "text",
        meta=meta, meta_lines=meta_lines, blocks=blocks,
        title=" ".join(clean_text(request.form.get("title", "")).split())[:300],
        subtitle=" ".join(clean_text(request.form.get("subtitle", "")).split())[:300],
        cut=int(cut) if cut.isdecimal() and int(cut) < len(blocks) else None,
    )
    return letter_file, []


def suggested_slug(title: str) -> str:
    """'Integratie: hoezo mislukt?' → 'integratie-hoezo-mislukt'."""
    ascii_title = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_title.lower()).strip("-")[:60].strip("-")
    return slug if letters.SLUG_PATTERN.match(slug) else ""


def _arrange_page(letter_file: LetterFile, *, slug: str, file_name: str, preview=None, errors=()):
    slug = slug or suggested_slug(letter_file.title)
    return render_template(
        "organise/letter_arrange.html",
        letter_file=letter_file, slug=slug, file_name=file_name, preview=preview, errors=list(errors),
        meta_json=json.dumps(letter_file.meta, ensure_ascii=False, default=str),
        meta_lines_json=json.dumps(letter_file.meta_lines),
        INTRO=INTRO, TEXT=TEXT, OMIT=OMIT,
    )
