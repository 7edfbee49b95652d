"""Deployments that work, but not as the operator thinks: said in the log,
once per process (DESIGN §7).

* `memory://` rate limits with several workers: each worker counts on its
  own, so every limit is that many times looser. Seen on the command line
  at start-up (`gunicorn -w 4`, WEB_CONCURRENCY), and otherwise on the first
  request of a multi-process server (gunicorn sets wsgi.multiprocess).
* `TRUSTED_PROXIES` set while requests arrive directly (no X-Forwarded-For):
  then any client can claim any address, and the per-IP limits count nothing.
"""
from __future__ import annotations

import logging
import os
import re
import sys

from flask import Flask, request

log = logging.getLogger("signatory.deployment")

_WORKERS_OPTION = re.compile(r"^(?:-w|--workers)(?:=)?(\d*)$")


def workers_on_command_line(argv: list[str], environ) -> int:
    """gunicorn's worker count as given on its command line, else
    WEB_CONCURRENCY (gunicorn's own default), else 1."""
    if not argv or "gunicorn" not in argv[0]:  # bin/gunicorn, or gunicorn/__main__.py with -m
        return 1
    for index, argument in enumerate(argv):
        match = _WORKERS_OPTION.match(argument)
        if match:
            value = match.group(1) or (argv[index + 1] if index + 1 < len(argv) else "")
            return int(value) if value.isdecimal() else 1
    value = environ.get("WEB_CONCURRENCY", "")
    return int(value) if value.isdecimal() else 1


def init_app(app: Flask) -> None:
    said: set[str] = set()
    memory_limits = app.config["RATELIMIT_STORAGE_URI"].startswith("memory://") and app.config["SIGN_RATE_LIMIT"]
    workers = workers_on_command_line(sys.argv, os.environ)
    if memory_limits and workers > 1:
        _warn_per_worker_limits(said, f"{workers} workers")

    @app.before_request
    def check_deployment():
        environ = request.environ
        if memory_limits and "limits" not in said and environ.get("wsgi.multiprocess"):
            _warn_per_worker_limits(said, "a server with several worker processes")
        if app.config["TRUSTED_PROXIES"] and "proxy" not in said and "HTTP_X_FORWARDED_FOR" not in environ:
            said.add("proxy")
            log.warning(
                "TRUSTED_PROXIES is %s but a request arrived without X-Forwarded-For, straight from %s: "
                "if clients can reach this server directly, they can claim any address and the per-IP "
                "limits count nothing; serve only through the proxy, or set TRUSTED_PROXIES=0",
                app.config["TRUSTED_PROXIES"], environ.get("REMOTE_ADDR", "?"),
            )


def _warn_per_worker_limits(said: set[str], what: str) -> None:
    said.add("limits")
    log.warning(
        "RATELIMIT_STORAGE_URI is memory:// with %s: each worker counts on its own, so every rate "
        "limit is that many times looser; use redis:// (see the README's deployment)", what,
    )
