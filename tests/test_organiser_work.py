"""The organiser's daily work (issue 12.6): one publication notice for one
person who signed twice; closing and publishing ask first and link the
draft PDF; to-do lines at zero disappear; the chart's axis has whole steps."""
from __future__ import annotations

import re
from datetime import date

from sqlalchemy import select

from conftest import make_letter, make_signature
from signatory import publication
from signatory.extensions import db
from signatory.models import OutboxMessage


def _notices(letter_id: int) -> list[str]:
    return list(db.session.scalars(
        select(OutboxMessage.recipient).where(OutboxMessage.letter_id == letter_id, OutboxMessage.kind == "publication")
    ))


def test_one_notice_for_one_person_who_signed_twice(app):
    with app.app_context():
        letter = make_letter()
        make_signature(letter, email="jan@example.org", consent_notify=True)
        make_signature(letter, email="Jan@Example.org", kind="organisation", organisation="Buurtwerk vzw", consent_notify=True)
        make_signature(letter, email="els@example.org", consent_notify=True, language="en")
        make_signature(letter, email="ELS@example.org", kind="organisation", organisation="Club", consent_notify=True)
        make_signature(letter, email="quiet@example.org", consent_notify=False)
        publication.publish(letter, date(2030, 6, 20), "Verstuurd")
        assert publication.notice_counts(letter)["waiting"] == 2
        report = publication.notify_signatories(letter)
        db.session.commit()
        assert report.queued == 2
        assert sorted(_notices(letter.id)) == ["els@example.org", "jan@example.org"]
        assert publication.notify_signatories(letter).queued == 0, "nobody twice"
        assert publication.notice_counts(letter)["waiting"] == 0


def test_a_person_told_once_is_not_told_again_when_their_first_signature_goes(app):

    with app.app_context():
        letter = make_letter()
        first = make_signature(letter, email="jan@example.org", consent_notify=True)
        make_signature(letter, email="jan@example.org", kind="organisation", organisation="Buurtwerk vzw", consent_notify=True)
        publication.publish(letter, date(2030, 6, 20), "Verstuurd")
        publication.notify_signatories(letter)
        db.session.commit()
        first.consent_notify = False  # the first no longer asks, the notice went already
        db.session.commit()
        assert publication.notify_signatories(letter).queued == 0
        assert len(_notices(letter.id)) == 1


def test_the_charts_axis_has_whole_steps():
    import re

    from signatory.overview import axis_steps, chart_svg

    assert axis_steps(3) == (1, 3) and axis_steps(5) == (1, 5) and axis_steps(7) == (2, 4)
    assert axis_steps(0) == (1, 1) and axis_steps(1234) == (500, 3) and axis_steps(100) == (20, 5)
    for peak in (1, 3, 5, 7, 13, 99, 250, 1234, 98_765):
        step, steps = axis_steps(peak)
        assert step * steps >= peak and steps <= 5 and str(step)[0] in "125" and set(str(step)[1:]) <= {"0"}
    svg = chart_svg([(date(2026, 6, day), count) for day, count in ((1, 3), (2, 1), (3, 2))], title="t")
    labels = [int(v) for v in re.findall(r'text-anchor="end">(\d+)</text>', svg)]
    assert labels == [0, 1, 2, 3]


def test_closing_asks_first_and_links_the_draft_pdf(app, client):
    from conftest import csrf_token, login, make_user

    with app.app_context():
        letter = make_letter()
        make_signature(letter, paragraph="Wacht nog.")
        make_user(admin=True)
        letter_id = letter.id
    login(client)
    dashboard = client.get("/organise/letters/brief").get_data(as_text=True)
    assert 'href="/organise/letters/brief/close"' in dashboard, "the dashboard asks first, it does not close"
    question = client.get("/organise/letters/brief/close")
    assert question.status_code == 200
    html = question.get_data(as_text=True)
    assert 'href="/organise/letters/brief/document.pdf"' in html and "1 paragraaf is nog niet gemodereerd" in html
    with app.app_context():
        from signatory.models import Letter

        assert db.session.get(Letter, letter_id).state == "open", "asking changed nothing"
    assert client.post("/organise/letters/brief/close", data={"csrf_token": csrf_token(html)}).status_code == 303
    with app.app_context():
        assert db.session.get(Letter, letter_id).state == "closed"
    assert client.get("/organise/letters/brief/close").status_code == 303, "nothing left to ask"


def test_publishing_asks_first_with_the_date_manner_and_draft_pdf(app, client):
    from conftest import csrf_token, login, make_user
    from signatory.models import Letter

    with app.app_context():
        make_signature(make_letter())
        make_user(admin=True)
    login(client)
    page = client.get("/organise/letters/brief/publication").get_data(as_text=True)
    assert 'method="get" action="/organise/letters/brief/publish"' in page
    missing = client.get("/organise/letters/brief/publish", query_string={"publication_date": "2030-06-20"})
    assert missing.status_code == 422 and "Beschrijf hoe" in missing.get_data(as_text=True)
    manner = "Verstuurd aan het parlement\nen op onze website"
    question = client.get("/organise/letters/brief/publish", query_string={"publication_date": "2030-06-20", "publication_manner": manner})
    assert question.status_code == 200
    html = question.get_data(as_text=True)
    assert "20 juni 2030" in html and "De brief nu publiceren?" in html
    assert 'href="/organise/letters/brief/document.pdf"' in html
    with app.app_context():
        assert db.session.scalar(select(Letter.state)) == "open"
    back = client.get(re.search(r'href="(/organise/letters/brief/publication\?[^"]+)"', html).group(1).replace("&amp;", "&"))
    assert "Verstuurd aan het parlement" in back.get_data(as_text=True), "going back keeps what was typed"
    data = dict(re.findall(r'<input type="hidden" name="(publication_\w+)" value="([^"]*)"', html))
    data["csrf_token"] = csrf_token(html)
    assert client.post("/organise/letters/brief/publish", data=data).status_code == 303
    with app.app_context():
        letter = db.session.scalar(select(Letter))
        assert letter.state == "published" and letter.publication_manner == " ".join(manner.split())


def test_to_do_lines_at_zero_disappear(app, client):
    from conftest import login, make_user

    with app.app_context():
        make_signature(make_letter())
        make_user(admin=True)
    login(client)
    html = client.get("/organise/letters/brief").get_data(as_text=True)
    assert "wacht op moderatie" not in html and "wachten op moderatie" not in html
    assert "niet geverifieerd" not in html.split('id="work-title"')[1].split("</section>")[0]
    assert "Alles is bijgewerkt." in html
