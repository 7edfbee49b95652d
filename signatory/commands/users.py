"""`flask users create`."""
from __future__ import annotations

import sys

import click
from flask.cli import AppGroup

from ..extensions import db
from . import CLI

users_cli = AppGroup("users", help="Organiser accounts.")


@users_cli.command("create")
@click.argument("email")
@click.option("--admin", is_flag=True, help="May manage every letter and the accounts.")
@click.option("--password-stdin", is_flag=True, help="Read the password as one line from standard input.")
def create_user_command(email: str, admin: bool, password_stdin: bool):
    """Create an organiser account (the password: at least 12 characters)."""
    from ..auth import MIN_PASSWORD_LENGTH, AccountError, create_user

    if password_stdin:
        line = sys.stdin.readline()
        password = line.rstrip("\r\n")
    else:
        password = click.prompt(
            f"Password (at least {MIN_PASSWORD_LENGTH} characters)", hide_input=True, confirmation_prompt=True
        )
    try:
        user = create_user(email, password, is_admin=admin, by=CLI)
    except AccountError as error:
        raise click.ClickException(str(error)) from None
    db.session.commit()
    click.echo(f"created {'admin' if admin else 'organiser'} {user.email}")
