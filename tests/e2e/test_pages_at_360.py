"""Every page at 360 px, public and organiser alike (issue 12): axe-core
finds no serious or critical violation, and nothing scrolls sideways — the
letters table, the signatures and the moderation queue fit a phone."""
from __future__ import annotations

from datetime import date

import pytest

from conftest import IN_CI, make_letter, make_signature, make_user
from signatory import publication, tokens
from signatory.extensions import db

from .conftest import save_shot

try:
    from axe_playwright_python.sync_playwright import Axe
except ImportError as error:  # pragma: no cover - depends on the machine
    if IN_CI:
        raise
    pytest.skip(f"axe-playwright-python is not installed ({error}); pip install -e '.[test]'", allow_module_level=True)

PASSWORD = "correct horse battery"
SERIOUS = ("serious", "critical")

SIGNERS = [
    dict(first_name="Şükrü", last_name="Öztürk", function="maatschappelijk werker", place="Genk",
         paragraph="Samenleven is werk van iedereen, elke dag opnieuw, in de straat, op het werk en op school."),
    dict(first_name="محمد", last_name="العلي", place="Antwerpen", paragraph="نحن هنا معًا. هذه المدينة مدينتنا جميعًا."),
    dict(first_name="ኃይሌ", last_name="ገብረሥላሴ", function="ሯጭ", place="አዲስ አበባ", paragraph="ሰላም ለሁላችሁ።"),
    dict(kind="organisation", organisation="Vereniging voor Samenlevingsopbouw en Buurtwerk Antwerpen-Noord vzw",
         first_name="Els", last_name="Claes", function="voorzitter", place="Antwerpen",
         email_name="els.claes.voorzitter.met.een.lang.adres"),
]


def _fill(live_server) -> dict:
    with live_server.app.app_context():
        make_user("admin@example.org", PASSWORD, admin=True)
        letter = make_letter("brief")
        ids = []
        for n, fields in enumerate(SIGNERS):
            fields = dict(fields)
            local = fields.pop("email_name", f"signer{n}")
            ids.append(make_signature(letter, email=f"{local}@example.org", **fields).id)
        from signatory import signing

        for n in range(12):  # a burst from one network, shown on the signatures page
            burst = make_signature(letter, email=f"wave{n}@example.org", last_name=f"Golf {n}")
            burst.ip_hash = signing.hash_ip("198.51.100.7")
        published = make_letter("gepubliceerd")
        for n, fields in enumerate(SIGNERS):
            fields = {k: v for k, v in fields.items() if k != "email_name"}
            signature = make_signature(published, email=f"p{n}@example.org", **fields)
            signature.paragraph_status = "approved"
        publication.publish(published, date(2026, 6, 20), "Verstuurd naar alle leden van het Vlaams Parlement.")
        publication.record_answer(published, publication.AnswerInput(
            author_name="Jan Politicus", author_affiliation="Partij X", received_on=date(2026, 7, 1), body="Dank u.",
        ))
        db.session.commit()
        return {"signature": ids[0], "manage": tokens.make_token(tokens.MANAGE, ids[0]),
                "confirm": tokens.make_token(tokens.CONFIRM, ids[1])}


def organiser_pages(data: dict) -> list[str]:
    return [
        "/organise/",
        "/organise/letters/new",
        "/organise/letters/brief",
        "/organise/letters/brief/edit",
        "/organise/letters/brief/overview",
        "/organise/letters/brief/moderation",
        "/organise/letters/brief/signatures",
        "/organise/letters/brief/organisations",
        "/organise/letters/brief/paper",
        "/organise/letters/brief/publication",
        "/organise/letters/gepubliceerd/publication",
        f"/organise/signatures/{data['signature']}",
        f"/organise/signatures/{data['signature']}/edit",
        "/organise/letters/brief/close",
        "/organise/letters/brief/publish?publication_date=2026-06-20&publication_manner=Verstuurd",
        "/organise/audit",
        "/organise/users",
        "/organise/password",
    ]


def public_pages(data: dict) -> list[str]:
    return [
        "/",
        "/letters/brief",
        "/letters/brief/signatories",
        "/letters/brief/privacy",
        "/letters/brief/resend",
        "/letters/gepubliceerd",
        "/letters/gepubliceerd/paragraphs",
        f"/confirm/{data['confirm']}",
        f"/manage/{data['manage']}",
        f"/manage/{data['manage']}/withdraw",
    ]


def _check(page, axe, url: str, path: str) -> list[str]:
    page.goto(url + path)
    page.wait_for_load_state("networkidle")
    problems = []
    width = page.evaluate("document.documentElement.scrollWidth")
    if width > 360:
        problems.append(f"{path}: the page is {width} px wide")
    wide = page.evaluate(
        """() => [...document.querySelectorAll('.table-wrap, pre, table')]
              .filter(el => el.scrollWidth > el.clientWidth + 1)
              .map(el => el.className || el.tagName)"""
    )
    if wide:
        problems.append(f"{path}: scrolls sideways inside {wide}")
    results = axe.run(page)
    for violation in results.response["violations"]:
        if violation["impact"] in SERIOUS:
            targets = [", ".join(node["target"]) for node in violation["nodes"]][:3]
            problems.append(f"{path}: {violation['id']} ({violation['impact']}) at {targets}")
    save_shot(page, "360" + path.replace("/", "-")[:60])
    return problems


def test_public_pages_at_360_px(live_server, page_at):
    data = _fill(live_server)
    page, axe = page_at(360), Axe()
    problems = [problem for path in public_pages(data) for problem in _check(page, axe, live_server.url, path)]
    assert not problems, "\n".join(problems)


def test_every_organiser_page_at_360_px(live_server, page_at):
    data = _fill(live_server)
    page, axe = page_at(360), Axe()
    page.goto(live_server.url + "/organise/login")
    problems = _check(page, axe, live_server.url, "/organise/login")
    page.fill("#email", "admin@example.org")
    page.fill("#password", PASSWORD)
    page.click("main form button[type=submit]")
    page.wait_for_url(lambda url: "/login" not in url)
    problems += [problem for path in organiser_pages(data) for problem in _check(page, axe, live_server.url, path)]
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("width", [360, 1280])
def test_organiser_forms_that_come_back_put_their_summary_first(live_server, page_at, width):
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    # Without JavaScript: the summary is focused (and so in view), its links
    # lead to fields on the page, and nothing scrolls sideways.
    data = _fill(live_server)
    page = page_at(width, javascript=False)
    page.goto(live_server.url + "/organise/login")
    page.fill("#email", "admin@example.org")
    page.fill("#password", PASSWORD)
    page.click("main form button[type=submit]")
    page.wait_for_url(lambda url: "/login" not in url)
    forms = [
        ("/organise/letters/brief/paper", {"#email": "geen adres"}, "#kind-1"),
        (f"/organise/signatures/{data['signature']}/edit", {"#last_name": "", "#email": "geen adres"}, None),
        ("/organise/letters/brief/settings", {"#goal": "0"}, None),
        ("/organise/users/invite", {"#email": "geen adres"}, None),
        ("/organise/letters/new", {"#goal": "0"}, None),
    ]
    problems = []
    for path, fields, check in forms:
        page.goto(live_server.url + path)
        for selector, value in fields.items():
            page.fill(selector, value)
        if check:
            page.check(check)
        page.click("main form.form button[type=submit]:not([name=action]), main form.form button[value=save]")
        page.wait_for_load_state("load")
        try:  # autofocus is applied at the next rendering step after the load
            page.wait_for_function("document.activeElement && document.activeElement.id === 'error-summary'", timeout=3000)
        except PlaywrightTimeout:
            pass  # reported below
        state = page.evaluate(
            """() => { const summary = document.getElementById('error-summary');
                if (!summary) return null;
                const top = summary.getBoundingClientRect().top;
                return {focused: document.activeElement === summary, inView: top >= 0 && top < innerHeight,
                        links: [...summary.querySelectorAll('a')].map(a => a.getAttribute('href')),
                        missing: [...summary.querySelectorAll('a')].map(a => a.getAttribute('href'))
                                   .filter(href => !document.querySelector(href)),
                        wide: document.documentElement.scrollWidth > innerWidth}; }"""
        )
        save_shot(page, f"{width}-refused{path.replace('/', '-')[:50]}")
        if state is None:
            problems.append(f"{path}: no error summary")
        elif not (state["focused"] and state["inView"] and state["links"] and not state["missing"] and not state["wide"]):
            problems.append(f"{path}: {state}")
    assert not problems, "\n".join(problems)
