"""Blueprints. Views are thin: they translate between HTTP and the domain."""
from flask import Flask
from werkzeug.routing import IntegerConverter

from ..crossorigin import refuse_cross_origin_posts
from ..extensions import csrf, limiter
from ..ratelimits import limiter_hooks_only_where_limits_count
from . import caching


# The ids are INTEGER columns: 32 bits on PostgreSQL.
MAX_ID = 2**31 - 1


class BoundedIntegerConverter(IntegerConverter):
    """`<int:…>` in every route: an id the database cannot hold is a 404,
    never an overflow deep inside a query."""

    def __init__(self, url_map, fixed_digits=0, min=0, max=MAX_ID, signed=False):
        super().__init__(url_map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)


def init_app(app: Flask) -> None:
    from . import (
        admin, api, auth, corrections, documents, floods, fonts, letter_files, letter_settings, moderate,
        onboarding, organise, public, publication,
    )

    app.url_map.converters["int"] = BoundedIntegerConverter
    from ..forms import field_attributes

    app.jinja_env.globals["field_attributes"] = field_attributes
    app.config.setdefault("RATELIMIT_HEADERS_ENABLED", False)
    # A limiter whose storage (Redis) is down must never fail a request:
    # Flask-Limiter then counts per process in memory and logs a warning,
    # and an error it cannot fall back from is logged, not raised.
    app.config.setdefault("RATELIMIT_IN_MEMORY_FALLBACK_ENABLED", True)
    app.config.setdefault("RATELIMIT_SWALLOW_ERRORS", True)
    # The organiser's workspace (issue 4). Its login guard is registered
    # before CSRF protection, so an anonymous POST is sent to the login page
    # rather than refused for its missing form token.
    auth.init_login(app)
    app.register_blueprint(auth.bp)
    # Cross-site posts are refused first, token or not (DESIGN §6); then the
    # organiser's forms are checked for their session-bound tokens.
    app.before_request(refuse_cross_origin_posts)
    caching.init_app(app)
    csrf.init_app(app)
    limiter.init_app(app)
    limiter_hooks_only_where_limits_count(app, limiter)
    # The other blueprints add no request hooks to the app (only template
    # globals, under distinct names), so their order does not matter; they
    # stay in the order they came (issues 4, 6, 5, 11, 12).
    for module in (
        public, api, organise, moderate, admin, publication, documents, onboarding, letter_files,
        letter_settings, fonts, corrections, floods,
    ):
        app.register_blueprint(module.bp)
