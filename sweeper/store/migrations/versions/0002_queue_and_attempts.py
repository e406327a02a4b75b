"""Schema 2 (the queue): live progress, artifact path and queue order on runs; table `attempts`.

Revision ID: 0002
Revises: 0001
"""
import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    for column in (sa.Column("live_step", sa.Integer), sa.Column("live_total_steps", sa.Integer),
                   sa.Column("live_train_loss", sa.Float), sa.Column("live_train_time_s", sa.Float),
                   sa.Column("artifact_path", sa.Text), sa.Column("queue_pos", sa.Integer)):
        op.add_column("runs", column)
    op.create_table(
        "attempts",
        sa.Column("run_id", sa.String(40), sa.ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("attempt", sa.Integer, primary_key=True),
        sa.Column("worker", sa.String(200)), sa.Column("host", sa.String(200)), sa.Column("device", sa.String(200)),
        sa.Column("started_at", sa.String(40)), sa.Column("ended_at", sa.String(40)),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("error", sa.Text),
    )
    op.execute("UPDATE golf_meta SET value = '2' WHERE key = 'schema_version'")


def downgrade() -> None:
    raise NotImplementedError("golf does not downgrade stores; open this one with the golf that wrote it")
