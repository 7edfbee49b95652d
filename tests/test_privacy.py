"""Privacy: erasure on request, the retention command, the audit log."""
from __future__ import annotations

import json
from datetime import timedelta

from sqlalchemy import func, select

from conftest import csrf_token, make_letter, make_signature
from signatory import privacy
from signatory.extensions import db
from signatory.models import AuditEntry, OutboxMessage, Signature, utcnow


def test_erase_one_signatory(app, client, letter, admin, auth):
    with app.app_context():
        signature = make_signature(letter, email="wis@example.org", first_name="Wis", last_name="Mij", address="Straat 1",
                                   paragraph="Mijn persoonlijke verhaal.", kind="organisation", organisation="Vzw Weg")
        make_signature(letter, email="blijf@example.org")
        signature_id = signature.id
    auth.login(admin)
    assert client.get("/api/letters/brief").get_json()["signatures"] == 2
    page = client.get(f"/organise/signatures/{signature_id}").get_data(as_text=True)
    token = csrf_token(page)
    not_ticked = client.post(f"/organise/signatures/{signature_id}/erase", data={"csrf_token": token})
    assert not_ticked.status_code == 303
    with app.app_context():
        assert db.session.get(Signature, signature_id).status == "confirmed"
    response = client.post(f"/organise/signatures/{signature_id}/erase", data={"confirm": "y", "csrf_token": token})
    assert response.status_code == 303
    api = client.get("/api/letters/brief").get_json()
    assert api["signatures"] == 1 and api["counts"]["organisations"] == 0
    with app.app_context():
        erased = db.session.get(Signature, signature_id)
        assert erased.status == "erased" and erased.erased_at is not None
        for value in (erased.first_name, erased.last_name, erased.organisation, erased.address, erased.paragraph, erased.place):
            assert value == ""
        assert erased.email is None and erased.email_key is None and erased.ip_hash is None
        assert db.session.scalar(select(func.count()).select_from(OutboxMessage).where(OutboxMessage.signature_id == signature_id)) == 0
        entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "signature.erase"))
        assert entry.signature_id == signature_id and entry.actor == "admin@example.org"
        assert "wis@" not in entry.detail and "Mij" not in entry.detail
    assert "Wis" not in client.get("/organise/letters/brief/signatures.csv").get_data(as_text=True)
    # The address may sign again.
    with app.app_context():
        again = make_signature(letter, email="wis@example.org")
        assert again is not None and again.status == "confirmed"


def test_erasure_after_publication_makes_a_new_revision(app):
    with app.app_context():
        letter = make_letter()
        signature = make_signature(letter, email="a@example.org")
        letter.state = "published"
        db.session.commit()
        before = letter.data_revision
        privacy.erase(signature, None, actor="admin")
        db.session.commit()
        db.session.refresh(letter)
        assert letter.data_revision > before and letter.signature_count == 0
        detail = json.loads(db.session.scalar(select(AuditEntry.detail).where(AuditEntry.action == "signature.erase")))
        assert detail["after_publication"] is True


def test_retention_command(app, runner):
    with app.app_context():
        letter = make_letter()
        old_unconfirmed = make_signature(letter, email="oud@example.org", confirmed=False)
        new_unconfirmed = make_signature(letter, email="nieuw@example.org", confirmed=False)
        old_confirmed = make_signature(letter, email="blijft@example.org")
        old_unconfirmed.created_at = utcnow() - timedelta(days=31)
        old_confirmed.created_at = utcnow() - timedelta(days=40)
        published = make_letter("gepubliceerd")
        kept_long = make_signature(published, email="lang@example.org", address="Straat 2")
        published.state = "published"
        published.published_at = utcnow() - timedelta(days=400)
        recent = make_letter("recent")
        kept_short = make_signature(recent, email="kort@example.org", address="Straat 3")
        recent.state = "published"
        recent.published_at = utcnow() - timedelta(days=100)
        db.session.commit()
        ids = old_unconfirmed.id, new_unconfirmed.id, old_confirmed.id, kept_long.id, kept_short.id

    result = runner.invoke(args=["privacy", "purge"])
    assert result.exit_code == 0, result.output
    assert "1 unconfirmed signatures deleted" in result.output
    with app.app_context():
        old_id, new_id, confirmed_id, long_id, short_id = ids
        assert db.session.get(Signature, old_id) is None
        assert db.session.get(Signature, new_id).ip_hash is not None
        confirmed = db.session.get(Signature, confirmed_id)
        assert confirmed.ip_hash is None and confirmed.email == "blijft@example.org"
        long_ago = db.session.get(Signature, long_id)
        assert long_ago.email is None and long_ago.address == "" and long_ago.first_name
        assert db.session.get(Signature, short_id).email == "kort@example.org"

    shorter = runner.invoke(args=["privacy", "purge", "--address-months", "3"])
    assert shorter.exit_code == 0
    with app.app_context():
        assert db.session.get(Signature, ids[4]).email is None
    assert runner.invoke(args=["privacy", "purge"]).exit_code == 0, "running it again is harmless"


def test_audit_log_is_for_admins(app, client, letter, admin, auth):
    with app.app_context():
        make_signature(letter, email="a@example.org", paragraph="Tekst.")
    auth.login(admin)
    html = client.get("/organise/letters/brief").get_data(as_text=True)
    client.post("/organise/letters/brief/close", data={"csrf_token": csrf_token(html)})
    log = client.get("/organise/audit").get_data(as_text=True)
    # in words, not codes (issue 12)
    assert "Ondertekening afgesloten" in log and "admin@example.org" in log and "Aangemeld" in log
    assert "letter.close" not in log and "user.login" not in log
    assert "Ondertekening afgesloten" in client.get("/organise/audit?letter=brief").get_data(as_text=True)
    assert client.get("/organise/audit?letter=nope").status_code == 404
    assert client.get("/organise/audit?page=abc").status_code == 200
