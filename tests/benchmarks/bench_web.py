"""Benchmark of DESIGN §8, "Signing and pages": a script, not a test.

    .venv/bin/python tests/benchmarks/bench_web.py [--quick] [--database sqlite|postgresql]

1. Signing throughput. The real app under `gunicorn -w 4` against a bare WSGI
   app (`bare_app` below, served by the same gunicorn settings) that only
   inserts one row into the `signatures` table of a database with the same
   schema, on SQLite or PostgreSQL. No verdict here: DESIGN §8's bar for
   signing (0.35 of the bare insert, under `gunicorn -w 2` and `wrk -c8`)
   is measured by `bench_scale.py`. Then every 303 the clients saw is
   checked against the database: one unconfirmed row per accepted e-mail
   address, one outbox row per signature, nothing else.
2. Page cost independent of the count: median latency of sequential requests
   to the letter page, the API and the list of signatories with 1,000 and
   with 1,000,000 signatures (`--quick`: 100,000). Target: a ratio near 1.

Figures go to the terminal and to the "Signing and pages" section of
BENCHMARKS.md at the repository root (only the text between this script's
markers is replaced). All load goes to 127.0.0.1; every loop is bounded in
count and in time; every server started here is stopped, also on errors.

The module is imported by gunicorn for `bare_app`, so nothing at its top level
imports the application or starts anything.
"""
from __future__ import annotations

import os
import sys

import harness

SIGNING_BAR_ELSEWHERE = "DESIGN §8's bar: `bench_scale.py` (`-w 2`, `wrk -c8`)"

BARE_DB_ENV = "BENCH_BARE_DATABASE"  # sqlite file path or postgresql:// URL
BARE_LETTER_ENV = "BENCH_BARE_LETTER_ID"

_bare_state: dict = {}

_BARE_COLUMNS = (
    "letter_id", "letter_version", "first_name", "last_name", "kind", "organisation",
    "organisation_key", "function", "address", "email", "email_key", "place", "paragraph",
    "consent_name", "consent_paragraph", "consent_notify", "language", "source", "status",
    "rejection_reason", "paragraph_status", "paragraph_reason", "line_rule_override",
    "first_signatory", "sort_key", "created_at", "updated_at",
)


def _bare_connection():
    """One connection per gunicorn worker, opened after the fork."""
    if _bare_state.get("pid") == os.getpid():
        return _bare_state["conn"], _bare_state["sql"], _bare_state["kind"]
    target = os.environ[BARE_DB_ENV]
    columns = ", ".join(_BARE_COLUMNS)
    if target.startswith("postgresql"):
        import psycopg

        conn = psycopg.connect(target.replace("postgresql+psycopg://", "postgresql://"))
        marks = ", ".join(["%s"] * len(_BARE_COLUMNS))
        kind = "postgresql"
    else:
        import sqlite3

        # The same database as the app's: its tuning, read from the app (once
        # per worker, after the fork), not copied.
        from signatory.database import SQLITE_PRAGMAS

        conn = sqlite3.connect(target, isolation_level=None, check_same_thread=False)
        for pragma in SQLITE_PRAGMAS:
            conn.execute(f"PRAGMA {pragma}")
        marks = ", ".join(["?"] * len(_BARE_COLUMNS))
        kind = "sqlite"
    sql = f"INSERT INTO signatures ({columns}) VALUES ({marks})"
    _bare_state.update(pid=os.getpid(), conn=conn, sql=sql, kind=kind)
    return conn, sql, kind


def bare_app(environ, start_response):
    """The baseline: read the form body, insert one row, answer 303."""
    if environ["REQUEST_METHOD"] != "POST":
        start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "2")])
        return [b"ok"]
    from datetime import datetime, timezone
    from urllib.parse import parse_qs

    length = int(environ.get("CONTENT_LENGTH") or 0)
    form = parse_qs(environ["wsgi.input"].read(length).decode())
    email = form.get("email", [""])[0]
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    conn, sql, kind = _bare_connection()
    if kind == "sqlite":
        stamp = now.strftime("%Y-%m-%d %H:%M:%S.%f")
        true, false = 1, 0
    else:
        stamp = now
        true, false = True, False
    row = (
        int(os.environ[BARE_LETTER_ENV]), 1, form.get("first_name", [""])[0],
        form.get("last_name", [""])[0], "person", "", "", "", "", email, email.casefold(),
        form.get("place", [""])[0], "", true, false, false, "nl", "online", "unconfirmed",
        "", "none", "", "", false, b"bench", stamp, stamp,
    )
    if kind == "sqlite":
        conn.execute("BEGIN IMMEDIATE")
        try:
            conn.execute(sql, row)
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
    else:
        with conn.transaction():
            conn.execute(sql, row)
    start_response("303 See Other", [("Location", "/thanks"), ("Content-Length", "0")])
    return [b""]


# --- everything below runs only in the benchmark script itself ----------------------

def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="5 s of load instead of 15, 100,000 signatures instead of 1,000,000")
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--duration", type=float, help="seconds of load per contender")
    parser.add_argument("--big", type=int, help="signatures for the large page measurement")
    parser.add_argument("--clients", type=int, default=2, help="load generator processes")
    parser.add_argument("--connections", type=int, default=4, help="connections per process")
    parser.add_argument("--page-requests", type=int, help="sequential requests per page")
    parser.add_argument("--no-write", action="store_true", help="do not update BENCHMARKS.md")
    parser.add_argument("--keep", action="store_true", help="keep the work directory and databases")
    parser.add_argument("--commit", metavar="REV",
                        help="run the app from `git archive REV` instead of the working tree "
                             "(for a clean measurement while others edit the tree)")
    args = parser.parse_args(argv)
    if args.duration is None:
        args.duration = 5.0 if args.quick else 15.0
    if args.big is None:
        args.big = 100_000 if args.quick else 1_000_000
    if args.page_requests is None:
        args.page_requests = 100 if args.quick else 500
    args.duration = max(1.0, min(args.duration, 300.0))
    args.clients = max(1, min(args.clients, 8))
    args.connections = max(1, min(args.connections, 16))
    args.page_requests = max(10, min(args.page_requests, 5000))

    bench = Bench(args)
    harness.run_to_the_end(bench)
    bench.print_report()
    if not args.no_write:
        path = bench.write_markdown()
        print(f"\nwrote {path}")
    return 0 if bench.integrity_ok else 1


class Bench:
    SECRET_KEY = "bench-web-fixed-secret-key-0123456789abcdef"
    SMALL = 1000
    PAGES = ("/letters/demo", "/api/letters/demo", "/letters/demo/signatories")
    SERVER_START_TIMEOUT = 60.0
    FLASK_CLI_TIMEOUT = 3600.0

    def __init__(self, args):
        import tempfile
        from pathlib import Path

        self.args = args
        self.repo = harness.REPO
        self.app_dir = self.repo
        self.source = "working tree"
        self.workdir = Path(tempfile.mkdtemp(prefix="signatory-bench-web-"))
        self.servers = harness.Servers(self.workdir)
        self.created_pg: list[str] = []
        self.results: dict = {}
        self.integrity_ok = False
        self.started = None
        self.pg_admin = harness.pg_admin_url()
        if args.database == "sqlite":
            self.app_db = f"sqlite:///{self.workdir / 'app.sqlite3'}"
            self.bare_db = f"sqlite:///{self.workdir / 'bare.sqlite3'}"
            self.big_db = f"sqlite:///{self.workdir / 'big.sqlite3'}"
        else:
            self.app_db = self._pg_url("signatory_bench")
            self.bare_db = self._pg_url("signatory_bench_bare")
            self.big_db = self._pg_url("signatory_bench_big")

    # --- set-up and tear-down ---------------------------------------------------

    def _pg_url(self, name: str) -> str:
        from urllib.parse import urlsplit, urlunsplit

        parts = urlsplit(self.pg_admin)
        return urlunsplit(("postgresql+psycopg", parts.netloc, "/" + name, parts.query, ""))

    def _pg_admin_execute(self, statement: str) -> None:
        harness.pg_admin_execute(self.pg_admin, statement)

    def env(self, database_url: str) -> dict:
        env = dict(os.environ)
        env.update(
            DATABASE_URL=database_url,
            SIGN_RATE_LIMIT="off",
            MAIL_URL=f"file://{self.workdir / 'mail'}",
            SECRET_KEY=self.SECRET_KEY,
            FLASK_APP="app",
            PYTHONDONTWRITEBYTECODE="1",
        )
        env.pop("FLASK_DEBUG", None)
        return env

    def flask(self, database_url: str, *command: str) -> str:
        return harness.flask_command(self.app_dir, self.env(database_url), *command, timeout=self.FLASK_CLI_TIMEOUT)

    def choose_source(self) -> None:
        """The working tree (saying whether it had uncommitted changes), or
        an export of one commit."""
        import subprocess

        def git(*command: str) -> str:
            return subprocess.run(["git", *command], cwd=self.repo, capture_output=True, text=True,
                                  timeout=60, check=True).stdout.strip()

        if not self.args.commit:
            try:
                dirty = git("status", "--porcelain", "--untracked-files=no")
                head = git("rev-parse", "--short", "HEAD")
                self.source = f"working tree at {head}" + (" with uncommitted changes" if dirty else "")
            except (OSError, subprocess.SubprocessError):
                self.source = "working tree (not a git checkout)"
            return
        revision = git("rev-parse", "--short", f"{self.args.commit}^{{commit}}")
        self.app_dir = self.workdir / "src"
        self.app_dir.mkdir()
        archive = subprocess.run(["git", "archive", revision], cwd=self.repo, capture_output=True,
                                 timeout=120, check=True).stdout
        subprocess.run(["tar", "-x", "-C", str(self.app_dir)], input=archive, timeout=120, check=True)
        self.source = f"commit {revision} (git archive)"
        print(f"app from {self.source} in {self.app_dir}", flush=True)

    def prepare_database(self, database_url: str) -> None:
        if database_url.startswith("postgresql"):
            name = database_url.rsplit("/", 1)[1]
            self._pg_admin_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            self._pg_admin_execute(f'CREATE DATABASE "{name}"')
            self.created_pg.append(name)
        self.flask(database_url, "db", "upgrade")
        self.flask(database_url, "demo", "--signatures", str(self.SMALL))

    def cleanup(self) -> None:
        import shutil

        self.servers.stop_all()
        if self.args.keep:
            print(f"kept {self.workdir} and databases {self.created_pg}")
            return
        for name in self.created_pg:
            try:
                self._pg_admin_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            except Exception as error:  # report, keep cleaning up
                print(f"warning: could not drop database {name}: {error}", file=sys.stderr)
        shutil.rmtree(self.workdir, ignore_errors=True)

    # --- servers -------------------------------------------------------------------

    def start_server(self, name: str, spec: str, chdir, env: dict, probe: str) -> dict:
        # Several good answers in a row: more than one worker is up.
        return self.servers.gunicorn(f"gunicorn-{name}", spec, chdir=chdir, env=env, probe=probe, workers=4,
                                     extra=("--error-logfile", "-"), ready=8, timeout=self.SERVER_START_TIMEOUT)

    def stop_server(self, server: dict) -> None:
        self.servers.stop(server)

    def start_app(self, name: str, database_url: str) -> dict:
        return self.start_server(name, "app:app", self.app_dir, self.env(database_url), "/letters/demo")

    def start_bare(self) -> dict:
        from pathlib import Path

        env = self.env(self.bare_db)
        target = self.bare_db
        if target.startswith("sqlite:///"):
            target = target[len("sqlite:///"):]
        env[BARE_DB_ENV] = target
        env[BARE_LETTER_ENV] = str(self.letter_id(self.bare_db))
        return self.start_server("bare", "bench_web:bare_app", Path(__file__).resolve().parent, env, "/")

    # --- database reads (the parent's own connection) --------------------------------

    def query(self, database_url: str, sql: str, **params):
        return harness.query(database_url, sql, **params)

    def letter_id(self, database_url: str) -> int:
        return self.query(database_url, "SELECT id FROM letters WHERE slug = 'demo'")[0][0]

    def signature_counts(self, database_url: str) -> dict:
        rows = self.query(
            database_url,
            "SELECT status, COUNT(*) FROM signatures WHERE letter_id = :lid GROUP BY status",
            lid=self.letter_id(database_url),
        )
        return {status: count for status, count in rows}

    def outbox_count(self, database_url: str) -> int:
        return self.query(database_url, "SELECT COUNT(*) FROM outbox")[0][0]

    # --- the run ------------------------------------------------------------------------

    def run(self) -> None:
        import time

        self.started = time.time()
        args = self.args
        print(f"database {args.database}; work directory {self.workdir}", flush=True)
        self.machine = machine_info(self)
        self.choose_source()
        step("schema and demo letter with 1,000 signatures (app, bare and large databases)")
        self.prepare_database(self.app_db)
        self.prepare_database(self.bare_db)
        self.prepare_database(self.big_db)
        step(f"topping the large database's demo letter up to {args.big:,} signatures (flask demo)")
        t0 = time.monotonic()
        self.flask(self.big_db, "demo", "--signatures", str(args.big))
        self.results["topup_seconds"] = time.monotonic() - t0
        self.results["small_count"] = self.signature_counts(self.app_db).get("confirmed", 0)
        self.results["big_count"] = self.signature_counts(self.big_db).get("confirmed", 0)

        # Everything is measured side by side and in turns (small letter,
        # large letter; app, bare insert), so that other work on the shared
        # machine weighs on both sides of a ratio alike.
        small = self.start_app("app-small", self.app_db)
        big = bare = None
        try:
            big = self.start_app("app-big", self.big_db)
            step(f"pages: {self.SMALL:,} and {args.big:,} signatures in turns, "
                 f"{args.page_requests} requests per page and size")
            self.results["pages_small"], self.results["pages_big"] = measure_pages_in_turns(
                small["port"], big["port"], self.PAGES, args.page_requests)
            self.stop_server(big)
            bare = self.start_bare()
            rounds = 1 if args.quick else 3
            self.results["rounds"] = rounds
            before = self.signature_counts(self.app_db), self.outbox_count(self.app_db)
            bare_before = self.signature_counts(self.bare_db)
            app_parts, bare_parts = [], []
            for number in range(rounds):
                step(f"signing, round {number + 1}/{rounds}: app, then bare insert; {args.clients} processes x "
                     f"{args.connections} connections, {args.duration / rounds:g} s each")
                app_parts.append(run_load(small["port"], "app", args, args.duration / rounds, f"r{number}",
                                          small["process"].pid))
                bare_parts.append(run_load(bare["port"], "bare", args, args.duration / rounds, f"r{number}",
                                           bare["process"].pid))
        finally:
            for server in (small, big, bare):
                if server is not None:
                    self.stop_server(server)
        self.results["sign_app"] = merge_loads(app_parts)
        self.results["sign_bare"] = merge_loads(bare_parts)
        self.results["integrity"] = self.check_integrity(self.app_db, self.results["sign_app"], before)
        bare_after = self.signature_counts(self.bare_db)
        new_bare = bare_after.get("unconfirmed", 0) - bare_before.get("unconfirmed", 0)
        self.results["bare_integrity"] = (self.results["sign_bare"]["accepted_total"], new_bare)
        self.results["elapsed"] = time.time() - self.started
        self.results["loadavg_end"] = loadavg()

    def check_integrity(self, database_url: str, load: dict, before) -> dict:
        counts_before, outbox_before = before
        counts_after = self.signature_counts(database_url)
        outbox_after = self.outbox_count(database_url)
        lid = self.letter_id(database_url)
        rows = self.query(
            database_url,
            "SELECT email_key, status, COUNT(*) FROM signatures "
            "WHERE letter_id = :lid AND email_key LIKE 'bench-%' GROUP BY email_key, status",
            lid=lid,
        )
        per_email: dict[str, int] = {}
        statuses = set()
        for email_key, status, count in rows:
            per_email[email_key] = per_email.get(email_key, 0) + count
            statuses.add(status)
        outbox = self.query(
            database_url,
            "SELECT s.email_key, COUNT(o.id) FROM signatures s LEFT JOIN outbox o "
            "ON o.signature_id = s.id AND o.kind = 'confirm' "
            "WHERE s.letter_id = :lid AND s.email_key LIKE 'bench-%' GROUP BY s.email_key",
            lid=lid,
        )
        outbox_per_email = {email: count for email, count in outbox}
        accepted = load["accepted_emails"]
        accepted_set = set(accepted)
        new_unconfirmed = counts_after.get("unconfirmed", 0) - counts_before.get("unconfirmed", 0)
        new_outbox = outbox_after - outbox_before
        result = {
            "accepted_303": len(accepted),
            "accepted_distinct": len(accepted_set),
            "new_unconfirmed_rows": new_unconfirmed,
            "new_outbox_rows": new_outbox,
            "rows_for_bench_emails": sum(per_email.values()),
            "emails_stored_twice": sum(1 for c in per_email.values() if c > 1),
            "accepted_not_stored": len(accepted_set - per_email.keys()),
            "stored_not_accepted": len(per_email.keys() - accepted_set),
            "signatures_without_one_outbox_row": sum(1 for c in outbox_per_email.values() if c != 1),
            "statuses": sorted(statuses),
            "confirmed_unchanged": counts_after.get("confirmed") == counts_before.get("confirmed"),
        }
        result["ok"] = (
            len(accepted) == len(accepted_set) == new_unconfirmed == new_outbox
            == result["rows_for_bench_emails"]
            and result["emails_stored_twice"] == 0
            and result["accepted_not_stored"] == 0
            and result["stored_not_accepted"] == 0
            and result["signatures_without_one_outbox_row"] == 0
            and result["statuses"] in ([], ["unconfirmed"])
            and result["confirmed_unchanged"]
            and len(accepted) > 0
        )
        self.integrity_ok = result["ok"]
        return result

    # --- reporting ---------------------------------------------------------------------

    def figures(self) -> dict:
        app, bare = self.results["sign_app"], self.results["sign_bare"]
        ratio = app["rps"] / bare["rps"] if bare["rps"] else float("nan")
        pages = []
        for path in self.PAGES:
            small, big = self.results["pages_small"][path], self.results["pages_big"][path]
            pages.append((path, small, big, big["p50_ms"] / small["p50_ms"] if small["p50_ms"] else float("nan")))
        return {"app": app, "bare": bare, "ratio": ratio, "pages": pages}

    def print_report(self) -> None:
        if "pages_big" not in self.results:
            print("\nbenchmark did not finish; partial results:", {k: v for k, v in self.results.items()
                                                                   if k in ("integrity", "bare_integrity")})
            return
        f = self.figures()
        a = self.args
        print()
        print(f"Signing: POST /letters/demo/sign, gunicorn -w 4 (sync), {a.clients} load processes x "
              f"{a.connections} connections, {a.duration:g} s in {self.results['rounds']} alternating round(s), "
              f"{a.database}; load average {self.machine['loadavg']} / {self.results['loadavg_end']}")
        print(f"  {'':34} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'CPU ms/req':>11} {'other answers':>14}")
        for label, load in (("bare WSGI insert (baseline)", f["bare"]), ("Signatory, full POST", f["app"])):
            print(f"  {label:34} {load['rps']:9.1f} {load['p50_ms']:8.1f} {load['p99_ms']:8.1f} "
                  f"{load['cpu_ms_per_request']:11.2f} {other_answers(load):>14}")
        print(f"  {'ratio app / bare':34} {f['ratio']:9.2f}   (DESIGN §8's bar: bench_scale.py)")
        i = self.results["integrity"]
        print(f"  stored exactly once: {i['accepted_303']} answers 303 = {i['new_unconfirmed_rows']} new "
              f"unconfirmed rows = {i['new_outbox_rows']} new outbox rows; duplicates {i['emails_stored_twice']}, "
              f"accepted but missing {i['accepted_not_stored']}, stored but not accepted "
              f"{i['stored_not_accepted']}: {'OK' if i['ok'] else 'FAILED'}")
        bare_accepted, bare_rows = self.results["bare_integrity"]
        print(f"  (bare baseline: {bare_accepted} answers 303, {bare_rows} new rows)")
        print()
        print(f"Pages: sequential GETs, one connection per server, {a.page_requests} per page and size "
              f"in turns, after warm-up")
        print(f"  {'page':30} {'1,000 p50 ms':>13} {f'{a.big:,} p50 ms':>17} {'ratio':>7} "
              f"{'req/s small':>12} {'req/s big':>10} {'bytes small / big':>18}")
        for path, small, big, ratio in f["pages"]:
            print(f"  {path:30} {small['p50_ms']:13.2f} {big['p50_ms']:17.2f} {ratio:7.2f} "
                  f"{small['rps']:12.1f} {big['rps']:10.1f} {small['bytes']:>9} / {big['bytes']:<7}")
        print(f"  (small letter {self.results['small_count']:,}, large letter {self.results['big_count']:,} "
              f"confirmed signatures; the top-up took "
              f"{self.results['topup_seconds']:.0f} s; whole run {self.results['elapsed']:.0f} s)")

    def markdown(self) -> str:
        import time

        f = self.figures()
        a = self.args
        m = self.machine
        i = self.results["integrity"]
        command = ".venv/bin/python tests/benchmarks/bench_web.py" + (" --quick" if a.quick else "") + (
            f" --database {a.database}" if a.database != "sqlite" else "") + (
            f" --commit {a.commit}" if a.commit else "")
        db_label = "SQLite" if a.database == "sqlite" else "PostgreSQL"
        bare_how = ("sqlite3, WAL, synchronous=NORMAL, busy_timeout, BEGIN IMMEDIATE" if a.database == "sqlite"
                    else "psycopg, one transaction per row")
        lines = [
            f"<!-- bench_web:{a.database}:start -->",
            f"### {db_label}{' (quick run)' if a.quick else ''}",
            "",
            f"Reproduce from the repository root: `{command}`",
            f"(run {time.strftime('%Y-%m-%d %H:%M', time.localtime(self.started))}; app from the "
            f"{self.source}; {self.results['elapsed']:.0f} s).",
            "",
            f"Machine: {m['nproc']} CPUs (`nproc`), {m['cpu']}, {m['ram']} RAM; Python {m['python']}, "
            f"SQLite {m['sqlite']}, PostgreSQL {m['postgresql']}, gunicorn {m['gunicorn']}; "
            f"{m['kernel']}. Load average before / after the run: {m['loadavg']} / "
            f"{self.results['loadavg_end']} (the machine is shared; absolute figures move with it, "
            "the ratios are measured side by side).",
            "",
            f"**Signing** — `POST /letters/demo/sign` with the full form, `gunicorn -w 4` (sync workers) on "
            f"127.0.0.1; load from {a.clients} processes × {a.connections} connections (http.client; "
            "gunicorn's sync workers close the connection after each answer, so every request also "
            "opens one, for both contenders) "
            f"on the same machine for {a.duration:g} s each, in {self.results['rounds']} alternating round(s) "
            f"(app, bare, app, …) with a short warm-up before each; the letter has "
            f"{self.SMALL:,} signatures. The baseline is `bare_app` in the script: a WSGI app under the "
            "same gunicorn settings that parses the body, inserts one row into `signatures` of a "
            f"database with the same schema ({bare_how}) "
            "and answers 303.",
            "",
            "| contender | req/s | p50 ms | p99 ms | gunicorn CPU ms per request | other answers |",
            "| --- | ---: | ---: | ---: | ---: | --- |",
        ]
        for label, load in (("bare insert (baseline)", f["bare"]), ("Signatory, full POST", f["app"])):
            lines.append(f"| {label} | {load['rps']:.1f} | {load['p50_ms']:.1f} | {load['p99_ms']:.1f} | "
                         f"{load['cpu_ms_per_request']:.2f} | {other_answers(load)} |")
        lines += [
            f"| **ratio app / bare** | **{f['ratio']:.2f}** | | | | {SIGNING_BAR_ELSEWHERE} |",
            "",
            "CPU ms per request: user + system time of the gunicorn master and workers during the load, "
            "divided by the answers given (the database server's own CPU is not included).",
            "",
            f"Stored exactly once: the clients saw {i['accepted_303']} answers 303 "
            f"({i['accepted_distinct']} distinct addresses); the database gained {i['new_unconfirmed_rows']} "
            f"unconfirmed signatures and {i['new_outbox_rows']} outbox rows, one per signature; "
            f"{i['emails_stored_twice']} addresses stored twice, {i['accepted_not_stored']} accepted but "
            f"missing, {i['stored_not_accepted']} stored but not acknowledged — "
            f"{'**OK**' if i['ok'] else '**FAILED**'}.",
            "",
            f"**Pages** — two app servers side by side (same gunicorn settings), one on a database whose "
            f"demo letter has {self.results['small_count']:,} signatures, one on a database whose letter "
            f"has {self.results['big_count']:,}; sequential GETs on one keep-alive connection per server, "
            f"{a.page_requests} requests per page and size taken in ten alternating blocks after 20 "
            "warm-up requests, no conditional headers (every answer rendered in full); the large letter "
            "was topped up by "
            f"`flask demo --signatures {a.big}` ({self.results['topup_seconds']:.0f} s)"
            + (" — `--quick` uses 100,000 instead of 1,000,000." if a.big != 1_000_000 else "."),
            "",
            f"| page | p50 ms, {self.SMALL:,} | p50 ms, {self.results['big_count']:,} | ratio | "
            f"req/s, {self.SMALL:,} | req/s, {self.results['big_count']:,} | bytes, small / large |",
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
        ]
        for path, small, big, ratio in f["pages"]:
            lines.append(f"| `GET {path}` | {small['p50_ms']:.2f} | {big['p50_ms']:.2f} | {ratio:.2f} | "
                         f"{small['rps']:.0f} | {big['rps']:.0f} | {small['bytes']:,} / {big['bytes']:,} |")
        lines += [
            "",
            "Ratio: median with the large letter / median with the small one (target ≈ 1). The first page "
            "of signatories shows different names in the two letters (in the large one it is all "
            "organisations, which sort first), hence its different size.",
        ]
        lines += ["", f"<!-- bench_web:{a.database}:end -->"]
        return "\n".join(lines)

    def write_markdown(self):
        path = self.repo / "BENCHMARKS.md"
        block = self.markdown()
        start, end = "<!-- bench_web:start -->", "<!-- bench_web:end -->"
        sub_start = f"<!-- bench_web:{self.args.database}:start -->"
        sub_end = f"<!-- bench_web:{self.args.database}:end -->"
        intro = (
            "## Signing and pages\n\n"
            "The full signing POST against a bare WSGI insert into the same database under "
            "`gunicorn -w 4`, on SQLite and on PostgreSQL, every accepted signature stored exactly once; "
            "the letter page and the API with 1,000 and with 1,000,000 signatures (DESIGN §8: the same "
            "cost). DESIGN §8's bar for signing is measured under its own settings in \"A viral day\" "
            "above. Measured by `tests/benchmarks/bench_web.py`, which rewrites only the text between "
            "its markers."
        )
        text = path.read_text(encoding="utf-8") if path.exists() else "# Benchmarks\n"
        if start in text and end in text and text.index(start) < text.index(end):
            head, rest = text.split(start, 1)
            section, tail = rest.split(end, 1)
            if sub_start in section and sub_end in section:
                before, rest = section.split(sub_start, 1)
                _old, after = rest.split(sub_end, 1)
                section = before + block + after
            else:
                section = section.rstrip("\n") + "\n\n" + block + "\n"
            text = head + start + section + end + tail
        else:
            text = text.rstrip("\n") + f"\n\n{start}\n{intro}\n\n{block}\n{end}\n"
        path.write_text(text, encoding="utf-8")
        return path


def step(message: str) -> None:
    import time

    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def other_answers(load: dict) -> str:
    others = {k: v for k, v in load["statuses"].items() if k != 303}
    parts = [f"{v}× {k}" for k, v in sorted(others.items(), key=str)]
    return ", ".join(parts) or "none"


loadavg = harness.loadavg


def machine_info(bench: Bench) -> dict:
    import platform
    import sqlite3
    import subprocess

    cpu = harness.cpu_model()
    ram = "unknown"
    try:
        for line in open("/proc/meminfo", encoding="utf-8"):
            if line.startswith("MemTotal:"):
                ram = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
                break
    except OSError:
        pass
    try:
        nproc = subprocess.run(["nproc"], capture_output=True, text=True, timeout=5).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        nproc = str(len(os.sched_getaffinity(0)))
    try:
        import psycopg

        with psycopg.connect(bench.pg_admin, connect_timeout=5) as conn:
            postgresql = conn.execute("SHOW server_version").fetchone()[0].split()[0]
    except Exception as error:
        postgresql = f"not reachable ({type(error).__name__})"
    try:
        from importlib.metadata import version

        gunicorn = version("gunicorn")
    except Exception:
        gunicorn = "unknown"
    return {
        "nproc": nproc, "cpu": cpu, "ram": ram, "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version, "postgresql": postgresql, "gunicorn": gunicorn,
        "kernel": f"Linux {platform.release()}", "loadavg": loadavg(),
    }


# --- HTTP clients ---------------------------------------------------------------------------

def measure_pages_in_turns(small_port: int, big_port: int, paths, count: int, turns: int = 10,
                           warmup: int = 20) -> tuple[dict, dict]:
    """Median latency of `count` sequential GETs per page and server, on one
    keep-alive connection per server, taking turns in blocks of count/turns."""
    import http.client
    import statistics
    import time

    ports = {"small": small_port, "big": big_port}
    conns = {name: http.client.HTTPConnection("127.0.0.1", port, timeout=30) for name, port in ports.items()}
    timings = {(name, path): [] for name in ports for path in paths}
    sizes = {}

    def get(name: str, path: str) -> float:
        t0 = time.perf_counter()
        conns[name].request("GET", path, headers={"Accept-Language": "nl"})
        response = conns[name].getresponse()
        body = response.read()
        elapsed = time.perf_counter() - t0
        if response.status != 200:
            raise RuntimeError(f"GET {path} ({name} letter) answered {response.status}")
        sizes[name, path] = len(body)
        return elapsed

    try:
        for path in paths:
            for name in ports:
                for _ in range(warmup):
                    get(name, path)
            block = max(1, count // turns)
            for _ in range(turns):
                for name in ports:
                    timings[name, path].extend(get(name, path) for _ in range(block))
    finally:
        for conn in conns.values():
            conn.close()
    results: dict = {"small": {}, "big": {}}
    for (name, path), values in timings.items():
        values.sort()
        results[name][path] = {
            "p50_ms": statistics.median(values) * 1000,
            "p90_ms": values[max(0, int(len(values) * 0.9) - 1)] * 1000,
            "rps": len(values) / sum(values),
            "bytes": sizes[name, path],
            "count": len(values),
        }
    return results["small"], results["big"]


process_tree_cpu = harness.process_tree_cpu


def run_load(port: int, mode: str, args, duration: float, label: str, server_pid: int | None = None) -> dict:
    """`args.clients` processes with `args.connections` connections each POST
    the signing form as fast as answers come back, for a fixed time."""
    import multiprocessing
    import queue as queue_module
    import time

    ctx = multiprocessing.get_context("fork")
    results = ctx.Queue()
    ready = ctx.Queue()
    go = ctx.Event()
    start_at = ctx.Value("d", 0.0)
    warmup = 0.5 if args.quick else 1.0
    processes = [
        ctx.Process(target=_load_process, daemon=True,
                    args=(port, mode, f"{label}p{number}", args.connections, warmup, duration, go,
                          start_at, ready, results))
        for number in range(args.clients)
    ]
    for process in processes:
        process.start()
    collected = []
    try:
        for _ in processes:
            message = ready.get(timeout=60)
            if message != "ready":
                raise RuntimeError(f"load generator failed to start: {message}")
        cpu_before = process_tree_cpu(server_pid) if server_pid else 0.0
        start_at.value = time.monotonic() + 0.1
        go.set()
        limit = time.monotonic() + warmup + duration + 90
        while len(collected) < len(processes) and time.monotonic() < limit:
            try:
                collected.append(results.get(timeout=1))
            except queue_module.Empty:
                if not any(p.is_alive() for p in processes) and results.empty():
                    break
    finally:
        go.set()
        for process in processes:
            process.join(timeout=10)
            if process.is_alive():
                process.terminate()
                process.join(timeout=5)
    if len(collected) != len(processes):
        raise RuntimeError(f"only {len(collected)} of {len(processes)} load processes reported")
    cpu = process_tree_cpu(server_pid) - cpu_before if server_pid else 0.0
    return merge_loads([dict(part, duration=duration, server_cpu=cpu / len(collected)) for part in collected],
                       concurrent=True)


def merge_loads(parts: list[dict], concurrent: bool = False) -> dict:
    """Add up the reports of load processes that ran at the same time
    (`concurrent`), or of rounds that ran one after another."""
    statuses: dict = {}
    latencies: list[float] = []
    accepted: list[str] = []
    in_window = 0
    errors: list[str] = []
    durations = [part["duration"] for part in parts]
    duration = max(durations) if concurrent else sum(durations)
    server_cpu = sum(part.get("server_cpu", 0.0) for part in parts)
    for part in parts:
        for code, count in part["statuses"].items():
            statuses[code] = statuses.get(code, 0) + count
        latencies.extend(part["latencies"])
        accepted.extend(part.get("accepted_emails", part.get("accepted", [])))
        in_window += part["in_window"]
        errors.extend(part["errors"])
    latencies = sorted(latencies)
    pick = (lambda q: latencies[min(len(latencies) - 1, int(len(latencies) * q))] * 1000) if latencies else (
        lambda q: float("nan"))
    answered = sum(statuses.values())
    return {
        "rps": in_window / duration,
        "duration": duration,
        "server_cpu": server_cpu,
        "cpu_ms_per_request": server_cpu / answered * 1000 if answered else float("nan"),
        "in_window": in_window,
        "p50_ms": pick(0.5),
        "p99_ms": pick(0.99),
        "statuses": statuses,
        "latencies": latencies,
        "accepted_total": len(accepted),
        "accepted_emails": accepted,
        "errors": errors[:10],
    }


def _load_process(port, mode, label, connections, warmup, duration, go, start_at, ready, results):
    import threading

    try:
        workers = [_Connection(port, mode, f"{label}c{c}") for c in range(connections)]
        for worker in workers:
            worker.setup()
    except Exception as error:
        ready.put(f"{type(error).__name__}: {error}")
        return
    ready.put("ready")
    if not go.wait(timeout=120):
        results.put({"statuses": {}, "latencies": [], "accepted": [], "in_window": 0, "errors": ["no go"]})
        return
    begin = start_at.value
    threads = [threading.Thread(target=w.run, args=(begin, begin + warmup, begin + warmup + duration))
               for w in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=warmup + duration + 60)
    merged = {"statuses": {}, "latencies": [], "accepted": [], "in_window": 0, "errors": []}
    for w in workers:
        for code, count in w.statuses.items():
            merged["statuses"][code] = merged["statuses"].get(code, 0) + count
        merged["latencies"].extend(w.latencies)
        merged["accepted"].extend(w.accepted)
        merged["in_window"] += w.in_window
        merged["errors"].extend(w.errors)
    results.put(merged)


class _Connection:
    """One keep-alive client: the session cookie and form token of one visitor,
    a new e-mail address on every POST."""

    MAX_REQUESTS = 200_000

    def __init__(self, port: int, mode: str, tag: str):
        import http.client

        self.port, self.mode, self.tag = port, mode, tag
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        self.cookies: dict[str, str] = {}
        self.csrf = "none"
        self.statuses: dict[int, int] = {}
        self.latencies: list[float] = []
        self.accepted: list[str] = []
        self.in_window = 0
        self.errors: list[str] = []

    def _remember_cookies(self, response) -> None:
        for header in response.msg.get_all("Set-Cookie") or []:
            pair = header.split(";", 1)[0]
            if "=" in pair:
                name, value = pair.split("=", 1)
                self.cookies[name.strip()] = value.strip()

    def setup(self) -> None:
        import html
        import re

        if self.mode != "app":
            return
        self.conn.request("GET", "/letters/demo")
        response = self.conn.getresponse()
        body = response.read().decode("utf-8", "replace")
        if response.status != 200:
            raise RuntimeError(f"GET /letters/demo answered {response.status}")
        self._remember_cookies(response)
        tag = re.search(r'<input[^>]*name="csrf_token"[^>]*>', body)
        value = re.search(r'value="([^"]*)"', tag.group(0)) if tag else None
        if not value:
            raise RuntimeError("no csrf_token in /letters/demo")
        self.csrf = html.unescape(value.group(1))

    def run(self, begin: float, window_start: float, window_end: float) -> None:
        import http.client
        import time
        from urllib.parse import urlencode

        path = "/letters/demo/sign"
        for n in range(self.MAX_REQUESTS):
            t0 = time.monotonic()
            if t0 >= window_end:
                break
            email = f"bench-{self.tag}-{n}@example.org"
            body = urlencode({
                "first_name": "Bench", "last_name": f"Tester {self.tag} {n}", "kind": "person",
                "email": email, "place": "Gent", "consent_name": "y", "csrf_token": self.csrf,
            })
            headers = {"Content-Type": "application/x-www-form-urlencoded", "Accept-Language": "nl"}
            if self.cookies:
                headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
            try:
                self.conn.request("POST", path, body, headers)
                response = self.conn.getresponse()
                response.read()
            except (OSError, http.client.HTTPException) as error:
                self.errors.append(f"{type(error).__name__}: {error}")
                self.statuses["error"] = self.statuses.get("error", 0) + 1
                self.conn.close()
                if len(self.errors) > 1000:
                    break
                continue
            t1 = time.monotonic()
            self._remember_cookies(response)
            self.statuses[response.status] = self.statuses.get(response.status, 0) + 1
            if response.status == 303:
                self.accepted.append(email)
            if t0 >= window_start and t1 <= window_end:
                self.in_window += 1
                self.latencies.append(t1 - t0)
        self.conn.close()


if __name__ == "__main__":
    sys.exit(main())
