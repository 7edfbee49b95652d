"""outbox: render messages at delivery

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24

The signing request no longer renders its confirmation e-mail: it stores the
template, a JSON context and the language, and the sender renders them.
"""
import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("template", sa.String(length=64), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("context", sa.Text(), nullable=False, server_default="{}"))
        batch_op.add_column(sa.Column("language", sa.String(length=8), nullable=False, server_default="nl"))


def downgrade():
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_column("language")
        batch_op.drop_column("context")
        batch_op.drop_column("template")
