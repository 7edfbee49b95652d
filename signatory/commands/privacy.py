"""`flask privacy purge`."""
from __future__ import annotations

import click
from flask.cli import AppGroup

from ..extensions import db

privacy_cli = AppGroup("privacy", help="Retention rules (GDPR / AVG).")


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
    from .. import privacy

    try:
        report = privacy.purge(address_months=address_months)
    except ValueError as error:
        raise click.ClickException(str(error)) from None
    db.session.commit()
    click.echo(report.summary())
