"""The `flask …` commands of DESIGN §6, one module per group. Each command
calls the domain and commits once; what it did is audited as "cli"."""
from __future__ import annotations

from flask import Flask

CLI = "cli"  # the actor in the audit log of what a command did


def register_commands(app: Flask) -> None:
    from .backup import backup_command
    from .demo import demo_command
    from .letters import letters_cli
    from .outbox import outbox_cli
    from .pdf import pdf_command
    from .privacy import privacy_cli
    from .quickstart import quickstart_command
    from .translations import translations_cli
    from .users import users_cli

    for command in (
        letters_cli, users_cli, outbox_cli, privacy_cli, pdf_command, demo_command, quickstart_command,
        translations_cli, backup_command,
    ):
        app.cli.add_command(command)
