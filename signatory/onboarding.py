"""The first account and invitations: how organisers get in without a terminal.

* The set-up link makes the first (admin) account in the browser. It is a
  signed token that works only while no account exists, so its first use is
  also its last; someone who merely reaches a fresh instance has no token.
* An invitation makes an account without a password and e-mails a link with
  which the invitee sets one, once, within seven days. The token carries a
  fingerprint of the account's (empty) password, so setting a password kills
  every invitation link of that account.

Domain functions: they change data and queue mail, the caller commits.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass

from flask import current_app
from flask_babel import lazy_gettext as _l
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import exists, func, select, text

from . import audit
from .auth import AccountError, add_grant, create_user, find_user, hash_password, normalise_login
from .extensions import db
from .models import Letter, User
from .tokens import external_url

SETUP_MAX_AGE = 7 * 24 * 3600
SETUP_LINK = "setup-link"  # the actor in the audit log: who made the first account
INVITATION_MAX_AGE = 7 * 24 * 3600
INVITATION_DAYS = INVITATION_MAX_AGE // (24 * 3600)
NO_PASSWORD = ""  # an invited account: no password verifies against it


class LinkRefused(Exception):
    """A set-up or invitation link that is made up, used, expired or moot."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason  # "invalid", "expired", "used"


def _serializer(purpose: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=f"signatory.{purpose}")


def _load(purpose: str, token: str, max_age: int):
    try:
        return _serializer(purpose).loads(token or "", max_age=max_age)
    except SignatureExpired:
        raise LinkRefused("expired") from None
    except (BadSignature, UnicodeError, ValueError, TypeError):
        raise LinkRefused("invalid") from None


def has_accounts() -> bool:
    return bool(db.session.scalar(select(exists().where(User.id.isnot(None)))))


# --- the first account -------------------------------------------------------------

def setup_url() -> str | None:
    """The one-time link that makes the first account, or None once one exists."""
    if has_accounts():
        return None
    return external_url(f"/organise/setup/{_serializer('setup').dumps('first-account')}")


def check_setup_token(token: str) -> None:
    if _load("setup", token, SETUP_MAX_AGE) != "first-account":
        raise LinkRefused("invalid")
    if has_accounts():
        raise LinkRefused("used")


def create_first_admin(token: str, email: str, password: str) -> User:
    """The first account, an admin; refused once any account exists."""
    _serialise_account_creation()
    check_setup_token(token)
    user = create_user(email, password, is_admin=True, by=SETUP_LINK)
    return user


def _serialise_account_creation() -> None:
    """Two set-up pages sent at once must not both make an admin. SQLite's
    write transactions already begin immediately (one at a time); on
    PostgreSQL a transaction-scoped advisory lock does the same."""
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(text("SELECT pg_advisory_xact_lock(7431001)"))


# --- invitations ----------------------------------------------------------------------

@dataclass
class Invitation:
    user: User
    url: str
    letter: Letter | None


def _fingerprint(user: User) -> str:
    return hashlib.sha256(f"{user.id}:{user.password_hash}:{user.session_version}".encode()).hexdigest()[:20]


def invitation_url(user: User, letter: Letter | None) -> str:
    token = _serializer("invitation").dumps([user.id, _fingerprint(user), letter.id if letter else 0])
    return external_url(f"/organise/invitation/{token}")


def is_invited(user: User) -> bool:
    """Invited and not yet in: no password set."""
    return user.password_hash == NO_PASSWORD


def invite(email: str, *, letter: Letter | None = None, by: audit.Actor | None = None, language: str = "nl") -> Invitation:
    """Make (or refresh) an invited account, grant it the letter, and queue
    the invitation. An account that is already in use gets the letter only."""
    from .mail import queue

    address = normalise_login(email)
    if "@" not in address or len(address) > 320 or " " in address:
        raise AccountError(_l("Dit is geen e-mailadres: %(email)s.", email=address))
    user = find_user(address)
    if user is not None and not is_invited(user):
        raise AccountError(_l(
            "%(email)s heeft al een account. Geef toegang tot een brief op de pagina van die brief.", email=address
        ))
    if user is None:
        user = User(email=address, password_hash=NO_PASSWORD, is_admin=False)
        db.session.add(user)
        db.session.flush()
    if letter is not None:
        add_grant(letter, user)
    url = invitation_url(user, letter)
    queue(
        "invitation", recipient=address, template="invitation", language=language,
        letter_id=letter.id if letter is not None else None, signature_id=None,
        invitation_url=url, inviter=by.email if isinstance(by, User) else "", days=INVITATION_DAYS,
    )
    audit.record("user.invite", by=by or "system", letter=letter, account=address)
    return Invitation(user=user, url=url, letter=letter)


def read_invitation(token: str) -> tuple[User, Letter | None]:
    value = _load("invitation", token, INVITATION_MAX_AGE)
    if not (isinstance(value, list) and len(value) == 3 and all(isinstance(v, (int, str)) for v in value)):
        raise LinkRefused("invalid")
    user_id, fingerprint, letter_id = value
    if not isinstance(user_id, int) or not 0 < user_id < 2**62 or not isinstance(letter_id, int) or not 0 <= letter_id < 2**62:
        raise LinkRefused("invalid")
    user = db.session.get(User, user_id)
    if user is None or not user.active:
        raise LinkRefused("invalid")
    if not is_invited(user) or fingerprint != _fingerprint(user):
        raise LinkRefused("used")
    letter = db.session.get(Letter, letter_id) if letter_id else None
    return user, letter


def accept_invitation(token: str, password: str) -> tuple[User, Letter | None]:
    """Set the invitee's password, once; every invitation link dies with it."""
    user, letter = read_invitation(token)
    user.password_hash = hash_password(password)
    user.session_version += 1
    audit.record("user.invitation_accepted", by=user, letter=letter, account=user.email)
    return user, letter


def is_the_only_account() -> bool:
    return db.session.scalar(select(func.count()).select_from(User)) <= 1


def pending_invitations() -> set[int]:
    return set(db.session.scalars(select(User.id).where(User.password_hash == NO_PASSWORD)))


def quickstart_banner(local_url: str, demo_slug: str, mail_settings) -> str:
    """What `flask quickstart` prints: where everything is, on the real port,
    and while no account exists, the link that makes the first one."""
    if mail_settings.scheme == "file":
        mail = f"E-mails are delivered to {mail_settings.path} (each a .eml file; their links are logged below)."
    else:
        mail = f"E-mails are sent through {mail_settings.host}:{mail_settings.port}."
    lines = [
        "",
        f"  Signatory runs at {local_url}/",
        f"    the demo letter:      {local_url}/letters/{demo_slug}",
        f"    organisers log in at: {local_url}/organise/login",
    ]
    link = setup_url()
    if link is not None:
        lines += [
            "",
            "  No organiser account yet. Make the first one (an admin) in the browser with",
            "  this one-time link (or later: flask --app app.py users setup-link):",
            f"    {link}",
        ]
    lines += ["", f"  {mail}", "  Stop with Ctrl+C.", ""]
    return "\n".join(lines)
