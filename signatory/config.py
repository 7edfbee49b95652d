"""Settings from the environment, with the embedded defaults of DESIGN §6.

Every problem is reported as a ConfigError that names the variable, so that
start-up can stop with one clear line instead of a traceback.
"""
from __future__ import annotations

import logging
import os
import re
import secrets
from dataclasses import dataclass
from email.utils import parseaddr
from pathlib import Path
from urllib.parse import urlsplit

log = logging.getLogger(__name__)

DEFAULT_SIGN_RATE_LIMIT = "60 per minute;600 per hour"
_RATE_ITEM = re.compile(
    r"^\s*\d+\s*(/|per)\s*(\d+\s*)?(second|minute|hour|day|month|year)s?\s*$", re.I
)


class ConfigError(Exception):
    """A configuration value is missing or malformed; the message names it."""


@dataclass(frozen=True)
class MailSettings:
    scheme: str  # "file", "smtp", "smtps" or "smtp+starttls"
    path: Path | None = None
    host: str = ""
    port: int = 0
    username: str = ""
    password: str = ""


def load_settings(instance_path: Path, environ: dict[str, str] | None = None) -> dict:
    """Read the environment into Flask config keys."""
    env = os.environ if environ is None else environ
    instance_path.mkdir(parents=True, exist_ok=True)
    return {
        "SQLALCHEMY_DATABASE_URI": _database_url(env, instance_path),
        "SECRET_KEY": _secret_key(env, instance_path),
        "MAIL": _mail_settings(env, instance_path),
        "MAIL_FROM": _mail_from(env),
        "BASE_URL": _base_url(env),
        "SIGN_RATE_LIMIT": _rate_limit(env),
        "RATELIMIT_STORAGE_URI": _storage_uri(env),
        "TRUSTED_PROXIES": _trusted_proxies(env),
        "ADDRESS_RETENTION_MONTHS": _retention_months(env),
        "PUBLIC_CACHE_SECONDS": _public_cache_seconds(env),
    }


def _value(env, name: str) -> str | None:
    raw = env.get(name)
    if raw is None:
        return None
    raw = raw.strip()
    if not raw:
        raise ConfigError(f"{name} is set but empty")
    return raw


def _database_url(env, instance_path: Path) -> str:
    url = _value(env, "DATABASE_URL")
    if url is None:
        return f"sqlite:///{instance_path / 'signatory.sqlite3'}"
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        parsed = make_url(url)
    except ArgumentError:
        raise ConfigError(f"DATABASE_URL is not a database URL: {url!r}") from None
    if parsed.get_backend_name() not in ("sqlite", "postgresql"):
        raise ConfigError("DATABASE_URL must be a sqlite:// or postgresql+psycopg:// URL")
    if parsed.get_backend_name() == "postgresql" and parsed.drivername == "postgresql":
        # Plain postgresql:// would pick psycopg2, which we do not ship.
        url = parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
    return url


def _secret_key(env, instance_path: Path) -> str:
    key = _value(env, "SECRET_KEY")
    if key is not None:
        if len(key) < 32:
            log.warning("SECRET_KEY is shorter than 32 characters; links are easier to forge")
        return key
    key_file = instance_path / "secret_key"
    try:
        # Created exclusively so that concurrent workers starting together
        # agree on one key: the loser of the race re-reads the winner's file.
        fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass
    else:
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(48))
    for _ in range(50):
        key = key_file.read_text().strip()
        if key:
            return key
        import time

        time.sleep(0.01)
    raise ConfigError(f"SECRET_KEY is not set and {key_file} stays empty")


def _mail_settings(env, instance_path: Path) -> MailSettings:
    url = _value(env, "MAIL_URL")
    if url is None:
        return MailSettings("file", path=instance_path / "outbox")
    parts = urlsplit(url)
    if parts.scheme == "file":
        if not parts.path:
            raise ConfigError("MAIL_URL file:// needs a directory, e.g. file:///var/mail/signatory")
        return MailSettings("file", path=Path(parts.path))
    if parts.scheme in ("smtp", "smtps", "smtp+starttls"):
        if not parts.hostname:
            raise ConfigError(f"MAIL_URL has no host: {url!r}")
        try:
            port = parts.port or {"smtp": 25, "smtps": 465, "smtp+starttls": 587}[parts.scheme]
        except ValueError:
            raise ConfigError(f"MAIL_URL has an invalid port: {url!r}") from None
        from urllib.parse import unquote

        return MailSettings(
            parts.scheme,
            host=parts.hostname,
            port=port,
            username=unquote(parts.username or ""),
            password=unquote(parts.password or ""),
        )
    raise ConfigError("MAIL_URL must start with file://, smtp://, smtps:// or smtp+starttls://")


def _mail_from(env) -> str:
    sender = _value(env, "MAIL_FROM") or "Signatory <noreply@localhost>"
    _name, address = parseaddr(sender)
    if "@" not in address or any(c in sender for c in "\r\n"):
        raise ConfigError(f"MAIL_FROM is not an e-mail address: {sender!r}")
    return sender


def _base_url(env) -> str:
    url = _value(env, "BASE_URL") or "http://127.0.0.1:5000"
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(f"BASE_URL must be an http(s) URL: {url!r}")
    return url.rstrip("/")


def _rate_limit(env) -> str | None:
    limit = _value(env, "SIGN_RATE_LIMIT") or DEFAULT_SIGN_RATE_LIMIT
    if limit.lower() == "off":
        return None
    items = [item for item in re.split(r"[;,]", limit) if item.strip()]
    if not items or not all(_RATE_ITEM.match(item) for item in items):
        raise ConfigError(f"SIGN_RATE_LIMIT is not a rate such as '60 per minute': {limit!r}")
    return limit


def _storage_uri(env) -> str:
    uri = _value(env, "RATELIMIT_STORAGE_URI") or "memory://"
    if urlsplit(uri).scheme not in ("memory", "redis", "rediss", "redis+unix"):
        raise ConfigError(f"RATELIMIT_STORAGE_URI must be memory:// or redis://: {uri!r}")
    return uri


def _trusted_proxies(env) -> int:
    raw = _value(env, "TRUSTED_PROXIES") or "0"
    if not raw.isdecimal() or int(raw) > 10:
        raise ConfigError(f"TRUSTED_PROXIES must be a whole number from 0 to 10: {raw!r}")
    return int(raw)


def _retention_months(env) -> int:
    """How long after publication e-mail and postal addresses are kept."""
    raw = _value(env, "ADDRESS_RETENTION_MONTHS") or "12"
    if not raw.isdecimal() or int(raw) > 1200:
        raise ConfigError(f"ADDRESS_RETENTION_MONTHS must be a whole number of months from 0 to 1200: {raw!r}")
    return int(raw)


def _public_cache_seconds(env) -> int:
    """How long a shared cache may keep an anonymous public page."""
    raw = _value(env, "PUBLIC_CACHE_SECONDS") or "10"
    if not raw.isdecimal() or int(raw) > 3600:
        raise ConfigError(f"PUBLIC_CACHE_SECONDS must be a whole number of seconds from 0 to 3600: {raw!r}")
    return int(raw)
