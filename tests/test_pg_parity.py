"""PostgreSQL parity: the same runs stored in SQLite and in PostgreSQL give the same `golf report`.

The real fixture logs are imported into both stores with `golf import`; every report form that
reads the store differently (by time, steps and final loss, val_bpb, the speedrun rule) must come
out byte-identical as JSON, and so must the `run_summary` view a notebook reads.
"""
import uuid
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from cli import app
from sweeper.store import Store

FIXTURES = Path(__file__).resolve().parent / "fixtures"
LOGS = [FIXTURES / "modded-nanogpt-value-embeddings" / "results.md",
        FIXTURES / "modded-nanogpt-value-embeddings" / "t-test-results.md",
        FIXTURES / "parameter-golf" / "naive-baseline-train.log"]
# (sweep suffix, log, report arguments)
REPORTS = [
    ("ve", LOGS[0], ["--threshold", "2.92"]),
    ("ve", LOGS[0], ["--threshold", "2.92", "--by", "steps"]),
    ("ve", LOGS[0], ["--threshold", "2.92", "--by", "final"]),
    ("tt", LOGS[1], ["--threshold", "3.28", "--baseline", "25", "--rule", "speedrun", "--target", "3.28"]),
    ("pg", LOGS[2], ["--threshold", "1.25", "--metric", "val_bpb"]),
]


def _golf(*args: str) -> str:
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 0, (args, result.output, result.exception)
    return result.stdout


@pytest.mark.postgres
def test_report_json_is_identical_on_sqlite_and_postgresql(postgres_url, tmp_path):
    urls = {"sqlite": f"sqlite:///{tmp_path / 'results.db'}", "postgresql": postgres_url}
    prefix = f"parity{uuid.uuid4().hex[:6]}-"  # the PostgreSQL database is shared by the session
    for url in urls.values():
        for suffix, log in {(s, log) for s, log, _ in REPORTS}:
            _golf("import", str(log), "--sweep", prefix + suffix, "--db", url)

    for suffix, _, args in REPORTS:
        sweep = prefix + suffix
        reports = {name: _golf("report", sweep, *args, "--format", "json", "--db", url) for name, url in urls.items()}
        # A SQLite file's curves are read by connectorx, PostgreSQL's (and a SQLite file: URI's) by
        # the driver: all must agree.
        driver = _golf("report", sweep, *args, "--format", "json", "--db",
                       urls["sqlite"].replace("sqlite:///", "sqlite:///file:") + "?uri=true")
        assert reports["sqlite"] == reports["postgresql"] == driver, (sweep, args)
        assert len(reports["sqlite"]) > 100  # a real table, not two empty ones

    views = {}
    for name, url in urls.items():
        store = Store(url)
        query = text("SELECT * FROM run_summary WHERE sweep LIKE :sweeps")
        views[name] = (pd.read_sql(query, store.engine, params={"sweeps": prefix + "%"})
                       .sort_values("run_id").reset_index(drop=True))
        store.close()
        # SQLite has no boolean type: its driver hands back 0/1 where PostgreSQL's gives False/True.
        views[name]["stopped_early"] = views[name]["stopped_early"].astype("boolean")
    assert len(views["sqlite"]) == 57 + 65 + 1
    pd.testing.assert_frame_equal(views["sqlite"], views["postgresql"])
