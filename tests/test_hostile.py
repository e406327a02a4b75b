"""One rule, driven through the real CLI: every command does what it says, or exits 2 with one line
naming the input and what was expected; no traceback, no password, and the store unchanged.

Each row is a hostile input from issue 18 (or one found since). All rows run in this process
through typer's CliRunner on the real app and one real SQLite file, whose full dump is compared
before and after every row. Add a row for every new way to hurt golf.
"""
import json
import shutil
import sqlite3
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from cli import app
from model.data import write_shard

GOOD = ("name: good\nbase: tiny\nseeds: 1\nconfig: {iterations: 4}\n"
        "threshold: {metric: val_loss, value: 6.0}\nvariants:\n  baseline: {}\n")
SECRET = "s3cr3t-pw"


def _spec(body: str, name: str = "h") -> str:
    return f"name: {name}\nbase: tiny\n{body}variants:\n  baseline: {{}}\n"


def _alias_bomb() -> str:
    levels = ["l0: &l0 [" + ",".join(["x"] * 9) + "]"]
    levels += [f"l{i}: &l{i} [" + ",".join([f"*l{i - 1}"] * 9) + "]" for i in range(1, 9)]
    return "description: x\nbomb:\n" + "".join(f"  {line}\n" for line in levels)


def _grid(n: int) -> str:
    values = ",".join(str(0.01 + i * 1e-5) for i in range(n))
    return f"grid:\n  matrix_lr: [{values}]\n  scalar_lr: [{values}]\n"


SWEEP = ["sweep", "{dir}/spec.yaml", "--detach", "--db", "{db}"]

# (id, argv, files to write first, expected exit code, text the message must contain)
CASES = [
    # ---- specs: resource bombs, tags, seeds ----
    ("alias bomb", SWEEP, {"spec.yaml": _spec(_alias_bomb())}, 2, "aliases expand this spec to more than 100,000"),
    ("million-run grid", SWEEP, {"spec.yaml": _spec(_grid(1000))}, 2, "1,000,000 runs"),
    ("grid over --max-runs", SWEEP + ["--max-runs", "10"], {"spec.yaml": _spec(_grid(4))}, 2,
     "more than the limit of 10"),
    ("seeds 100000000", SWEEP, {"spec.yaml": _spec("seeds: 100000000\n")}, 2, "expected at most 10,000 seeds"),
    ("--seeds 20000", SWEEP + ["--seeds", "20000"], {"spec.yaml": GOOD}, 2, "20,000 seeds (expected at most 10,000)"),
    ("--seeds 0", SWEEP + ["--seeds", "0"], {"spec.yaml": GOOD}, 2, "--seeds: got 0"),
    ("5000 nested brackets", SWEEP, {"spec.yaml": _spec("description: " + "[" * 5000 + "]" * 5000 + "\n")}, 2,
     "spec.yaml:3: nested deeper than 32 levels"),
    ("seed beyond int64", SWEEP, {"spec.yaml": _spec("seeds: [99999999999999999999]\n")}, 2,
     "seeds.0: got 99999999999999999999"),
    ("negative seed", SWEEP, {"spec.yaml": _spec("seeds: [-1]\n")}, 2, "greater than or equal to 0"),
    ("python tag on a mapping", SWEEP, {"spec.yaml": _spec("config: !!python/object:os.system {}\n")}, 2,
     "spec.yaml:3: YAML tag '!!python/object:os.system' is not allowed"),
    ("python tag on a list", SWEEP, {"spec.yaml": _spec("description: !!python/tuple [a]\n")}, 2,
     "YAML tag '!!python/tuple' is not allowed"),
    ("python tag through %TAG", SWEEP, {"spec.yaml": "%TAG !p! tag:yaml.org,2002:python/\n---\n"
                                        + _spec("description: !p!name:os.system x\n")}, 2,
     "YAML tag '!!python/name:os.system' is not allowed"),
    ("recursive anchor", SWEEP, {"spec.yaml": _spec("description: &r [*r]\n")}, 2, "refers to a node that contains it"),
    ("spec not UTF-8", SWEEP, {"spec.yaml": b"name: \xff\xfe\n"}, 2, "cannot read spec"),
    ("spec is a folder", ["sweep", "{dir}", "--detach", "--db", "{db}"], {}, 2, "cannot read spec"),
    ("spec check of a bomb", ["spec", "check", "{dir}/spec.yaml"], {"spec.yaml": _spec(_alias_bomb())}, 2,
     "1 of 1 spec files have errors"),
    # ---- names that would reach the file system ----
    ("name ../../x", SWEEP, {"spec.yaml": _spec("", name="../../x")}, 2, "contains a path separator"),
    ("absolute name", SWEEP, {"spec.yaml": _spec("", name="/tmp/golf-x")}, 2, "contains a path separator"),
    ("name with a newline", SWEEP, {"spec.yaml": _spec("", name='"a\\nb"')}, 2, "control character '\\n'"),
    ("hidden name", SWEEP, {"spec.yaml": _spec("", name=".x")}, 2, "starts with a dot"),
    ("--name ../x", SWEEP + ["--name", "../x"], {"spec.yaml": GOOD}, 2, "--name '../x': it contains a path separator"),
    ("another spec under a sweep's name", SWEEP, {"spec.yaml": GOOD.replace("iterations: 4", "iterations: 5")}, 2,
     "pass --name"),
    ("another threshold under a sweep's name", SWEEP, {"spec.yaml": GOOD.replace("value: 6.0", "value: 5.0")}, 2,
     "its threshold is val_loss <= 6.0"),
    # ---- CLI values ----
    ("--workers -1", SWEEP + ["--workers", "-1"], {"spec.yaml": GOOD}, 2, "Invalid value for '--workers'"),
    ("--workers 0", ["worker", "--workers", "0", "--db", "{db}"], {}, 2, "Invalid value for '--workers'"),
    ("--lease -5", SWEEP + ["--lease", "-5"], {"spec.yaml": GOOD}, 2, "--lease: got -5.0 (expected at least 1 second)"),
    ("--lease 0 (worker)", ["worker", "--lease", "0", "--db", "{db}"], {}, 2, "--lease: got 0.0"),
    ("--gpus-per-run 0", ["worker", "--gpus-per-run", "0", "--db", "{db}"], {}, 2, "Invalid value for '--gpus-per-run'"),
    ("--plot into a missing folder", ["report", "good", "--plot", "/no/such/dir/x.png", "--db", "{db}"], {}, 2,
     "--plot /no/such/dir/x.png: folder /no/such/dir does not exist"),
    ("retry --attempts 0", ["retry", "good", "--attempts", "0", "--db", "{db}"], {}, 2, "Invalid value for '--attempts'"),
    ("--max-runs 0", SWEEP + ["--max-runs", "0"], {"spec.yaml": GOOD}, 2, "Invalid value for '--max-runs'"),
    ("unknown command", ["nosuch"], {}, 2, "No such command 'nosuch'"),
    ("unknown option", ["sweep", "--wat"], {}, 2, "No such option: --wat"),
    ("missing argument", ["sweep"], {}, 2, "Missing argument"),
    # ---- store URLs and schema ----
    ("mysql URL", ["status", "--db", f"mysql://u:{SECRET}@h/db"], {}, 2,
     "golf does not support 'mysql' (supported: sqlite:///PATH, postgresql+psycopg://USER@HOST/DB)"),
    ("in-memory SQLite sweep", ["sweep", "{dir}/spec.yaml", "--detach", "--db", "sqlite://"], {"spec.yaml": GOOD}, 2,
     "in-memory SQLite database"),
    ("in-memory SQLite status", ["status", "--db", "sqlite:///:memory:"], {}, 2, "in-memory SQLite database"),
    ("password in --db", ["status", "--db", f"postgresql+psycopg://golf:{SECRET}@127.0.0.1:1/x"], {}, 2,
     "(postgresql+psycopg://golf:***@127.0.0.1:1/x): (psycopg.OperationalError) connection failed"),
    ("password in $GOLF_DB", ["status"], {"env:GOLF_DB": f"postgresql+psycopg://golf:{SECRET}@127.0.0.1:1/x"}, 2,
     "golf:***@127.0.0.1"),
    ("not a URL", ["status", "--db", "results.db"], {}, 2, "is not a URL (expected one of sqlite:///PATH, "
     "postgresql+psycopg://USER@HOST/DB; for this file: sqlite:///results.db)"),
    ("--db in a missing folder", ["status", "--db", "sqlite:///{dir}/nofolder/results.db"], {}, 2,
     "nofolder' does not exist (expected an existing folder for the SQLite file"),
    ("non-numeric schema version", ["status", "--db", "sqlite:///{dir}/bad_version.db"], {"bad_version.db": None}, 2,
     "golf_meta.schema_version is 'abc', not a number"),
    ("unknown sweep", ["runs", "[bold]nosuch", "--db", "{db}"], {}, 2, "no sweep named '[bold]nosuch'"),
    ("unknown run", ["show", "zzzz", "--db", "{db}"], {}, 2, "no run with id 'zzzz'"),
    ("cancel unknown", ["cancel", "zzzz", "--db", "{db}"], {}, 2,
     "no sweep named 'zzzz' in sqlite:///{db} (it has 'good'), and no run id starts with 'zzzz'"),
    ("retry unknown", ["retry", "zzzz", "--db", "{db}"], {}, 2, "and no run id starts with 'zzzz'"),
    ("report unknown", ["report", "nosuch", "--db", "{db}"], {}, 2, "no sweep named 'nosuch'"),
    ("report misspelt", ["report", "goood", "--db", "{db}"], {}, 2, "(did you mean 'good'? it has 'good')"),
    # ---- data ----
    ("prepare: missing --text", ["data", "prepare", "--text", "{dir}/none.txt", "--out", "{dir}/out"], {}, 2,
     "none.txt: cannot read it (No such file or directory)"),
    ("prepare: --vocab 0", ["data", "prepare", "--text", "{dir}/t.txt", "--out", "{dir}/out", "--vocab", "0"],
     {"t.txt": "some text\n"}, 2, "--vocab: got 0 (expected 1..65536"),
    ("prepare: --vocab 100000", ["data", "prepare", "--text", "{dir}/t.txt", "--out", "{dir}/out", "--vocab", "100000"],
     {"t.txt": "some text\n"}, 2, "--vocab: got 100000"),
    ("prepare: --vocab too large for the text", ["data", "prepare", "--text", "{dir}/t.txt", "--out", "{dir}/out",
                                                 "--vocab", "5000"], {"t.txt": "some text here.\n\n" * 50}, 2,
     "--vocab 5000: Vocabulary size too high (5000)"),
    ("prepare: not UTF-8", ["data", "prepare", "--text", "{dir}/t.txt", "--out", "{dir}/out"],
     {"t.txt": b"\xff\xfe text"}, 2, "t.txt: not UTF-8 text (byte 0"),
    ("prepare: --out holds other files", ["data", "prepare", "--text", "{dir}/t.txt", "--out", "{dir}"],
     {"t.txt": "some text\n"}, 2, "holds files golf did not write"),
    ("train: empty train shard", ["train", "--set", "data_path={data}", "--set", "iterations=1"],
     {"data:golf_train_000000.bin": []}, 2, "golf_train_000000.bin: shard holds no tokens"),
    ("train: token id >= vocab", ["train", "--set", "data_path={data}", "--set", "iterations=1"],
     {"data:golf_train_000000.bin": [1, 2, 5000, 3] * 2000}, 2, "golf_train_000000.bin: token id 5000 >= vocab size 1024"),
]


def _dump(db: Path) -> list[str]:
    with sqlite3.connect(db) as conn:
        return list(conn.iterdump())


@pytest.fixture(scope="module")
def tiny_data(tmp_path_factory) -> Path:
    """A small real data folder (tokenizer with vocab 1024, train and val shards)."""
    import inspect
    import json
    import os

    from model.prepare import prepare
    root = tmp_path_factory.mktemp("hostile_data")
    text = root / "text.txt"
    text.write_text("\n\n".join(inspect.getdoc(o) or "" for _, o in inspect.getmembers(os)) * 3
                    + "\n\n".join(inspect.getdoc(o) or "" for _, o in inspect.getmembers(json)))
    prepare(root / "data", [text], 1024)
    return root / "data"


@pytest.fixture(scope="module")
def store_db(tmp_path_factory) -> Path:
    """A real store holding one enqueued sweep ('good'), shared by every row."""
    root = tmp_path_factory.mktemp("hostile_store")
    (root / "good.yaml").write_text(GOOD)
    db = root / "results.db"
    out = CliRunner().invoke(app, ["sweep", str(root / "good.yaml"), "--detach", "--db", f"sqlite:///{db}"])
    assert out.exit_code == 0, out.output
    return db


def _bad_version_db(path: Path) -> None:
    """A store as golf wrote it before Alembic (no alembic_version: golf_meta says the schema) with a
    damaged version; Alembic's own table would be read first otherwise."""
    from sweeper.store import Store
    Store(f"sqlite:///{path}").close()
    with sqlite3.connect(path) as conn:
        conn.execute("DROP TABLE alembic_version")
        conn.execute("UPDATE golf_meta SET value = 'abc' WHERE key = 'schema_version'")


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_hostile_input_gets_one_clear_line_and_changes_nothing(case, tmp_path, store_db, tiny_data, monkeypatch):
    _, argv, files, code, expected = case
    monkeypatch.chdir(tmp_path)  # nothing may land outside it (.golf/, results.db)
    monkeypatch.delenv("GOLF_DB", raising=False)
    data = tmp_path / "data"
    env = {}
    for name, content in files.items():
        if name.startswith("env:"):
            env[name[4:]] = content
        elif name.startswith("data:"):
            shutil.copytree(tiny_data, data, dirs_exist_ok=True)
            write_shard(data / name[5:], np.asarray(content, dtype=np.int64))
        elif name == "bad_version.db":
            _bad_version_db(tmp_path / name)
        else:
            (tmp_path / name).write_bytes(content if isinstance(content, bytes) else content.encode())
    before = _dump(store_db)
    args = [a.format(dir=tmp_path, db=f"sqlite:///{store_db}", data=data) for a in argv]
    result = CliRunner().invoke(app, args, env=env)
    output = result.output
    assert result.exit_code == code, output
    assert expected.format(dir=tmp_path, db=store_db) in output, output
    assert "Traceback" not in output and SECRET not in output, output
    lines = [line for line in output.splitlines() if line.startswith("error:")]
    assert len(lines) >= 1 and all("\n" not in line for line in lines)
    assert _dump(store_db) == before  # the store is unchanged
    assert not (tmp_path / ".golf").exists() and not Path("/tmp/golf-x").exists()
    if "--out" in argv:
        out = Path(args[args.index("--out") + 1])
        assert not (out / "tokenizer.model").exists()  # nothing half-written
        assert not list(out.parent.glob(f".{out.name}.tmp-*"))


def test_retry_with_nothing_to_retry_says_why(store_db):
    result = CliRunner().invoke(app, ["retry", "good", "--db", f"sqlite:///{store_db}"])
    assert result.exit_code == 0, result.output
    assert "0 runs back in the queue: none is failed or cancelled" in result.output


@pytest.mark.parametrize("argv", [["status"], ["runs", "x"], ["show", "abc"], ["retry", "x"], ["cancel", "x"],
                                  ["report", "x"], ["plan", "x"]])
def test_reading_commands_in_the_wrong_folder_leave_no_empty_store_behind(argv, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("GOLF_DB", raising=False)
    result = CliRunner().invoke(app, argv)
    assert result.exit_code == 2, result.output
    assert "no results store at 'results.db' (golf sweep or golf import creates one" in " ".join(result.output.split())
    assert not (tmp_path / "results.db").exists()


def test_report_before_any_run_finished_says_so_instead_of_an_empty_table(store_db, tmp_path):
    db = f"sqlite:///{store_db}"
    png, page = tmp_path / "c.png", tmp_path / "c.html"
    result = CliRunner().invoke(app, ["report", "good", "--db", db, "--plot", str(png), "--html", str(page)])
    assert result.exit_code == 0, result.output
    assert "note: sweep good has no finished run yet (1 queued): nothing to rank or plot" in result.output
    assert "┏" not in result.output and not png.exists()  # no empty table, no empty plot
    assert "No finished run yet" in page.read_text()       # the page shows the queue
    as_json = CliRunner().invoke(app, ["report", "good", "--db", db, "--format", "json"])
    assert as_json.exit_code == 0 and as_json.stdout.strip() == "[]", as_json.output


def test_markup_in_a_name_is_shown_as_written_and_the_same_spec_resumes(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    spec = tmp_path / "m.yaml"
    spec.write_text('name: "[bold]x"\nbase: tiny\nseeds: 1\nvariants:\n  "[red]base": {}\n')
    db = f"sqlite:///{tmp_path / 'r.db'}"
    runner = CliRunner()
    first = runner.invoke(app, ["sweep", str(spec), "--detach", "--db", db])
    assert first.exit_code == 0 and "sweep [bold]x: 1 runs" in first.output, first.output
    again = runner.invoke(app, ["sweep", str(spec), "--detach", "--db", db])
    assert again.exit_code == 0 and "(0 new)" in again.output, again.output
    runs = runner.invoke(app, ["runs", "[bold]x", "--db", db])
    assert runs.exit_code == 0 and "[bold]x: 1 run(s)" in runs.output and "[red]base" in runs.output
    status = runner.invoke(app, ["status", "--db", db])
    assert "[bold]x" in status.output


def test_read_only_commands_do_not_wait_for_a_writer(store_db, tmp_path):
    """A writer holds SQLite's write lock; status, runs, show and report still answer (with the lock
    taken they would wait for busy_timeout, 30 s, then fail)."""
    from sweeper.store import Store
    run_id = Store(f"sqlite:///{store_db}").list_runs("good")[0].id
    writer = sqlite3.connect(store_db, isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")
    try:
        db = f"sqlite:///{store_db}"
        for argv in (["status", "--db", db], ["runs", "good", "--db", db], ["show", run_id, "--db", db],
                     ["report", "good", "--format", "json", "--db", db]):
            result = CliRunner().invoke(app, argv)
            assert result.exit_code == 0, (argv, result.output)
    finally:
        writer.execute("ROLLBACK")
        writer.close()


def test_train_prints_its_finals_readably(tiny_data, tmp_path):
    """`golf train`'s last lines: finals at 6 significant digits, none of the metrics it does not have."""
    out = tmp_path / "o"
    result = CliRunner().invoke(app, ["train", "--set", f"data_path={tiny_data}", "--set", "iterations=2",
                                      "--out", str(out)])
    assert result.exit_code == 0, result.output
    finals = dict(line.strip().split(": ", 1) for line in result.output.splitlines() if line.startswith("    "))
    assert len(finals["val_loss"].replace(".", "")) <= 7 and float(finals["val_loss"]) > 0, finals
    assert "ppm_val_loss" not in finals and "kind" not in finals and "None" not in result.output
    assert f"wrote {out}: final_model.int8.ptz" in result.output


def test_report_while_the_baseline_has_not_finished_says_what_it_waits_for(tmp_path):
    from sweeper.store import Store

    spec = tmp_path / "w.yaml"
    spec.write_text(_spec("seeds: 1\nthreshold: {metric: val_loss, value: 6.0}\n", name="w") + "  fast: {matrix_lr: 0.05}\n")
    db = f"sqlite:///{tmp_path / 'r.db'}"
    assert CliRunner().invoke(app, ["sweep", str(spec), "--detach", "--db", db]).exit_code == 0
    store = Store(db)
    run = next(r for r in iter(lambda: store.claim("w1", sweep="w"), None) if r.variant == "fast")
    store.add_evals(run.id, run.attempts, [{"step": 10, "train_time_s": 1.0, "val_loss": 5.5}])
    store.finish_run(run.id, run.attempts, {"val_loss": 5.5, "steps": 10, "train_time_s": 1.0})
    store.close()
    result = CliRunner().invoke(app, ["report", "w", "--db", db])
    assert result.exit_code == 2, result.output
    assert ("baseline 'baseline' has no finished run yet (1 running): every comparison needs it; wait for one, "
            "or pass --baseline with one of 'fast'") in " ".join(result.output.split())


def test_report_compares_with_the_specs_baseline_even_when_it_is_not_the_first_variant(tmp_path):
    from sweeper.store import Store

    spec = tmp_path / "b.yaml"
    spec.write_text("name: b\nbase: tiny\nseeds: 2\nbaseline: ref\nthreshold: {metric: val_loss, value: 6.0}\n"
                    "variants:\n  first: {matrix_lr: 0.05}\n  ref: {}\n")
    db = f"sqlite:///{tmp_path / 'r.db'}"
    assert CliRunner().invoke(app, ["sweep", str(spec), "--detach", "--db", db]).exit_code == 0
    store = Store(db)
    while (run := store.claim("w1", sweep="b")) is not None:
        value = 5.0 + 0.01 * run.seed + (0.2 if run.variant == "first" else 0.0)
        store.add_evals(run.id, run.attempts, [{"step": 10, "train_time_s": 1.0, "val_loss": value}])
        store.finish_run(run.id, run.attempts, {"val_loss": value, "steps": 10, "train_time_s": 1.0})
    store.close()
    result = CliRunner().invoke(app, ["report", "b", "--db", db, "--format", "json"])
    assert result.exit_code == 0, result.output
    notes = {row["variant"]: row["final_p_value_note"] for row in json.loads(result.stdout)}
    assert notes["ref"] == "baseline" and notes["first"] != "baseline"
