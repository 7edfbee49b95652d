"""The request class: Flask's, reading nothing that is not there.

Werkzeug parses an absent Cookie header by walking every header of the
request, and an empty query string like any other; the signing request
asked both (its session, its language) and paid for it (DESIGN §8).
"""
from __future__ import annotations

import flask
from werkzeug.utils import cached_property


class Request(flask.Request):
    # Immutable, so one empty instance serves every request.
    _no_args = flask.Request.parameter_storage_class()
    _no_cookies = flask.Request.dict_storage_class()

    @cached_property
    def args(self):
        if not self.environ.get("QUERY_STRING"):
            return self._no_args
        return flask.Request.args.fget(self)  # Werkzeug's own parsing

    @cached_property
    def cookies(self):
        if "HTTP_COOKIE" not in self.environ:
            return self._no_cookies
        return flask.Request.cookies.fget(self)
