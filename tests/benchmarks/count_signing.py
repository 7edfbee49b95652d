"""Instructions per signing request, counted by valgrind: a script, not a test.

    .venv/bin/python tests/benchmarks/count_signing.py [--requests 80] [--no-write]

`bench_scale.py` measures DESIGN §8's signing bar in requests per second,
which a shared machine moves by ±15 % from run to run. This script counts
what one signing costs in CPU instructions instead (`valgrind
--tool=callgrind`), which is the same on every run whatever else the machine
does: for each contender, one process signs W warm-up requests and then N
more through the WSGI app, in-process (no gunicorn, no sockets); the count of
a run with W requests is subtracted from one with W + N, so that start-up
cancels out. The contenders are those of bench_scale.py: Signatory (`app:app`,
limiter on), `floor_app` (Flask and WTForms alone) and `bench_web.bare_app`
(parse the form, insert one row).

The table goes to the terminal and to its section of BENCHMARKS.md. Every run
uses its own temporary databases and leaves nothing behind.
"""
from __future__ import annotations

import os
import sys

import harness

MARK_START, MARK_END = "<!-- count_signing:start -->", "<!-- count_signing:end -->"
CONTENDERS = ("app", "floor", "bare")
WARM_UP = 20
SECRET_KEY = "count-signing-fixed-secret-key-0123456789abcdef"


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=80, help="signings counted per contender")
    parser.add_argument("--no-write", action="store_true", help="do not update BENCHMARKS.md")
    parser.add_argument("--inner", choices=CONTENDERS, help=argparse.SUPPRESS)
    parser.add_argument("--signings", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--database", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.inner:
        sign_in_process(args.inner, args.signings, args.database)
        return 0
    args.requests = max(10, min(args.requests, 1000))
    counts = {name: count(name, args.requests) for name in CONTENDERS}
    table = markdown(counts, args.requests)
    print("\n" + table)
    if not args.no_write:
        print(f"\nwrote {harness.replace_section(harness.REPO / 'BENCHMARKS.md', MARK_START, MARK_END, table)}")
    return 0


def count(name: str, requests: int) -> int:
    """Instructions per request of one contender: two runs, subtracted."""
    import re
    import shutil
    import subprocess
    import tempfile
    from pathlib import Path

    valgrind = shutil.which("valgrind")
    if valgrind is None:
        raise SystemExit("valgrind is not installed: apt-get install valgrind")
    workdir = Path(tempfile.mkdtemp(prefix=f"signatory-count-{name}-"))
    try:
        database = f"sqlite:///{workdir / 'db.sqlite3'}"
        # A fixed hash seed: with a random one, dict and set layouts, and so
        # the counts, moved by about 1 % from run to run.
        env = {**os.environ, "DATABASE_URL": database, "SECRET_KEY": SECRET_KEY, "MAIL_URL": f"file://{workdir / 'mail'}",
               "SIGN_RATE_LIMIT": "100000000 per minute", "TRUSTED_PROXIES": "1", "PYTHONHASHSEED": "0"}
        for command in (("db", "upgrade"), ("demo", "--signatures", "1000")):
            harness.flask_command(harness.REPO, env, *command, cwd=workdir, timeout=600)
        totals = []
        for signings in (WARM_UP, WARM_UP + requests):
            result = subprocess.run(
                [valgrind, "--tool=callgrind", f"--callgrind-out-file={workdir / 'callgrind.out'}",
                 sys.executable, __file__, "--inner", name, "--signings", str(signings), "--database", database],
                env=env, cwd=workdir, capture_output=True, text=True, timeout=3600,
            )
            collected = re.search(r"Collected : (\d+)", result.stderr)
            if result.returncode != 0 or collected is None:
                raise RuntimeError(f"{name}: {result.stderr[-2000:]}")
            totals.append(int(collected.group(1)))
        per_request = (totals[1] - totals[0]) // requests
        print(f"{name:6} {per_request / 1e6:6.2f} M instructions per signing", flush=True)
        return per_request
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def sign_in_process(name: str, signings: int, database: str) -> None:
    """Under valgrind: `signings` signings through the contender's WSGI app."""
    import io

    if name == "app":
        sys.path.insert(0, str(harness.REPO))
        from signatory import create_app

        application = create_app()  # as app.py does
        from signatory.views import public

        # Under valgrind a signing takes some 50 ms: the once-a-second re-read
        # of the letter would be counted fifty times as often as it runs at a
        # few hundred signings a second. Read it once, as a busy server does.
        public.SNAPSHOT_SECONDS = 3600.0
        token = _form_token(application)
    else:
        import sqlite3

        path = database.removeprefix("sqlite:///")
        letter_id = sqlite3.connect(path).execute("SELECT id FROM letters WHERE slug = 'demo'").fetchone()[0]
        from bench_web import BARE_DB_ENV, BARE_LETTER_ENV

        os.environ.update({BARE_DB_ENV: path, BARE_LETTER_ENV: str(letter_id)})
        if name == "floor":
            from floor_app import app as application
        else:
            from bench_web import bare_app as application
        token = "-"
    for number in range(signings):
        body = (f"first_name=Jan&last_name=Peeters{number}&kind=person&organisation=&function=&address="
                f"&email=count-{signings}-{number}%40example.org&place=Gent&paragraph=&consent_name=y&csrf_token={token}").encode()
        environ = {
            "REQUEST_METHOD": "POST", "PATH_INFO": "/letters/demo/sign", "QUERY_STRING": "",
            "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "8000", "SERVER_PROTOCOL": "HTTP/1.1", "HTTP_HOST": "127.0.0.1:8000",
            "HTTP_ORIGIN": "http://127.0.0.1:8000", "REMOTE_ADDR": "127.0.0.1", "wsgi.url_scheme": "http",
            "wsgi.input": io.BytesIO(body), "CONTENT_LENGTH": str(len(body)),
            "CONTENT_TYPE": "application/x-www-form-urlencoded", "wsgi.errors": sys.stderr,
        }
        statuses = []
        b"".join(application(environ, lambda status, headers, exc_info=None: statuses.append(status)))
        if not statuses[0].startswith("303"):
            raise RuntimeError(f"{name} answered {statuses[0]} to a signing")


def _form_token(application) -> str:
    import re

    page = application.test_client().get("/letters/demo").get_data(as_text=True)
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)


def markdown(counts: dict[str, int], requests: int) -> str:
    import platform

    app, floor, bare = counts["app"], counts["floor"], counts["bare"]
    return "\n".join([
        MARK_START,
        "## Signing, counted in instructions",
        "",
        "Reproduce from the repository root: `.venv/bin/python tests/benchmarks/count_signing.py` "
        f"(about 10 minutes; valgrind, Python {platform.python_version()}). Each figure: the instructions "
        f"of {requests} signings through the WSGI app in one process, after {WARM_UP} warm-up signings, divided "
        "by their number (callgrind, `PYTHONHASHSEED=0`; the same on every run, whatever the machine is doing). No gunicorn and no "
        "sockets: under `bench_scale.py` the bare insert's instructions come to about 0.45 ms of gunicorn CPU per "
        "request, most of it gunicorn's own.",
        "",
        "| contender | instructions per signing | × the bare insert | × Flask and WTForms alone |",
        "| --- | ---: | ---: | ---: |",
        f"| Signatory (`app:app`, limiter on) | {app / 1e6:.2f} M | {app / bare:.1f} | {app / floor:.2f} |",
        f"| Flask and WTForms alone (`floor_app`) | {floor / 1e6:.2f} M | {floor / bare:.1f} | 1.00 |",
        f"| bare insert (`bench_web.bare_app`) | {bare / 1e6:.2f} M | 1.0 | {bare / floor:.2f} |",
        MARK_END,
    ])


if __name__ == "__main__":
    sys.exit(main())
