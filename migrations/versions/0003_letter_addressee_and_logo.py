"""letters: addressee and the organiser's logo

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01

The addressee ("Aan de leden van het Vlaams Parlement", DESIGN §5) heads the
letter on the public page and the document; the optional logo (PNG or SVG) is
kept with its media type so it can be served as an image only.
"""
import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("letters", schema=None) as batch_op:
        batch_op.add_column(sa.Column("addressee", sa.String(length=300), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("logo", sa.LargeBinary(), nullable=True))
        batch_op.add_column(sa.Column("logo_mime", sa.String(length=32), nullable=False, server_default=""))


def downgrade():
    with op.batch_alter_table("letters", schema=None) as batch_op:
        batch_op.drop_column("logo_mime")
        batch_op.drop_column("logo")
        batch_op.drop_column("addressee")
