"""`flask quickstart`: the service on its embedded defaults, for a newcomer's
first five minutes."""
from __future__ import annotations

import logging
import os
import threading

import click
from flask import current_app
from flask.cli import with_appcontext

from ..extensions import db


@click.command("quickstart")
@click.option("--port", default=5000, show_default=True)
@with_appcontext
def quickstart_command(port: int):
    """Set up the database, the demo letter, and serve on 127.0.0.1, with
    e-mail delivered to the outbox folder as soon as it is queued."""
    from flask_migrate import upgrade

    from ..demo import DEMO_SLUG, ensure_demo_letter, top_up_signatures

    upgrade()
    letter = ensure_demo_letter()
    top_up_signatures(letter, 25)
    db.session.commit()
    app = current_app._get_current_object()
    if "BASE_URL" not in os.environ:
        app.config["BASE_URL"] = f"http://127.0.0.1:{port}"  # links that work on this port
    mail_settings = app.config["MAIL"]
    # The newcomer confirms from the log: show each message's links.
    logging.getLogger("signatory.mail").setLevel(logging.DEBUG)
    _start_delivery_thread(app)
    where = mail_settings.path if mail_settings.scheme == "file" else f"{mail_settings.host}:{mail_settings.port}"
    click.echo(
        "\n  Signatory runs at http://127.0.0.1:%d/letters/%s\n"
        "  E-mails are delivered to %s (each as a .eml file; links are logged below).\n"
        "  Stop with Ctrl+C.\n" % (port, DEMO_SLUG, where)
    )
    from werkzeug.serving import run_simple

    # Not app.run(): Flask ignores that inside a `flask` command.
    run_simple("127.0.0.1", port, app, threaded=True, use_reloader=False)


def _start_delivery_thread(app, stop: threading.Event | None = None) -> threading.Thread:
    """The delivery rounds of `outbox send --loop`, beside the server."""
    from .. import mail

    def run():
        with app.app_context():
            mail.deliver_forever(interval=1.0, echo=lambda line: None, stop=stop)

    thread = threading.Thread(target=run, name="outbox-delivery", daemon=True)
    thread.start()
    return thread
