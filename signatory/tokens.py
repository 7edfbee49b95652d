"""Signed, single-purpose links (DESIGN §3).

A token names one signature and one purpose; the purpose is the salt, so a
confirmation token cannot be used to manage and vice versa.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import time
from functools import lru_cache

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
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
    AES-GCM (encrypted and authenticated in one call) over the address and
    the time, with the letter's slug as associated data, so that nobody can
    make one, the address does not stand readable in access logs or the
    browser's history, it expires, and it opens for this letter only."""
    nonce = os.urandom(_NONCE_BYTES)
    plain = json.dumps([int(time.time()), email]).encode()
    sealed = _sent_to_cipher(current_app.config["SECRET_KEY"]).encrypt(nonce, plain, slug.encode())
    return base64.urlsafe_b64encode(nonce + sealed).decode().rstrip("=")


def read_sent_to(slug: str, token: str | None, *, now: float | None = None) -> str | None:
    """The address a `sent_to_token` of this letter carries; None when the
    token is missing, forged, of another letter or expired."""
    if not token or len(token) > 1000:
        return None
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        plain = _sent_to_cipher(current_app.config["SECRET_KEY"]).decrypt(
            raw[:_NONCE_BYTES], raw[_NONCE_BYTES:], slug.encode()
        )
        issued, email = json.loads(plain)
    except (InvalidTag, ValueError, TypeError):
        return None
    if not isinstance(issued, int) or not isinstance(email, str):
        return None
    age = (time.time() if now is None else now) - issued
    return email if -CLOCK_SKEW <= age <= SENT_TO_MAX_AGE else None


_NONCE_BYTES = 12  # AES-GCM's own nonce size; random per token
CLOCK_SKEW = 60  # seconds between the clocks of several app servers


@lru_cache(maxsize=4)
def _sent_to_cipher(secret: str) -> AESGCM:
    return AESGCM(hmac.new(secret.encode(), b"signatory.sent-to", hashlib.sha256).digest())
