"""Schema 5 (import of every real log): the total submission size as a final column; what an
imported log holds beyond golf's columns, as JSON: named final evaluations, code bytes, stop reason
(runs.extra_finals) and an eval line's other fields (evals.extra).

Revision ID: 0005
Revises: 0004
"""
import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("runs", sa.Column("submission_bytes", sa.Integer))
    op.add_column("runs", sa.Column("extra_finals", sa.Text))
    op.add_column("evals", sa.Column("extra", sa.Text))
    op.execute("UPDATE golf_meta SET value = '5' WHERE key = 'schema_version'")


def downgrade() -> None:
    raise NotImplementedError("golf does not downgrade stores; open this one with the golf that wrote it")
