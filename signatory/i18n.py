"""Languages: Dutch (Flemish wording) by default, English second.

The language a visitor chose is in the URL (`?lang=en`), so that a shared
cache can key on it (DESIGN §6), and every link to a public page carries it
on. Without it, the shared public pages follow the browser's Accept-Language
(and say so in Vary); the other pages also honour the cookie that the
language link of the organiser's pages sets.
"""
from __future__ import annotations

from functools import lru_cache

from flask import Flask, Request, current_app, g, has_request_context, request, url_for
from flask_babel import format_date, format_datetime, format_decimal, get_locale

from .extensions import babel
from .view_marks import page_of_current_view

LANGUAGES = ("nl", "en")
DEFAULT_LANGUAGE = "nl"
LANGUAGE_COOKIE = "lang"
LANGUAGE_ARG = "lang"


def url_language(req: Request | None = None) -> str | None:
    args = (req or request).args
    # Asked first: a missing key costs Werkzeug's `get` an exception.
    chosen = args[LANGUAGE_ARG] if LANGUAGE_ARG in args else None
    return chosen if chosen in LANGUAGES else None


def select_locale() -> str:
    if not has_request_context():
        return DEFAULT_LANGUAGE  # commands and e-mails choose with force_locale
    req = request._get_current_object()  # read once, not through the proxy each time
    chosen = url_language(req)
    if chosen:
        return chosen
    if not g.get("shared_page"):
        cookies = req.cookies
        cookie = cookies[LANGUAGE_COOKIE] if LANGUAGE_COOKIE in cookies else None  # as in url_language
        if cookie in LANGUAGES:
            return cookie
    return best_language(req.headers.get("Accept-Language", ""))


@lru_cache(maxsize=512)
def best_language(accept_language: str) -> str:
    """Browsers send a handful of distinct headers: parse each once."""
    from werkzeug.datastructures import LanguageAccept
    from werkzeug.http import parse_accept_header

    return parse_accept_header(accept_language, LanguageAccept).best_match(LANGUAGES, default=DEFAULT_LANGUAGE)


def current_language() -> str:
    return str(get_locale() or DEFAULT_LANGUAGE)[:2]


def carries_language(endpoint: str) -> bool:
    """Links to the citizen's pages carry the chosen language on."""
    if endpoint.startswith("public."):
        return True
    view = current_app.view_functions.get(endpoint)
    return bool(getattr(view, "shared_page", False))


def carry_language(endpoint: str, values: dict) -> None:
    if not has_request_context() or LANGUAGE_ARG in values or not carries_language(endpoint):
        return
    chosen = url_language()
    if chosen:
        values[LANGUAGE_ARG] = chosen


def language_url(code: str) -> str:
    """The language link: this very page in the other language (for a form
    that came back, the page it came from). A citizen's page says it in its
    URL; an organiser's page sets the cookie."""
    endpoint = page_of_current_view()
    if endpoint and carries_language(endpoint) and (request.method == "GET" or endpoint != request.endpoint):
        args = {key: value for key, value in request.args.items() if key != LANGUAGE_ARG}
        return url_for(endpoint, **(request.view_args or {}), **args, **{LANGUAGE_ARG: code})
    return url_for("public.set_language", code=code, next=request.full_path.rstrip("?"))


def init_app(app: Flask) -> None:
    babel.init_app(app, locale_selector=select_locale)
    app.url_defaults(carry_language)

    app.jinja_env.globals.update(
        format_date=format_date, format_datetime=format_datetime, format_number=format_decimal,
        language_url=language_url,
    )

    from . import labels

    labels.init_app(app)

    @app.context_processor
    def language_context():
        return {"current_language": current_language, "LANGUAGES": LANGUAGES}
