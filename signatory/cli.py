"""The `flask …` commands of DESIGN §6. Each command commits once."""
from __future__ import annotations

from pathlib import Path

import click
from flask import Flask
from flask.cli import AppGroup

from .extensions import db

PURGE_INTERVAL_SECONDS = 3600
CLI = "cli"  # the actor in the audit log of what a command did

letters_cli = AppGroup("letters", help="Import, list, open and close letters.")
outbox_cli = AppGroup("outbox", help="Deliver queued e-mail.")


def register_commands(app: Flask) -> None:
    from . import demo
    from .i18n_tools import translations_cli

    app.cli.add_command(translations_cli)
    app.cli.add_command(letters_cli)
    app.cli.add_command(outbox_cli)
    app.cli.add_command(demo.demo_command)
    app.cli.add_command(demo.serve_command)
    from .pdf.store import pdf_command  # issue 5

    app.cli.add_command(pdf_command)
    from .organise_cli import privacy_cli, users_cli  # issue 4

    app.cli.add_command(users_cli)
    app.cli.add_command(privacy_cli)


def _letter_or_fail(slug: str):
    from .letters import get_letter

    letter = get_letter(slug)
    if letter is None:
        raise click.ClickException(f"no letter with the slug {slug!r}")
    return letter


@letters_cli.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--slug", required=True, help="The letter's address: /letters/<slug>.")
@click.option("--deadline", help="Last day to sign, YYYY-MM-DD (wins over the front matter).")
@click.option("--open", "open_now", is_flag=True, help="Open the letter for signing at once.")
def import_letter_command(file: Path, slug: str, deadline: str | None, open_now: bool):
    """Create a letter (or update its text) from Markdown with YAML front matter."""
    from .letters import (
        LetterError, create_letter, get_letter, open_letter, parse_deadline, parse_letter_source,
        update_letter,
    )

    try:
        source = parse_letter_source(file.read_text(encoding="utf-8"))
        if deadline:
            source.deadline = parse_deadline(deadline)
        letter = get_letter(slug)
        if letter is None:
            letter = create_letter(slug, source, by=CLI)
            action = "created"
        else:
            new_version = update_letter(letter, source, note=f"imported from {file.name}", by=CLI)
            action = f"updated (version {letter.version})" if new_version else "updated"
        if open_now:
            open_letter(letter, by=CLI)
    except (LetterError, UnicodeDecodeError) as error:
        raise click.ClickException(str(error)) from None
    db.session.commit()
    click.echo(f"{action}: {letter.slug} — {letter.title} [{letter.status}]")


@letters_cli.command("list")
def list_letters_command():
    """List every letter with its status and count."""
    from sqlalchemy import select

    from .models import Letter

    letters = db.session.scalars(select(Letter).order_by(Letter.slug)).all()
    if not letters:
        click.echo("no letters yet: flask letters import FILE --slug SLUG")
    for letter in letters:
        deadline = letter.deadline.isoformat() if letter.deadline else "-"
        click.echo(f"{letter.slug}\t{letter.status}\t{letter.signature_count}\t{deadline}\t{letter.title}")


@letters_cli.command("open")
@click.argument("slug")
def open_letter_command(slug: str):
    """Open a letter for signing."""
    from .letters import open_letter

    _change_state(slug, open_letter)


@letters_cli.command("close")
@click.argument("slug")
def close_letter_command(slug: str):
    """Close a letter: signing stops."""
    from .letters import close_letter

    _change_state(slug, close_letter)


def _change_state(slug: str, change) -> None:
    from .letters import LetterError

    letter = _letter_or_fail(slug)
    try:
        change(letter, by=CLI)
    except LetterError as error:
        raise click.ClickException(str(error)) from None
    db.session.commit()
    click.echo(f"{slug}: {letter.status}")


@letters_cli.command("grant")
@click.argument("slug")
@click.argument("email")
def grant_letter_command(slug: str, email: str):
    """Let an organiser account manage a letter."""
    from .auth import find_user, grant_letter

    letter = _letter_or_fail(slug)
    user = find_user(email)
    if user is None:
        raise click.ClickException(f"no user {email!r}: flask users create {email}")
    grant_letter(letter, user, by=CLI)
    db.session.commit()
    click.echo(f"{user.email} may manage {slug}")


@outbox_cli.command("send")
@click.option("--loop", is_flag=True, help="Keep delivering until interrupted.")
@click.option("--interval", default=2.0, show_default=True, help="Seconds between rounds with --loop.")
def send_outbox_command(loop: bool, interval: float):
    """Deliver every queued e-mail that is due, then exit 0."""
    from . import mail

    import time

    from .privacy import purge
    from .publication import queue_due_reminders

    last_purge = [float("-inf")]

    def before_round() -> int:
        """Queue due reminders, and apply the retention rules once an hour."""
        queued = queue_due_reminders()
        if time.monotonic() - last_purge[0] >= PURGE_INTERVAL_SECONDS:
            purge()
            last_purge[0] = time.monotonic()
        db.session.commit()
        return queued

    if loop:
        mail.deliver_forever(interval=interval, echo=click.echo, before_round=before_round)
        return
    reminders = before_round()
    report = mail.deliver_due()
    click.echo(report.summary() + (f" ({reminders} reminders queued)" if reminders else ""))
