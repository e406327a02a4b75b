"""Schema 4 (verdicts): the sweep's baseline variant; each run's step budget, back-filled from the
stored configs (golf's `iterations`, an imported log's `total_steps`).

Revision ID: 0004
Revises: 0003
"""
import json

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def _step_budget(config: dict):
    budget = config.get("iterations", config.get("total_steps"))
    return int(budget) if isinstance(budget, (int, float)) and not isinstance(budget, bool) else None


def upgrade() -> None:
    op.add_column("sweeps", sa.Column("baseline", sa.String(200)))
    op.add_column("runs", sa.Column("step_budget", sa.Integer))
    conn = op.get_bind()
    for run_id, stored in conn.execute(sa.text("SELECT id, config FROM runs")).all():
        try:
            budget = _step_budget(json.loads(stored or "{}"))
        except (ValueError, AttributeError):
            continue
        if budget is not None:
            conn.execute(sa.text("UPDATE runs SET step_budget = :b WHERE id = :id"), {"b": budget, "id": run_id})
    op.execute("UPDATE golf_meta SET value = '4' WHERE key = 'schema_version'")


def downgrade() -> None:
    raise NotImplementedError("golf does not downgrade stores; open this one with the golf that wrote it")
