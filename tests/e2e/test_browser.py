"""The citizen's path in a real browser (headless Chromium, Playwright):
sign the demo letter on a 360-px phone, confirm from the .eml, be counted;
the live line estimate agrees with the server's typesetter at 9, 10 and 11
lines; the form works without JavaScript; a lost form token keeps what was
typed; the keyboard reaches every field in visual order."""
from __future__ import annotations

import json
import re
from functools import cache
from urllib.parse import urlsplit

import pytest

from conftest import IN_CI, csrf_token, links, outbox_messages, sign_form
from signatory.extensions import db
from signatory.models import OutboxMessage, Signature
from signatory.pdf.line_rule import MAX_PARAGRAPH_LINES, count_lines
from signatory.pdf.typography import FRAME_INNER_WIDTH, build_paragraph

from .conftest import save_shot

try:
    from playwright.sync_api import expect
except ImportError as error:  # pragma: no cover - depends on the machine
    if IN_CI:
        raise
    pytest.skip(f"playwright is not installed ({error}); pip install -e '.[test]'", allow_module_level=True)

# Dutch prose, long enough for more than eleven lines in the document.
PROSE = (
    "Ik teken omdat de wijkbibliotheek voor mijn kinderen de eerste plek was waar ze zelf "
    "mochten kiezen wat ze lazen, zonder dat iemand vroeg wat het kostte of waar ze vandaan kwamen. "
    "Op woensdagmiddag zaten er altijd buurtkinderen aan de lange tafel bij het raam, met hun huiswerk, "
    "hun vragen en hun stripverhalen, en de bibliothecaris kende hen allemaal bij naam. Mijn buurvrouw "
    "van tweeëntachtig leest er elke dinsdag de krant, omdat ze thuis geen abonnement meer kan betalen, "
    "en ze zegt dat het haar enige uitstap van de week is. Nieuwkomers oefenen er hun Nederlands in de "
    "praatgroep, werkzoekenden schrijven er hun sollicitatiebrieven op de computers, en scholieren vinden "
    "er een rustige plek om te studeren wanneer het thuis te druk is. Een centrale bibliotheek in het "
    "stadscentrum is mooi, maar ze ligt voor velen te ver om alleen te gaan, zeker voor kinderen en voor "
    "ouderen met een beperkte mobiliteit. De besparing is klein, het verlies voor de wijk is groot en "
    "blijvend. Daarom vraag ik het college om deze beslissing te heroverwegen en samen met de bewoners "
    "naar een oplossing te zoeken die de bibliotheek openhoudt."
)


@cache
def paragraph_of(lines: int) -> str:
    """Prose that takes exactly `lines` lines in the document, built with the
    document's own typesetter. For 9 and 10: grown word by word while it still
    fits, so its last line ends within a word of the margin. For 11: the
    longest 10-line text plus the one word that no longer fits — the sharpest
    case the ten-line rule has to refuse."""
    words = PROSE.split()
    if lines == MAX_PARAGRAPH_LINES + 1:
        fitting = paragraph_of(MAX_PARAGRAPH_LINES)
        text = " ".join(words[: len(fitting.split()) + 1])
        assert count_lines(text) == lines
        return text
    best = None
    for end in range(1, len(words) + 1):
        candidate = " ".join(words[:end])
        counted = count_lines(candidate)
        if counted == lines:
            best = candidate
        elif counted > lines:
            break
    assert best is not None, f"the prose cannot make exactly {lines} lines"
    return best


def test_the_paragraphs_end_at_the_margin():
    """The fixtures are what they claim: the last line of the 10-line text
    ends within a few characters of the margin."""
    for lines in (9, 10, 11):
        assert count_lines(paragraph_of(lines)) == lines
    paragraph = build_paragraph(paragraph_of(10))
    paragraph.wrap(FRAME_INNER_WIDTH, 10_000_000)
    slack = paragraph.blPara.lines[-1][0]  # unused width of the last line, in points
    assert 0 <= slack < 40, f"the 10th line ends {slack:.1f} pt before the margin"


def _type(page, selector: str, text: str) -> None:
    """Type as a person does: key by key (Enter for a line break)."""
    page.locator(selector).click()
    for index, line in enumerate(text.split("\n")):
        if index:
            page.keyboard.press("Enter")
        page.keyboard.type(line)


def _api(page, server) -> dict:
    response = page.request.get(f"{server.url}/api/letters/{server.slug}")
    assert response.ok
    return response.json()


def _counter(page) -> str:
    return page.locator(".counter__number strong").first.inner_text().strip()


# --- (a) a citizen signs on a phone, confirms, is counted -------------------------

def test_a_citizen_signs_on_a_phone_confirms_and_is_counted(live_server, page_at):
    page = page_at(360)
    page.goto(live_server.letter_url())
    save_shot(page, "letter-360")
    assert _counter(page) == "0"
    assert page.evaluate("document.documentElement.scrollWidth") <= 360, "the page scrolls sideways at 360 px"

    organisation = page.locator("#organisation")
    expect(organisation).to_be_hidden()  # signing as a person: no organisation field
    _type(page, "#first_name", "Ayşe")
    _type(page, "#last_name", "Yılmaz")
    page.locator("label[for=kind-1]").click()  # "in naam van een organisatie"
    expect(organisation).to_be_visible()
    _type(page, "#organisation", "Buurtwerk 't Pleintje")
    _type(page, "#function", "voorzitter")
    _type(page, "#email", "Ayse.Yilmaz@Example.org")
    _type(page, "#place", "Gent")
    _type(page, "#address", "Kerkstraat 1\n9000 Gent")
    _type(page, "#paragraph", "Omdat de bibliotheek de huiskamer van de wijk is.")
    expect(page.locator("#paragraph-lines")).to_contain_text("1 van 10")
    for name in ("consent_name", "consent_paragraph", "consent_notify"):
        page.locator(f"label[for={name}]").click()
        expect(page.locator(f"#{name}")).to_be_checked()
    page.locator("form.sign-form button[type=submit]").click()

    expect(page.locator("h1")).to_contain_text("kijk in uw mailbox")
    assert urlsplit(page.url).path == f"/letters/{live_server.slug}/thanks"
    assert urlsplit(page.url).fragment == "main", "not the form's #error-summary, carried over the redirect"
    assert _api(page, live_server)["signatures"] == 0, "an unconfirmed signature does not count"

    with live_server.app.app_context():
        signature = db.session.query(Signature).one()
        assert (signature.first_name, signature.last_name) == ("Ayşe", "Yılmaz")
        assert (signature.kind, signature.organisation, signature.function) == (
            "organisation", "Buurtwerk 't Pleintje", "voorzitter")
        assert signature.email == "Ayse.Yilmaz@Example.org"
        assert (signature.place, signature.address) == ("Gent", "Kerkstraat 1\n9000 Gent")
        assert signature.paragraph == "Omdat de bibliotheek de huiskamer van de wijk is."
        assert signature.consent_name and signature.consent_paragraph and signature.consent_notify
        assert db.session.query(OutboxMessage).count() == 1

    report = live_server.deliver()
    assert report.sent == 1
    [message] = outbox_messages(live_server.app)
    assert message["To"] == "Ayse.Yilmaz@Example.org"
    [confirm_link] = links(message, "confirm")
    [manage_link] = links(message, "manage")
    assert confirm_link.startswith(live_server.url + "/confirm/")
    assert manage_link.startswith(live_server.url + "/manage/")

    page.goto(confirm_link)
    expect(page.locator("h1")).to_contain_text("uw handtekening telt")
    assert _api(page, live_server)["signatures"] == 1, "the API counts the confirmation at once"
    # The letter page may be kept for PUBLIC_CACHE_SECONDS by any cache, the
    # browser's too (DESIGN §6); asked again, the server has the new count.
    page.goto(live_server.letter_url())
    page.reload()
    assert _counter(page) == "1", "the page shows the confirmation once asked again"
    api = _api(page, live_server)
    assert api["signatures"] == 1
    assert api["counts"]["organisations"] == 1
    page.goto(f"{live_server.url}/letters/{live_server.slug}/signatories")
    expect(page.locator("main")).to_contain_text("Buurtwerk 't Pleintje")

    # The manage link from the same e-mail opens the signature, filled in.
    page.goto(manage_link)
    expect(page.locator("#first_name")).to_have_value("Ayşe")


def test_screenshots_of_the_letter_at_phone_and_desktop_width(live_server, page_at):
    """The letter page lays out at 360 and 1280 px (screenshots with SHOTS=1)."""
    for width in (360, 1280):
        page = page_at(width)
        page.goto(live_server.letter_url())
        expect(page.locator("h1")).to_be_visible()
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        save_shot(page, f"letter-{width}")


# --- (b) the live estimate agrees with the server -------------------------------------

def _show_paragraph(page, text: str) -> None:
    """Paste most of it, type the last word: what people do."""
    head, _, last = text.rpartition(" ")
    page.locator("#paragraph").fill(head + " ")
    page.locator("#paragraph").press_sequentially(last, delay=5)


@pytest.mark.parametrize("lines", [9, 10, 11])
def test_the_live_estimate_agrees_with_the_server(live_server, page_at, lines):
    text = paragraph_of(lines)
    expected = count_lines(text)
    assert expected == lines
    page = page_at(360)
    page.goto(live_server.letter_url())
    estimate = page.locator("#paragraph-lines")
    with page.expect_response(
        lambda r: r.url.endswith("/api/paragraph-lines") and json.loads(r.request.post_data)["text"] == text
    ) as answer:
        _show_paragraph(page, text)
    verdict = answer.value.json()
    assert verdict == {"lines": expected, "max": MAX_PARAGRAPH_LINES, "fits": expected <= MAX_PARAGRAPH_LINES}
    if lines > MAX_PARAGRAPH_LINES:
        expect(estimate).to_have_text(f"Te lang: {expected} lijnen in het document, het maximum is 10.")
        expect(estimate).to_have_class(re.compile(r"\bline-estimate--over\b"))
    else:
        expect(estimate).to_have_text(f"Ongeveer {expected} van 10 lijnen in het document.")
        expect(estimate).not_to_have_class(re.compile(r"\bline-estimate--over\b"))
    shown = [int(n) for n in re.findall(r"\d+", estimate.inner_text())]
    assert shown[0] == expected


def _fill_required(page, *, first="Jan", last="Peeters", email="jan@example.org"):
    page.locator("#first_name").fill(first)
    page.locator("#last_name").fill(last)
    page.locator("#email").fill(email)


def test_eleven_lines_are_refused_with_the_count_and_the_form_kept(live_server, page_at):
    text = paragraph_of(11)
    page = page_at(360)
    page.goto(live_server.letter_url())
    _fill_required(page)
    page.locator("#place").fill("Lier")
    page.locator("#paragraph").fill(text)
    page.locator("label[for=consent_name]").click()
    page.locator("form.sign-form button[type=submit]").click()

    error = page.locator("#paragraph-error")
    expect(error).to_be_visible()
    expect(error).to_contain_text("11 lijnen")
    assert re.search(r"\b11\b", error.inner_text())
    # next to the field: inside the paragraph's own field block
    assert page.locator(".field--error:has(#paragraph) #paragraph-error").count() == 1
    expect(page.locator("#error-summary")).to_contain_text("11")
    expect(page.locator("#paragraph")).to_have_value(text)
    expect(page.locator("#first_name")).to_have_value("Jan")
    expect(page.locator("#last_name")).to_have_value("Peeters")
    expect(page.locator("#email")).to_have_value("jan@example.org")
    expect(page.locator("#place")).to_have_value("Lier")
    expect(page.locator("#consent_name")).to_be_checked()
    expect(page.locator("#consent_notify")).not_to_be_checked()
    # The estimate comes back on its own for the refilled text.
    expect(page.locator("#paragraph-lines")).to_contain_text("Te lang: 11 lijnen")
    with live_server.app.app_context():
        assert db.session.query(Signature).count() == 0
        assert db.session.query(OutboxMessage).count() == 0


def test_ten_lines_at_the_margin_are_accepted(live_server, page_at):
    page = page_at(360)
    page.goto(live_server.letter_url())
    _fill_required(page)
    page.locator("#paragraph").fill(paragraph_of(10))
    page.locator("form.sign-form button[type=submit]").click()
    expect(page.locator("h1")).to_contain_text("kijk in uw mailbox")
    with live_server.app.app_context():
        assert db.session.query(Signature).one().paragraph == paragraph_of(10)


# --- (c) without JavaScript -------------------------------------------------------------

def test_the_whole_form_works_without_javascript(live_server, page_at):
    page = page_at(360, javascript=False)
    page.goto(live_server.letter_url())
    expect(page.locator("#organisation")).to_be_visible()
    expect(page.locator("#paragraph")).to_be_visible()
    page.locator("#first_name").fill("Fatima")
    page.locator("#last_name").fill("El Amrani")
    page.locator("label[for=kind-1]").click()
    page.locator("#organisation").fill("Vrouwenraad Gent")
    page.locator("#function").fill("secretaris")
    page.locator("#email").fill("fatima@example.org")
    page.locator("#place").fill("Gent")
    page.locator("#address").fill("Veldstraat 2\n9000 Gent")
    page.locator("#paragraph").fill("Lezen is samenleven.")
    page.locator("label[for=consent_name]").click()
    page.locator("label[for=consent_paragraph]").click()

    # A refusal first (the e-mail is wrong): everything comes back, no JS needed.
    page.locator("#email").fill("fatima-at-example.org")
    page.locator("form.sign-form button[type=submit]").click()
    expect(page.locator("#email-error")).to_be_visible()
    expect(page.locator("#organisation")).to_have_value("Vrouwenraad Gent")
    expect(page.locator("#kind-1")).to_be_checked()
    expect(page.locator("#address")).to_have_value("Veldstraat 2\n9000 Gent")
    expect(page.locator("#consent_paragraph")).to_be_checked()

    page.locator("#email").fill("fatima@example.org")
    page.locator("form.sign-form button[type=submit]").click()
    expect(page.locator("h1")).to_contain_text("kijk in uw mailbox")
    with live_server.app.app_context():
        signature = db.session.query(Signature).one()
        assert (signature.kind, signature.organisation, signature.function) == (
            "organisation", "Vrouwenraad Gent", "secretaris")
        assert signature.consent_name and signature.consent_paragraph and not signature.consent_notify

    live_server.deliver()
    [message] = outbox_messages(live_server.app)
    [confirm_link] = links(message, "confirm")
    page.goto(confirm_link)
    expect(page.locator("h1")).to_contain_text("uw handtekening telt")
    page.goto(live_server.letter_url())
    page.reload()  # the browser may keep the page for PUBLIC_CACHE_SECONDS
    assert _counter(page) == "1"


# --- (d) a missing or expired form token -------------------------------------------------

@pytest.mark.parametrize("token", [None, "", "garbage", "another letter's"])
def test_a_lost_form_token_answers_400_with_the_form_filled_in(live_server, token):
    client = live_server.app.test_client()
    page = client.get(live_server.letter_url().removeprefix(live_server.url)).get_data(as_text=True)
    data = sign_form(
        first_name="Ayşe", last_name="Yılmaz <b>", kind="organisation", organisation="Buurtwerk",
        function="voorzitter", address="Kerkstraat 1\n9000 Gent", place="Gent",
        paragraph="Omdat lezen & samenleven bij elkaar horen.", consent_notify=False,
    )
    if token == "another letter's":
        # The token is stateless and bound to its letter (DESIGN §6).
        from conftest import make_letter

        with live_server.app.app_context():
            make_letter("een-andere-brief")
        other = live_server.app.test_client().get("/letters/een-andere-brief").get_data(as_text=True)
        data["csrf_token"] = csrf_token(other)
    elif token is not None:
        data["csrf_token"] = token
    assert csrf_token(page)  # the page did carry one
    response = client.post(f"/letters/{live_server.slug}/sign", data=data)
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    summary = re.search(r'<div class="error-summary".*?</div>', html, re.S)
    assert summary, "a message on top"
    assert "verstuur het opnieuw" in summary.group(0)
    assert html.index('id="error-summary"') < html.index('name="first_name"')
    for value in ('value="Ayşe"', 'value="Yılmaz &lt;b&gt;"', 'value="Buurtwerk"', 'value="voorzitter"',
                  'value="Gent"', "Kerkstraat 1\n9000 Gent</textarea>",
                  "Omdat lezen &amp; samenleven bij elkaar horen.</textarea>"):
        assert value in html, f"{value!r} not refilled"
    assert re.search(r'<input checked id="kind-1"|id="kind-1"[^>]*checked', html)
    assert re.search(r'<input checked id="consent_name"|id="consent_name"[^>]*checked', html)
    assert not re.search(r'id="consent_notify"[^>]*checked|checked id="consent_notify"', html)
    fresh = csrf_token(html)
    assert fresh and fresh != data.get("csrf_token"), "the page carries a fresh token to send again"
    with live_server.app.app_context():
        assert db.session.query(Signature).count() == 0
        assert db.session.query(OutboxMessage).count() == 0
    # Sending again with the page's new token works.
    data["csrf_token"] = fresh
    assert client.post(f"/letters/{live_server.slug}/sign", data=data).status_code == 303


def test_a_token_removed_in_the_browser_keeps_the_form(live_server, page_at):
    page = page_at(360)
    page.goto(live_server.letter_url())
    _fill_required(page, first="Lotte", last="De Smet")
    page.locator("#paragraph").fill("Kort en goed.")
    page.evaluate("document.querySelector('input[name=csrf_token]').remove()")
    page.locator("form.sign-form button[type=submit]").click()
    summary = page.locator("#error-summary")
    expect(summary).to_contain_text("verstuur het opnieuw")
    expect(page.locator("#first_name")).to_have_value("Lotte")
    expect(page.locator("#paragraph")).to_have_value("Kort en goed.")
    expect(summary).to_be_focused()
    page.locator("form.sign-form button[type=submit]").click()
    expect(page.locator("h1")).to_contain_text("kijk in uw mailbox")


# --- (e) keyboard ------------------------------------------------------------------------

FORM_ORDER = [
    "first_name", "last_name", "kind-1", "organisation", "function", "email", "place", "address",
    "paragraph", "consent_name", "consent_paragraph", "consent_notify", "privacy-link", "submit",
]


def _focused(page) -> dict:
    return page.evaluate(
        """() => {
            const el = document.activeElement;
            const box = el.getBoundingClientRect();
            let id = el.id || el.getAttribute('name') || el.tagName.toLowerCase();
            if (el.matches('form.sign-form button[type=submit]')) id = 'submit';
            else if (el.matches('form.sign-form a[href$="/privacy"]')) id = 'privacy-link';
            return {id, top: box.top + window.scrollY, left: box.left + window.scrollX,
                    height: box.height, visible: box.width > 0 && box.height > 0};
        }"""
    )


@pytest.mark.parametrize("width", [360, 1280])
def test_tab_reaches_every_field_in_visual_order(live_server, page_at, width):
    page = page_at(width)
    page.goto(live_server.letter_url())
    page.locator("body").click(position={"x": 1, "y": 1})
    for _ in range(200):  # from the top of the page to the form
        page.keyboard.press("Tab")
        if _focused(page)["id"] == "first_name":
            break
    else:
        pytest.fail("Tab never reaches the first name")
    seen = [_focused(page)]
    while seen[-1]["id"] != "submit" and len(seen) < 40:
        if seen[-1]["id"] == "kind-0":
            # Arrow keys choose within the radio group; the organisation field appears.
            page.keyboard.press("ArrowDown")
            seen[-1] = _focused(page)
            assert seen[-1]["id"] == "kind-1"
            assert page.locator("#kind-1").is_checked()
        page.keyboard.press("Tab")
        seen.append(_focused(page))
    ids = [item["id"] for item in seen]
    assert ids == FORM_ORDER
    assert "website" not in ids, "the honeypot is not in the Tab order"
    assert all(item["visible"] for item in seen), [item for item in seen if not item["visible"]]
    # Visual order: each stop is below the previous, or beside it on the same row.
    for before, after in zip(seen, seen[1:]):
        same_row = abs(after["top"] - before["top"]) < before["height"] / 2
        assert after["top"] > before["top"] or (same_row and after["left"] > before["left"]), (before, after)


def test_the_error_summary_takes_the_focus_after_a_failed_submit(live_server, page_at):
    page = page_at(360)
    page.goto(live_server.letter_url())
    page.locator("#first_name").fill("Jan")
    page.locator("#email").focus()
    page.keyboard.type("not-an-address")
    page.keyboard.press("Enter")  # submits the form from the keyboard
    summary = page.locator("#error-summary")
    expect(summary).to_be_visible()
    expect(summary).to_be_focused()
    expect(summary).to_contain_text("Familienaam")
    expect(summary).to_contain_text("E-mailadres")
    # The summary's links lead to the fields.
    summary.locator("a[href='#last_name']").click()
    expect(page.locator("#last_name")).to_be_focused()
    expect(page.locator("#first_name")).to_have_value("Jan")
    expect(page.locator("#email")).to_have_value("not-an-address")


def test_fields_carry_valid_aria_and_required_attributes(live_server, page_at):
    """Optional fields are not marked required and no field is announced as
    invalid before anything was sent; aria-describedby points at real ids."""
    page = page_at(360)
    page.goto(live_server.letter_url())
    problems = page.evaluate(
        """() => {
            const found = [];
            for (const el of document.querySelectorAll('form.sign-form input, form.sign-form textarea')) {
                const name = el.id || el.name;
                const invalid = el.getAttribute('aria-invalid');
                if (invalid !== null && !['true', 'false'].includes(invalid))
                    found.push(`${name}: aria-invalid="${invalid}"`);
                if (['organisation', 'function', 'place', 'address', 'paragraph'].includes(el.id) && el.required)
                    found.push(`${name}: optional field marked required`);
                for (const ref of (el.getAttribute('aria-describedby') || '').split(/\\s+/).filter(Boolean))
                    if (!document.getElementById(ref)) found.push(`${name}: aria-describedby="${ref}" names no element`);
            }
            return found;
        }"""
    )
    assert problems == [], "\n".join(problems)
