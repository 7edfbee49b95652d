"""What the benchmark scripts share: servers started and always stopped,
gunicorn waited for, wrk run and read, CPU of a process tree, the database
set-up, the machine's description. A library for `bench_web.py` and
`bench_scale.py`, not a script.

gunicorn imports those scripts (for their bare WSGI apps) with this
directory on its path, so this module imports nothing but the standard
library at its top.
"""
from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
BIN = Path(sys.executable).parent
DEFAULT_PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"


# --- processes ----------------------------------------------------------------------

class Servers:
    """Processes started in their own session with their output in `workdir`,
    stopped (the whole group: gunicorn's master and workers) by `stop` or
    `stop_all`, also on errors."""

    def __init__(self, workdir: Path):
        self.workdir = workdir
        self.running: list[dict] = []

    def spawn(self, name: str, command: list[str], *, env: dict | None = None, cwd=None) -> dict:
        log_path = self.workdir / f"{name}.log"
        log = open(log_path, "wb")
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                   env=env, cwd=cwd, start_new_session=True)
        server = {"name": name, "process": process, "log": log, "log_path": log_path, "port": None}
        self.running.append(server)
        return server

    def gunicorn(self, name: str, spec: str, *, chdir, env: dict, probe: str, workers: int,
                 extra: tuple[str, ...] = (), ready: int = 6, timeout: float = 60.0) -> dict:
        """`gunicorn -w workers spec` on a free loopback port, returned once
        `probe` answered 200 `ready` times in a row (more than one worker up)."""
        port = free_port()
        server = self.spawn(name, [
            str(BIN / "gunicorn"), "-w", str(workers), "-b", f"127.0.0.1:{port}", "--chdir", str(chdir),
            "--timeout", "60", "--graceful-timeout", "5", *extra, spec,
        ], env=env, cwd=chdir)
        server["port"] = port
        wait_until_answering(port, probe, server, ready=ready, timeout=timeout)
        return server

    def stop(self, server: dict) -> None:
        process = server["process"]
        if process.poll() is None:
            _signal_group(process, signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                _signal_group(process, signal.SIGKILL)
                process.wait(timeout=10)
        server["log"].close()
        if server in self.running:
            self.running.remove(server)

    def stop_all(self) -> None:
        for server in reversed(list(self.running)):
            self.stop(server)


def run_to_the_end(bench) -> None:
    """bench.run(), then bench.cleanup() whatever happens: a plain `kill`
    unwinds through the finally block that stops the servers."""
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        bench.run()
    finally:
        bench.cleanup()


def _signal_group(process, signum) -> None:
    try:
        os.killpg(process.pid, signum)
    except ProcessLookupError:
        pass


def wait_until_answering(port: int, path: str, server: dict, *, ready: int = 6, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    good = 0
    while time.monotonic() < deadline:
        if server["process"].poll() is not None:
            raise RuntimeError(f"{server['name']} stopped at start-up:\n"
                               f"{server['log_path'].read_text(errors='replace')[-3000:]}")
        try:
            status = http_get(port, path, timeout=5)[0]
        except OSError:
            status = None
        good = good + 1 if status == 200 else 0
        if good >= ready:
            return
        time.sleep(0.05 if status == 200 else 0.2)
    raise RuntimeError(f"{server['name']} did not answer on port {port} within {timeout} s:\n"
                       f"{server['log_path'].read_text(errors='replace')[-3000:]}")


def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def http_get(port: int, path: str, timeout: float = 10.0) -> tuple[int, list[tuple[str, str]], bytes]:
    """(status, headers, body) of one GET to 127.0.0.1:port."""
    import http.client

    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        return response.status, response.getheaders(), response.read()
    finally:
        connection.close()


def process_tree_cpu(pid: int) -> float:
    """User + system seconds used so far by a process and its children (the
    gunicorn master and its workers), from /proc."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="ascii", errors="replace") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        # fields[0] is the state (field 3); ppid is field 4, utime 14, stime 15.
        if int(entry) == pid or int(fields[1]) == pid:
            total += (int(fields[11]) + int(fields[12])) / tick
    return total


# --- wrk -------------------------------------------------------------------------------

def run_wrk(url: str, *, duration: float, script: str | None = None, threads: int = 2, connections: int = 8,
            cpu_of: int | None = None) -> dict:
    """One wrk run (`--latency`), read by parse_wrk; with `cpu_of` (a pid),
    also that process tree's CPU milliseconds per request (`cpu_ms`)."""
    cpu_before = process_tree_cpu(cpu_of) if cpu_of else 0.0
    command = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{duration:g}s", "--latency", "--timeout", "10s"]
    if script:
        command += ["-s", script]
    result = subprocess.run([*command, url], capture_output=True, text=True, timeout=duration + 60)
    if result.returncode != 0:
        raise RuntimeError(f"wrk failed: {result.stderr}")
    figures = parse_wrk(result.stdout)
    cpu = process_tree_cpu(cpu_of) - cpu_before if cpu_of else 0.0
    figures["cpu_ms"] = 1000 * cpu / figures["requests"] if figures["requests"] else 0.0
    return figures


def parse_wrk(output: str) -> dict:
    """requests/s, requests, errors (non-2xx/3xx and socket errors), p50 and
    p99 in milliseconds, from wrk's report."""

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


def ensure_debian_packages(*packages: tuple[str, str]) -> None:
    """(command, package) pairs: install the missing ones when we may."""
    import shutil

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


# --- databases ---------------------------------------------------------------------------

def pg_admin_url() -> str:
    url = os.environ.get("BENCH_POSTGRES_URL", DEFAULT_PG_ADMIN)
    return url.replace("postgresql+psycopg://", "postgresql://")


def pg_admin_execute(admin_url: str, statement: str) -> None:
    import psycopg

    with psycopg.connect(admin_url, autocommit=True, connect_timeout=10) as connection:
        connection.execute(statement)


def query(database_url: str, sql: str, **params):
    from sqlalchemy import create_engine, text

    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            return connection.execute(text(sql), params).all()
    finally:
        engine.dispose()


def flask_command(app_dir: Path, env: dict, *command: str, cwd=None, timeout: float = 3600.0) -> str:
    """`flask --app app_dir/app.py …` (in `cwd`, else `app_dir`; stopped with
    its group when it times out or is interrupted); its standard output."""
    process = subprocess.Popen(
        [str(BIN / "flask"), "--app", str(app_dir / "app.py"), *command], cwd=cwd or app_dir, env=env,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
    )
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    finally:
        if process.poll() is None:
            _signal_group(process, signal.SIGKILL)
            process.wait(timeout=30)
    if process.returncode != 0:
        raise RuntimeError(f"flask {' '.join(command)} failed:\n{stdout}\n{stderr}")
    return stdout.strip()


def letter_id(database_url: str, slug: str = "demo") -> int:
    return query(database_url, "SELECT id FROM letters WHERE slug = :slug", slug=slug)[0][0]


# --- the report ----------------------------------------------------------------------------

def loadavg() -> str:
    try:
        return " ".join(open("/proc/loadavg", encoding="ascii").read().split()[:3])
    except OSError:
        return "unknown"


def cpu_model() -> str:
    try:
        for line in open("/proc/cpuinfo", encoding="utf-8"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown CPU"


def replace_section(path: Path, start: str, end: str, block: str) -> Path:
    """Put `block` (which carries its own markers) where the text between
    `start` and `end` was, or at the end of the file."""
    text = path.read_text(encoding="utf-8") if path.exists() else "# Benchmarks\n"
    if start in text and end in text and text.index(start) < text.index(end):
        before, rest = text.split(start, 1)
        _old, after = rest.split(end, 1)
        text = before + block + after
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    path.write_text(text, encoding="utf-8")
    return path
