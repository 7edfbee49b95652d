"""`flask letters import | list | open | close | grant`."""
from __future__ import annotations

from pathlib import Path

import click
from flask.cli import AppGroup

from ..extensions import db
from . import CLI

letters_cli = AppGroup("letters", help="Import, list, open and close letters.")


def letter_or_fail(slug: str):
    from ..letters import get_letter

    letter = get_letter(slug)
    if letter is None:
        raise click.ClickException(f"no letter with the slug {slug!r}")
    return letter


@letters_cli.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--slug", required=True, help="The letter's address: /letters/<slug>.")
@click.option("--title", help="The title (wins over the front matter and the first line).")
@click.option("--deadline", help="Last day to sign, YYYY-MM-DD (wins over the front matter).")
@click.option("--open", "open_now", is_flag=True, help="Open the letter for signing at once.")
def import_letter_command(file: Path, slug: str, title: str | None, deadline: str | None, open_now: bool):
    """Create a letter (or update its text) from the file you have: Markdown
    with or without front matter, plain text (.txt), Word (.docx) or
    OpenDocument (.odt). A paper reply form at the end is cut off."""
    from flask import current_app

    from ..letter_files import MAX_FILE_BYTES, import_report, read_letter_file
    from ..letters import LetterError, create_letter, get_letter, open_letter, parse_deadline, update_letter

    try:
        if file.stat().st_size > MAX_FILE_BYTES:
            raise LetterError(f"{file.stat().st_size // 1024 // 1024} MB: a letter file is at most 5 MB")
        letter_file = read_letter_file(file.name, file.read_bytes(), title=title)
        source = letter_file.source()
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
    except LetterError as error:
        raise click.ClickException(f"{file.name}: {error}") from None
    db.session.commit()
    click.echo(f"{action}: {letter.slug} — {letter.title} [{letter.status}]")
    for line in import_report(letter_file):
        click.echo(f"  {line}")
    click.echo(f"  check it, change it or mark its parts in the browser: "
               f"{current_app.config['BASE_URL']}/organise/letters/{letter.slug}")


@letters_cli.command("list")
def list_letters_command():
    """List every letter with its status and count."""
    from sqlalchemy import select

    from ..models import Letter

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
    from ..letters import open_letter

    _change_state(slug, open_letter)


@letters_cli.command("close")
@click.argument("slug")
def close_letter_command(slug: str):
    """Close a letter: signing stops."""
    from ..letters import close_letter

    _change_state(slug, close_letter)


def _change_state(slug: str, change) -> None:
    from ..letters import LetterError

    letter = letter_or_fail(slug)
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
    from ..auth import find_user, grant_letter

    letter = letter_or_fail(slug)
    user = find_user(email)
    if user is None:
        raise click.ClickException(f"no user {email!r}: flask users create {email}")
    grant_letter(letter, user, by=CLI)
    db.session.commit()
    click.echo(f"{user.email} may manage {slug}")
