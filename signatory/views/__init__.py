"""Blueprints. Views are thin: they translate between HTTP and the domain."""
from functools import partial, wraps

from flask import Flask
from flask.globals import request_ctx
from werkzeug.routing import IntegerConverter

from ..crossorigin import refuse_cross_origin_posts
from ..extensions import csrf, limiter
from . import caching


# The ids are INTEGER columns: 32 bits on PostgreSQL.
MAX_ID = 2**31 - 1


class BoundedIntegerConverter(IntegerConverter):
    """`<int:…>` in every route: an id the database cannot hold is a 404,
    never an overflow deep inside a query."""

    def __init__(self, url_map, fixed_digits=0, min=0, max=MAX_ID, signed=False):
        super().__init__(url_map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)


def check_limits_only_where_set(app: Flask) -> None:
    """Flask-Limiter checks every request in a before_request hook, for
    default, application and blueprint limits; this app sets none of those,
    only limits on single views, which their decorators check themselves.
    Without the hook a page view costs nothing of the limiter (DESIGN §8)."""
    manager = limiter.limit_manager
    if any(getattr(manager, name, True) for name in ("_default_limits", "_application_limits", "_blueprint_limits")):
        return  # someone configured such limits after all: keep the hook
    hooks = app.before_request_funcs.get(None, [])
    app.before_request_funcs[None] = [hook for hook in hooks if hook != limiter._check_request_limit]


# Where Flask-Limiter keeps what its decorators counted in this request
# (flask_limiter.Limiter.context, on the request context).
LIMITER_REQUEST_STATE = "_limiter_request_context"


def run_limiter_hooks_only_where_it_counted(app: Flask) -> None:
    """Flask-Limiter's after-request hook (the `deduct_when` deductions of
    the login throttle, rate-limit headers) and its teardown (which resets
    its per-request state) have work only in a request that one of its
    decorators counted, and that leaves the state on the request context.
    On every other request, a signing included (its limit is a ViewLimit),
    they built that state only to find it empty: 2 % of a signing's
    instructions (DESIGN §8). They now run where the state exists; the
    failed-login throttle of tests/test_auth.py depends on them."""

    def belongs_to_limiter(hook) -> bool:
        return getattr(hook, "__self__", None) is limiter or (isinstance(hook, partial) and any(arg is limiter for arg in hook.args))

    def where_it_counted(hook):
        @wraps(hook)
        def guarded(response_or_error):
            # Asked of the context itself: through the proxy, a missing
            # attribute costs ten times as much.
            if hasattr(request_ctx._get_current_object(), LIMITER_REQUEST_STATE):
                return hook(response_or_error)
            return response_or_error

        return guarded

    for hooks in (app.after_request_funcs, app.teardown_request_funcs):
        hooks[None] = [where_it_counted(hook) if belongs_to_limiter(hook) else hook for hook in hooks.get(None, [])]


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
    check_limits_only_where_set(app)
    run_limiter_hooks_only_where_it_counted(app)
    # The other blueprints add no request hooks to the app (only template
    # globals, under distinct names), so their order does not matter; they
    # stay in the order they came (issues 4, 6, 5, 11, 12).
    for module in (
        public, api, organise, moderate, admin, publication, documents, onboarding, letter_files,
        letter_settings, fonts, corrections, floods,
    ):
        app.register_blueprint(module.bp)
