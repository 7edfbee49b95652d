"""Signatory: enriched open letters.

`create_app()` reads like a table of contents: settings, extensions,
blueprints, error handlers, response headers, commands, and for a server
what its requests will need.
"""
from __future__ import annotations

import gc
import logging
import sys
from pathlib import Path

import click
from flask import Flask

from .config import ConfigError, load_settings
from .request import Request

PACKAGE_DIR = Path(__file__).resolve().parent
PROJECT_DIR = PACKAGE_DIR.parent
TEMPLATE_DIR = PROJECT_DIR / "templates"
MIGRATIONS_DIR = PROJECT_DIR / "migrations"


def create_app(test_config: dict | None = None, *, instance_path: str | None = None) -> Flask:
    _load_dotenv()
    app = Flask(
        __name__,
        template_folder=str(TEMPLATE_DIR),
        static_folder=str(PACKAGE_DIR / "static"),
        instance_path=instance_path,
        instance_relative_config=True,
    )
    app.request_class = Request
    _configure_logging(app)
    try:
        app.config.update(load_settings(Path(app.instance_path)))
    except ConfigError as error:
        # One clear line, not a traceback (DESIGN §6).
        raise SystemExit(f"Signatory configuration error: {error}") from None
    app.config.update(
        WTF_CSRF_TIME_LIMIT=None,  # people read a letter before they sign it
        # A ping guards against a PostgreSQL connection the server dropped;
        # a SQLite file needs none, and the signing path checks out twice.
        SQLALCHEMY_ENGINE_OPTIONS={
            "pool_pre_ping": not app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"),
            # An error names the statement, never the values (signers' data)
            "hide_parameters": True,
        },
        BABEL_DEFAULT_LOCALE="nl",
        BABEL_TRANSLATION_DIRECTORIES=str(PACKAGE_DIR / "translations"),
        MAX_CONTENT_LENGTH=8 * 1024 * 1024,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        DELIVER_MAIL_ON_COMMIT=False,
    )
    if test_config:
        app.config.update(test_config)
    app.config["SESSION_COOKIE_SECURE"] = app.config["BASE_URL"].startswith("https://")

    from . import bodies, database, deployment, headers, i18n, views
    from .commands import register_commands
    from .errors import register_error_handlers

    database.init_app(app)
    i18n.init_app(app)
    views.init_app(app)
    register_error_handlers(app)
    bodies.init_app(app)
    deployment.init_app(app)
    headers.init_app(app)
    # Outermost, in front of the proxy fix-up: the kept letter pages.
    from .views.public import serve_kept_letter_pages

    serve_kept_letter_pages(app)
    register_commands(app)
    if not test_config and click.get_current_context(silent=True) is None:
        prepare_to_serve()
    return app


def prepare_to_serve() -> None:
    """For a server (`gunicorn app:app`), not a `flask` command: what the
    first requests would load is loaded now, and frozen out of the garbage
    collector, so that a full collection during a request does not scan it
    (DESIGN §8)."""
    load_what_requests_need()
    gc.freeze()


def load_what_requests_need() -> None:
    """Load now what the first signatures would load: the collation table
    (every signature's sort key) and the typesetter with its fonts (the
    ten-line rule): a hundred thousand objects the collector then never
    scans again (`prepare_to_serve`)."""
    from .collation import name_sort_key
    from .pdf.line_rule import count_lines

    name_sort_key(kind="person", last_name="Peeters", first_name="Jan", organisation="", locale="nl-BE")
    count_lines("Omdat het kan.")


def _load_dotenv() -> None:
    env_file = Path.cwd() / ".env"
    if env_file.is_file():
        from dotenv import load_dotenv

        load_dotenv(env_file, override=False)


def _configure_logging(app: Flask) -> None:
    if not logging.getLogger().handlers:
        logging.basicConfig(
            stream=sys.stderr, level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
        )
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)
