"""outbox: two fewer indexes on the signing path

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03

Every signing adds one outbox row. Its unique index on `message_id` guarded
nothing (each is 128 fresh random bits) and put a random key into a B-tree on
every signing; the unique index on `dedup_key` held an entry for every row,
though only notices and reminders have a key. The first is dropped; the
second becomes a partial unique index over the rows that have a key, which
refuses a second notice as before (DESIGN §8: fewer pages written per
signature).
"""
import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

HAS_KEY = sa.text("dedup_key IS NOT NULL")


def upgrade():
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_constraint("uq_outbox_message_id", type_="unique")
        batch_op.drop_constraint("uq_outbox_dedup_key", type_="unique")
    op.create_index(
        "uq_outbox_dedup_key", "outbox", ["dedup_key"], unique=True, sqlite_where=HAS_KEY, postgresql_where=HAS_KEY
    )


def downgrade():
    op.drop_index("uq_outbox_dedup_key", table_name="outbox")
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.create_unique_constraint("uq_outbox_dedup_key", ["dedup_key"])
        batch_op.create_unique_constraint("uq_outbox_message_id", ["message_id"])
