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
    import signal

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
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    bench = Bench(args)
    try:
        bench.run()
    finally:
        bench.cleanup()
    table = bench.markdown()
    print("\n" + table)
    if not args.no_write:
        print(f"\nwrote {bench.write_markdown(table)}")
    return 0 if bench.integrity_ok else 1


def ensure_debian_packages(*packages: tuple[str, str]) -> None:
    """(command, package) pairs: install the missing ones when we may."""
    import shutil
    import subprocess

    missing = [package for command, package in packages
               if not shutil.which(command) and not os.access(f"/usr/sbin/{command}", os.X_OK)]
    if not missing:
        return
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        raise SystemExit(f"needs the Debian packages {' '.join(missing)}: sudo apt-get install {' '.join(missing)}")
    print(f"installing Debian packages: {' '.join(missing)}", flush=True)
    subprocess.run(["apt-get", "update", "-qq"], check=True, timeout=600)
    subprocess.run(["apt-get", "install", "-y", "-qq", *missing], check=True, timeout=900,
                   env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"}, stdout=subprocess.DEVNULL)


class Bench:
    def __init__(self, args):
        import tempfile
        from pathlib import Path

        self.args = args
        self.repo = Path(__file__).resolve().parents[2]
        self.here = Path(__file__).resolve().parent
        self.bin = Path(sys.executable).parent
        self.workdir = Path(tempfile.mkdtemp(prefix="signatory-bench-scale-"))
        self.processes: list = []
        self.created_pg: list[str] = []
        self.results: dict[str, list[dict]] = {}
        self.integrity_ok = False
        self.integrity = ""
        pg_admin = os.environ.get("BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
        self.pg_admin = pg_admin.replace("postgresql+psycopg://", "postgresql://")
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

    def spawn(self, name: str, command: list[str], **kwargs):
        import subprocess

        log = open(self.workdir / f"{name}.log", "wb")
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                   start_new_session=True, **kwargs)
        self.processes.append((name, process, log))
        return process

    def flask(self, database_url: str, *command: str) -> str:
        import subprocess

        result = subprocess.run([str(self.bin / "flask"), "--app", str(self.repo / "app.py"), *command],
                                env=self.env(database_url), cwd=self.workdir, capture_output=True, text=True,
                                timeout=1800)
        if result.returncode != 0:
            raise RuntimeError(f"flask {' '.join(command)} failed:\n{result.stdout}\n{result.stderr}")
        return result.stdout

    def gunicorn(self, name: str, spec: str, env: dict, chdir) -> int:
        port = free_port()
        process = self.spawn(name, [
            str(self.bin / "gunicorn"), "-w", "2", "-b", f"127.0.0.1:{port}", "--chdir", str(chdir),
            "--no-control-socket", "--timeout", "60", "--graceful-timeout", "5", spec,
        ], env=env, cwd=chdir)
        wait_until_answering(port, LETTER if spec == "app:app" else "/", process, self.workdir / f"{name}.log")
        return port

    def nginx(self, upstream: int) -> int:
        import subprocess

        sys.path.insert(0, str(self.repo / "tests"))
        from test_deploy import nginx_main_config, render_site

        port = free_port()
        prefix = self.workdir / "nginx"
        for name in ("body", "proxy", "fastcgi", "uwsgi", "scgi", "cache"):
            (prefix / name).mkdir(parents=True, exist_ok=True)
        site = prefix / "signatory.conf"
        site.write_text(render_site(port, [upstream], prefix / "cache"))
        config = prefix / "nginx.conf"
        config.write_text(nginx_main_config(prefix, site).replace("access_log " + str(prefix) + "/access.log;",
                                                                  "access_log off;"))
        import shutil

        nginx = shutil.which("nginx") or "/usr/sbin/nginx"
        process = self.spawn("nginx", [nginx, "-p", str(prefix), "-c", str(config)])
        wait_until_answering(port, LETTER, process, prefix / "error.log")
        return port

    def cleanup(self) -> None:
        import shutil
        import signal
        import subprocess

        for _name, process, _log in reversed(self.processes):
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for _name, process, log in reversed(self.processes):
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)
            log.close()
        self.processes.clear()
        for name in self.created_pg:
            self.pg_admin_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if self.args.keep:
            print(f"kept {self.workdir}")
        else:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def pg_admin_execute(self, statement: str) -> None:
        import psycopg

        with psycopg.connect(self.pg_admin, autocommit=True, connect_timeout=10) as connection:
            connection.execute(statement)

    def prepare(self, database_url: str) -> None:
        if database_url.startswith("postgresql"):
            name = database_url.rsplit("/", 1)[1]
            self.pg_admin_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            self.pg_admin_execute(f'CREATE DATABASE "{name}"')
            self.created_pg.append(name)
        self.flask(database_url, "db", "upgrade")
        self.flask(database_url, "demo", "--signatures", "1000")

    def query(self, sql: str, database_url: str | None = None, **params):
        from sqlalchemy import create_engine, text

        engine = create_engine(database_url or self.app_db)
        try:
            with engine.connect() as connection:
                return connection.execute(text(sql), params).all()
        finally:
            engine.dispose()

    # --- the run ---------------------------------------------------------------------

    def run(self) -> None:
        import time

        ensure_debian_packages(("wrk", "wrk"), ("nginx", "nginx"))
        started = time.monotonic()
        self.load_before = loadavg()
        print(f"work directory {self.workdir}", flush=True)
        self.prepare(self.app_db)
        self.prepare(self.bare_db)
        self.app_port = self.gunicorn("app", "app:app", self.env(self.app_db), self.repo)
        self.server_pids = {"app": self.processes[-1][1].pid}
        status, headers, body = http_get(self.app_port, LETTER)
        assert status == 200, f"the letter page answered {status}"
        self.page_bytes = len(body)
        self.page_cookie = [value for name, value in headers if name.lower() == "set-cookie"]
        kept = [(name, value) for name, value in headers if name.lower() not in ("date", "server", "connection")]
        page_file = self.workdir / "page.json"
        page_file.write_text(json.dumps({"headers": kept, "body": body.decode("utf-8")}))
        self.bare_page_port = self.gunicorn("bare-page", "bench_scale:bare_page_app",
                                            {**self.env(self.bare_db), PAGE_FILE_ENV: str(page_file)}, self.here)
        self.server_pids["bare-page"] = self.processes[-1][1].pid
        from bench_web import BARE_DB_ENV, BARE_LETTER_ENV

        bare_target = self.bare_db.removeprefix("sqlite:///")
        bare_letter = self.query("SELECT id FROM letters WHERE slug = 'demo'", self.bare_db)[0][0]
        self.bare_insert_port = self.gunicorn("bare-insert", "bench_web:bare_app", {
            **self.env(self.bare_db), BARE_DB_ENV: bare_target, BARE_LETTER_ENV: str(bare_letter),
        }, self.here)
        self.server_pids["bare-insert"] = self.processes[-1][1].pid
        self.nginx_port = self.nginx(self.app_port)
        self.cache_statuses = [dict((k.lower(), v) for k, v in http_get(self.nginx_port, LETTER)[1])
                               .get("x-cache-status", "none") for _ in range(3)]

        page = f"http://127.0.0.1:{{}}{LETTER}"
        contenders = {
            "page-app": lambda tag: self.wrk(page.format(self.app_port), server="app"),
            "page-bare": lambda tag: self.wrk(page.format(self.bare_page_port), server="bare-page"),
            "sign-app": lambda tag: self.wrk(f"http://127.0.0.1:{self.app_port}{SIGN}",
                                             self.sign_script(tag, self.app_port), server="app"),
            "sign-bare": lambda tag: self.wrk(f"http://127.0.0.1:{self.bare_insert_port}{SIGN}",
                                              self.sign_script(tag, self.bare_insert_port), server="bare-insert"),
            "page-nginx": lambda tag: self.wrk(page.format(self.nginx_port), server="app"),
            "page-direct": lambda tag: self.wrk(page.format(self.app_port), server="app"),
        }
        pairs = [("page-app", "page-bare"), ("sign-app", "sign-bare"), ("page-nginx", "page-direct")]
        if self.args.only:
            pairs = [pair for pair in pairs if pair[0].split("-")[0] in self.args.only]
            self.args.no_write = True
        for name in [name for pair in pairs for name in pair]:  # warm-up: imports, caches, connections
            contenders[name](f"warm{name}")
        for round_number in range(self.args.rounds):
            for first, second in pairs:
                order = (first, second) if round_number % 2 == 0 else (second, first)
                for name in order:
                    tag = f"r{round_number}{name}"
                    result = contenders[name](tag)
                    result["tag"] = tag
                    self.results.setdefault(name, []).append(result)
                    print(f"round {round_number + 1}/{self.args.rounds} {name:12} {result['rps']:9.1f} req/s"
                          f"  p50 {result['p50']:.2f} ms  gunicorn CPU {result['cpu_ms']:.2f} ms/request"
                          f"  errors {result['errors']}", flush=True)
        self.check_signatures()
        self.elapsed = time.monotonic() - started
        self.load_after = loadavg()

    def sign_script(self, tag: str, port: int) -> str:
        status, headers, body = http_get(self.app_port, LETTER)
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
        import subprocess

        pid = self.server_pids.get(server) if server else None
        cpu_before = process_tree_cpu(pid) if pid else 0.0
        command = ["wrk", "-t2", "-c8", f"-d{self.args.duration:g}s", "--latency", "--timeout", "10s"]
        if script:
            command += ["-s", script]
        result = subprocess.run([*command, url], capture_output=True, text=True,
                                timeout=self.args.duration + 60)
        if result.returncode != 0:
            raise RuntimeError(f"wrk failed: {result.stderr}")
        figures = parse_wrk(result.stdout)
        cpu = process_tree_cpu(pid) - cpu_before if pid else 0.0
        figures["cpu_ms"] = 1000 * cpu / figures["requests"] if figures["requests"] else 0.0
        return figures

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
            ("letter page through nginx (deploy/) / straight to gunicorn", "page-nginx", "page-direct", None),
        ):
            if mine not in self.results:  # --only
                continue
            m, b = self.medians(mine), self.medians(base)
            ratio = m["rps"] / b["rps"] if b["rps"] else 0.0
            verdict = "" if target is None else (f"≥ {target}: **met**" if ratio >= target else f"≥ {target}: **missed**")
            cpu = f"{m['cpu_ms']:.2f} / {b['cpu_ms']:.2f}"
            rows.append(
                f"| {label} | {m['rps']:,.0f} | {b['rps']:,.0f} | **{ratio:.2f}** | {verdict} "
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
            "row into `signatures` of the same schema. The app runs with the limiter on (a limit it never "
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
        path = self.repo / "BENCHMARKS.md"
        text = path.read_text() if path.exists() else "# Benchmarks\n"
        if MARK_START in text and MARK_END in text:
            before, rest = text.split(MARK_START, 1)
            _old, after = rest.split(MARK_END, 1)
            text = before + table + after
        else:
            text = text.rstrip("\n") + "\n\n" + table + "\n"
        path.write_text(text)
        return path


def parse_wrk(output: str) -> dict:
    import re

    def duration_ms(value: str) -> float:
        number, unit = re.match(r"([\d.]+)(us|ms|s|m)", value).groups()
        return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]

    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))
    requests = int(re.search(r"(\d+) requests in", output).group(1))
    p50 = re.search(r"^\s+50%\s+(\S+)", output, re.M)
    p99 = re.search(r"^\s+99%\s+(\S+)", output, re.M)
    non_ok = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    socket_errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    errors = int(non_ok.group(1)) if non_ok else 0
    if socket_errors:
        errors += sum(int(n) for n in socket_errors.groups())
    return {
        "rps": rps, "requests": requests, "errors": errors,
        "p50": duration_ms(p50.group(1)) if p50 else 0.0, "p99": duration_ms(p99.group(1)) if p99 else 0.0,
    }


def process_tree_cpu(pid: int) -> float:
    """User + system seconds of a process and its children (gunicorn's
    master and workers), from /proc."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="ascii") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(entry) == pid or int(fields[1]) == pid:  # fields[1]: the parent
            total += (int(fields[11]) + int(fields[12])) / ticks
    return total


def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def http_get(port: int, path: str, timeout: float = 10.0):
    import http.client

    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        return response.status, response.getheaders(), response.read()
    finally:
        connection.close()


def wait_until_answering(port: int, path: str, process, log, timeout: float = 60.0) -> None:
    import time

    deadline = time.monotonic() + timeout
    good = 0
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"a server stopped at start-up:\n{log.read_text(errors='replace')[-3000:]}")
        try:
            status = http_get(port, path, timeout=5)[0]
        except OSError:
            status = None
        good = good + 1 if status == 200 else 0
        if good >= 6:  # several answers in a row: both workers are up
            return
        time.sleep(0.05 if status == 200 else 0.2)
    raise RuntimeError(f"no answer on port {port} within {timeout} s")


def loadavg() -> str:
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "unknown"


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in open("/proc/cpuinfo", encoding="utf-8"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{os.cpu_count()} CPUs (`nproc`), {cpu}"


if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    raise SystemExit(main())
