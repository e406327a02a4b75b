"""Imported runs (golf import): one upsert per log run, idempotent by (sweep, import key).

An imported run has source='import' and status 'finished' when the log has final metrics or at
least one eval, else 'failed' (its error says the log had no results). Re-importing a changed
log (new content hash) replaces the run's curve, or extends it when the stored curve is a prefix
of the new one (a live log imported again); an unchanged one is left alone. A log that holds a
restarted job's earlier attempts stores them as golf stores its own retried runs: evals under their
attempt number, one `attempts` row each (outcome 'interrupted'), runs.attempts = the last.
"""
from __future__ import annotations

import json
from typing import Optional

from sqlalchemy import delete, func, insert, select, update

from sweeper.store.engine import Database, retry_transient, utc_now
from sweeper.store.records import eval_row, run_id_for, step_budget
from sweeper.store.schema import EVAL_COLUMNS, FINAL_COLUMNS, attempts_t, evals_t, runs_t, sweeps_t


class ImportOps:
    """Store methods of `golf import`. Needs `self.db` (a Database)."""

    db: Database

    @retry_transient
    def upsert_imported_run(self, sweep: str, import_key: str, content_hash: str, variant: str,
                            seed: Optional[int], evals: list[dict], final: dict, source_path: str,
                            config: Optional[dict] = None, extra_finals: Optional[dict] = None,
                            alias_same_content: bool = False, attempts: Optional[list[dict]] = None) -> tuple[str, int]:
        """Store one imported run -> (outcome, evals written). Outcomes: 'unchanged' (same key and
        content), 'grown' (same key; the stored curve is a prefix of the new one, as when a live
        log is imported again: only the new evals are added), 'replaced' (same key, other content),
        'alias' (with `alias_same_content`: a new key whose content hash is already stored under
        another key of the sweep; the key is added to that run's config 'aliases'), 'added'.
        `attempts`: a log that restarted holds several attempts: one row each (attempt, outcome,
        error; the last is the run's), and each eval names its "attempt"; None for one attempt."""
        finals = {k: final.get(k) for k in FINAL_COLUMNS if final.get(k) is not None}
        status = "finished" if (finals or evals) else "failed"
        values = dict(sweep=sweep, variant=variant, seed=seed, config=json.dumps(config or {}, sort_keys=True),
                      status=status, attempts=len(attempts or [1]), max_attempts=len(attempts or [1]),
                      source="import", source_path=source_path,
                      import_key=import_key, content_hash=content_hash, finished_at=utc_now(),
                      step_budget=step_budget({**(extra_finals or {}), **(config or {})}),
                      error=None if status == "finished" else "imported log has no evals and no final metrics",
                      extra_finals=json.dumps(extra_finals, sort_keys=True) if extra_finals else None,
                      **{c: finals.get(c) for c in FINAL_COLUMNS})
        with self.db.write(f"store imported run {import_key!r} ({source_path})") as conn:
            if conn.execute(select(sweeps_t.c.name).where(sweeps_t.c.name == sweep)).first() is None:
                conn.execute(insert(sweeps_t).values(name=sweep, created_at=utc_now()))
            row = conn.execute(select(runs_t.c.id, runs_t.c.content_hash).where(
                runs_t.c.sweep == sweep, runs_t.c.import_key == import_key)).first()
            if row is not None and row.content_hash == content_hash:
                return "unchanged", 0
            if row is None and alias_same_content:
                same = conn.execute(select(runs_t.c.id, runs_t.c.config).where(
                    runs_t.c.sweep == sweep, runs_t.c.content_hash == content_hash)).first()
                if same is not None:
                    _add_alias(conn, same.id, same.config, import_key)
                    return "alias", 0
            if row is None:
                run_id = run_id_for(sweep, "import", import_key)
                # queue_pos keeps the import order, so "the first variant imported" is well defined
                pos = conn.execute(select(func.coalesce(func.max(runs_t.c.queue_pos), -1))
                                   .where(runs_t.c.sweep == sweep)).scalar() + 1
                conn.execute(insert(runs_t).values(id=run_id, created_at=utc_now(), queue_pos=pos, **values))
                outcome, new_evals = "added", evals
            else:
                run_id = row.id
                stored = conn.execute(select(evals_t.c.attempt, *[evals_t.c[c] for c in EVAL_COLUMNS]).where(
                    evals_t.c.run_id == run_id).order_by(evals_t.c.id)).all()
                if len(stored) < len(evals) and all(tuple(old) == (e.get("attempt", 1), *(e.get(c) for c in EVAL_COLUMNS))
                                                    for old, e in zip(stored, evals)):
                    outcome, new_evals = "grown", evals[len(stored):]
                else:
                    outcome, new_evals = "replaced", evals
                    conn.execute(delete(evals_t).where(evals_t.c.run_id == run_id))
                conn.execute(update(runs_t).where(runs_t.c.id == run_id).values(**values))
            if new_evals:
                conn.execute(insert(evals_t), [eval_row(run_id, e.get("attempt", 1), e) for e in new_evals])
            conn.execute(delete(attempts_t).where(attempts_t.c.run_id == run_id))
            if attempts:
                conn.execute(insert(attempts_t), [{**a, "run_id": run_id, "ended_at": values["finished_at"]}
                                                  for a in attempts])
            return outcome, len(new_evals)


def _add_alias(conn, run_id: str, config_text: Optional[str], alias: str) -> None:
    config = json.loads(config_text or "{}")
    if alias not in config.get("aliases", []):
        config["aliases"] = sorted([*config.get("aliases", []), alias])
        conn.execute(update(runs_t).where(runs_t.c.id == run_id).values(config=json.dumps(config, sort_keys=True)))
