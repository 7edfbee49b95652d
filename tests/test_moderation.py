"""Moderation: the queue, the three decisions and their e-mails, bulk
approve, changed paragraphs back to pending, whole-signature rejection,
first signatories and verified organisations — through the domain and
through the pages, exactly as DESIGN §6 fixes the form."""
from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from conftest import csrf_token, deliver, links, make_letter, make_signature, make_user, outbox_messages, path_of, plain_text
from signatory import moderation, signing
from signatory.extensions import db
from signatory.models import AuditEntry, Letter, OutboxMessage, Signature, User

PARAGRAPH = "Omdat samenleven werk is van iedereen, elke dag opnieuw."


def _paragraphs(app, letter, n=3) -> list[int]:
    """`n` confirmed signatures on the letter, each with a paragraph awaiting
    moderation; their ids, oldest first."""
    with app.app_context():
        return [
            make_signature(letter, email=f"p{i}@example.org", first_name=f"Persoon{i}", paragraph=f"{PARAGRAPH} ({i})").id
            for i in range(n)
        ]


def _user(account):
    return db.session.get(User, account.id)


def test_queue_holds_publishable_paragraphs_oldest_first(app):
    with app.app_context():
        letter = make_letter()
        first = make_signature(letter, email="a@example.org", paragraph="Eerste.")
        second = make_signature(letter, email="b@example.org", paragraph="Tweede.")
        make_signature(letter, email="c@example.org", paragraph="Niet bevestigd.", confirmed=False)
        make_signature(letter, email="d@example.org", paragraph="Geen toestemming.", consent_paragraph=False)
        make_signature(letter, email="e@example.org", paragraph="")
        withdrawn = make_signature(letter, email="f@example.org", paragraph="Ingetrokken.")
        signing.withdraw(withdrawn)
        db.session.commit()
        assert [s.id for s in moderation.queue(letter)] == [first.id, second.id]
        assert moderation.queue_counts(letter)["pending"] == 2


def test_decisions_through_the_domain(app, letter, organiser):
    ids = _paragraphs(app, letter)
    with app.app_context():
        user = _user(organiser)
        approve, reject, revise = (db.session.get(Signature, i) for i in ids)
        moderation.moderate(approve, "approve", user)
        assert moderation.moderate(reject, "reject", user, "Te persoonlijk", notify=True) is True
        assert moderation.moderate(revise, "revise", user, "Kan het zonder de naam van je buurman?") is True
        db.session.commit()
        assert approve.paragraph_status == "approved" and approve.paragraph_moderated_by == user.id
        assert reject.paragraph_status == "rejected" and reject.paragraph_reason == "Te persoonlijk"
        assert revise.paragraph_status == "revision_requested"
        kinds = [m.kind for m in db.session.scalars(select(OutboxMessage).where(OutboxMessage.kind.like("paragraph.%")))]
        assert sorted(kinds) == ["paragraph.reject", "paragraph.revise"]
        actions = set(db.session.scalars(select(AuditEntry.action)))
        assert {"paragraph.approve", "paragraph.reject", "paragraph.revise"} <= actions
        for detail in db.session.scalars(select(AuditEntry.detail)):
            assert "@" not in detail and "buurman" not in detail  # no personal data


def test_revise_mails_a_link_and_the_changed_paragraph_returns_to_the_queue(app, client, letter, organiser):
    ids = _paragraphs(app, letter, n=1)
    with app.app_context():
        signature = db.session.get(Signature, ids[0])
        moderation.moderate(signature, "revise", _user(organiser), "Kort hem wat in.")
        db.session.commit()
    deliver(app)
    message = outbox_messages(app)[-1]
    assert message["To"] == "p0@example.org"
    assert "Kort hem wat in." in plain_text(message)
    [manage] = links(message, "manage")

    page = client.get(path_of(manage))
    assert page.status_code == 200
    form = {
        "first_name": "Persoon0", "last_name": "Yılmaz", "place": "Gent", "paragraph": "Korter nu.",
        "consent_name": "y", "consent_paragraph": "y", "csrf_token": csrf_token(page.get_data(as_text=True)),
    }
    assert client.post(path_of(manage), data=form).status_code == 303
    with app.app_context():
        signature = db.session.get(Signature, ids[0])
        assert signature.paragraph == "Korter nu."
        assert signature.paragraph_status == "pending"
        assert [s.id for s in moderation.queue(signature.letter)] == [signature.id]


def test_an_approved_paragraph_changed_by_its_signer_goes_back_to_pending(app, letter, organiser):
    ids = _paragraphs(app, letter, n=1)
    with app.app_context():
        signature = db.session.get(Signature, ids[0])
        moderation.moderate(signature, "approve", _user(organiser))
        db.session.commit()
        details = signing.SignatureDetails(
            first_name=signature.first_name, last_name=signature.last_name, place=signature.place,
            paragraph="Iets heel anders.", consent_name=True, consent_paragraph=True,
        )
        signing.change(signature, details)
        db.session.commit()
        assert signature.paragraph_status == "pending"


def test_revise_needs_a_reason_and_an_address(app, letter, organiser):
    ids = _paragraphs(app, letter, n=1)
    with app.app_context():
        signature = db.session.get(Signature, ids[0])
        with pytest.raises(moderation.ModerationError):
            moderation.moderate(signature, "revise", _user(organiser), "")  # a revision request without a question
        with pytest.raises(moderation.ModerationError):
            moderation.moderate(signature, "publish", _user(organiser))  # an unknown decision


def test_the_queue_page_and_one_form_per_entry(app, client, letter, organiser, auth):
    ids = _paragraphs(app, letter, n=3)
    auth.login(organiser)
    page = client.get("/organise/letters/brief/moderation")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    for signature_id in ids:
        assert f'action="/organise/signatures/{signature_id}/moderation"' in html
    assert html.index("Persoon0") < html.index("Persoon1") < html.index("Persoon2")
    assert "Gent" in html and "moderation.js" in html
    token = csrf_token(html)

    # Exactly the contract: decision, csrf_token, nothing else required.
    response = client.post(f"/organise/signatures/{ids[0]}/moderation", data={"decision": "approve", "csrf_token": token})
    assert response.status_code == 303
    response = client.post(
        f"/organise/signatures/{ids[1]}/moderation", data={"decision": "reject", "reason": "Off-topic", "csrf_token": token},
        headers={"Accept": "application/json"},
    )
    assert response.status_code == 200
    assert response.get_json()["ok"] is True and response.get_json()["counts"]["rejected"] == 1
    bad = client.post(f"/organise/signatures/{ids[2]}/moderation", data={"decision": "revise", "csrf_token": token}, headers={"Accept": "application/json"})
    assert bad.status_code == 422
    no_token = client.post(f"/organise/signatures/{ids[2]}/moderation", data={"decision": "approve"})
    assert no_token.status_code == 400

    pending = client.get("/organise/letters/brief/moderation").get_data(as_text=True)
    assert f"/organise/signatures/{ids[0]}/moderation" not in pending
    assert f"/organise/signatures/{ids[2]}/moderation" in pending
    approved = client.get("/organise/letters/brief/moderation?status=approved").get_data(as_text=True)
    assert f"/organise/signatures/{ids[0]}/moderation" in approved
    rejected = client.get("/organise/letters/brief/moderation?status=rejected").get_data(as_text=True)
    assert "Off-topic" in rejected


def test_bulk_approve(app, client, letter, admin, auth):
    ids = _paragraphs(app, letter, n=4)
    auth.login(admin)
    token = csrf_token(client.get("/organise/letters/brief/moderation").get_data(as_text=True))
    response = client.post("/organise/letters/brief/moderation/approve", data={"ids": [ids[0], ids[2]], "csrf_token": token, "scope": "checked"})
    assert response.status_code == 303
    with app.app_context():
        statuses = {s.id: s.paragraph_status for s in db.session.scalars(select(Signature))}
    assert statuses[ids[0]] == statuses[ids[2]] == "approved"
    assert statuses[ids[1]] == statuses[ids[3]] == "pending"
    client.post("/organise/letters/brief/moderation/approve", data={"shown": ids, "scope": "page", "csrf_token": token})
    with app.app_context():
        assert {s.paragraph_status for s in db.session.scalars(select(Signature))} == {"approved"}
        entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "paragraph.bulk_approve"))
        assert json.loads(entry.detail)["count"] == 2


def test_bulk_approve_stays_inside_the_letter(app):
    with app.app_context():
        ours = make_letter("ours")
        theirs = make_letter("theirs")
        mine = make_signature(ours, email="a@example.org", paragraph="Ja.")
        other = make_signature(theirs, email="b@example.org", paragraph="Nee.")
        user = make_user()
        assert moderation.bulk_approve(ours, [mine.id, other.id], user) == 1
        db.session.commit()
        assert db.session.get(Signature, other.id).paragraph_status == "pending"


def test_reject_and_unreject_a_whole_signature(app, client, admin, auth):
    with app.app_context():
        letter = make_letter()
        person = make_signature(letter, email="spam@example.org")
        organisation = make_signature(letter, email="org@example.org", kind="organisation", organisation="Vzw Test")
        unconfirmed = make_signature(letter, email="later@example.org", confirmed=False)
        person_id, org_id, unconfirmed_id = person.id, organisation.id, unconfirmed.id
    auth.login(admin)
    token = csrf_token(client.get(f"/organise/signatures/{person_id}").get_data(as_text=True))
    assert client.post(f"/organise/signatures/{person_id}/reject", data={"reason": "spam", "csrf_token": token}).status_code == 303
    client.post(f"/organise/signatures/{org_id}/reject", data={"csrf_token": token})
    client.post(f"/organise/signatures/{unconfirmed_id}/reject", data={"csrf_token": token})
    api = client.get("/api/letters/brief").get_json()
    assert api["signatures"] == 0 and api["counts"]["organisations"] == 0
    # A rejected address cannot sign again.
    with app.app_context():
        letter = db.session.scalar(select(Letter))
        again = signing.sign(letter, signing.SignatureDetails(first_name="A", last_name="B", email="spam@example.org"))
        assert again.duplicate
        db.session.rollback()

    client.post(f"/organise/signatures/{person_id}/unreject", data={"csrf_token": token})
    client.post(f"/organise/signatures/{org_id}/unreject", data={"csrf_token": token})
    client.post(f"/organise/signatures/{unconfirmed_id}/unreject", data={"csrf_token": token})
    api = client.get("/api/letters/brief").get_json()
    assert api["signatures"] == 2 and api["counts"]["organisations"] == 1
    with app.app_context():
        assert db.session.get(Signature, unconfirmed_id).status == "unconfirmed"


def test_first_signatories_and_verified_organisations(app, client, admin, auth):
    with app.app_context():
        letter = make_letter()
        person = make_signature(letter, email="a@example.org", first_name="Eerste", last_name="Ondertekenaar")
        org = make_signature(letter, email="b@example.org", kind="organisation", organisation="Vzw Samen")
        make_signature(letter, email="c@example.org", kind="organisation", organisation="Vzw Anders")
        person_id, org_id = person.id, org.id
    auth.login(admin)
    dashboard = client.get("/organise/letters/brief").get_data(as_text=True)
    assert "2 organisaties zijn nog niet geverifieerd" in dashboard
    token = csrf_token(dashboard)
    client.post(f"/organise/signatures/{person_id}/first", data={"value": "1", "csrf_token": token})
    client.post(f"/organise/signatures/{org_id}/verify", data={"value": "1", "csrf_token": token})
    with app.app_context():
        letter = db.session.scalar(select(Letter))
        assert db.session.get(Signature, person_id).first_signatory
        assert moderation.unverified_organisation_count(letter) == 1
    assert "1 organisatie is nog niet geverifieerd" in client.get("/organise/letters/brief").get_data(as_text=True)
    organisations = client.get("/organise/letters/brief/organisations").get_data(as_text=True)
    assert "Vzw Samen" in organisations and "Vzw Anders" in organisations and "Ondertekenaar" not in organisations
    public = client.get("/letters/brief").get_data(as_text=True)
    assert "Ondertekenaar" in public


def test_signature_list_search_and_detail(app, client, letter, admin, auth):
    with app.app_context():
        make_signature(letter, email="zoek@example.org", first_name="Zoë", last_name="Zoekbaar")
        make_signature(letter, email="ander@example.org", first_name="Niet", last_name="Gevonden")
    auth.login(admin)
    html = client.get("/organise/letters/brief/signatures?q=zoekbaar").get_data(as_text=True)
    assert "Zoekbaar" in html and "Gevonden" not in html
    assert client.get("/organise/letters/brief/signatures?status=bogus&page=-1&q=%00").status_code == 200
    with app.app_context():
        signature_id = db.session.scalar(select(Signature.id).where(Signature.last_name == "Zoekbaar"))
    detail = client.get(f"/organise/signatures/{signature_id}").get_data(as_text=True)
    assert "zoek@example.org" in detail
    assert client.get("/organise/signatures/999999").status_code == 404
    assert client.get("/organise/signatures/99999999999999999999999").status_code == 404
