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
@click.option("--port", default=5000, show_default=True, help="The port on 127.0.0.1 (0: any free port).")
@with_appcontext
def quickstart_command(port: int):
    """Set up the database, the demo letter, and serve on 127.0.0.1, with
    e-mail delivered to the outbox folder as soon as it is queued."""
    from flask_migrate import upgrade

    from ..demo import DEMO_SLUG, ensure_demo_letter, top_up_signatures
    from ..onboarding import quickstart_banner

    server = _bind(port)  # first: a taken port is said before anything else happens
    port = server.server_port
    upgrade()
    letter = ensure_demo_letter()
    top_up_signatures(letter, 25)
    db.session.commit()
    app = current_app._get_current_object()
    if "BASE_URL" not in os.environ:
        app.config["BASE_URL"] = f"http://127.0.0.1:{port}"  # links that work on this port
    # The newcomer confirms from the log: show each message's links.
    logging.getLogger("signatory.mail").setLevel(logging.DEBUG)
    _start_delivery_thread(app)
    click.echo(quickstart_banner(f"http://127.0.0.1:{port}", DEMO_SLUG, app.config["MAIL"]))
    # The command's own transaction must not hold SQLite's write lock while it serves.
    db.session.remove()
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        click.echo("\n  Stopped. Run the same command to carry on where you left off.")
    finally:
        server.server_close()


def _bind(port: int):
    """The server, bound; a port in use is refused with the way out
    (werkzeug would print its own advice and exit)."""
    import socket

    from werkzeug.serving import make_server

    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as werkzeug binds
        try:
            probe.bind(("127.0.0.1", port))
        except OSError as error:
            suggestion = 5001 if port == 5000 else port + 1
            raise click.ClickException(
                f"127.0.0.1:{port} is already in use ({error.strerror or error}) — perhaps another quickstart "
                f"is running. Stop it, or choose another port: flask --app app.py quickstart --port {suggestion}"
            ) from None
    # Not app.run(): Flask ignores that inside a `flask` command.
    return make_server("127.0.0.1", port, current_app._get_current_object(), threaded=True)


def _start_delivery_thread(app, stop: threading.Event | None = None) -> threading.Thread:
    """The delivery rounds of `outbox send --loop`, beside the server."""
    from .. import mail

    def run():
        with app.app_context():
            mail.deliver_forever(interval=1.0, echo=lambda line: None, stop=stop)

    thread = threading.Thread(target=run, name="outbox-delivery", daemon=True)
    thread.start()
    return thread
