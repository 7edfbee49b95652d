"""Signed, single-purpose links (DESIGN §3).

A token names one signature and one purpose; the purpose is the salt, so a
confirmation token cannot be used to manage and vice versa.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from functools import lru_cache

from cryptography.fernet import Fernet
from cryptography.fernet import InvalidToken as FernetInvalidToken
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


# --- the address on the thanks page ------------------------------------------------

SENT_TO_MAX_AGE = 15 * 60  # long enough to read the page, short enough to be gone


def sent_to_token(slug: str, email: str) -> str:
    """What carries the typed address to the thanks page in the redirect's
    URL, instead of a session cookie (the signing path writes no session):
    a Fernet token (encrypted and authenticated, with its time), so that
    nobody can make one, the address does not stand readable in access logs
    or the browser's history, and it expires. Bound to the letter's slug."""
    return _sent_to_fernet(current_app.config["SECRET_KEY"]).encrypt(json.dumps([slug, email]).encode()).decode()


def read_sent_to(slug: str, token: str | None, *, now: float | None = None) -> str | None:
    """The address a `sent_to_token` of this letter carries; None when the
    token is missing, forged, of another letter or expired."""
    if not token or len(token) > 1000:
        return None
    fernet = _sent_to_fernet(current_app.config["SECRET_KEY"])
    try:
        plain = fernet.decrypt_at_time(token, SENT_TO_MAX_AGE, int(time.time() if now is None else now))
        token_slug, email = json.loads(plain)
    except (FernetInvalidToken, ValueError, TypeError):
        return None
    return email if token_slug == slug and isinstance(email, str) else None


@lru_cache(maxsize=4)
def _sent_to_fernet(secret: str) -> Fernet:
    key = hmac.new(secret.encode(), b"signatory.sent-to", hashlib.sha256).digest()
    return Fernet(base64.urlsafe_b64encode(key))
