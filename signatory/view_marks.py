"""What a view declares about itself, for the layers below the views.

The transaction code must know whether a GET writes, the header code whether
a page may be framed. The view says so with a decorator; they ask the view
that handles the current request. No layer below the views lists endpoints.
"""
from __future__ import annotations

from flask import current_app, has_request_context, request

_WRITES_ON_GET = "signatory_writes_on_get"
_MAY_BE_FRAMED = "signatory_may_be_framed"
_ANSWERS_FOR = "signatory_answers_for"


def writes_on_get(view):
    """This GET changes data (following a confirmation link, compiling a PDF,
    an export's audit entry): on SQLite its transaction takes the write lock
    up front instead of failing to upgrade a read under contention."""
    setattr(view, _WRITES_ON_GET, True)
    return view


def may_be_framed(view):
    """Other sites may show this page in a frame (the embeddable card)."""
    setattr(view, _MAY_BE_FRAMED, True)
    return view


def answers_for(endpoint: str):
    """This POST answers with the page of another view, the form it came
    from with its messages: "this page" (the language link) is that view's."""
    def mark(view):
        setattr(view, _ANSWERS_FOR, endpoint)
        return view
    return mark


def _current_view_is(mark: str) -> bool:
    endpoint = request.endpoint if has_request_context() else None
    if endpoint is None:
        return False
    return bool(getattr(current_app.view_functions.get(endpoint), mark, False))


def current_view_writes_on_get() -> bool:
    return _current_view_is(_WRITES_ON_GET)


def current_view_may_be_framed() -> bool:
    return _current_view_is(_MAY_BE_FRAMED)


def page_of_current_view() -> str | None:
    """The endpoint whose page the current request shows."""
    if not has_request_context() or request.endpoint is None:
        return None
    view = current_app.view_functions.get(request.endpoint)
    return getattr(view, _ANSWERS_FOR, None) or request.endpoint
