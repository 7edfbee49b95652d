"""`flask translations update | compile`: extract, update and compile the catalogues.

Dutch is the source language (msgids are Dutch); English is translated in
`translations/en/LC_MESSAGES/messages.po`. Compiled catalogues (.mo) are
committed, so an install needs no build step.
"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import click
from flask.cli import AppGroup

PACKAGE_DIR = Path(__file__).resolve().parent.parent
PROJECT_DIR = PACKAGE_DIR.parent
TRANSLATIONS = PACKAGE_DIR / "translations"
TEMPLATE = TRANSLATIONS / "messages.pot"
LANGUAGES = ("nl", "en")

translations_cli = AppGroup("translations", help="Extract, update and compile the catalogues.")


def _pybabel(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "babel.messages.frontend", *args], check=True, cwd=PROJECT_DIR)


@translations_cli.command("update")
def update_command():
    """Extract the strings and merge them into every catalogue."""
    _pybabel(
        "extract", "-F", str(TRANSLATIONS / "babel.cfg"), "-k", "_l", "--no-location",
        "--sort-output", "--project", "signatory", "-o", str(TEMPLATE), ".",
    )
    for language in LANGUAGES:
        catalogue = TRANSLATIONS / language / "LC_MESSAGES" / "messages.po"
        if catalogue.exists():
            _pybabel("update", "-i", str(TEMPLATE), "-d", str(TRANSLATIONS), "-l", language, "--no-fuzzy-matching")
        else:
            _pybabel("init", "-i", str(TEMPLATE), "-d", str(TRANSLATIONS), "-l", language)
    click.echo("catalogues updated; translate, then: flask translations compile")


@translations_cli.command("compile")
def compile_command():
    """Compile every catalogue to .mo."""
    _pybabel("compile", "-d", str(TRANSLATIONS), "--use-fuzzy")
