"""Stable run keys: a run's key hashes only the config fields that differ from their defaults.

Before, `TrainConfig.run_key()` hashed every field, so adding any field to TrainConfig changed
every key and a re-run spec trained its finished runs again. This revision rewrites the key of
every queued-by-golf run whose key was made by the old rule (the hash of its whole stored
config), so old results keep deduplicating against today's specs. Keys made any other way are
left alone. Run ids do not change (evals and attempts point at them).

The defaults and the core version are frozen here as they were at this revision: the rule must
give tomorrow the key it gives today, whatever TrainConfig becomes.

Revision ID: 0003
Revises: 0002
"""
import hashlib
import json

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

TRAIN_CORE_VERSION = 1
DEFAULTS = {
    "data_path": "", "tokenizer_path": "", "val_max_tokens": 0, "vocab_size": 1024, "num_layers": 9,
    "model_dim": 512, "num_heads": 8, "num_kv_heads": 4, "mlp_mult": 2, "rope_base": 10000.0,
    "logit_softcap": 30.0, "qk_gain_init": 1.5, "tied_embed_init_std": 0.005, "seed": 1337,
    "iterations": 20000, "warmup_steps": 20, "warmdown_iters": 1200, "max_wallclock_seconds": 600.0,
    "train_batch_tokens": 524288, "train_seq_len": 1024, "grad_accum_steps": 8, "val_loss_every": 1000,
    "val_batch_size": 524288, "train_log_every": 200, "tied_embed_lr": 0.05, "matrix_lr": 0.04,
    "scalar_lr": 0.04, "muon_momentum": 0.95, "muon_backend_steps": 5, "muon_momentum_warmup_start": 0.85,
    "muon_momentum_warmup_steps": 500, "beta1": 0.9, "beta2": 0.95, "adam_eps": 1e-08, "grad_clip_norm": 0.0,
    "device": "auto", "compile": True, "gpus_per_run": 1, "value_embeds": [], "value_residual": False,
    "gated_attention": False, "ppm_c": False, "ppm_c_order": 2, "ppm_c_weight": 0.05, "fp16_embed": False,
    "debug_nan_at_step": 0,
}


def _key(config: dict) -> str:
    payload = json.dumps({"core": TRAIN_CORE_VERSION, "config": config}, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


def upgrade() -> None:
    conn = op.get_bind()
    rows = conn.execute(sa.text("SELECT id, key, config FROM runs WHERE source = 'golf' AND key IS NOT NULL")).all()
    for run_id, key, stored in rows:
        try:
            config = json.loads(stored or "{}")
        except ValueError:
            continue
        if not isinstance(config, dict) or _key(config) != key:
            continue  # not a key of the old rule: leave it as it is
        changed = {k: v for k, v in config.items() if k not in DEFAULTS or v != DEFAULTS[k]}
        conn.execute(sa.text("UPDATE runs SET key = :key WHERE id = :id"), {"key": _key(changed), "id": run_id})
    op.execute("UPDATE golf_meta SET value = '3' WHERE key = 'schema_version'")


def downgrade() -> None:
    raise NotImplementedError("golf does not downgrade stores; open this one with the golf that wrote it")
