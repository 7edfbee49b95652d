"""Blueprints. Views are thin: they translate between HTTP and the domain."""
from flask import Flask

from ..extensions import csrf, limiter


def init_app(app: Flask) -> None:
    from . import api, public

    app.config.setdefault("RATELIMIT_HEADERS_ENABLED", False)
    app.config["RATELIMIT_ENABLED"] = app.config.get("RATELIMIT_ENABLED", True)
    csrf.init_app(app)
    limiter.init_app(app)
    app.register_blueprint(public.bp)
    app.register_blueprint(api.bp)
