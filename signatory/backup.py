"""`flask backup FILE`: a consistent copy of the database, taken while
people sign (DESIGN §6).

SQLite: the online backup API copies the database as of one read
transaction; in WAL mode that never blocks the writers, and the copy is
checked with PRAGMA integrity_check before it replaces FILE. PostgreSQL:
`pg_dump -Fc`, which reads one snapshot and blocks nobody. Either way the
file appears whole or not at all (written beside FILE, then renamed), so a
backup stopped half-way never passes for a good one. How to restore: README.
"""
from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from pathlib import Path

from sqlalchemy.engine import make_url


class BackupError(Exception):
    pass


def take_backup(database_url: str, target: Path) -> str:
    """Copy the database at database_url into target; returns what was made."""
    url = make_url(database_url)
    target = target.resolve()
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".part")
    try:
        if url.get_backend_name() == "sqlite":
            _sqlite_backup(Path(url.database), partial)
            made = "SQLite database, integrity check ok"
        else:
            _pg_dump(url, partial)
            made = "PostgreSQL custom-format dump (pg_restore)"
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
    return made


def _sqlite_backup(source: Path, partial: Path) -> None:
    if not source.is_file():
        raise BackupError(f"no SQLite database at {source}")
    partial.unlink(missing_ok=True)
    with sqlite3.connect(source, timeout=30) as origin, sqlite3.connect(partial) as copy:
        origin.backup(copy)  # one step: one consistent snapshot, writers carry on (WAL)
        copy.execute("PRAGMA journal_mode=DELETE")  # a single self-contained file
        verdict = copy.execute("PRAGMA integrity_check").fetchone()[0]
    origin.close()
    copy.close()
    if verdict != "ok":
        raise BackupError(f"the copy failed its integrity check: {verdict}")


def _pg_dump(url, partial: Path) -> None:
    program = shutil.which("pg_dump")
    if program is None:
        raise BackupError("pg_dump is not installed (Debian: apt-get install postgresql-client)")
    environment = {**os.environ}
    if url.password:
        environment["PGPASSWORD"] = url.password  # never on the command line
    plain = url.set(drivername="postgresql", password=None).render_as_string(hide_password=False)
    result = subprocess.run(
        [program, "--format=custom", "--no-owner", f"--file={partial}", f"--dbname={plain}"],
        env=environment, capture_output=True, text=True,
    )
    if result.returncode != 0:
        raise BackupError(f"pg_dump failed: {result.stderr.strip()[-2000:]}")
