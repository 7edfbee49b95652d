"""`flask pdf SLUG -o FILE`."""
from __future__ import annotations

import hashlib
from pathlib import Path

import click
from flask.cli import with_appcontext

from ..extensions import db
from .letters import letter_or_fail


@click.command("pdf")
@click.argument("slug")
@click.option("-o", "--output", "output", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Where to write the PDF.")
@with_appcontext
def pdf_command(slug: str, output: Path) -> None:
    """Compile the verrijkte opinie of a letter, in any state (a draft until
    it is published)."""
    from ..pdf.store import current_pdf

    letter = letter_or_fail(slug)
    published = letter.is_published
    pdf, pages = current_pdf(letter)
    db.session.rollback()
    output.write_bytes(pdf)
    state = "published" if published else "draft"
    click.echo(f"{output}: {pages} pages, {state}, sha256 {hashlib.sha256(pdf).hexdigest()}")
