"""Languages: Dutch (Flemish wording) by default, English second.

The visitor's Accept-Language decides the first visit; the language link sets
a cookie that decides after that.
"""
from __future__ import annotations

from flask import Flask, has_request_context, request
from flask_babel import format_date, format_datetime, format_decimal, get_locale

from .extensions import babel

LANGUAGES = ("nl", "en")
DEFAULT_LANGUAGE = "nl"
LANGUAGE_COOKIE = "lang"


def select_locale() -> str:
    if not has_request_context():
        return DEFAULT_LANGUAGE  # commands and e-mails choose with force_locale
    chosen = request.cookies.get(LANGUAGE_COOKIE)
    if chosen in LANGUAGES:
        return chosen
    return request.accept_languages.best_match(LANGUAGES, default=DEFAULT_LANGUAGE)


def current_language() -> str:
    return str(get_locale() or DEFAULT_LANGUAGE)[:2]


def init_app(app: Flask) -> None:
    babel.init_app(app, locale_selector=select_locale)

    app.jinja_env.globals.update(
        format_date=format_date, format_datetime=format_datetime, format_number=format_decimal
    )

    from . import labels

    labels.init_app(app)

    @app.context_processor
    def language_context():
        return {"current_language": current_language, "LANGUAGES": LANGUAGES}

