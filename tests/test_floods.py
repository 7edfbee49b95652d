"""Spotting a flood (issue 12.8): bursts from one network (the keyed IP
hash, never an address) or one e-mail domain within an hour or a day, shown
with their members on the signatures page; one action rejects a burst, each
signature audited and the whole undoable."""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select

from conftest import csrf_token, login, make_letter, make_signature, make_user
from signatory import floods, signing
from signatory.extensions import db
from signatory.models import AuditEntry, Letter, Signature

NOON = datetime(2026, 11, 30, 12, 0)


def _wave(letter, count, *, email, ip_hash, start=NOON, step=timedelta(minutes=3), **fields):
    ids = []
    for n in range(count):
        signature = make_signature(letter, email=email.format(n=n), last_name=f"Golf {n}", **fields)
        signature.ip_hash = ip_hash
        signature.created_at = start + n * step
        ids.append(signature.id)
    db.session.commit()
    return ids


def _flooded(app):
    with app.app_context():
        letter = make_letter()
        make_user(admin=True)
        network = signing.hash_ip("198.51.100.7")
        wave = _wave(letter, 12, email="person{n}@example.org", ip_hash=network)
        _wave(letter, 25, email="bot{n}@spam.example", ip_hash=None, step=timedelta(minutes=2))
        _wave(letter, 30, email="honest{n}@gmail.com", ip_hash=None, step=timedelta(minutes=1))
        _wave(letter, 3, email="calm{n}@example.org", ip_hash=signing.hash_ip("203.0.113.9"), step=timedelta(hours=2))
        return letter.id, network, wave


def test_bursts_by_network_and_domain_within_an_hour(app):
    letter_id, network, wave = _flooded(app)
    with app.app_context():
        found = floods.bursts(db.session.get(Letter, letter_id), now=NOON + timedelta(days=1))
        by_source = {(burst.source, burst.window): burst for burst in found}
        assert set(by_source) == {("network", floods.HOUR), ("domain", floods.HOUR)}
        network_burst = by_source[("network", floods.HOUR)]
        assert [s.id for s in network_burst.members] == wave
        assert network_burst.label == network[:8] and "198.51" not in network_burst.label
        assert by_source[("domain", floods.HOUR)].key == "spam.example"
        assert len(by_source[("domain", floods.HOUR)].members) == 25


def test_a_slow_flood_is_a_burst_within_a_day(app):
    with app.app_context():
        letter = make_letter()
        _wave(letter, 45, email="slow{n}@example.org", ip_hash=signing.hash_ip("192.0.2.1"), step=timedelta(minutes=20))
        (burst,) = floods.bursts(letter, now=NOON + timedelta(days=2))
        assert burst.window == floods.DAY and len(burst.members) >= floods.THRESHOLDS[("network", floods.DAY)]


def test_the_signatures_page_shows_bursts_and_one_action_rejects_and_undoes_one(app, client):
    letter_id, network, wave = _flooded(app)
    login(client)
    html = client.get("/organise/letters/brief/signatures").get_data(as_text=True)
    assert "Opvallende pieken" in html and f"uit netwerk {network[:8]}" in html and "spam.example" in html
    assert network not in html and "198.51.100.7" not in html, "the hash stays a hash, no address shown"
    assert "gmail.com" not in html.split("Opvallende pieken")[1].split("</section>")[0]
    with app.app_context():
        burst = next(b for b in floods.bursts(db.session.get(Letter, letter_id)) if b.source == "network")
        ident, start = burst.ident, burst.start.isoformat()
        before = db.session.get(Letter, letter_id).signature_count
    response = client.post("/organise/letters/brief/bursts/reject",
                           data={"csrf_token": csrf_token(html), "burst": ident, "start": start})
    assert response.status_code == 303
    page = client.get("/organise/letters/brief/signatures").get_data(as_text=True)
    assert "12 handtekeningen geweigerd." in page and "Samen geweigerd" in page
    with app.app_context():
        statuses = db.session.scalars(select(Signature.status).where(Signature.id.in_(wave))).all()
        assert set(statuses) == {"rejected"}
        assert db.session.get(Letter, letter_id).signature_count == before - 12
        audited = db.session.scalar(select(func.count()).select_from(AuditEntry).where(
            AuditEntry.action == "signature.reject", AuditEntry.signature_id.in_(wave)))
        assert audited == 12, "each signature audited"
        reason = db.session.get(Signature, wave[0]).rejection_reason
    assert reason.startswith("Vloed: 12 handtekeningen van netwerk")
    again = client.post("/organise/letters/brief/bursts/reject",
                        data={"csrf_token": csrf_token(page), "burst": ident, "start": start})
    assert "er niet meer" in client.get(again.headers["Location"]).get_data(as_text=True)
    undone = client.post("/organise/letters/brief/bursts/undo", data={"csrf_token": csrf_token(page), "reason": reason})
    assert undone.status_code == 303
    assert "12 weigeringen ongedaan gemaakt." in client.get("/organise/letters/brief/signatures").get_data(as_text=True)
    with app.app_context():
        assert set(db.session.scalars(select(Signature.status).where(Signature.id.in_(wave)))) == {"confirmed"}
        assert db.session.get(Letter, letter_id).signature_count == before
        assert db.session.scalar(select(func.count()).select_from(AuditEntry).where(
            AuditEntry.action == "signature.unreject", AuditEntry.signature_id.in_(wave))) == 12


def test_burst_actions_need_the_letters_organiser(app, client):
    _flooded(app)
    with app.app_context():
        make_user("stranger@example.org")
    login(client, "stranger@example.org")
    assert client.post("/organise/letters/brief/bursts/reject", data={"burst": "x", "start": "y"}).status_code in (400, 404)
    assert client.post("/organise/letters/brief/bursts/undo", data={"reason": "x"}).status_code in (400, 404)
