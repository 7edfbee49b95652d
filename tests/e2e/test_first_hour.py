"""An organiser's first hour on a fresh instance, in a real browser, from the
README's first command on: quickstart's set-up link → the first account →
upload the seed letter → mark the call to sign and cut the paper form →
open → a citizen signs and confirms. Screenshots of every step at 360 and
1280 px land in /tmp/shots/first-hour/ with SHOTS=1."""
from __future__ import annotations

import email
import json
import os
import queue
import re
import socket
import subprocess
import sys
import threading
import time
from email import policy
from pathlib import Path

import pytest

from test_letter_files import SEED


ROOT = Path(__file__).resolve().parents[2]
SHOTS = Path("/tmp/shots/first-hour")
WIDTHS = (360, 1280)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Quickstart:
    """`flask quickstart` as the README runs it, in a folder of its own."""

    def __init__(self, folder: Path, port: int):
        self.folder, self.port = folder, port
        self.outbox = folder / "outbox"
        env = {
            **os.environ,
            "DATABASE_URL": f"sqlite:///{folder / 'signatory.sqlite3'}",
            "MAIL_URL": f"file://{self.outbox}",
            "SECRET_KEY": "first-hour-secret-key-long-enough-for-links",
            "PYTHONUNBUFFERED": "1",
        }
        for name in ("BASE_URL", "FLASK_APP", "SIGN_RATE_LIMIT", "RATELIMIT_STORAGE_URI"):
            env.pop(name, None)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "flask", "--app", str(ROOT / "app.py"), "quickstart", "--port", str(port)],
            cwd=folder, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.output: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.process.stdout:
            self.output.append(line)
            self.lines.put(line)

    def wait_for(self, pattern: str, timeout: float = 90) -> re.Match:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.5)
            except queue.Empty:
                if self.process.poll() is not None:
                    break
                continue
            match = re.search(pattern, line)
            if match:
                return match
        raise AssertionError(f"quickstart never printed {pattern!r}:\n{''.join(self.output)}")

    def banner(self) -> str:
        self.wait_for(r"Stop with Ctrl\+C")
        return "".join(self.output)

    def messages_to(self, address: str, timeout: float = 20) -> list[email.message.EmailMessage]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = []
            for path in sorted(self.outbox.glob("*.eml")):
                message = email.message_from_bytes(path.read_bytes(), policy=policy.default)
                if message["To"] == address:
                    found.append(message)
            if found:
                return found
            time.sleep(0.3)
        raise AssertionError(f"no e-mail to {address} in {self.outbox}")

    def stop(self):
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()


@pytest.fixture
def quickstart(tmp_path):
    server = Quickstart(tmp_path, _free_port())
    yield server
    server.stop()


@pytest.fixture
def browser(chromium):
    """The session's headless Chromium (one Playwright per process)."""
    return chromium


def shoot(page, step: str) -> None:
    """The step at phone and desktop width (SHOTS=1), then back to the phone."""
    if os.environ.get("SHOTS") != "1":
        return
    SHOTS.mkdir(parents=True, exist_ok=True)
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        page.screenshot(path=str(SHOTS / f"{step}-{width}.png"), full_page=True)
    page.set_viewport_size({"width": WIDTHS[0], "height": 900})


def no_horizontal_scroll(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")


def test_an_organisers_first_hour(quickstart, browser):
    from playwright.sync_api import expect

    banner = quickstart.banner()
    base = f"http://127.0.0.1:{quickstart.port}"
    assert f"{base}/letters/demo" in banner, "the demo's address, on the real port"
    assert f"{base}/organise/login" in banner, "the login page"
    assert str(quickstart.outbox) in banner, "the outbox folder"
    setup_link = re.search(rf"{re.escape(base)}/organise/setup/\S+", banner).group(0)

    organiser = browser.new_context(viewport={"width": 360, "height": 900}, locale="nl-BE").new_page()
    organiser.set_default_timeout(15_000)

    # 1. The public demo says where organisers log in.
    organiser.goto(f"{base}/letters/demo")
    expect(organiser.locator("footer a[href='/organise/login']")).to_be_visible()
    shoot(organiser, "01-demo")

    # 2. The set-up link: the first account.
    organiser.goto(setup_link)
    expect(organiser.locator("h1")).to_have_text("Welkom bij Signatory")
    shoot(organiser, "02-setup")
    organiser.fill("#email", "anna@example.org")
    organiser.fill("#password", "kort")
    organiser.click("button[type=submit]")
    expect(organiser.locator("#error-summary")).to_be_visible()
    organiser.fill("#password", "een zin van vijf woorden")
    organiser.click("button[type=submit]")

    # 3. The workspace says what to do next.
    expect(organiser.locator("#next-steps-title")).to_have_text("Wat nu?")
    assert no_horizontal_scroll(organiser)
    shoot(organiser, "03-workspace")

    # 4. A new letter from the seed file.
    organiser.click("text=Maak je brief aan")
    expect(organiser.locator("input[type=file]")).to_be_attached()
    shoot(organiser, "04-new-letter")
    organiser.set_input_files("input[type=file]", str(SEED))
    organiser.click("button:has-text('Bestand inlezen')")

    # 5. Mark the call to sign and cut the paper form.
    expect(organiser.locator("h1")).to_contain_text("wat is wat")
    expect(organiser.locator("#title")).to_have_value("Integratie: hoezo mislukt?")
    cut = organiser.locator("input[name=cut]:checked")
    cut_index = int(cut.get_attribute("value"))
    expect(organiser.locator(f"#block-{cut_index} .block__text")).to_contain_text("Onderschrijf deze tekst")
    shoot(organiser, "05-arrange")
    organiser.check("#role-1-intro")  # the organiser confirms the call to sign …
    organiser.check(f"#cut-{cut_index}")  # … and where the paper form starts
    organiser.click("button[value=preview]")
    preview = organiser.locator("#preview")
    expect(preview).to_contain_text("Het is waar")
    expect(preview).not_to_contain_text("VOORNAAM")
    shoot(organiser, "06-preview")
    organiser.click("button[value=create]")

    # 6. The draft's page; settings; open it.
    expect(organiser.locator(".letter-head__title")).to_contain_text("Integratie: hoezo mislukt?")
    organiser.click(".tabs a:has-text('Instellingen')")
    organiser.fill("#addressee", "Aan de leden van het Vlaams Parlement")
    organiser.fill("#organiser", "KMS – Kerkwerk Multicultureel Samenleven vzw")
    organiser.fill("#goal", "500")
    shoot(organiser, "07-settings")
    organiser.click("button:has-text('Bewaren')")
    expect(organiser.locator(".notice")).to_contain_text("bewaard")
    organiser.click(".tabs a:has-text('Overzicht')")
    organiser.click("button:has-text('Openen voor ondertekening')")
    expect(organiser.locator(".letter-head__title .status")).to_contain_text(re.compile("open", re.I))
    shoot(organiser, "08-opened")
    slug = organiser.url.rstrip("/").rsplit("/", 1)[1]

    # 7. A citizen signs on a phone.
    citizen = browser.new_context(viewport={"width": 360, "height": 900}, locale="nl-BE").new_page()
    citizen.set_default_timeout(15_000)
    citizen.goto(f"{base}/letters/{slug}")
    expect(citizen.locator("h1")).to_have_text("Integratie: hoezo mislukt?")
    expect(citizen.locator(".letter__intro")).to_contain_text("WERK MEE AAN EEN VERRIJKTE OPINIE")
    expect(citizen.locator(".letter__addressee")).to_have_text("Aan de leden van het Vlaams Parlement")
    body = citizen.locator(".letter__body")
    expect(body).to_contain_text("Aan doemscenario’s hebben we geen boodschap.")
    for form_part in ("VOORNAAM", "Handtekening", "ik geef toelating"):
        expect(body).not_to_contain_text(form_part)
    assert no_horizontal_scroll(citizen)
    shoot(citizen, "09-public-letter")
    citizen.fill("#first_name", "Ayşe")
    citizen.fill("#last_name", "Yılmaz")
    citizen.fill("#email", "ayse@example.org")
    citizen.fill("#place", "Gent")
    citizen.check("#consent_name")
    citizen.click("form.sign-form button[type=submit]")
    expect(citizen.locator("h1")).to_contain_text(re.compile("bijna|e-mail", re.I))
    shoot(citizen, "10-thanks")

    [message] = quickstart.messages_to("ayse@example.org")
    confirm = next(line.strip() for line in message.get_body(("plain",)).get_content().splitlines() if "/confirm/" in line)
    assert confirm.startswith(f"{base}/confirm/"), "the link leads back to this server"
    citizen.goto(confirm)
    shoot(citizen, "11-confirmed")
    summary = json.loads(citizen.request.get(f"{base}/api/letters/{slug}").text())
    assert summary["signatures"] == 1 and summary["status"] == "open"
