"""`flask users create | setup-link | invite`."""
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


@users_cli.command("setup-link")
def setup_link_command():
    """Print the one-time link that makes the first (admin) account in the
    browser; it works only while no account exists."""
    from ..onboarding import setup_url

    url = setup_url()
    if url is None:
        raise click.ClickException(
            "an account exists already, so the set-up link no longer works; "
            "invite others with: flask users invite EMAIL [--letter SLUG]"
        )
    click.echo(url)


@users_cli.command("invite")
@click.argument("email")
@click.option("--letter", "slug", help="Let the invitee manage this letter (its slug).")
@click.option("--language", type=click.Choice(["nl", "en"]), default="nl", show_default=True,
              help="The language of the invitation.")
def invite_command(email: str, slug: str | None, language: str):
    """E-mail an invitation (through the outbox): its link sets a password,
    once, within 7 days, and lands on the granted letter."""
    from ..auth import AccountError
    from ..onboarding import INVITATION_DAYS, invite
    from .letters import letter_or_fail

    letter = letter_or_fail(slug) if slug else None
    try:
        invitation = invite(email, letter=letter, by=CLI, language=language)
    except AccountError as error:
        raise click.ClickException(str(error)) from None
    db.session.commit()
    granted = f", may manage {letter.slug}" if letter else ""
    click.echo(f"invited {invitation.user.email}{granted}; the e-mail leaves with the next `flask outbox send`")
    click.echo(f"the link (valid {INVITATION_DAYS} days, once): {invitation.url}")
