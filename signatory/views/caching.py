"""Pages the crowd shares (DESIGN §6, §8): no session, no cookie, the same
bytes for every visitor, `Cache-Control: public` with an ETag, so that a
shared cache in front (deploy/nginx/) can serve them — and, for the letter
page, bytes kept in this process so that even without a cache in front a
viewer costs little more than a bare WSGI app answering the same bytes.
"""
from __future__ import annotations

import hashlib
import json
import threading
from collections import OrderedDict
from dataclasses import dataclass
from functools import wraps

from flask import Flask, Response, current_app, g, make_response, request
from flask.sessions import SecureCookieSessionInterface


# --- no session where none is needed --------------------------------------------

def stateless(view):
    """This view never uses the session: it is never saved, so no cookie is
    set and no `Vary: Cookie` is said."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        g.stateless = True
        return view(*args, **kwargs)

    return wrapper


def shared_page(view):
    """A public page that is the same for every visitor of its URL: no
    session, the language from the URL (or Accept-Language, then said in
    Vary), and cacheable by anyone for PUBLIC_CACHE_SECONDS."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        g.stateless = g.shared_page = True
        response = make_response(view(*args, **kwargs))
        if response.status_code == 200 and not response.headers.get("Cache-Control"):
            return cacheable(response)
        return response

    wrapper.shared_page = True
    return wrapper


class SessionWhereNeeded(SecureCookieSessionInterface):
    """The session of a stateless view is never saved: whatever the
    extensions around it read (Flask-Login, flashed messages), its answer
    carries no cookie and no `Vary: Cookie`, so a shared cache may keep it."""

    def open_session(self, app, request):
        # Most requests bring no session at all: skip building the serializer.
        if self.get_cookie_name(app) not in request.cookies:
            return self.session_class()
        return super().open_session(app, request)

    def save_session(self, app, session, response):
        if g.get("stateless"):
            # Whatever a hook changed (an organiser's last-seen time) waits
            # for the next page that is not shared.
            return
        super().save_session(app, session, response)


def init_app(app: Flask) -> None:
    app.session_interface = SessionWhereNeeded()


# --- HTTP caching ---------------------------------------------------------------

def public_max_age() -> int:
    return current_app.config["PUBLIC_CACHE_SECONDS"]


def _vary(response: Response) -> None:
    # The language is in the URL when the visitor chose one; otherwise the
    # browser's Accept-Language decided, and a cache must keep one per value.
    if "lang" not in request.args:
        response.vary.add("Accept-Language")


def cacheable(response: Response) -> Response:
    """Mark a page without per-visitor content as publicly cacheable, with an
    ETag so that a revalidation costs no body."""
    response.headers["Cache-Control"] = f"public, max-age={public_max_age()}"
    _vary(response)
    response.add_etag()
    return response.make_conditional(request)


def current_json(payload: dict) -> Response:
    """The API: current at once (DESIGN §6), so never kept by a shared cache,
    but revalidated for free with its ETag."""
    body = json.dumps(payload, ensure_ascii=False, sort_keys=True)
    response = make_response(body)
    response.mimetype = "application/json"
    response.set_etag(hashlib.sha256(body.encode()).hexdigest()[:32])
    response.headers["Cache-Control"] = "public, no-cache"
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response.make_conditional(request)


# --- rendered pages kept in this process -----------------------------------------

@dataclass(frozen=True)
class KeptPage:
    body: bytes
    etag: str

    @property
    def quoted_etag(self) -> str:
        return f'"{self.etag}"'


class PageStore:
    """The last few hundred rendered pages, least recently used out. The key
    names everything the page shows, so a change makes a new key: nothing is
    ever invalidated by hand, an old key simply stops being asked for."""

    def __init__(self, size: int = 256):
        self.size = size
        self.pages: OrderedDict[tuple, KeptPage] = OrderedDict()
        self.lock = threading.Lock()

    def get(self, key: tuple) -> KeptPage | None:
        with self.lock:
            page = self.pages.get(key)
            if page is not None:
                self.pages.move_to_end(key)
            return page

    @staticmethod
    def page_of(html: str) -> KeptPage:
        body = html.encode("utf-8")
        return KeptPage(body, hashlib.sha256(body).hexdigest()[:32])

    def keep(self, key: tuple, html: str) -> KeptPage:
        page = self.page_of(html)
        with self.lock:
            self.pages[key] = page
            self.pages.move_to_end(key)
            while len(self.pages) > self.size:
                self.pages.popitem(last=False)
        return page

    def clear(self) -> None:
        with self.lock:
            self.pages.clear()


def kept_page_response(page: KeptPage, max_age: int | None = None) -> Response:
    """A kept page as a public response; a matching If-None-Match answers
    304 without the body. Built by hand: this is the hot path of DESIGN §8."""
    max_age = public_max_age() if max_age is None else max_age
    status, headers, body = kept_page_answer(
        page, max_age, "lang" in request.args, request.headers.get("If-None-Match", "")
    )
    if status == 304:
        return Response(status=304, headers=headers)
    return Response(body, headers=headers, content_type="text/html; charset=utf-8")


def kept_page_answer(page: KeptPage, max_age: int, language_in_url: bool, if_none_match: str):
    """(status, headers, body) of a kept page, the same in Flask and in
    KeptPageServer."""
    headers = [("ETag", page.quoted_etag), ("Cache-Control", f"public, max-age={max(0, max_age)}")]
    if not language_in_url:
        headers.append(("Vary", "Accept-Language"))
    if page.quoted_etag in if_none_match or if_none_match.strip() == "*":
        return 304, headers, b""
    return 200, headers, page.body


class KeptPageServer:
    """WSGI in front of the whole app for the page most people open: an
    anonymous GET of a letter page whose bytes are kept, and whose snapshot
    this process read less than a moment ago, is answered here, without a
    request context, routing, hooks or the proxy fix-up, with the bytes and
    headers the Flask view gives (`find_page` is the view's own look-up).
    Anything else — another path, another query than `lang=…`, a page not
    kept, a snapshot to read again — goes to Flask, which keeps the page for
    the next visitor (DESIGN §8)."""

    def __init__(self, wsgi_app, find_page, page_headers):
        self.wsgi_app = wsgi_app
        self.find_page = find_page
        self.page_headers = list(page_headers)

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        if environ.get("REQUEST_METHOD") == "GET" and path.startswith("/letters/"):
            answer = self.answer(path[len("/letters/"):], environ)
            if answer is not None:
                status, headers, body = answer
                start_response("304 NOT MODIFIED" if status == 304 else "200 OK", headers)
                return [body]
        return self.wsgi_app(environ, start_response)

    def answer(self, slug: str, environ):
        query = environ.get("QUERY_STRING", "")
        if query and not query.startswith("lang="):
            return None
        found = self.find_page(slug, query[len("lang="):] if query else None, environ.get("HTTP_ACCEPT_LANGUAGE", ""))
        if found is None:
            return None
        page, max_age = found
        status, headers, body = kept_page_answer(page, max_age, bool(query), environ.get("HTTP_IF_NONE_MATCH", ""))
        if status == 200:
            headers += [("Content-Type", "text/html; charset=utf-8"), ("Content-Length", str(len(body)))]
        return status, headers + self.page_headers, body
