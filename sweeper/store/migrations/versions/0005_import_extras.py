"""Schema 5 (import of every real log): the total submission size as a final column; what an
imported log holds beyond golf's columns, as JSON: named final evaluations, code bytes, stop reason
(runs.extra_finals) and an eval line's other fields (evals.extra). Runs imported before kept
the total submission size in their config: it moves to the new column.

Revision ID: 0005
Revises: 0004
"""
import json

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
    conn = op.get_bind()
    for run_id, stored in conn.execute(sa.text("SELECT id, config FROM runs WHERE source = 'import'")).all():
        try:
            size = json.loads(stored or "{}").get("submission_bytes")
        except (ValueError, AttributeError):
            continue
        if isinstance(size, int) and not isinstance(size, bool):
            conn.execute(sa.text("UPDATE runs SET submission_bytes = :b WHERE id = :id"), {"b": size, "id": run_id})
    op.execute("UPDATE golf_meta SET value = '5' WHERE key = 'schema_version'")


def downgrade() -> None:
    raise NotImplementedError("golf does not downgrade stores; open this one with the golf that wrote it")
