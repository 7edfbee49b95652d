"""Organiser accounts: password hashing, the session user, and who may manage
which letter. Admins manage every letter; an organiser only those granted."""
from __future__ import annotations

from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import abort
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select

from .extensions import db, login_manager
from .models import Letter, LetterGrant, User, utcnow

MIN_PASSWORD_LENGTH = 12
_hasher = PasswordHasher()


@cache
def _dummy_hash() -> str:
    """Verified against when the e-mail is unknown, so a wrong address costs
    the same time as a wrong password and reveals nothing. Made on first use:
    an argon2 hash costs every worker and command 100 ms at start-up."""
    return _hasher.hash("not a real password, only for timing")


class AccountError(ValueError):
    pass


def normalise_login(email: str) -> str:
    return " ".join((email or "").split()).casefold()


def hash_password(password: str) -> str:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(_l("Een wachtwoord heeft minstens %(n)d tekens.", n=MIN_PASSWORD_LENGTH))
    return _hasher.hash(password)


def create_user(email: str, password: str, *, is_admin: bool = False) -> User:
    email = normalise_login(email)
    if "@" not in email or len(email) > 320:
        raise AccountError(_l("Dit is geen e-mailadres: %(email)s.", email=email))
    if find_user(email) is not None:
        raise AccountError(_l("Er bestaat al een account voor %(email)s.", email=email))
    user = User(email=email, password_hash=hash_password(password), is_admin=is_admin)
    db.session.add(user)
    db.session.flush()
    return user


def find_user(email: str) -> User | None:
    return db.session.scalar(select(User).where(User.email == normalise_login(email)))


def authenticate(email: str, password: str) -> User | None:
    user = find_user(email)
    try:
        _hasher.verify(user.password_hash if user else _dummy_hash(), password or "")
    except (VerificationError, InvalidHashError):
        return None
    if user is None or not user.is_active:
        return None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    user.last_login_at = utcnow()
    return user


def change_password(user: User, current: str, new: str) -> None:
    try:
        _hasher.verify(user.password_hash, current or "")
    except (VerificationError, InvalidHashError):
        raise AccountError(_l("Het huidige wachtwoord klopt niet.")) from None
    user.password_hash = hash_password(new)
    user.session_version += 1  # every other session ends


@login_manager.user_loader
def load_user(session_id: str) -> User | None:
    user_id, _sep, version = (session_id or "").partition(":")
    if not user_id.isdecimal() or not version.isdecimal():
        return None
    user = db.session.get(User, int(user_id))
    if user is None or not user.is_active or user.session_version != int(version):
        return None
    return user


def can_manage(user: User, letter: Letter) -> bool:
    if user.is_admin:
        return True
    return db.session.get(LetterGrant, (user.id, letter.id)) is not None


def manageable_letters(user: User) -> list[Letter]:
    query = select(Letter).order_by(Letter.created_at.desc())
    if not user.is_admin:
        query = query.join(LetterGrant, LetterGrant.letter_id == Letter.id).where(LetterGrant.user_id == user.id)
    return list(db.session.scalars(query))


def organiser_letter_or_404(slug: str) -> Letter:
    """The letter behind an /organise/ URL, if the logged-in user may manage
    it (404 for others: they need not learn which slugs exist)."""
    from .letters import get_letter

    letter = get_letter(slug)
    if letter is None or not current_user.is_authenticated or not can_manage(current_user, letter):
        abort(404)
    return letter


def admin_required_or_403() -> None:
    if not current_user.is_authenticated or not current_user.is_admin:
        abort(403)
