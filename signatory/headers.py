"""Security headers on every response (DESIGN §6) and proxy awareness."""
from __future__ import annotations

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from .view_marks import current_view_may_be_framed

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
EMBED_POLICY = CONTENT_SECURITY_POLICY.replace("frame-ancestors 'none'", "frame-ancestors *")


def init_app(app: Flask) -> None:
    proxies = app.config["TRUSTED_PROXIES"]
    if proxies:
        app.wsgi_app = ProxyFix(
            app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies, x_port=proxies
        )
    app.after_request(add_security_headers)


# What every page that may not be framed carries (the kept letter pages are
# answered with exactly these, see views.caching.KeptPageServer).
PAGE_HEADERS = (
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "same-origin"),
    ("Content-Security-Policy", CONTENT_SECURITY_POLICY),
    ("X-Frame-Options", "DENY"),
)


_PAGE_HEADER_NAMES = frozenset(name.lower() for name, _value in PAGE_HEADERS)


def add_security_headers(response):
    embeddable = current_view_may_be_framed()
    headers = response.headers
    if not embeddable and not any(name.lower() in _PAGE_HEADER_NAMES for name, _value in headers):
        # Most responses: none of these set yet, appended in one go.
        headers.extend(PAGE_HEADERS)
        return response
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    # A response with a policy of its own (a sandboxed download) keeps it.
    response.headers.setdefault("Content-Security-Policy", EMBED_POLICY if embeddable else CONTENT_SECURITY_POLICY)
    if not embeddable:
        response.headers["X-Frame-Options"] = "DENY"
    return response
