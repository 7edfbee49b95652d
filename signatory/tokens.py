"""Signed, single-purpose links (DESIGN §3).

A token names one signature and one purpose; the purpose is the salt, so a
confirmation token cannot be used to manage and vice versa.
"""
from __future__ import annotations

from flask import current_app
from flask_babel import lazy_gettext as _l
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from .refusals import LinkError

CONFIRM = "confirm"
MANAGE = "manage"
CONFIRM_MAX_AGE = 30 * 24 * 3600  # the confirmation link is valid for 30 days


class InvalidToken(LinkError):
    def __init__(self, message=None):
        super().__init__(message or _l("Deze link klopt niet. Kopieer hem volledig uit de e-mail."))


class ExpiredToken(InvalidToken):
    def __init__(self):
        super().__init__(_l("Deze link is verlopen. Vraag hieronder een nieuwe aan."))


def _serializer(purpose: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=f"signatory.{purpose}")


def make_token(purpose: str, signature_id: int) -> str:
    return _serializer(purpose).dumps(signature_id)


def read_token(purpose: str, token: str, max_age: int | None = None) -> int:
    try:
        value = _serializer(purpose).loads(token, max_age=max_age)
    except SignatureExpired:
        raise ExpiredToken() from None
    except (BadSignature, UnicodeError, ValueError):
        raise InvalidToken() from None
    if not isinstance(value, int) or isinstance(value, bool) or not 0 < value < 2**62:
        raise InvalidToken()
    return value


def external_url(path: str) -> str:
    """An absolute link for e-mails and the PDF, on BASE_URL."""
    return current_app.config["BASE_URL"] + path


def confirm_url(signature_id: int) -> str:
    return external_url(f"/confirm/{make_token(CONFIRM, signature_id)}")


def manage_url(signature_id: int) -> str:
    return external_url(f"/manage/{make_token(MANAGE, signature_id)}")
