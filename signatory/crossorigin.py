"""Cross-site posts refused by what the browser says about them (DESIGN §6).

The approach of Go 1.25's `http.CrossOriginProtection`: a browser tells where
a request comes from. `Sec-Fetch-Site` (every current browser) is decisive:
only `same-origin` and `none` (typed, bookmarked) pass. Without it, an
`Origin` header must name this host (or BASE_URL's origin). A request with
neither comes from no browser, or one too old to send them: the form token
decides, as before. Safe methods always pass. This holds token or no token:
the signing form's token is the same for every visitor, so it proves nothing
about where a post comes from.
"""
from __future__ import annotations

from functools import lru_cache
from urllib.parse import urlsplit

from flask import Request, abort, current_app, request

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
ALLOWED_FETCH_SITES = frozenset({"same-origin", "none"})


def is_cross_origin(req: Request | None = None) -> bool:
    # The request itself, not the proxy: every attribute read through the
    # proxy looks the request up again (DESIGN §8).
    req = req if req is not None else request._get_current_object()
    if req.method in SAFE_METHODS:
        return False
    # Asked twice on the signing path (the blueprint's refusal, then the
    # app's): the headers do not change within a request.
    known = req.environ.get(_VERDICT_KEY)
    if known is None:
        known = req.environ[_VERDICT_KEY] = _comes_from_another_site(req)
    return known


_VERDICT_KEY = "signatory.cross_origin"


def _comes_from_another_site(req: Request) -> bool:
    fetch_site = req.headers.get("Sec-Fetch-Site")
    if fetch_site is not None:
        return fetch_site.strip().lower() not in ALLOWED_FETCH_SITES
    origin = req.headers.get("Origin")
    if origin is None:
        return False
    return not _is_own_origin(origin.strip(), req.host)


def _is_own_origin(origin: str, host: str) -> bool:
    if origin.lower() == _base_origin():
        return True
    try:
        parts = urlsplit(origin)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.netloc) and parts.netloc.lower() == host.lower()


def _base_origin() -> str:
    return _origin_of(current_app.config["BASE_URL"])


@lru_cache(maxsize=8)
def _origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def refuse_cross_origin_posts():
    """Every unsafe request from another site is refused with 403; a view
    marked `checks_origin` refuses it itself (with the form filled in)."""
    if not is_cross_origin():
        return None
    view = current_app.view_functions.get(request.endpoint) if request.endpoint else None
    if getattr(view, "checks_origin", False):
        return None
    abort(403)


def checks_origin(view):
    """The view calls is_cross_origin() itself, to answer with its form."""
    view.checks_origin = True
    return view
