"""Schema 6 (adaptive seeds in the report): the adaptive-seeds design a sweep decides by, as JSON,
so that `golf report` replays each variant's state with the sweep's own settings (a spec's
`seeds: {min, max, ...}` or `golf sweep --adaptive --seeds N` given on the command line).
Sweeps stored before keep NULL: nothing recorded.

Revision ID: 0006
Revises: 0005
"""
import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("sweeps", sa.Column("adaptive_design", sa.Text))
    op.execute("UPDATE golf_meta SET value = '6' WHERE key = 'schema_version'")


def downgrade() -> None:
    raise NotImplementedError("golf does not downgrade stores; open this one with the golf that wrote it")
