"""Fixtures for the browser tests.

* `live_server` — the real application served by werkzeug's `make_server` on
  127.0.0.1 and a free port, in a background thread; SQLite (a copy of the
  migrated template), outbox to a tmp folder, `SIGN_RATE_LIMIT=off`, and
  `BASE_URL` pointing at the server, so the links in the e-mails lead back
  to it. Yields a small object with `url`, `app` and helpers.
* `chromium` — one headless Chromium for the session (the Debian package at
  /usr/bin/chromium; never `playwright install`).
* `page_at(width)` — a fresh browser context and page at a viewport width.

Under CI=true a missing browser fails the run loudly; elsewhere the browser
tests skip with the reason.
"""
from __future__ import annotations

import os
import shutil
import threading
from dataclasses import dataclass
from pathlib import Path

import pytest

from conftest import IN_CI, _teardown, build_app, make_letter

CHROMIUM_PATH = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SHOTS_DIR = Path("/tmp/shots")
DEMO_SLUG = "demo"


def _unavailable(reason: str):
    if IN_CI:
        pytest.fail(f"CI=true requires the browser tests to run: {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def chromium():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as error:  # pragma: no cover - depends on the machine
        _unavailable(f"playwright is not installed ({error}); pip install -e '.[test]'")
    if not os.access(CHROMIUM_PATH, os.X_OK):
        _unavailable(f"no Chromium at {CHROMIUM_PATH} (apt-get install chromium)")
    manager = sync_playwright().start()
    try:
        try:
            browser = manager.chromium.launch(executable_path=CHROMIUM_PATH, args=CHROMIUM_ARGS, headless=True)
        except Exception as error:  # a broken install: say so
            _unavailable(f"Chromium at {CHROMIUM_PATH} does not start: {error}")
        yield browser
        browser.close()
    finally:
        manager.stop()


@dataclass
class LiveServer:
    url: str
    app: object
    slug: str
    outbox: Path

    def letter_url(self, slug: str | None = None) -> str:
        return f"{self.url}/letters/{slug or self.slug}"

    def deliver(self):
        """`flask outbox send`, in-process, inside the app context."""
        from signatory import mail

        with self.app.app_context():
            return mail.deliver_due()


@pytest.fixture
def live_server(sqlite_template, monkeypatch, tmp_path):
    from werkzeug.serving import make_server

    from signatory.demo import DEMO_FILE

    database = tmp_path / "e2e.sqlite3"
    shutil.copyfile(sqlite_template, database)
    app = build_app(monkeypatch, tmp_path, f"sqlite:///{database}", SIGN_RATE_LIMIT="off")
    server = make_server("127.0.0.1", 0, app, threaded=True)
    url = f"http://127.0.0.1:{server.server_port}"
    # Links in e-mails must lead back to this server.
    app.config["BASE_URL"] = url
    with app.app_context():
        make_letter(DEMO_SLUG, source=DEMO_FILE.read_text(encoding="utf-8"))
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    try:
        yield LiveServer(url=url, app=app, slug=DEMO_SLUG, outbox=Path(app.config["MAIL"].path))
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()
        _teardown(app, "sqlite")


@pytest.fixture
def page_at(chromium):
    """page_at(width, javascript=True) → a page in a fresh context."""
    contexts = []

    def open_page(width: int = 360, *, javascript: bool = True, height: int = 800):
        context = chromium.new_context(
            viewport={"width": width, "height": height},
            java_script_enabled=javascript,
            locale="nl-BE",
        )
        context.set_default_timeout(10_000)
        contexts.append(context)
        return context.new_page()

    yield open_page
    for context in contexts:
        context.close()


def save_shot(page, name: str) -> None:
    """A full-page screenshot in /tmp/shots/, only when SHOTS=1."""
    if os.environ.get("SHOTS") != "1":
        return
    SHOTS_DIR.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS_DIR / f"{name}.png"), full_page=True)
