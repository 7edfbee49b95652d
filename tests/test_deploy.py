"""The shipped deployment, run for real (DESIGN §7, issue 14).

Debian's nginx with `deploy/nginx/signatory.conf` in front of two gunicorn
instances started as `deploy/systemd/signatory-web@.service` starts them
(with `deploy/gunicorn.conf.py`), on one PostgreSQL database, with the rate
limits in a Redis server of this test's own, and two outbox senders started as
`deploy/systemd/signatory-outbox@.service` starts them, delivering to an SMTP
server on loopback. Everything listens on free loopback ports and lives in a
temporary directory; nothing outside it is touched.

Through nginx a bounded batch of signers, each from a loopback address of its
own (127.0.1.x: the whole of 127/8 is loopback), sign and confirm. Then:
every acknowledged signature is stored once and confirmed, every e-mail is
delivered exactly once, the limits are shared by both instances (and keyed on
the client's address as nginx forwards it, whatever the client claims), and
anonymous views of the letter page after the first come from nginx's cache.
"""
from __future__ import annotations

import email
import http.client
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from email import policy
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import pytest

from conftest import IN_CI, LETTER_SOURCE, PG_ADMIN_URL, _postgres_reason

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy"
VENV_BIN = Path(sys.executable).parent
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"

SIGNERS = 8  # each from its own address
SIGNATURES_PER_SIGNER = 4
LIMIT_PER_HOUR = 5  # above SIGNATURES_PER_SIGNER: the batch itself is never limited
DEADLINE = 90.0  # seconds for any one wait


def _missing_parts() -> str | None:
    if not os.access(NGINX, os.X_OK):
        return "nginx is not installed (tests/run.sh installs Debian's nginx when run as root)"
    if not os.access(REDIS_SERVER, os.X_OK):
        return "redis-server is not installed (tests/run.sh installs Debian's redis-server when run as root)"
    try:
        import aiosmtpd  # noqa: F401
    except ImportError:
        return "aiosmtpd is not installed: pip install -e '.[test]'"
    return _postgres_reason()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_for_port(port: int, process: subprocess.Popen, name: str, log: Path) -> None:
    deadline = time.monotonic() + DEADLINE
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"{name} stopped at start-up:\n{log.read_text(errors='replace')[-3000:]}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise AssertionError(f"{name} did not listen on {port} within {DEADLINE} s")


def _unit_command(unit: str, instance: str) -> list[str]:
    """ExecStart of a shipped systemd unit, with the installation's paths
    (/srv/signatory, its .venv) pointing at this checkout and its venv."""
    text = (DEPLOY / "systemd" / unit).read_text()
    [line] = [line for line in text.splitlines() if line.startswith("ExecStart=")]
    command = line.removeprefix("ExecStart=").replace("%i", instance)
    command = command.replace("/srv/signatory/.venv/bin", str(VENV_BIN)).replace("/srv/signatory", str(ROOT))
    return shlex.split(command)


def _replace_once(text: str, old: str, new: str) -> str:
    assert text.count(old) == 1, f"deploy/nginx/signatory.conf no longer has exactly one {old!r}"
    return text.replace(old, new)


def render_site(port: int, upstreams: list[int], cache_dir: Path) -> str:
    """The shipped site with this test's ports and cache directory: only the
    listen lines, the upstream servers and the cache path change."""
    site = (DEPLOY / "nginx" / "signatory.conf").read_text()
    site = _replace_once(site, "listen 80;", f"listen 127.0.0.1:{port};")
    site = _replace_once(site, "listen [::]:80;", "")
    site = _replace_once(site, "/var/cache/nginx/signatory", str(cache_dir))
    servers = re.findall(r"^\s*server 127\.0\.0\.1:\d+;\n", site, re.M)
    assert servers, "the upstream block lists no server"
    site = site.replace(servers[0], "".join(f"    server 127.0.0.1:{p};\n" for p in upstreams), 1)
    for line in servers[1:]:
        site = site.replace(line, "", 1)
    return site


def nginx_main_config(prefix: Path, site: Path) -> str:
    """What Debian's /etc/nginx/nginx.conf provides around a site, kept
    inside this test's directory."""
    user = "user root;" if os.geteuid() == 0 else ""  # its workers read this test's 0700 directories
    return f"""
{user}
daemon off;
master_process on;
worker_processes 2;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
events {{ worker_connections 256; }}
http {{
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    access_log {prefix}/access.log;
    client_body_temp_path {prefix}/body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
    include {site};
}}
"""


class Recorder:
    """aiosmtpd handler: keeps every message it is given."""

    def __init__(self):
        self.messages: list[email.message.EmailMessage] = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.original_content or envelope.content, policy=policy.default)
        with self.lock:
            self.messages.append(message)
        return "250 Message accepted for delivery"

    def snapshot(self) -> list[email.message.EmailMessage]:
        with self.lock:
            return list(self.messages)


class Stack:
    """The servers of the deployment; stop() ends every process it started."""

    def __init__(self, workdir: Path):
        self.workdir = workdir
        self.processes: list[tuple[str, subprocess.Popen]] = []
        self.smtp = None
        self.database = f"signatory_deploy_{os.getpid()}_{uuid.uuid4().hex[:6]}"
        self.admin_url = PG_ADMIN_URL.replace("postgresql+psycopg://", "postgresql://")
        self.database_url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{self.database}"
        self.nginx_port = _free_port()
        self.app_ports = [_free_port(), _free_port()]

    def env(self) -> dict:
        env = {key: value for key, value in os.environ.items() if not key.startswith(("FLASK_", "GUNICORN"))}
        env.update(
            DATABASE_URL=self.database_url,
            SECRET_KEY="deploy-test-secret-key-shared-by-every-instance",
            BASE_URL=f"http://127.0.0.1:{self.nginx_port}",
            MAIL_URL=f"smtp://127.0.0.1:{self.smtp_port}",
            MAIL_FROM="Open brieven <brieven@example.org>",
            RATELIMIT_STORAGE_URI=f"redis://127.0.0.1:{self.redis_port}",
            SIGN_RATE_LIMIT=f"{LIMIT_PER_HOUR} per hour",
            TRUSTED_PROXIES="1",
            PUBLIC_CACHE_SECONDS="30",
            SIGNATORY_WORKERS="2",
            PYTHONUNBUFFERED="1",
        )
        return env

    def spawn(self, name: str, command: list[str], **kwargs) -> subprocess.Popen:
        log = self.workdir / f"{name}.log"
        process = subprocess.Popen(
            command, stdout=log.open("wb"), stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True, **kwargs,
        )
        self.processes.append((name, process))
        return process

    def flask(self, *arguments: str, input_text: str | None = None) -> str:
        result = subprocess.run(
            [str(VENV_BIN / "flask"), "--app", str(ROOT / "app.py"), *arguments],
            env=self.env(), cwd=self.workdir, capture_output=True, text=True, timeout=120, input=input_text,
        )
        assert result.returncode == 0, result.stderr + result.stdout
        return result.stdout

    def start(self) -> None:
        import psycopg
        from aiosmtpd.controller import Controller

        self.recorder = Recorder()
        self.smtp_port = _free_port()
        self.smtp = Controller(self.recorder, hostname="127.0.0.1", port=self.smtp_port)
        self.smtp.start()

        self.redis_port = _free_port()
        redis = self.spawn("redis", [
            REDIS_SERVER, "--port", str(self.redis_port), "--bind", "127.0.0.1", "--save", "",
            "--appendonly", "no", "--dir", str(self.workdir),
        ])
        _wait_for_port(self.redis_port, redis, "redis-server", self.workdir / "redis.log")

        with psycopg.connect(self.admin_url, autocommit=True) as connection:
            connection.execute(f'CREATE DATABASE "{self.database}"')
        self.flask("db", "upgrade")
        letter = self.workdir / "letter.md"
        letter.write_text(LETTER_SOURCE)
        self.flask("letters", "import", str(letter), "--slug", "brief", "--open")

        for port in self.app_ports:
            process = self.spawn(f"web-{port}", _unit_command("signatory-web@.service", str(port)),
                                 env=self.env(), cwd=ROOT)
            _wait_for_port(port, process, f"gunicorn on {port}", self.workdir / f"web-{port}.log")
        for number in (1, 2):
            self.spawn(f"outbox-{number}", _unit_command("signatory-outbox@.service", str(number)),
                       env=self.env(), cwd=self.workdir)

        prefix = self.workdir / "nginx"
        for name in ("body", "proxy", "fastcgi", "uwsgi", "scgi", "cache"):
            (prefix / name).mkdir(parents=True, exist_ok=True)
        site = prefix / "signatory.conf"
        site.write_text(render_site(self.nginx_port, self.app_ports, prefix / "cache"))
        config = prefix / "nginx.conf"
        config.write_text(nginx_main_config(prefix, site))
        test = subprocess.run([NGINX, "-t", "-p", str(prefix), "-c", str(config)], capture_output=True, text=True)
        assert test.returncode == 0, test.stderr
        nginx = self.spawn("nginx", [NGINX, "-p", str(prefix), "-c", str(config)])
        _wait_for_port(self.nginx_port, nginx, "nginx", prefix / "error.log")

    def stop(self) -> None:
        for _name, process in reversed(self.processes):
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for _name, process in reversed(self.processes):
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)
        if self.smtp is not None:
            self.smtp.stop()
        try:
            import psycopg

            with psycopg.connect(self.admin_url, autocommit=True) as connection:
                connection.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (self.database,)
                )
                connection.execute(f'DROP DATABASE IF EXISTS "{self.database}"')
        except Exception:  # the server went away: nothing of ours is left to drop
            pass

    def query(self, sql: str, *params):
        import psycopg

        with psycopg.connect(self.database_url.replace("postgresql+psycopg://", "postgresql://")) as connection:
            return connection.execute(sql, params).fetchall()


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    reason = _missing_parts()
    if reason:
        if IN_CI:
            pytest.fail(f"CI=true requires the deployment test's parts: {reason}")
        pytest.skip(reason)
    stack = Stack(tmp_path_factory.mktemp("deploy"))
    try:
        stack.start()
        yield stack
    finally:
        stack.stop()


class Browser:
    """One visitor from one loopback address, talking to nginx; keeps its
    cookies (there should be none on the public pages)."""

    def __init__(self, port: int, address: str):
        self.port = port
        self.address = address
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, body: dict | None = None, headers: dict | None = None):
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30, source_address=(self.address, 0))
        try:
            sent = {"Host": f"127.0.0.1:{self.port}", **(headers or {})}
            if self.cookies:
                sent["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
            data = None
            if body is not None:
                data = urlencode(body)
                sent["Content-Type"] = "application/x-www-form-urlencoded"
            connection.request(method, path, body=data, headers=sent)
            response = connection.getresponse()
            content = response.read()
        finally:
            connection.close()
        for header in response.headers.get_all("Set-Cookie") or []:
            name, _sep, rest = header.partition("=")
            self.cookies[name.strip()] = rest.split(";", 1)[0]
        return response, content.decode("utf-8", "replace")

    def sign(self, headers: dict | None = None, **fields):
        response, page = self.request("GET", "/letters/brief")
        assert response.status == 200, page[:500]
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
        form = {
            "first_name": "Lotte", "last_name": "Peeters", "kind": "person", "email": "x@example.org",
            "place": "Gent", "consent_name": "y", "csrf_token": token, **fields,
        }
        headers = {"Origin": f"http://127.0.0.1:{self.port}", **(headers or {})}
        return self.request("POST", "/letters/brief/sign", form, headers)


def run_in_threads(count: int, work) -> list:
    results: list = [None] * count
    errors: list[BaseException] = []

    def run(index):
        try:
            results[index] = work(index)
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=DEADLINE * 2)
    assert not any(thread.is_alive() for thread in threads), "a visitor hung"
    if errors:
        raise errors[0]
    return results


def wait_until(condition, what: str):
    deadline = time.monotonic() + DEADLINE
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"not within {DEADLINE} s: {what}")


def confirm_links(messages) -> dict[str, str]:
    """Recipient → path of the confirmation link in its message."""
    links = {}
    for message in messages:
        text = message.get_body(preferencelist=("plain",)).get_content()
        match = re.search(r"(http://\S+/confirm/[A-Za-z0-9._-]+)", text)
        if match:
            links[str(message["To"])] = urlsplit(match.group(1)).path
    return links


def test_anonymous_letter_views_come_from_nginx_after_the_first(stack):
    reader = Browser(stack.nginx_port, "127.0.2.1")
    statuses = []
    for _ in range(6):
        response, page = reader.request("GET", "/letters/brief")
        assert response.status == 200
        assert "hoezo mislukt" in page
        assert response.headers.get_all("Set-Cookie") is None
        assert response.headers["Cache-Control"].startswith("public")
        statuses.append(response.headers["X-Cache-Status"])
    assert statuses[0] in ("MISS", "EXPIRED")
    # nginx may still be writing its copy when the very next view arrives.
    assert statuses[2:] == ["HIT"] * 4, statuses
    # The other language is another page, kept on its own (the view right
    # after its first may race nginx writing that copy too).
    english = [reader.request("GET", "/letters/brief?lang=en") for _ in range(3)]
    assert 'lang="en"' in english[0][1]
    assert [response.headers["X-Cache-Status"] for response, _page in english][::2] == ["MISS", "HIT"]
    # The API is never kept by nginx: its count is current at once.
    response, _body = reader.request("GET", "/api/letters/brief")
    assert response.status == 200
    assert response.headers["X-Cache-Status"] in ("MISS", "BYPASS", "EXPIRED")
    response, _body = reader.request("GET", "/api/letters/brief")
    assert response.headers["X-Cache-Status"] != "HIT"


def test_a_batch_signed_and_confirmed_through_nginx_is_stored_and_mailed_once(stack):
    def sign_as(index: int) -> list[tuple[str, int]]:
        browser = Browser(stack.nginx_port, f"127.0.1.{index + 1}")
        answers = []
        for number in range(SIGNATURES_PER_SIGNER):
            address = f"signer{index}-{number}@example.org"
            response, page = browser.sign(email=address, first_name=f"Naam{index}", last_name=f"Achter{number}")
            assert "Internal Server Error" not in page
            answers.append((address, response.status))
        return answers

    answers = [answer for batch in run_in_threads(SIGNERS, sign_as) for answer in batch]
    acknowledged = {address for address, status in answers if status == 303}
    assert len(acknowledged) == SIGNERS * SIGNATURES_PER_SIGNER, answers

    rows = stack.query("SELECT email, count(*) FROM signatures GROUP BY email")
    assert dict(rows) == {address: 1 for address in acknowledged}

    # The two senders deliver one confirmation to each signer, once.
    messages = wait_until(
        lambda: (got := stack.recorder.snapshot()) and len(got) >= len(acknowledged) and got,
        "every confirmation delivered",
    )
    links = confirm_links(messages)
    assert set(links) == acknowledged

    def confirm(index: int) -> list[int]:
        browser = Browser(stack.nginx_port, f"127.0.1.{index + 1}")
        mine = [path for address, path in links.items() if address.startswith(f"signer{index}-")]
        return [browser.request("GET", path)[0].status for path in mine]

    statuses = [status for batch in run_in_threads(SIGNERS, confirm) for status in batch]
    assert statuses == [200] * len(acknowledged)
    assert stack.query("SELECT status, count(*) FROM signatures GROUP BY status") == [("confirmed", len(acknowledged))]
    assert stack.query("SELECT signature_count FROM letters WHERE slug = 'brief'") == [(len(acknowledged),)]

    # The API, through nginx, counts them at once.
    response, body = Browser(stack.nginx_port, "127.0.2.2").request("GET", "/api/letters/brief")
    assert f'"signatures": {len(acknowledged)}' in body

    # Nothing is left to send, and nothing was sent twice.
    wait_until(lambda: stack.query("SELECT count(*) FROM outbox WHERE status <> 'sent'") == [(0,)],
               "the outbox empty")
    time.sleep(3)  # one more round of both senders: a second delivery would show now
    delivered = stack.recorder.snapshot()
    message_ids = [str(message["Message-ID"]) for message in delivered]
    assert len(message_ids) == len(set(message_ids))
    assert stack.query("SELECT count(*) FROM outbox") == [(len(delivered),)]


def test_the_signing_limit_is_shared_by_both_instances_and_keyed_on_the_forwarded_address(stack):
    crowded = Browser(stack.nginx_port, "127.0.3.1")
    statuses = []
    for number in range(LIMIT_PER_HOUR + 3):
        # Claiming another address gets a client nowhere: nginx replaces the header.
        response, page = crowded.sign(
            email=f"hall{number}@example.org", last_name=f"Zaal{number}",
            headers={"X-Forwarded-For": f"10.0.0.{number}"},
        )
        statuses.append(response.status)
        if response.status == 429:
            assert f"hall{number}@example.org" in page  # the form comes back filled in
    # Four workers on two instances, each with limits of its own, would have
    # let up to four times the limit through.
    assert statuses == [303] * LIMIT_PER_HOUR + [429] * 3, statuses
    # Another address (another school, another church hall) is not limited.
    response, _page = Browser(stack.nginx_port, "127.0.3.2").sign(email="elsewhere@example.org")
    assert response.status == 303
