"""Public pages: the letters, signing, confirming, managing a signature."""
from __future__ import annotations

import base64
import binascii
import math
from functools import lru_cache
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from flask import (
    Blueprint,
    Flask,
    abort,
    current_app,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import format_decimal, gettext as _
from sqlalchemy import and_, func, or_, select
from sqlalchemy.exc import DBAPIError

from .. import signing, tokens
from ..crossorigin import checks_origin, is_cross_origin
from ..database import (
    database_unavailable,
    driver_transaction,
    reads_before_writes,
    reads_only_from_here,
    retry_once_when_the_database_drops,
    rollback_quietly,
)
from ..extensions import client_ip, csrf, db, limiter
from ..forms import ManageForm, ResendForm, SignForm, WithdrawForm, show_refusal
from ..headers import PAGE_HEADERS
from ..i18n import LANGUAGE_ARG, LANGUAGE_COOKIE, LANGUAGES, best_language, select_locale, url_language
from ..letters import LetterMemo, public_letter_or_404, public_letters, signing_target, snapshots
from ..markup import to_html, to_plain_text
from ..models import Document, Letter, Signature
from ..ratelimits import ViewLimit
from ..refusals import LinkError
from ..states import SignatureStatus
from ..pdf.line_rule import MAX_PARAGRAPH_CHARS, MAX_PARAGRAPH_LINES, line_verdict
from ..view_marks import answers_for, may_be_framed, writes_on_get
from .auth import is_organise_path
from .caching import KeptPageServer, PageStore, kept_page_response, shared_page, stateless

bp = Blueprint("public", __name__)

SIGNATORIES_PER_PAGE = 50
# How long a worker trusts the letter's snapshot before reading it again.
SNAPSHOT_SECONDS = 1.0


def sign_rate_limit() -> str:
    return current_app.config["SIGN_RATE_LIMIT"] or "1000000 per second"


def rate_limit_off() -> bool:
    return current_app.config["SIGN_RATE_LIMIT"] is None


def read_signing_target(slug: str):
    """Read in a transaction of its own, ended before the writes begin."""
    with reads_before_writes():
        return signing_target(slug)


# What the signing path needs of a letter, read at most once a second per
# worker: an organiser's close or new version reaches the other workers
# within that second (the deadline is exact: it is checked on the clock).
signing_targets = LetterMemo(read_signing_target)


def _refuse(slug: str, form: SignForm | None, status: int, message: str | None = None):
    """Answer a refused signing with the form filled in (DESIGN §3), reading
    only: a refusal never takes the SQLite write lock from real signers.
    Without a form, the one posted is filled in again (not validated)."""
    reads_only_from_here()
    letter = public_letter_or_404(slug)
    if form is None:
        form = SignForm.for_letter(letter.id, formdata=request.form)
    if message:
        form.form_errors.append(message)
    response = make_response(render_letter_html(letter, form), status)
    response.headers["Cache-Control"] = "no-store"  # it shows what one visitor typed
    return response


def _refuse_rate_limited(_limit):
    return _refuse(
        request.view_args["slug"], None, 429,
        _("Te veel handtekeningen na elkaar vanaf dit netwerk. Wacht een minuut en verstuur opnieuw; uw gegevens staan er nog."),
    )


@bp.before_request
def refuse_cross_site_signing():
    """A post from another site is refused before it counts against the
    visitor's rate limit, with what was typed (DESIGN §6)."""
    if request.endpoint == "public.sign" and is_cross_origin():
        return _refuse(
            request.view_args["slug"], None, 403,
            _("Dit formulier kwam van een andere website. Uw gegevens staan er nog: kijk ze na en verstuur het hier opnieuw."),
        )
    return None


@bp.get("/")
@shared_page
def index():
    return render_template("public/index.html", letters=public_letters())


LETTER_PAGES = "signatory_letter_pages"


def letter_pages() -> PageStore:
    return current_app.extensions.setdefault(LETTER_PAGES, PageStore())


def serve_kept_letter_pages(app: Flask) -> None:
    """Put KeptPageServer in front of everything (the proxy fix-up too): a
    kept letter page costs a viewer next to nothing (DESIGN §8)."""
    pages = app.extensions.setdefault(LETTER_PAGES, PageStore())

    def find_page(slug: str, url_language: str | None, accept_language: str):
        """The view's look-up without a request: (page, max_age) when the
        snapshot is fresh and its page kept, else None (Flask answers)."""
        max_age = app.config["PUBLIC_CACHE_SECONDS"]
        if max_age < 2 or (url_language is not None and url_language not in LANGUAGES):
            return None
        found = snapshots.peek(slug, fresh_for=SNAPSHOT_SECONDS)
        if found is None or found[0] is None:
            return None
        snapshot, age = found
        key = snapshot.page_key(url_language or best_language(accept_language))
        page = pages.get(key) if key is not None else None
        return (page, max_age - math.ceil(age)) if page is not None else None

    app.wsgi_app = KeptPageServer(app.wsgi_app, find_page, PAGE_HEADERS)


@bp.get("/letters/<slug>")
@shared_page
def letter(slug: str):
    """The page most people open: rendered once per letter, text version,
    language, state and count (and every other change, see letter_snapshot),
    then served from this process's memory (by KeptPageServer, until the
    snapshot is to be read again)."""
    max_age = current_app.config["PUBLIC_CACHE_SECONDS"]
    snapshot, age = snapshots.get(slug, fresh_for=SNAPSHOT_SECONDS if max_age >= 2 else 0)
    if snapshot is None:
        abort(404)
    key = snapshot.page_key(select_locale())
    pages = letter_pages()
    page = pages.get(key) if key is not None else None
    if page is None:
        html = render_letter_html(public_letter_or_404(slug), SignForm.for_letter(snapshot.id))
        page = pages.keep(key, html) if key is not None else PageStore.page_of(html)
    # What a cache in front keeps must not outlive PUBLIC_CACHE_SECONDS
    # counted from the database read, however old the snapshot in memory.
    return kept_page_response(page, max_age=max_age - math.ceil(age))


def render_letter_html(letter: Letter, form: SignForm) -> str:
    published = _published_extras(letter) if letter.is_published else {}
    return render_template(
        "public/letter.html",
        letter=letter,
        form=form,
        body_html=to_html(letter.body),
        description=to_plain_text(letter.intro or letter.body, limit=200),
        first_signatories=first_signatories(letter),
        max_lines=MAX_PARAGRAPH_LINES,
        max_chars=MAX_PARAGRAPH_CHARS,
        **published,
    )


def _published_extras(letter: Letter) -> dict:
    """The enriched opinion on the public page: the frozen document with its
    SHA-256, the first paragraphs, and the answers that came back."""
    from .. import publication
    from .publication import PARAGRAPHS_PER_PAGE

    paragraphs = publication.published_paragraphs(letter, limit=PARAGRAPHS_PER_PAGE + 1)
    document = publication.frozen_document(letter)
    return {
        "document": document,
        "document_size": _size_in_words(_stored_length(document)) if document is not None else "",
        "paragraphs": paragraphs[:PARAGRAPHS_PER_PAGE],
        "more_paragraphs": len(paragraphs) > PARAGRAPHS_PER_PAGE,
        "answers": publication.answers_of(letter),
    }


def _sign_unavailable(slug: str):
    """The database dropped the connection twice: a 503 with the form as it
    was typed (DESIGN §3: nothing typed is lost), on the letter's page when
    that can still be read."""
    message = _("Uw handtekening kon niet bewaard worden: de dienst is even niet bereikbaar. "
                "Uw gegevens staan er nog: verstuur het formulier over een minuut opnieuw.")
    try:
        response = _refuse(slug, None, 503, message)
    except DBAPIError as error:
        if not database_unavailable(error):
            raise
        rollback_quietly()
        # Without the letter there is no token to give: the form is kept as typed.
        form = SignForm(formdata=request.form, meta={"csrf": False})
        response = make_response(render_template("public/unavailable.html", form=form, slug=slug, message=message), 503)
    response.headers["Retry-After"] = "30"
    return response


def _stored_length(document) -> int:
    """The PDF's size, asked of the database (the bytes stay deferred)."""
    return db.session.scalar(select(func.length(Document.pdf)).where(Document.id == document.id)) or 0


def _size_in_words(size: int) -> str:
    if not size:
        return ""
    if size < 1_000_000:
        return _("%(size)s kB", size=format_decimal(max(1, round(size / 1000))))
    return _("%(size)s MB", size=format_decimal(round(size / 1_000_000, 1)))


# The signing limit per client address, without Flask-Limiter's per-hit
# resolution of every limit (DESIGN §8); its storage and fallback are used.
sign_limit = ViewLimit(
    limiter, "sign", sign_rate_limit, key_func=client_ip, exempt_when=rate_limit_off, on_breach=_refuse_rate_limited,
)


@bp.post("/letters/<slug>/sign")
@answers_for("public.letter")
@csrf.exempt  # the form checks its own (stateless) token, so a refusal keeps what was typed
@sign_limit
@retry_once_when_the_database_drops(_sign_unavailable)
@stateless  # the address for the thanks page travels in its URL, sealed (no session)
@checks_origin
def sign(slug: str):
    target, _age = signing_targets.get(slug, fresh_for=SNAPSHOT_SECONDS)
    if target is None:
        abort(404)
    form = SignForm.for_letter(target.id)
    if not target.is_signable:
        return _refuse(slug, form, 409, _("Deze brief kan niet meer ondertekend worden."))
    if not form.validate():
        if form.csrf_token.errors:
            form.csrf_token.errors = []
            return _refuse(
                slug, form, 400,
                _("Uw formulier was verlopen of onvolledig. Uw gegevens staan er nog: verstuur het opnieuw."),
            )
        return _refuse(slug, form, 422)
    if form.is_bot:
        return _to_thanks(slug, form)
    try:
        signature = signing.prepare_signature(target, form.details(select_locale()), ip=request.remote_addr)
    except signing.LetterNotSignable as error:
        return _refuse(slug, form, 409, str(error.message))
    except signing.SigningError as error:
        show_refusal(form, error)
        return _refuse(slug, form, 422)
    # A transaction of its own on the driver, committed here: the two INSERTs
    # without the ORM session's or Core's machinery (DESIGN §8).
    with driver_transaction() as connection:
        signing.store_signature(signature, connection)
    return _to_thanks(slug, form)


def _to_thanks(slug: str, form: SignForm):
    """To the thanks page, which shows the address as typed (a typo like
    gmail.con is visible there); the same whether or not it had signed."""
    sent = tokens.sent_to_token(slug, form.email.data or "")  # URL-safe base64
    page = _thanks_page(request.script_root, slug, url_language())
    # A fragment of its own: else the browser keeps the form's #error-summary.
    return redirect(f"{page}{'&' if '?' in page else '?'}sent={sent}#main", 303)


@lru_cache(maxsize=1024)
def _thanks_page(_script_root: str, slug: str, _language: str | None) -> str:
    """The thanks page's URL (with the language the form came in), built
    once per letter and language: on the signing path url_for cost as much
    as sealing the address (DESIGN §8). Keyed on what url_for reads from the
    request."""
    return url_for("public.thanks", slug=slug)


@bp.get("/letters/<slug>/thanks")
@stateless
def thanks(slug: str):
    letter = public_letter_or_404(slug)
    sent_to = tokens.read_sent_to(slug, request.args.get("sent"))
    response = make_response(render_template("public/thanks.html", letter=letter, sent_to=sent_to))
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/api/paragraph-lines")
@csrf.exempt  # changes nothing: the typesetter's verdict on a text
@limiter.limit("240 per minute", exempt_when=rate_limit_off)
def paragraph_lines():
    # Malformed JSON (nested too deeply included) is a 400, not a guess.
    payload = request.get_json() if request.is_json else None
    text = payload.get("text") if isinstance(payload, dict) else None
    if not isinstance(text, str):
        text = request.form.get("text", "")
    lines, fits = line_verdict(text[: MAX_PARAGRAPH_CHARS * 2])
    response = make_response({"lines": lines, "max": MAX_PARAGRAPH_LINES, "fits": fits})
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.errorhandler(LinkError)
def link_problem(error: LinkError):
    """A broken, expired or spent link, from whichever view followed it."""
    db.session.rollback()
    return render_template("public/link_problem.html", message=error.message), 410


@bp.get("/confirm/<token>")
@writes_on_get
def confirm(token: str):
    signature = signing.confirm(token)
    db.session.commit()
    response = make_response(
        render_template(
            "public/confirmed.html", signature=signature, letter=signature.letter,
            manage_url=url_for("public.manage", token=tokens.make_token(tokens.MANAGE, signature.id)),
        )
    )
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/manage/<token>", methods=["GET", "POST"])
@csrf.exempt  # the forms check their own tokens, keeping what was typed
def manage(token: str):
    signature = signing.manageable_signature(token)
    form = ManageForm(obj=signature if request.method == "GET" else None)
    status = 200
    if request.method == "POST":
        if form.validate():
            try:
                changed = signing.change(signature, form.details(signature.language))
            except signing.SigningError as error:
                db.session.rollback()
                show_refusal(form, error)
                status = 422
            else:
                db.session.commit()
                flash(_("Uw wijzigingen zijn bewaard.") if changed else _("Er was niets gewijzigd."))
                return redirect(url_for("public.manage", token=token), 303)
        else:
            status = 400 if form.csrf_token.errors else 422
            if form.csrf_token.errors:
                form.form_errors.append(_("Uw formulier was verlopen. Uw gegevens staan er nog: verstuur het opnieuw."))
    response = make_response(
        render_template(
            "public/manage.html", signature=signature, letter=signature.letter, form=form,
            token=token, max_lines=MAX_PARAGRAPH_LINES,
        ),
        status,
    )
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/manage/<token>/withdraw", methods=["GET", "POST"])
def withdraw(token: str):
    """GET asks once more (and changes nothing: mail scanners follow links);
    the POST withdraws."""
    signature = signing.manageable_signature(token)
    if request.method == "GET":
        if signature.status == SignatureStatus.WITHDRAWN:
            return redirect(url_for("public.manage", token=token), 303)
        response = make_response(
            render_template("public/withdraw.html", letter=signature.letter, form=WithdrawForm(), token=token)
        )
        response.headers["Cache-Control"] = "no-store"
        return response
    signing.withdraw(signature)
    db.session.commit()
    return render_template("public/withdrawn.html", letter=signature.letter)


def _refuse_resend_rate_limited(_limit):
    form = ResendForm(formdata=request.form, meta={"csrf": False})
    form.form_errors.append(_("Te veel aanvragen na elkaar. Wacht een minuut en probeer opnieuw."))
    return _render_resend(public_letter_or_404(request.view_args["slug"]), form, status=429)


def _resend_unavailable(slug: str):
    from ..errors import render_database_unavailable

    form = ResendForm(formdata=request.form)
    form.form_errors.append(_("De dienst is even niet bereikbaar. Probeer het over een minuut opnieuw."))
    try:
        response = make_response(*_render_resend(public_letter_or_404(slug), form, status=503))
    except DBAPIError as error:
        if not database_unavailable(error):
            raise
        return render_database_unavailable()
    response.headers["Retry-After"] = "30"
    return response


@bp.route("/letters/<slug>/resend", methods=["GET", "POST"])
@csrf.exempt  # the form checks its own token, so a refusal keeps the address
@limiter.limit("10 per minute", methods=["POST"], exempt_when=rate_limit_off, on_breach=_refuse_resend_rate_limited)
@retry_once_when_the_database_drops(_resend_unavailable)
def resend(slug: str):
    letter = public_letter_or_404(slug)
    form = ResendForm()
    if not form.is_submitted():
        return _render_resend(letter, form)
    if not form.validate():
        if form.csrf_token.errors:
            form.csrf_token.errors = []
            form.form_errors.append(_("Uw formulier was verlopen. Uw adres staat er nog: verstuur het opnieuw."))
            return _render_resend(letter, form, status=400)
        return _render_resend(letter, form, status=422)
    signing.resend_links(letter, form.email.data)
    db.session.commit()
    return _render_resend(letter, form, sent=True)


def _render_resend(letter: Letter, form: ResendForm, *, sent: bool = False, status: int = 200):
    return render_template("public/resend.html", letter=letter, form=form, sent=sent), status


@bp.get("/letters/<slug>/signatories")
@shared_page
def signatories(slug: str):
    letter = public_letter_or_404(slug)
    cursor = _decode_cursor(request.args.get("after"))
    rows = named_signatories(letter, cursor, SIGNATORIES_PER_PAGE + 1)
    next_cursor = _encode_cursor(rows[SIGNATORIES_PER_PAGE - 1]) if len(rows) > SIGNATORIES_PER_PAGE else None
    return render_template(
        "public/signatories.html",
        letter=letter,
        signatories=rows[:SIGNATORIES_PER_PAGE],
        first_signatories=first_signatories(letter) if cursor is None else [],
        next_cursor=next_cursor,
        is_first_page=cursor is None,
    )


@bp.get("/letters/<slug>/embed")
@may_be_framed
@shared_page
def embed(slug: str):
    """A small counter card that other sites may frame (the only framable page)."""
    letter = public_letter_or_404(slug)
    return render_template("public/embed.html", letter=letter)


@bp.get("/letters/<slug>/privacy")
@shared_page
def privacy(slug: str):
    letter = public_letter_or_404(slug)
    months = current_app.config["ADDRESS_RETENTION_MONTHS"]
    return render_template("public/privacy.html", letter=letter, months=months)


@bp.get("/language/<code>")
def set_language(code: str):
    if code not in LANGUAGES:
        abort(404)
    target = request.args.get("next", "/")
    if not is_local_path(target):
        target = "/"
    if not is_organise_path(urlsplit(target).path):
        target = with_language(target, code)  # a citizen's page says it in its URL
    response = redirect(target, 303)
    response.set_cookie(LANGUAGE_COOKIE, code, max_age=365 * 24 * 3600, samesite="Lax", httponly=True)
    return response


def with_language(target: str, code: str) -> str:
    parts = urlsplit(target)
    query = [(key, value) for key, value in parse_qsl(parts.query, keep_blank_values=True) if key != LANGUAGE_ARG]
    return urlunsplit(("", "", parts.path, urlencode([*query, (LANGUAGE_ARG, code)]), parts.fragment))


def is_local_path(target: str) -> bool:
    """A path on this site: no scheme, no other host, no header injection."""
    return (
        target.startswith("/") and not target.startswith("//")
        and not any(char in target for char in "\\\r\n\t\x00")
    )


# --- queries for the public lists -------------------------------------------------

def first_signatories(letter: Letter) -> list[Signature]:
    """Filtered after the query on purpose: the (letter, first_signatory)
    index finds the few marked rows, whatever the size of the letter."""
    marked = db.session.scalars(
        select(Signature)
        .where(Signature.letter_id == letter.id, Signature.first_signatory.is_(True))
        .order_by(Signature.sort_key, Signature.id)
        .limit(500)
    )
    return [s for s in marked if s.is_counted and s.consent_name]


def named_signatories(letter: Letter, cursor: tuple[bytes, int] | None, limit: int) -> list[Signature]:
    """Keyset pagination over (sort_key, id): the same cost on page 1 and
    page 20,000."""
    query = select(Signature).where(
        Signature.letter_id == letter.id, Signature.status == SignatureStatus.CONFIRMED,
        Signature.consent_name.is_(True),
    )
    if cursor is not None:
        key, last_id = cursor
        query = query.where(or_(Signature.sort_key > key, and_(Signature.sort_key == key, Signature.id > last_id)))
    return list(db.session.scalars(query.order_by(Signature.sort_key, Signature.id).limit(limit)))


def _encode_cursor(signature: Signature) -> str:
    raw = signature.sort_key.hex() + "." + str(signature.id)
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _decode_cursor(value: str | None) -> tuple[bytes, int] | None:
    if not value:
        return None
    try:
        raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)).decode()
        key_hex, _sep, id_text = raw.partition(".")
        signature_id = int(id_text)
        if not 0 < signature_id < 2**62:
            raise ValueError
        return bytes.fromhex(key_hex), signature_id
    except (ValueError, binascii.Error, UnicodeDecodeError):
        abort(400)

