"""`flask users create` and `flask privacy purge` (issue 4). Each command
commits once."""
from __future__ import annotations

import sys

import click
from flask.cli import AppGroup

from .extensions import db

users_cli = AppGroup("users", help="Organiser accounts.")
privacy_cli = AppGroup("privacy", help="Retention rules (GDPR / AVG).")


@users_cli.command("create")
@click.argument("email")
@click.option("--admin", is_flag=True, help="May manage every letter and the accounts.")
@click.option("--password-stdin", is_flag=True, help="Read the password as one line from standard input.")
def create_user_command(email: str, admin: bool, password_stdin: bool):
    """Create an organiser account (the password: at least 12 characters)."""
    from .auth import MIN_PASSWORD_LENGTH, AccountError, create_user

    if password_stdin:
        line = sys.stdin.readline()
        password = line.rstrip("\r\n")
    else:
        password = click.prompt(
            f"Password (at least {MIN_PASSWORD_LENGTH} characters)", hide_input=True, confirmation_prompt=True
        )
    try:
        user = create_user(email, password, is_admin=admin, by="cli")
    except AccountError as error:
        raise click.ClickException(str(error)) from None
    db.session.commit()
    click.echo(f"created {'admin' if admin else 'organiser'} {user.email}")


@privacy_cli.command("purge")
@click.option(
    "--address-months", type=click.IntRange(0, 1200), default=None,
    help="Erase e-mail and postal addresses this many months after publication "
    "(default: ADDRESS_RETENTION_MONTHS, else 12).",
)
def purge_command(address_months: int | None):
    """Apply the retention rules once: delete unconfirmed signatures older
    than 30 days, clear IP hashes older than 30 days, erase addresses a
    while after publication. Safe to run as often as you like (cron)."""
    from . import privacy

    try:
        report = privacy.purge(address_months=address_months)
    except ValueError as error:
        raise click.ClickException(str(error)) from None
    db.session.commit()
    click.echo(report.summary())
