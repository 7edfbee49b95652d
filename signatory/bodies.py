"""Request bodies no client should send: a 4xx, never a 500.

JSON nested deeper than the parser's recursion limit is malformed JSON; a
chunked body the server cannot read to its end (gunicorn raises while the
form is read) is a bad request, not a crash of ours.
"""
from __future__ import annotations

from flask import Flask
from flask.json.provider import DefaultJSONProvider
from werkzeug.exceptions import BadRequest


class JSONProvider(DefaultJSONProvider):
    def loads(self, s, **kwargs):
        try:
            return super().loads(s, **kwargs)
        except RecursionError:
            # ValueError is what Werkzeug turns into a 400 (or None when silent).
            raise ValueError("JSON nested too deeply") from None


def unreadable_body_errors() -> tuple[type[Exception], ...]:
    """The exceptions gunicorn raises from wsgi.input for a broken body."""
    try:
        from gunicorn.http import errors
    except ImportError:  # not served by gunicorn
        return ()
    return (errors.ParseException, errors.NoMoreData)


def init_app(app: Flask) -> None:
    app.json = JSONProvider(app)
    for error in unreadable_body_errors():
        app.register_error_handler(error, _unreadable_body)


def _unreadable_body(_error):
    from .errors import render_http_error

    return render_http_error(BadRequest())
