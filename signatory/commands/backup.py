"""`flask backup FILE` (DESIGN §6)."""
from __future__ import annotations

from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext


@click.command("backup")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@with_appcontext
def backup_command(file: Path):
    """A consistent copy of the database in FILE, safe while people sign."""
    from ..backup import BackupError, take_backup

    try:
        made = take_backup(current_app.config["SQLALCHEMY_DATABASE_URI"], file)
    except BackupError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"backup: {file} ({made}, {file.stat().st_size:,} bytes)")
