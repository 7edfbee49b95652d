"""A real gunicorn serving the app on a free loopback port, for the tests
that need what only a real server does (broken chunked bodies, workers
losing their database connection, backups while people sign)."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    """A loopback port where nothing listens (bound, read, released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def gunicorn(tmp_path: Path, database_url: str, *, workers: int = 2, log_name: str = "gunicorn.log", **env):
    """Yield the base URL of a gunicorn running `app:app` on database_url;
    stop it afterwards. Its log is tmp_path/log_name."""
    port = free_port()
    environment = {
        **os.environ,
        "DATABASE_URL": database_url,
        "SECRET_KEY": "test-secret-key-that-is-long-enough-for-links",
        "MAIL_URL": f"file://{tmp_path / 'outbox'}",
        "BASE_URL": f"http://127.0.0.1:{port}",
        "SIGN_RATE_LIMIT": "off",
        "RATELIMIT_STORAGE_URI": "memory://",
        **env,
    }
    environment.pop("TRUSTED_PROXIES", None)
    log = open(tmp_path / log_name, "wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-w", str(workers), "-b", f"127.0.0.1:{port}",
         "--timeout", "30", "--graceful-timeout", "5", "app:app"],
        cwd=PROJECT, env=environment, stdout=log, stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"gunicorn stopped: {(tmp_path / log_name).read_text()[-3000:]}")
            try:
                urllib.request.urlopen(base + "/", timeout=2).read()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()
