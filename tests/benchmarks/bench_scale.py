"""Benchmark of DESIGN §8 for a viral day (issue 14): a script, not a test.

    .venv/bin/python tests/benchmarks/bench_scale.py [--quick] [--rounds N] [--duration S]

In one run, every contender under `gunicorn -w 2` (sync workers) on
127.0.0.1 and driven by `wrk -t2 -c8`:

1. The letter page, `GET /letters/demo` as an anonymous visitor, against
   `bare_page_app` below: a WSGI app that answers the same bytes with the same
   headers. Target: at least 0.5 of its requests per second.
2. Signing, `POST /letters/demo/sign` with the full form (a new address on
   every request, the form token of the page), against `bench_web.bare_app`: a
   WSGI app that parses the form and inserts one row into the same schema.
   Target: at least 0.35. Then every address is checked in the database: each
   stored once, with one outbox row, and every answer wrk counted is stored.
3. The letter page through the shipped nginx site (`deploy/nginx/`) in front
   of the same gunicorn, against straight to that gunicorn.

The contenders take turns (app, baseline, app, … in rounds whose order
alternates) and the table gives the median of the rounds: the machine may be
shared, so absolute figures move, the ratios are measured side by side. The
table goes to the terminal and to BENCHMARKS.md between this script's markers.
wrk and nginx are Debian packages; run as root, the script installs them when
they are missing. All load goes to 127.0.0.1, every run is bounded in time and
every server started here is stopped, also on errors.

gunicorn imports this module for `bare_page_app`, so nothing at the top level
imports the application or starts anything.
"""
from __future__ import annotations

import json
import os
import sys

import harness

PAGE_FILE_ENV = "BENCH_PAGE_FILE"
_page: dict = {}


def bare_page_app(environ, start_response):
    """The baseline of the page: the letter page's bytes and headers, read once."""
    if not _page:
        with open(os.environ[PAGE_FILE_ENV], encoding="utf-8") as handle:
            saved = json.load(handle)
        _page["headers"] = [(name, value) for name, value in saved["headers"]]
        _page["body"] = saved["body"].encode("utf-8")
    start_response("200 OK", list(_page["headers"]))
    return [_page["body"]]


# --- everything below runs only in the benchmark script itself ----------------------

SECRET_KEY = "bench-scale-fixed-secret-key-0123456789abcdef"
MARK_START, MARK_END = "<!-- bench_scale:start -->", "<!-- bench_scale:end -->"
LETTER = "/letters/demo"
SIGN = "/letters/demo/sign"

SIGN_SCRIPT = r"""
local counter = 0
local threads = {}
function setup(thread)
  thread:set("tid", #threads + 1)
  table.insert(threads, thread)
end
request = function()
  counter = counter + 1
  local email = "wrk-%(tag)s-" .. tid .. "-" .. counter .. "%%40example.org"
  local body = "first_name=Jan&last_name=Peeters" .. counter .. "&kind=person&organisation=&function=&address="
    .. "&email=" .. email .. "&place=Gent&paragraph=&consent_name=y&csrf_token=%(token)s"
  return wrk.format("POST", "%(path)s", {
    ["Content-Type"] = "application/x-www-form-urlencoded",
    ["Origin"] = "%(origin)s",%(cookie)s
  }, body)
end
"""


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds (median taken)")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds of load per contender and round")
    parser.add_argument("--quick", action="store_true", help="one round of 3 s (a look, not a figure)")
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--no-write", action="store_true", help="do not update BENCHMARKS.md")
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    parser.add_argument("--only", choices=("page", "sign", "nginx"), action="append",
                        help="measure only these comparisons (repeatable; for a look, not for BENCHMARKS.md)")
    args = parser.parse_args(argv)
    if args.quick:
        args.rounds, args.duration = 1, 3.0
    args.rounds = max(1, min(args.rounds, 15))
    args.duration = max(1.0, min(args.duration, 120.0))
    bench = Bench(args)
    harness.run_to_the_end(bench)
    table = bench.markdown()
    print("\n" + table)
    if not args.no_write:
        print(f"\nwrote {bench.write_markdown(table)}")
    return 0 if bench.integrity_ok else 1


class Bench:
    def __init__(self, args):
        import tempfile
        from pathlib import Path

        self.args = args
        self.repo = harness.REPO
        self.here = harness.HERE
        self.workdir = Path(tempfile.mkdtemp(prefix="signatory-bench-scale-"))
        self.servers = harness.Servers(self.workdir)
        self.created_pg: list[str] = []
        self.results: dict[str, list[dict]] = {}
        self.integrity_ok = False
        self.integrity = ""
        self.pg_admin = harness.pg_admin_url()
        if args.database == "sqlite":
            self.app_db = f"sqlite:///{self.workdir / 'app.sqlite3'}"
            self.bare_db = f"sqlite:///{self.workdir / 'bare.sqlite3'}"
        else:
            base = self.pg_admin.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://")
            self.app_db, self.bare_db = f"{base}/signatory_bench_scale", f"{base}/signatory_bench_scale_bare"

    # --- servers ---------------------------------------------------------------------

    def env(self, database_url: str) -> dict:
        env = {key: value for key, value in os.environ.items() if not key.startswith(("FLASK_", "GUNICORN"))}
        env.update(
            DATABASE_URL=database_url,
            SECRET_KEY=SECRET_KEY,
            MAIL_URL=f"file://{self.workdir / 'mail'}",
            # The limiter is on, as in production, and never refuses here:
            # what it costs is part of the figure.
            SIGN_RATE_LIMIT="100000000 per minute",
            PUBLIC_CACHE_SECONDS="10",
            TRUSTED_PROXIES="1",
            PYTHONDONTWRITEBYTECODE="1",
        )
        return env

    def flask(self, database_url: str, *command: str) -> str:
        return harness.flask_command(self.repo, self.env(database_url), *command, cwd=self.workdir, timeout=1800)

    def gunicorn(self, name: str, spec: str, env: dict, chdir) -> int:
        server = self.servers.gunicorn(name, spec, chdir=chdir, env=env, workers=2, extra=("--no-control-socket",),
                                       probe=LETTER if spec == "app:app" else "/", ready=6)
        self.server_pids[name] = server["process"].pid
        return server["port"]

    def nginx(self, upstream: int) -> int:
        import shutil

        sys.path.insert(0, str(self.repo / "tests"))
        from test_deploy import nginx_main_config, render_site

        port = harness.free_port()
        prefix = self.workdir / "nginx"
        for name in ("body", "proxy", "fastcgi", "uwsgi", "scgi", "cache"):
            (prefix / name).mkdir(parents=True, exist_ok=True)
        site = prefix / "signatory.conf"
        site.write_text(render_site(port, [upstream], prefix / "cache"))
        config = prefix / "nginx.conf"
        config.write_text(nginx_main_config(prefix, site).replace("access_log " + str(prefix) + "/access.log;",
                                                                  "access_log off;"))
        nginx = shutil.which("nginx") or "/usr/sbin/nginx"
        server = self.servers.spawn("nginx", [nginx, "-p", str(prefix), "-c", str(config)])
        harness.wait_until_answering(port, LETTER, server)
        return port

    def cleanup(self) -> None:
        import shutil

        self.servers.stop_all()
        for name in self.created_pg:
            harness.pg_admin_execute(self.pg_admin, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if self.args.keep:
            print(f"kept {self.workdir}")
        else:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def prepare(self, database_url: str) -> None:
        if database_url.startswith("postgresql"):
            name = database_url.rsplit("/", 1)[1]
            harness.pg_admin_execute(self.pg_admin, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            harness.pg_admin_execute(self.pg_admin, f'CREATE DATABASE "{name}"')
            self.created_pg.append(name)
        self.flask(database_url, "db", "upgrade")
        self.flask(database_url, "demo", "--signatures", "1000")

    def query(self, sql: str, database_url: str | None = None, **params):
        return harness.query(database_url or self.app_db, sql, **params)

    # --- the run ---------------------------------------------------------------------

    def run(self) -> None:
        import time

        harness.ensure_debian_packages(("wrk", "wrk"), ("nginx", "nginx"))
        started = time.monotonic()
        self.load_before = harness.loadavg()
        print(f"work directory {self.workdir}", flush=True)
        self.prepare(self.app_db)
        self.prepare(self.bare_db)
        self.server_pids = {}
        self.app_port = self.gunicorn("app", "app:app", self.env(self.app_db), self.repo)
        status, headers, body = harness.http_get(self.app_port, LETTER)
        assert status == 200, f"the letter page answered {status}"
        self.page_bytes = len(body)
        self.page_cookie = [value for name, value in headers if name.lower() == "set-cookie"]
        kept = [(name, value) for name, value in headers if name.lower() not in ("date", "server", "connection")]
        page_file = self.workdir / "page.json"
        page_file.write_text(json.dumps({"headers": kept, "body": body.decode("utf-8")}))
        self.bare_page_port = self.gunicorn("bare-page", "bench_scale:bare_page_app",
                                            {**self.env(self.bare_db), PAGE_FILE_ENV: str(page_file)}, self.here)
        from bench_web import BARE_DB_ENV, BARE_LETTER_ENV

        bare_target = self.bare_db.removeprefix("sqlite:///")
        bare_letter = self.query("SELECT id FROM letters WHERE slug = 'demo'", self.bare_db)[0][0]
        self.bare_insert_port = self.gunicorn("bare-insert", "bench_web:bare_app", {
            **self.env(self.bare_db), BARE_DB_ENV: bare_target, BARE_LETTER_ENV: str(bare_letter),
        }, self.here)
        self.floor_port = self.gunicorn("floor", "floor_app:app", {
            **self.env(self.bare_db), BARE_DB_ENV: bare_target, BARE_LETTER_ENV: str(bare_letter),
        }, self.here)
        self.nginx_port = self.nginx(self.app_port)
        self.cache_statuses = [dict((k.lower(), v) for k, v in harness.http_get(self.nginx_port, LETTER)[1])
                               .get("x-cache-status", "none") for _ in range(3)]

        page = f"http://127.0.0.1:{{}}{LETTER}"
        contenders = {
            "page-app": lambda tag: self.wrk(page.format(self.app_port), server="app"),
            "page-bare": lambda tag: self.wrk(page.format(self.bare_page_port), server="bare-page"),
            "sign-app": lambda tag: self.wrk(f"http://127.0.0.1:{self.app_port}{SIGN}",
                                             self.sign_script(tag, self.app_port), server="app"),
            "sign-bare": lambda tag: self.wrk(f"http://127.0.0.1:{self.bare_insert_port}{SIGN}",
                                              self.sign_script(tag, self.bare_insert_port), server="bare-insert"),
            "sign-floor": lambda tag: self.wrk(f"http://127.0.0.1:{self.floor_port}{SIGN}",
                                               self.sign_script(tag, self.floor_port), server="floor"),
            "page-nginx": lambda tag: self.wrk(page.format(self.nginx_port), server="app"),
            "page-direct": lambda tag: self.wrk(page.format(self.app_port), server="app"),
        }
        # Measured side by side, in an order that alternates between rounds.
        groups = [("page-app", "page-bare"), ("sign-app", "sign-floor", "sign-bare"), ("page-nginx", "page-direct")]
        if self.args.only:
            groups = [group for group in groups if group[0].split("-")[0] in self.args.only]
            self.args.no_write = True
        for name in [name for group in groups for name in group]:  # warm-up: imports, caches, connections
            contenders[name](f"warm{name}")
        for round_number in range(self.args.rounds):
            for group in groups:
                for name in group if round_number % 2 == 0 else reversed(group):
                    tag = f"r{round_number}{name}"
                    result = contenders[name](tag)
                    result["tag"] = tag
                    self.results.setdefault(name, []).append(result)
                    print(f"round {round_number + 1}/{self.args.rounds} {name:12} {result['rps']:9.1f} req/s"
                          f"  p50 {result['p50']:.2f} ms  gunicorn CPU {result['cpu_ms']:.2f} ms/request"
                          f"  errors {result['errors']}", flush=True)
        self.check_signatures()
        self.elapsed = time.monotonic() - started
        self.load_after = harness.loadavg()

    def sign_script(self, tag: str, port: int) -> str:
        status, headers, body = harness.http_get(self.app_port, LETTER)
        import re

        match = re.search(rb'name="csrf_token"[^>]*value="([^"]+)"', body)
        token = match.group(1).decode() if match else ""
        cookies = [value.split(";", 1)[0] for name, value in headers if name.lower() == "set-cookie"]
        cookie = f'\n    ["Cookie"] = "{"; ".join(cookies)}",' if cookies else ""
        script = self.workdir / f"sign-{tag}.lua"
        script.write_text(SIGN_SCRIPT % {
            "tag": tag, "token": token, "path": SIGN, "origin": f"http://127.0.0.1:{port}", "cookie": cookie,
        })
        return str(script)

    def wrk(self, url: str, script: str | None = None, server: str | None = None) -> dict:
        return harness.run_wrk(url, duration=self.args.duration, script=script, threads=2, connections=8,
                               cpu_of=self.server_pids.get(server) if server else None)

    def check_signatures(self) -> None:
        """Every address wrk sent to the app: stored at most once, with its
        outbox row, and at least as many stored as answers counted."""
        rows = self.query(
            "SELECT COUNT(*), COUNT(DISTINCT email_key) FROM signatures WHERE email LIKE 'wrk-%'"
        )[0]
        outbox = self.query(
            "SELECT COUNT(*) FROM outbox o JOIN signatures s ON s.id = o.signature_id WHERE s.email LIKE 'wrk-%'"
        )[0][0]
        answered = sum(r["requests"] - r["errors"] for r in self.results.get("sign-app", []))
        warm = self.query("SELECT COUNT(*) FROM signatures WHERE email LIKE 'wrk-warm%'")[0][0]
        stored, distinct = rows
        measured = stored - warm
        in_flight = 8 * (len(self.results.get("sign-app", [])) + 1)
        self.integrity_ok = stored == distinct == outbox and answered <= measured <= answered + in_flight
        errors = sum(r["errors"] for r in self.results.get("sign-app", []))
        self.integrity = (
            f"wrk counted {answered} answered signings (and {errors} other answers) in the measured rounds; "
            f"the database holds {measured} of their signatures (plus {warm} from the warm-up), "
            f"{stored} rows for {distinct} distinct addresses, {outbox} outbox rows — "
            f"{'**OK**: each stored once' if self.integrity_ok else '**NOT OK**'}"
            " (a request in flight when wrk stops is stored but not counted)."
        )

    # --- the report ------------------------------------------------------------------

    def medians(self, name: str) -> dict:
        from statistics import median

        runs = self.results[name]
        return {key: median(run[key] for run in runs) for key in ("rps", "p50", "p99", "cpu_ms")} | {
            "errors": sum(run["errors"] for run in runs), "runs": [run["rps"] for run in runs]
        }

    def markdown(self) -> str:
        import platform
        from datetime import datetime, timezone

        a = self.args
        rows = []
        for label, mine, base, target in (
            ("letter page `GET /letters/demo`, anonymous", "page-app", "page-bare", 0.5),
            ("signing `POST /letters/demo/sign`, full form", "sign-app", "sign-bare", 0.35),
            ("Flask and WTForms alone (`floor_app`): the ceiling", "sign-floor", "sign-bare", None),
            ("letter page through nginx (deploy/) / straight to gunicorn", "page-nginx", "page-direct", None),
        ):
            if mine not in self.results:  # --only
                continue
            m, b = self.medians(mine), self.medians(base)
            ratio = m["rps"] / b["rps"] if b["rps"] else 0.0
            verdict = "" if target is None else (f"≥ {target}: **met**" if ratio >= target else f"≥ {target}: **missed**")
            cpu = f"{m['cpu_ms']:.2f} / {b['cpu_ms']:.2f}"
            rows.append(
                f"| {label} | {m['rps']:,.0f} | {b['rps']:,.0f} | **{ratio:.3g}** | {verdict} "
                f"| {m['p50']:.2f} / {b['p50']:.2f} | {cpu} | {m['errors']} / {b['errors']} "
                f"| {', '.join(f'{x:,.0f}' for x in m['runs'])} / {', '.join(f'{x:,.0f}' for x in b['runs'])} |"
            )
        command = "`.venv/bin/python tests/benchmarks/bench_scale.py`" + (
            f" (this run: `--rounds {a.rounds} --duration {a.duration:g}"
            + (f" --database {a.database}" if a.database != "sqlite" else "") + "`)"
        )
        return "\n".join([
            MARK_START,
            "## A viral day: the letter page, signing, nginx",
            "",
            f"Reproduce from the repository root (one command, about {self.elapsed / 60:.0f} minutes): {command}.",
            f"Run {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC on {machine()}, Python {platform.python_version()}, "
            f"database {a.database}; load average before / after: {self.load_before} / {self.load_after} "
            "(a shared machine moves the absolute figures; the ratios are measured side by side).",
            "",
            f"Every contender under `gunicorn -w 2` (sync workers) on 127.0.0.1, driven by `wrk -t2 -c8` for "
            f"{a.duration:g} s, in {a.rounds} rounds whose order alternates (app first, then baseline first); "
            "the figures are medians of the rounds. Baselines: `bare_page_app` answers the letter page's bytes "
            f"({self.page_bytes:,} bytes) with its headers; `bench_web.bare_app` parses the form and inserts one "
            "row into `signatures` of the same schema; `floor_app` binds and validates a form of the same "
            "fields with Flask and WTForms, then has the bare app insert its row (DESIGN §8 puts that ceiling "
            "near 0.38). The app runs with the limiter on (a limit it never "
            "reaches), `PUBLIC_CACHE_SECONDS=10`, `TRUSTED_PROXIES=1`; the letter has 1,000 signatures.",
            "",
            "| measured | Signatory req/s | baseline req/s | ratio | target (DESIGN §8) | p50 ms, app / baseline "
            "| gunicorn CPU ms per request, app / baseline | non-2xx/3xx, app / baseline "
            "| each round, app / baseline |",
            "| --- | ---: | ---: | ---: | --- | ---: | ---: | ---: | --- |",
            *rows,
            "",
            "CPU per request: user + system time of the gunicorn master and workers during the load, divided "
            "by the answers (through nginx, gunicorn works only when nginx's copy expires; the database "
            "server's own CPU is not counted).",
            "",
            f"nginx's cache status on three anonymous views of the letter page: {', '.join(self.cache_statuses)}. "
            "The anonymous letter page sets "
            + ("no cookie." if not self.page_cookie else f"a cookie ({len(self.page_cookie)}): it cannot be shared."),
            "",
            f"Signatures: {self.integrity}",
            MARK_END,
        ])

    def write_markdown(self, table: str):
        return harness.replace_section(self.repo / "BENCHMARKS.md", MARK_START, MARK_END, table)


def machine() -> str:
    return f"{os.cpu_count()} CPUs (`nproc`), {harness.cpu_model()}"


if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    raise SystemExit(main())
