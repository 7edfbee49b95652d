"""The commands of DESIGN §6, run as a user runs them."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import func, select

from conftest import LETTER_SOURCE, make_letter, make_signature, make_user
from signatory.extensions import db
from signatory.models import AuditEntry, Letter, LetterGrant, OutboxMessage, Signature

ROOT = Path(__file__).resolve().parent.parent


def test_import_list_open_close(app, runner, tmp_path):
    source = tmp_path / "brief.md"
    source.write_text(LETTER_SOURCE.replace("goal: 100", "goal: 100\ndeadline: 2030-01-31"), encoding="utf-8")
    result = runner.invoke(args=["letters", "import", str(source), "--slug", "integratie", "--deadline", "2031-06-12"])
    assert result.exit_code == 0, result.output
    assert "created" in result.output
    with app.app_context():
        letter = db.session.scalar(select(Letter).where(Letter.slug == "integratie"))
        assert letter.state == "draft"
        assert letter.deadline.isoformat() == "2031-06-12", "the flag wins over the front matter"
        assert letter.organiser == "Testorganisatie vzw" and letter.goal == 100
        assert "**antwoorden**" in letter.body, "stored as Markdown"
    assert "draft" in runner.invoke(args=["letters", "list"]).output
    assert runner.invoke(args=["letters", "open", "integratie"]).exit_code == 0
    assert "open" in runner.invoke(args=["letters", "list"]).output
    assert runner.invoke(args=["letters", "close", "integratie"]).exit_code == 0
    assert "closed" in runner.invoke(args=["letters", "list"]).output
    missing = runner.invoke(args=["letters", "open", "nope"])
    assert missing.exit_code != 0 and "no letter" in missing.output


def test_import_with_open_flag_and_a_new_version_once_signed(app, runner, tmp_path):
    source = tmp_path / "brief.md"
    source.write_text(LETTER_SOURCE, encoding="utf-8")
    assert runner.invoke(args=["letters", "import", str(source), "--slug", "b", "--open"]).exit_code == 0
    with app.app_context():
        letter = db.session.scalar(select(Letter).where(Letter.slug == "b"))
        assert letter.status == "open"
        make_signature(letter)
    source.write_text(LETTER_SOURCE.replace("antwoorden", "reacties"), encoding="utf-8")
    result = runner.invoke(args=["letters", "import", str(source), "--slug", "b"])
    assert "version 2" in result.output
    with app.app_context():
        letter = db.session.scalar(select(Letter).where(Letter.slug == "b"))
        assert letter.version == 2 and [v.number for v in letter.versions] == [1, 2]
        assert "antwoorden" in letter.versions[0].body and "reacties" in letter.versions[1].body


def test_import_refuses_bad_front_matter_with_a_clear_message(app, runner, tmp_path):
    cases = {
        "no front matter": "# Titel\n",
        "no title": "---\nsubtitle: x\n---\ntext\n",
        "bad deadline": "---\ntitle: x\ndeadline: morgen\n---\ntext\n",
        "bad time zone": "---\ntitle: x\ntimezone: Mars/Olympus\n---\ntext\n",
        "unknown key": "---\ntitle: x\nfoo: bar\n---\ntext\n",
        "bad goal": "---\ntitle: x\ngoal: veel\n---\ntext\n",
    }
    for name, text in cases.items():
        path = tmp_path / "x.md"
        path.write_text(text, encoding="utf-8")
        result = runner.invoke(args=["letters", "import", str(path), "--slug", "x"])
        assert result.exit_code != 0, name
        assert "Error:" in result.output and "Traceback" not in result.output, name
    path.write_text(LETTER_SOURCE, encoding="utf-8")
    bad_slug = runner.invoke(args=["letters", "import", str(path), "--slug", "Met Spaties"])
    assert bad_slug.exit_code != 0 and "slug" in bad_slug.output


def test_letter_body_is_rendered_from_markdown_and_sanitised(app, client):
    source = LETTER_SOURCE.replace(
        "Wij zijn benieuwd naar de **antwoorden**.",
        "## Kop\n\n*nadruk* <script>alert(1)</script> [link](javascript:alert(1))\n\n> citaat\n\n- een\n- twee\n",
    )
    with app.app_context():
        make_letter(source=source)
    html = client.get("/letters/brief").get_data(as_text=True)
    assert "<h2>Kop</h2>" in html and "<em>nadruk</em>" in html and "<blockquote>" in html and "<li>een</li>" in html
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;" in html
    assert "href=\"javascript:" not in html


def test_demo_creates_and_tops_up_and_is_harmless_twice(app, runner):
    assert runner.invoke(args=["demo", "--signatures", "30"]).exit_code == 0
    assert runner.invoke(args=["demo", "--signatures", "30"]).exit_code == 0
    with app.app_context():
        letter = db.session.scalar(select(Letter).where(Letter.slug == "demo"))
        assert letter.status == "open"
        assert db.session.scalar(select(func.count()).select_from(Signature)) == 30
        assert letter.signature_count == 30
    assert runner.invoke(args=["demo", "--signatures", "45"]).exit_code == 0
    with app.app_context():
        assert db.session.scalar(select(Letter.signature_count).where(Letter.slug == "demo")) == 45


def test_outbox_send_delivers_and_exits_zero_when_nothing_is_due(app, runner):
    result = runner.invoke(args=["outbox", "send"])
    assert result.exit_code == 0 and "0 sent" in result.output
    with app.app_context():
        letter = make_letter()
        make_signature(letter, confirmed=False)
    result = runner.invoke(args=["outbox", "send"])
    assert result.exit_code == 0 and "1 sent" in result.output
    with app.app_context():
        assert db.session.scalar(select(OutboxMessage.status)) == "sent"
    assert len(list(Path(app.config["MAIL"].path).glob("*.eml"))) == 1


def _audit(action: str) -> list[tuple[str, str | None, str]]:
    """(actor, letter slug, detail) of every entry for `action`, oldest first."""
    return [
        (entry.actor, db.session.get(Letter, entry.letter_id).slug if entry.letter_id else None, entry.detail)
        for entry in db.session.scalars(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id))
    ]


def test_letter_commands_leave_the_same_audit_entries_as_the_web(app, runner, tmp_path):
    source = tmp_path / "brief.md"
    source.write_text(LETTER_SOURCE, encoding="utf-8")
    assert runner.invoke(args=["letters", "import", str(source), "--slug", "b", "--open"]).exit_code == 0
    assert runner.invoke(args=["letters", "close", "b"]).exit_code == 0
    assert runner.invoke(args=["letters", "open", "b"]).exit_code == 0
    source.write_text(LETTER_SOURCE.replace("antwoorden", "reacties"), encoding="utf-8")
    assert runner.invoke(args=["letters", "import", str(source), "--slug", "b"]).exit_code == 0
    with app.app_context():
        assert _audit("letter.create") == [("cli", "b", "{}")]
        assert [actor for actor, _slug, _detail in _audit("letter.open")] == ["cli", "cli"]
        assert _audit("letter.close") == [("cli", "b", "{}")]
        assert _audit("letter.edit") == [("cli", "b", '{"new_version": false, "version": 1}')]
        assert db.session.scalar(select(AuditEntry.user_id).where(AuditEntry.actor == "cli").limit(1)) is None


def test_a_refused_command_leaves_no_audit_entry(app, runner):
    with app.app_context():
        make_letter("b", state="draft")
        before = db.session.scalar(select(func.count()).select_from(AuditEntry))
    result = runner.invoke(args=["letters", "close", "b"])
    assert result.exit_code != 0 and "ontwerp" in result.output
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(AuditEntry)) == before


def test_grant_finds_the_account_as_the_login_does_and_is_audited_once(app, runner):
    with app.app_context():
        make_letter("b")
        make_user("vrijwilliger@example.org")
    result = runner.invoke(args=["letters", "grant", "b", "  Vrijwilliger@Example.ORG "])
    assert result.exit_code == 0, result.output
    assert runner.invoke(args=["letters", "grant", "b", "vrijwilliger@example.org"]).exit_code == 0
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(LetterGrant)) == 1
        assert _audit("letter.grant") == [("cli", "b", '{"grantee": "vrijwilliger@example.org"}')]
    missing = runner.invoke(args=["letters", "grant", "b", "nobody@example.org"])
    assert missing.exit_code != 0 and "no user" in missing.output


def test_users_create_is_audited_as_the_cli(app, runner):
    result = runner.invoke(args=["users", "create", "Nieuw@Example.org", "--admin", "--password-stdin"], input="twelve chars long\n")
    assert result.exit_code == 0, result.output
    with app.app_context():
        assert _audit("user.create") == [("cli", None, '{"account": "nieuw@example.org", "admin": true}')]


def test_a_delivery_round_queues_reminders_applies_retention_hourly_and_delivers(app, monkeypatch):
    from datetime import timedelta

    from signatory import mail, privacy
    from signatory.models import utcnow

    purges = []
    real_purge = privacy.purge
    monkeypatch.setattr(privacy, "purge", lambda **options: purges.append(options) or real_purge(**options))
    with app.app_context():
        letter = make_letter()
        waiting = make_signature(letter, email="w@example.org", confirmed=False)
        waiting.created_at = utcnow() - timedelta(days=4)
        db.session.commit()
        delivery_round = mail.DeliveryRound()
        first = delivery_round()
        assert first.reminders == 1 and first.delivery.sent == 2, "the confirmation and its reminder"
        assert first.summary() == "outbox: 2 sent, 0 to retry, 0 failed (1 reminders queued)"
        second = delivery_round()
        assert (second.reminders, second.delivery.sent) == (0, 0)
        assert len(purges) == 1, "the retention rules run once an hour, not every round"
        mail.DeliveryRound(retention_interval=0)()
        assert len(purges) == 2


def test_outbox_send_loop_and_quickstart_run_the_same_delivery_round(app, monkeypatch):
    import threading

    from signatory import mail
    from signatory.commands import quickstart

    rounds = []
    stop = threading.Event()

    class OneRound(mail.DeliveryRound):
        def __call__(self, transport=None):
            rounds.append(threading.current_thread().name)
            stop.set()
            return mail.RoundReport(0, mail.DeliveryReport())

    monkeypatch.setattr(mail, "DeliveryRound", OneRound)
    with app.app_context():
        mail.deliver_forever(interval=0, stop=stop)
    stop.clear()
    quickstart._start_delivery_thread(app, stop=stop).join(timeout=30)
    assert rounds == ["MainThread", "outbox-delivery"]


def _flask(args, cwd, env_extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLASK_")}
    env.update(env_extra)
    return subprocess.run(
        [sys.executable, "-m", "flask", "--app", str(ROOT / "app.py"), *args],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=120,
    )


def test_flask_commands_work_from_any_directory(tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {"DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}", "MAIL_URL": f"file://{tmp_path / 'mail'}"}
    assert _flask(["db", "upgrade"], elsewhere, env).returncode == 0
    result = _flask(["demo", "--signatures", "3"], elsewhere, env)
    assert result.returncode == 0, result.stderr
    assert "demo" in _flask(["letters", "list"], elsewhere, env).stdout
    assert not (elsewhere / "instance").exists()


def test_malformed_configuration_stops_with_one_clear_line(tmp_path):
    cases = {
        "DATABASE_URL": "mysql://nope",
        "MAIL_URL": "ftp://x",
        "MAIL_FROM": "not an address",
        "BASE_URL": "127.0.0.1:5000",
        "SIGN_RATE_LIMIT": "lots",
        "RATELIMIT_STORAGE_URI": "memcached://x",
        "TRUSTED_PROXIES": "-1",
        "SECRET_KEY": "",
    }
    for name, value in cases.items():
        result = _flask(["letters", "list"], tmp_path, {name: value})
        assert result.returncode != 0, name
        assert "Traceback" not in result.stderr, (name, result.stderr)
        lines = [line for line in result.stderr.splitlines() if line.strip()]
        assert len(lines) == 1 and name in lines[0], (name, result.stderr)


def test_secret_key_is_generated_once_and_short_keys_warn(tmp_path, caplog):
    from signatory.config import load_settings

    first = load_settings(tmp_path, environ={})["SECRET_KEY"]
    second = load_settings(tmp_path, environ={})["SECRET_KEY"]
    assert first == second and len(first) >= 32
    with caplog.at_level("WARNING"):
        assert load_settings(tmp_path, environ={"SECRET_KEY": "short"})["SECRET_KEY"] == "short"
    assert "32" in caplog.text


def test_embedded_defaults(tmp_path):
    from signatory.config import load_settings

    settings = load_settings(tmp_path, environ={})
    assert settings["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path / 'signatory.sqlite3'}"
    assert settings["MAIL"].scheme == "file" and settings["MAIL"].path == tmp_path / "outbox"
    assert settings["MAIL_FROM"] == "Signatory <noreply@localhost>"
    assert settings["BASE_URL"] == "http://127.0.0.1:5000"
    assert settings["SIGN_RATE_LIMIT"] == "60 per minute;600 per hour"
    assert settings["RATELIMIT_STORAGE_URI"] == "memory://"
    assert settings["TRUSTED_PROXIES"] == 0
    assert load_settings(tmp_path, environ={"SIGN_RATE_LIMIT": "off"})["SIGN_RATE_LIMIT"] is None
    smtp = load_settings(tmp_path, environ={"MAIL_URL": "smtp+starttls://u%40x:p%3Aw@mail.example:2525"})["MAIL"]
    assert (smtp.scheme, smtp.host, smtp.port, smtp.username, smtp.password) == ("smtp+starttls", "mail.example", 2525, "u@x", "p:w")
    pg = load_settings(tmp_path, environ={"DATABASE_URL": "postgresql://u@h/db"})["SQLALCHEMY_DATABASE_URI"]
    assert pg.startswith("postgresql+psycopg://")


def test_sqlite_connections_are_tuned(sqlite_app):
    with sqlite_app.app_context():
        with db.engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert connection.exec_driver_sql("PRAGMA synchronous").scalar() == 1  # NORMAL
            assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 5000
            # Checkpoints, which hold up the next writer, come after thousands of pages, not SQLite's 1,000.
            assert connection.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar() >= 4000
            assert 0 < connection.exec_driver_sql("PRAGMA journal_size_limit").scalar() <= 128 * 1024 * 1024


def test_import_reads_the_addressee_from_the_front_matter(app, runner, tmp_path):
    source = tmp_path / "brief.md"
    source.write_text(
        LETTER_SOURCE.replace("goal: 100", "goal: 100\naddressee: Aan de leden van het Vlaams Parlement"),
        encoding="utf-8",
    )
    result = runner.invoke(args=["letters", "import", str(source), "--slug", "aan"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        letter = db.session.scalar(select(Letter).where(Letter.slug == "aan"))
        assert letter.addressee == "Aan de leden van het Vlaams Parlement"


def test_the_demo_signatories_are_varied_people_and_organisations(app, runner):
    import unicodedata

    assert runner.invoke(args=["demo"]).exit_code == 0
    with app.app_context():
        signatures = db.session.scalars(select(Signature)).all()
    assert len(signatures) == 25
    last_names = {s.last_name for s in signatures}
    assert len(last_names) == 25, "no family name twice among the first 25"
    assert 3 <= sum(s.kind == "organisation" for s in signatures) <= 8
    scripts = {unicodedata.name(s.last_name[0]).split()[0] for s in signatures}
    assert {"LATIN", "CYRILLIC", "GREEK", "ARABIC", "ETHIOPIC"} <= scripts
    assert len({s.place for s in signatures}) >= 15
    assert sum(s.first_signatory for s in signatures) == 3


SERVER_START = """
import gc, sys
sys.path.insert(0, {root!r})
import click

def start():
    import app  # what gunicorn app:app or a `flask --app app.py` command imports
    print(gc.get_freeze_count())

if {as_command}:
    click.command()(start)(standalone_mode=False, args=[])
else:
    start()
"""


def test_a_server_loads_what_requests_need_and_a_command_does_not(tmp_path):
    environment = {**os.environ, "SECRET_KEY": "x" * 32, "DATABASE_URL": f"sqlite:///{tmp_path / 'app.sqlite3'}"}
    frozen = {}
    for as_command in (False, True):
        script = SERVER_START.format(root=str(ROOT), as_command=as_command)
        result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120,
                                cwd=tmp_path, env=environment, check=True)
        frozen[as_command] = int(result.stdout.split()[0])
    assert frozen[False] > 10_000, "a server freezes what start-up loaded out of the collector"
    assert frozen[True] == 0, "a command starts without that cost"
