"""The first schema (golf 0.1, golf_meta schema_version 1): sweeps, runs, evals.

Stores written before golf used Alembic carry golf_meta.schema_version = 1 and are stamped with
this revision when they are first opened (sweeper/store/migrate.py). The definitions are frozen
copies, never imported from schema.py: schema.py moves on, a revision stays what it was.

Revision ID: 0001
Revises:
"""
import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

FINAL_COLUMNS = ("steps", "train_time_s", "step_avg_ms", "num_params", "peak_memory_mib", "val_loss",
                 "val_bpb", "quant_val_loss", "quant_val_bpb", "artifact_bytes", "stopped_early",
                 "ppm_val_loss", "ppm_val_bpb", "quant_ppm_val_loss", "quant_ppm_val_bpb")
INT_FINALS = {"steps", "num_params", "artifact_bytes"}


def upgrade() -> None:
    meta = op.create_table("golf_meta", sa.Column("key", sa.String(64), primary_key=True),
                           sa.Column("value", sa.Text, nullable=False))
    op.bulk_insert(meta, [{"key": "schema_version", "value": "1"}])
    op.create_table(
        "sweeps",
        sa.Column("name", sa.String(200), primary_key=True),
        sa.Column("spec_text", sa.Text),
        sa.Column("threshold_metric", sa.String(64)),
        sa.Column("threshold_value", sa.Float),
        sa.Column("created_at", sa.String(40), nullable=False),
    )
    op.create_table(
        "runs",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("sweep", sa.String(200), sa.ForeignKey("sweeps.name", ondelete="CASCADE"), nullable=False),
        sa.Column("variant", sa.String(200), nullable=False),
        sa.Column("seed", sa.Integer),
        sa.Column("key", sa.String(64)),
        sa.Column("config", sa.Text),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("max_attempts", sa.Integer, nullable=False),
        sa.Column("lease_expires_at", sa.Float),
        sa.Column("worker", sa.String(200)), sa.Column("host", sa.String(200)), sa.Column("device", sa.String(200)),
        sa.Column("torch_version", sa.String(40)), sa.Column("python_version", sa.String(40)),
        sa.Column("golf_version", sa.String(40)), sa.Column("git_commit", sa.String(64)),
        sa.Column("created_at", sa.String(40)), sa.Column("started_at", sa.String(40)),
        sa.Column("finished_at", sa.String(40)),
        sa.Column("error", sa.Text),
        *[sa.Column(name, sa.Integer if name in INT_FINALS else (sa.Boolean if name == "stopped_early" else sa.Float))
          for name in FINAL_COLUMNS],
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("source_path", sa.Text),
        sa.Column("import_key", sa.String(200)),
        sa.Column("content_hash", sa.String(128)),
        sa.UniqueConstraint("sweep", "key", name="uq_runs_sweep_key"),
        sa.UniqueConstraint("sweep", "import_key", name="uq_runs_sweep_import_key"),
    )
    op.create_index("ix_runs_sweep_status", "runs", ["sweep", "status"])
    op.create_table(
        "evals",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("run_id", sa.String(40), sa.ForeignKey("runs.id", ondelete="CASCADE"), nullable=False),
        sa.Column("attempt", sa.Integer, nullable=False),
        sa.Column("step", sa.Integer, nullable=False),
        sa.Column("train_time_s", sa.Float), sa.Column("val_loss", sa.Float), sa.Column("val_bpb", sa.Float),
        sa.Column("tokens", sa.Integer), sa.Column("ppm_val_loss", sa.Float), sa.Column("ppm_val_bpb", sa.Float),
    )
    op.create_index("ix_evals_run", "evals", ["run_id", "attempt", "step"])


def downgrade() -> None:
    raise NotImplementedError("golf does not downgrade stores; open this one with the golf that wrote it")
