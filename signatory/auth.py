"""Organiser accounts: password hashing, the session user, and who may manage
which letter. Admins manage every letter; an organiser only those granted.

The operations write their own audit entry and never commit; `by` is the
account that acted, or what acted without one ("cli")."""
from __future__ import annotations

from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import abort
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select

from . import audit
from .extensions import db, login_manager
from .models import Letter, LetterGrant, User, utcnow
from .refusals import Refusal
from .text import strip_invisible

MIN_PASSWORD_LENGTH = 12
_hasher = PasswordHasher()


@cache
def _dummy_hash() -> str:
    """Verified against when the e-mail is unknown, so a wrong address costs
    the same time as a wrong password and reveals nothing. Made on first use:
    an argon2 hash costs every worker and command 100 ms at start-up."""
    return _hasher.hash("not a real password, only for timing")


class AccountError(Refusal):
    pass


# Invisible characters an address never holds: the login form drops the C0
# ones, so the lookup and the per-account throttle drop them all alike.
def normalise_login(email: str) -> str:
    """The key an account is found by, and throttled by."""
    return " ".join(strip_invisible(email).split()).casefold()


def hash_password(password: str) -> str:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(_l("Een wachtwoord heeft minstens %(n)d tekens.", n=MIN_PASSWORD_LENGTH), "password")
    return _hasher.hash(password)


def create_user(email: str, password: str, *, is_admin: bool = False, by: audit.Actor | None = None) -> User:
    email = normalise_login(email)
    if "@" not in email or len(email) > 320:
        raise AccountError(_l("Dit is geen e-mailadres: %(email)s.", email=email), "email")
    if find_user(email) is not None:
        raise AccountError(_l("Er bestaat al een account voor %(email)s.", email=email), "email")
    user = User(email=email, password_hash=hash_password(password), is_admin=is_admin)
    db.session.add(user)
    db.session.flush()
    audit.record_operation("user.create", by, account=user.email, admin=is_admin)
    return user


def set_account_active(user: User, active: bool, *, by: User) -> None:
    """Enable or disable an account; disabling ends its sessions at once."""
    if user.id == by.id:
        raise AccountError(_l("Je kan je eigen account niet uitschakelen."))
    user.active = active
    user.session_version += 1
    audit.record("user.active", by=by, account=user.email, active=active)


def find_user(email: str) -> User | None:
    return db.session.scalar(select(User).where(User.email == normalise_login(email)))


def authenticate(email: str, password: str) -> User | None:
    """The account behind a login, or None; a successful login is audited."""
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
    audit.record("user.login", by=user)
    return user


def end_sessions(user: User) -> None:
    """Every session of this user ends, on the server: a cookie copied
    before (logout, a new password) opens nothing afterwards."""
    user.session_version += 1


def change_password(user: User, current: str, new: str) -> None:
    try:
        _hasher.verify(user.password_hash, current or "")
    except (VerificationError, InvalidHashError):
        raise AccountError(_l("Het huidige wachtwoord klopt niet."), "current") from None
    user.password_hash = hash_password(new)
    end_sessions(user)
    audit.record("user.password_changed", by=user)


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


def add_grant(letter: Letter, user: User) -> bool:
    """Let `user` manage `letter`; True when that is new."""
    if db.session.get(LetterGrant, (user.id, letter.id)) is not None:
        return False
    db.session.add(LetterGrant(user_id=user.id, letter_id=letter.id))
    return True


def grant_letter(letter: Letter, user: User, *, by: audit.Actor) -> None:
    if add_grant(letter, user):
        audit.record("letter.grant", by=by, letter=letter, grantee=user.email)


def revoke_letter(letter: Letter, user: User, *, by: audit.Actor) -> None:
    grant = db.session.get(LetterGrant, (user.id, letter.id))
    if grant is not None:
        db.session.delete(grant)
        audit.record("letter.revoke", by=by, letter=letter, account=user.email)


def grantees(letter: Letter) -> list[User]:
    """The accounts granted this letter (admins manage every letter anyway)."""
    return list(db.session.scalars(
        select(User).join(LetterGrant, LetterGrant.user_id == User.id)
        .where(LetterGrant.letter_id == letter.id).order_by(User.email)
    ))


def ungranted_organisers(letter: Letter) -> list[User]:
    """The organiser accounts that could be granted this letter."""
    granted = {user.id for user in grantees(letter)}
    organisers = db.session.scalars(select(User).where(User.is_admin.is_(False)).order_by(User.email))
    return [user for user in organisers if user.id not in granted]


def granted_slugs() -> dict[int, list[str]]:
    """Per account id, the slugs of the letters it was granted."""
    slugs: dict[int, list[str]] = {}
    for user_id, slug in db.session.execute(
        select(LetterGrant.user_id, Letter.slug).join(Letter, Letter.id == LetterGrant.letter_id).order_by(Letter.slug)
    ):
        slugs.setdefault(user_id, []).append(slug)
    return slugs


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
