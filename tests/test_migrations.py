"""The migrations build the schema the models describe, and each step can be
undone and done again, on SQLite and on PostgreSQL."""
from __future__ import annotations

import shutil

import pytest
from sqlalchemy import inspect

from conftest import postgres_database


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_database(request, tmp_path):
    """A database nobody has migrated yet."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'fresh.sqlite3'}"
        return
    with postgres_database("signatory_migrations") as url:
        yield url


@pytest.fixture
def migration_app(empty_database, monkeypatch, tmp_path):
    from signatory import create_app
    from signatory.extensions import db

    monkeypatch.setenv("DATABASE_URL", empty_database)
    monkeypatch.setenv("SECRET_KEY", "test-secret-key-that-is-long-enough-for-links")
    app = create_app({"TESTING": True}, instance_path=str(tmp_path / "instance"))
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
    shutil.rmtree(tmp_path / "instance", ignore_errors=True)


def _letter_columns(app) -> dict[str, dict]:
    from signatory.extensions import db

    with app.app_context():
        db.session.remove()
        db.engine.dispose()  # a fresh inspector: no cached reflection
        return {column["name"]: column for column in inspect(db.engine).get_columns("letters")}


def test_addressee_and_logo_migration_round_trips(migration_app):
    from flask_migrate import downgrade, upgrade

    with migration_app.app_context():
        upgrade(revision="0002")
    assert "addressee" not in _letter_columns(migration_app)

    with migration_app.app_context():
        upgrade(revision="0003")
    columns = _letter_columns(migration_app)
    assert {"addressee", "logo", "logo_mime"} <= set(columns)
    assert columns["addressee"]["nullable"] is False and columns["logo"]["nullable"] is True

    with migration_app.app_context():
        downgrade(revision="0002")
    assert not {"addressee", "logo", "logo_mime"} & set(_letter_columns(migration_app))

    with migration_app.app_context():
        upgrade()
    assert {"addressee", "logo", "logo_mime"} <= set(_letter_columns(migration_app))


def test_a_letter_made_before_the_migration_gets_an_empty_addressee(migration_app):
    """Existing rows get the server default, so the NOT NULL column is filled."""
    from flask_migrate import upgrade
    from sqlalchemy import text

    from signatory.extensions import db

    with migration_app.app_context():
        upgrade(revision="0002")
        with db.engine.begin() as connection:
            connection.execute(text(
                "INSERT INTO letters (slug, title, subtitle, organiser, place_date, contact, intro, body, language,"
                " locale, timezone, state, version, signature_count, organisation_count, data_revision,"
                " publication_manner, created_at, updated_at) VALUES ('oud', 'Oud', '', '', '', '', '', 'x', 'nl',"
                " 'nl-BE', 'Europe/Brussels', 'draft', 1, 0, 0, 0, '', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
            ))
        upgrade()
        from signatory.models import Letter

        letter = db.session.query(Letter).filter_by(slug="oud").one()
        assert letter.addressee == "" and letter.logo is None and letter.logo_mime == ""
        letter.addressee = "Aan de leden van het Vlaams Parlement"
        letter.logo, letter.logo_mime = b"\x89PNG\r\n\x1a\n", "image/png"
        db.session.commit()
        db.session.expire_all()
        letter = db.session.query(Letter).filter_by(slug="oud").one()
        assert letter.addressee.startswith("Aan de leden") and letter.logo.startswith(b"\x89PNG")


def test_the_migrated_schema_matches_the_models(migration_app):
    """Every model column exists in the migrated database (no forgotten migration)."""
    from flask_migrate import upgrade

    from signatory.extensions import db

    with migration_app.app_context():
        upgrade()
        inspector = inspect(db.engine)
        for table in db.metadata.sorted_tables:
            present = {column["name"] for column in inspector.get_columns(table.name)}
            missing = {column.name for column in table.columns} - present
            assert not missing, f"{table.name} lacks {missing}: a model change without a migration"


def _outbox_indexes(app) -> dict[str, dict]:
    from signatory.extensions import db

    with app.app_context():
        db.session.remove()
        db.engine.dispose()
        inspector = inspect(db.engine)
        indexes = {index["name"]: index for index in inspector.get_indexes("outbox")}
        for constraint in inspector.get_unique_constraints("outbox"):
            indexes.setdefault(constraint["name"], {"column_names": constraint["column_names"], "unique": True})
        return indexes


def test_the_outbox_keeps_no_index_a_signing_does_not_need(migration_app):
    """0004: no unique index on message_id; the dedup_key index holds only
    the rows that have a key. Undone and done again."""
    from flask_migrate import downgrade, upgrade

    with migration_app.app_context():
        upgrade(revision="0003")
    assert {"uq_outbox_message_id", "uq_outbox_dedup_key"} <= set(_outbox_indexes(migration_app))
    with migration_app.app_context():
        upgrade()
    indexes = _outbox_indexes(migration_app)
    assert "uq_outbox_message_id" not in indexes
    assert indexes["uq_outbox_dedup_key"]["column_names"] == ["dedup_key"]
    with migration_app.app_context():
        downgrade(revision="0003")
    assert "uq_outbox_message_id" in _outbox_indexes(migration_app)
    with migration_app.app_context():
        upgrade()
    assert "uq_outbox_message_id" not in _outbox_indexes(migration_app)


def test_a_notice_is_queued_once_and_rows_without_a_key_any_number_of_times(migration_app):
    """The partial unique index still refuses a second row with the same
    dedup_key (ON CONFLICT DO NOTHING), on both databases."""
    from flask_migrate import upgrade

    from signatory import mail
    from signatory.extensions import db
    from signatory.models import OutboxMessage

    def row(dedup_key):
        return mail.outbox_row("notice", recipient="a@example.org", template="links", language="nl",
                               letter_id=None, signature_id=None, dedup_key=dedup_key)

    with migration_app.test_request_context():
        upgrade()
        mail.queue_rows([row("notice:1"), row(None), row(None)])
        mail.queue_rows([row("notice:1"), row("notice:2"), row(None)])
        assert mail.queue_row(row("notice:2")) is False
        db.session.commit()
        keys = sorted(str(key) for key in db.session.scalars(db.select(OutboxMessage.dedup_key)))
    assert keys == ["None", "None", "None", "notice:1", "notice:2"]
