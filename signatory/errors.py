"""Error pages in the visitor's language; a 500 rolls the transaction back."""
from __future__ import annotations

import logging

from flask import Flask, render_template, request
from flask_babel import gettext as _
from sqlalchemy.exc import DataError
from werkzeug.exceptions import BadRequest, HTTPException

from .database import database_unavailable, rollback_quietly

log = logging.getLogger(__name__)


def register_error_handlers(app: Flask) -> None:
    app.register_error_handler(HTTPException, render_http_error)
    app.register_error_handler(Exception, render_unexpected_error)


def _wants_json() -> bool:
    return request.path.startswith("/api/")


def render_http_error(error: HTTPException):
    rollback_quietly()
    if error.response is not None:
        # A view already made the answer (the rate-limited signing form).
        return error.response
    messages = {
        400: _("Uw aanvraag kon niet verwerkt worden."),
        403: _("U hebt geen toegang tot deze pagina."),
        404: _("Deze pagina bestaat niet (meer)."),
        405: _("Deze pagina kan niet op deze manier opgevraagd worden."),
        413: _("Wat u verstuurde is te groot."),
        429: _("Te veel aanvragen na elkaar. Wacht even en probeer opnieuw."),
    }
    message = messages.get(error.code, error.description or "")
    if _wants_json():
        return {"error": message, "status": error.code}, error.code
    response = render_template("error.html", code=error.code, message=message)
    return response, error.code


def render_unexpected_error(error: Exception):
    if isinstance(error, HTTPException):
        return render_http_error(error)
    if isinstance(error, DataError):
        # A value the database refuses (a NUL byte, a number out of range)
        # that slipped past a form: the request is at fault, not the server.
        # The driver's message may quote the value (a signer's data): the
        # kind of error and its SQLSTATE are enough to find the cause.
        log.warning(
            "database refused a value on %s %s: %s %s", request.method, request.path,
            type(error.orig).__name__, getattr(error.orig, "sqlstate", "") or "",
        )
        return render_http_error(BadRequest())
    if database_unavailable(error):
        return render_database_unavailable()
    log.exception("unhandled error on %s %s", request.method, request.path)
    rollback_quietly()
    message = _("Er ging iets mis aan onze kant. Probeer het later opnieuw.")
    if _wants_json():
        return {"error": message, "status": 500}, 500
    return render_template("error.html", code=500, message=message), 500


def render_database_unavailable():
    """The database did not answer: a 503 to try again in a moment."""
    log.warning("database unavailable on %s %s", request.method, request.path)
    rollback_quietly()
    message = _("De dienst is even niet bereikbaar. Probeer het over een minuut opnieuw.")
    retry = {"Retry-After": "30"}
    if _wants_json():
        return {"error": message, "status": 503}, 503, retry
    return render_template("error.html", code=503, message=message), 503, retry
