"""`flask demo [--signatures N]`."""
from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext

from ..extensions import db


@click.command("demo")
@click.option("--signatures", "wanted", default=25, show_default=True, type=click.IntRange(0, 10_000_000),
              help="How many sample signatures the demo letter should have.")
@with_appcontext
def demo_command(wanted: int):
    """Create (or top up) the letter `demo` with sample signatures."""
    from ..demo import DEMO_SLUG, ensure_demo_letter, top_up_signatures

    letter = ensure_demo_letter()
    added = top_up_signatures(letter, wanted)
    db.session.commit()
    click.echo(
        f"demo letter: {current_app.config['BASE_URL']}/letters/{DEMO_SLUG} "
        f"({letter.signature_count} signatures, {added} added)"
    )
