"""`flask outbox send [--loop]`."""
from __future__ import annotations

import click
from flask.cli import AppGroup

outbox_cli = AppGroup("outbox", help="Deliver queued e-mail.")


@outbox_cli.command("send")
@click.option("--loop", is_flag=True, help="Keep delivering until interrupted.")
@click.option("--interval", default=2.0, show_default=True, help="Seconds between rounds with --loop.")
def send_outbox_command(loop: bool, interval: float):
    """Deliver every queued e-mail that is due, then exit 0."""
    from .. import mail

    if loop:
        mail.deliver_forever(interval=interval, echo=click.echo)
        return
    click.echo(mail.DeliveryRound()().summary())
