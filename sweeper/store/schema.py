"""The store's schema: tables, the run_summary view and the columns other modules name.

One module so that the schema is read in one place; the Alembic revisions under
sweeper/store/migrations/versions/ move stored databases to it (a change here needs one), and a
test checks that running them all yields exactly these tables.
"""
from __future__ import annotations

from sqlalchemy import (Boolean, Column, Float, ForeignKey, Index, Integer, MetaData, String, Table,
                        Text, UniqueConstraint)

# Written to golf_meta by the newest revision under migrations/versions/ (a golf from before Alembic
# reads it and refuses a store it does not understand). 1: sweeps, runs, evals. 2: runs.live_*
# progress columns, runs.artifact_path, runs.queue_pos, table `attempts`. 3: stable run keys.
# 4: sweeps.baseline, runs.step_budget; run_summary gains ttt_s, reached, steps_to_threshold, step_budget.
# 5: runs.submission_bytes (a final column), runs.extra_finals (JSON: named final evals, code bytes,
#    stop reason, ...), evals.extra (JSON: an imported log line's fields with no column).
# 6: sweeps.adaptive_design (JSON: the adaptive-seeds design a sweep decides by, so the report replays it).
SCHEMA_VERSION = 6
DEFAULT_MAX_ATTEMPTS = 3

FINAL_COLUMNS = ("steps", "train_time_s", "step_avg_ms", "num_params", "peak_memory_mib", "val_loss",
                 "val_bpb", "quant_val_loss", "quant_val_bpb", "artifact_bytes", "stopped_early",
                 "ppm_val_loss", "ppm_val_bpb", "quant_ppm_val_loss", "quant_ppm_val_bpb", "submission_bytes")
EVAL_COLUMNS = ("step", "train_time_s", "val_loss", "val_bpb", "tokens", "ppm_val_loss", "ppm_val_bpb")
_INT_FINALS = {"steps", "num_params", "artifact_bytes", "submission_bytes"}
# Written by the worker's heartbeat, read by the live view.
_LIVE_COLUMNS = ("live_step", "live_total_steps", "live_train_loss", "live_train_time_s")
_CLAIM_INFO = ("host", "device", "torch_version", "python_version", "golf_version", "git_commit")

metadata = MetaData()

meta_table = Table("golf_meta", metadata, Column("key", String(64), primary_key=True),
                   Column("value", Text, nullable=False))

sweeps_t = Table(
    "sweeps", metadata,
    Column("name", String(200), primary_key=True),
    Column("spec_text", Text),
    Column("threshold_metric", String(64)),
    Column("threshold_value", Float),
    Column("created_at", String(40), nullable=False),
    Column("baseline", String(200)),  # the variant the report compares against (spec's or first)
    # JSON: the adaptive-seeds design golf sweep decided by (sweeper.report.seed_states), `null` for
    # fixed seeds; NULL where nothing was recorded (imports, sweeps from before schema 6)
    Column("adaptive_design", Text),
)

runs_t = Table(
    "runs", metadata,
    Column("id", String(40), primary_key=True),
    Column("sweep", String(200), ForeignKey("sweeps.name", ondelete="CASCADE"), nullable=False),
    Column("variant", String(200), nullable=False),
    Column("seed", Integer),
    Column("key", String(64)),
    Column("config", Text),
    Column("status", String(16), nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("max_attempts", Integer, nullable=False, default=3),
    Column("lease_expires_at", Float),
    Column("worker", String(200)), Column("host", String(200)), Column("device", String(200)),
    Column("torch_version", String(40)), Column("python_version", String(40)),
    Column("golf_version", String(40)), Column("git_commit", String(64)),
    Column("created_at", String(40)), Column("started_at", String(40)), Column("finished_at", String(40)),
    Column("error", Text),
    Column("live_step", Integer), Column("live_total_steps", Integer),
    Column("live_train_loss", Float), Column("live_train_time_s", Float),
    Column("artifact_path", Text),
    Column("queue_pos", Integer),
    *[Column(name, Integer if name in _INT_FINALS else (Boolean if name == "stopped_early" else Float))
      for name in FINAL_COLUMNS],
    Column("source", String(16), nullable=False, default="golf"),
    Column("source_path", Text),
    Column("import_key", String(200)),
    Column("content_hash", String(128)),
    Column("step_budget", Integer),  # planned steps: config iterations, or N/M's M in an imported log
    Column("extra_finals", Text),  # JSON object; NULL when the run has none
    UniqueConstraint("sweep", "key", name="uq_runs_sweep_key"),
    UniqueConstraint("sweep", "import_key", name="uq_runs_sweep_import_key"),
)
Index("ix_runs_sweep_status", runs_t.c.sweep, runs_t.c.status)

evals_t = Table(
    "evals", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("run_id", String(40), ForeignKey("runs.id", ondelete="CASCADE"), nullable=False),
    Column("attempt", Integer, nullable=False),
    Column("step", Integer, nullable=False),
    Column("train_time_s", Float), Column("val_loss", Float), Column("val_bpb", Float),
    Column("tokens", Integer), Column("ppm_val_loss", Float), Column("ppm_val_bpb", Float),
    Column("extra", Text),  # JSON object of the eval line's other fields (imported logs); NULL if none
)
Index("ix_evals_run", evals_t.c.run_id, evals_t.c.attempt, evals_t.c.step)

attempts_t = Table(
    "attempts", metadata,
    Column("run_id", String(40), ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True),
    Column("attempt", Integer, primary_key=True),
    Column("worker", String(200)), Column("host", String(200)), Column("device", String(200)),
    Column("started_at", String(40)), Column("ended_at", String(40)),
    Column("outcome", String(16), nullable=False),  # running|finished|failed|lost|interrupted|cancelled
    Column("error", Text),
)

# Per run, with the sweep's threshold on its metric: the first crossing of the current attempt,
# linearly interpolated in train_time_s (and in steps) between the evals that bracket it, exactly as
# the report computes it; a run that never crosses is censored at its last eval (reached = 0).
# threshold_train_time_s / threshold_step keep their meaning: the first eval at/below the threshold.
_RUN_SUMMARY_VIEW = """
CREATE VIEW run_summary AS
WITH m AS (
  SELECT e.run_id, e.step, e.train_time_s AS t, s.threshold_value AS v,
         CASE s.threshold_metric WHEN 'val_bpb' THEN e.val_bpb WHEN 'ppm_val_loss' THEN e.ppm_val_loss
              WHEN 'ppm_val_bpb' THEN e.ppm_val_bpb ELSE e.val_loss END AS y
  FROM evals e JOIN runs r ON r.id = e.run_id AND e.attempt = r.attempts JOIN sweeps s ON s.name = r.sweep
  WHERE s.threshold_value IS NOT NULL AND e.train_time_s IS NOT NULL),
seen AS (SELECT run_id, MAX(t) AS last_t FROM m WHERE y IS NOT NULL GROUP BY run_id),
hit AS (SELECT run_id, MIN(step) AS step FROM m WHERE y <= v GROUP BY run_id),
crossing AS (
  SELECT h.run_id, b.t AS t1, b.step AS step1,
         CASE WHEN a.step IS NULL THEN b.t ELSE a.t + (a.y - b.v) / (a.y - b.y) * (b.t - a.t) END AS ttt_s,
         CASE WHEN a.step IS NULL THEN b.step
              ELSE a.step + (a.y - b.v) / (a.y - b.y) * (b.step - a.step) END AS steps_to_threshold
  FROM hit h JOIN m b ON b.run_id = h.run_id AND b.step = h.step
  LEFT JOIN m a ON a.run_id = h.run_id
       AND a.step = (SELECT MAX(x.step) FROM m x WHERE x.run_id = h.run_id AND x.step < h.step AND x.y IS NOT NULL))
SELECT r.id AS run_id, r.sweep, r.variant, r.seed, r.status, r.attempts, r.source, r.step_budget,
       {finals},
       s.threshold_metric, s.threshold_value,
       c.t1 AS threshold_train_time_s, c.step1 AS threshold_step,
       CASE WHEN seen.run_id IS NULL THEN NULL WHEN c.run_id IS NULL THEN 0 ELSE 1 END AS reached,
       COALESCE(c.ttt_s, seen.last_t) AS ttt_s,
       c.steps_to_threshold
FROM runs r JOIN sweeps s ON s.name = r.sweep
LEFT JOIN seen ON seen.run_id = r.id
LEFT JOIN crossing c ON c.run_id = r.id
""".format(finals=", ".join(f"r.{c}" for c in FINAL_COLUMNS))
