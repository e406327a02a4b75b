import inspect
import json
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from cli import app
from model.data import read_shard


def test_prepare_cli_on_text(tmp_path):
    src = tmp_path / "in.txt"
    src.write_text("\n\n".join(inspect.getdoc(o) or "" for _, o in inspect.getmembers(json)) * 20)
    out = tmp_path / "out"
    r = CliRunner().invoke(app, ["data", "prepare", "--text", str(src), "--out", str(out), "--vocab", "512"])
    assert r.exit_code == 0, r.output
    assert (out / "tokenizer.model").exists() and "train tokens" in r.output
    assert read_shard(out / "golf_train_000000.bin", 512).size > 0
    first = (out / "golf_val_000000.bin").read_bytes()
    CliRunner().invoke(app, ["data", "prepare", "--text", str(src), "--out", str(out), "--vocab", "512"])
    assert (out / "golf_val_000000.bin").read_bytes() == first  # deterministic


def test_concurrent_resolve_prepares_once(tmp_path):
    code = ("from model.config import TrainConfig; from model.data import resolve_data; "
            "print(resolve_data(TrainConfig()).root)")
    env = {**__import__("os").environ, "GOLF_DATA_DIR": str(tmp_path)}
    procs = [subprocess.Popen([sys.executable, "-c", code], env=env, stdout=subprocess.PIPE,
                              cwd=Path(__file__).resolve().parents[1]) for _ in range(2)]
    outs = [p.communicate()[0].decode().strip() for p in procs]
    assert all(p.returncode == 0 for p in procs) and outs[0] == outs[1]
    assert not list(tmp_path.glob(".tmp-*"))


def test_a_default_corpus_cached_by_another_golf_version_is_rebuilt(tmp_path, monkeypatch):
    """A folder from a golf whose corpus differed (no or another corpus_version) is never trained
    on: default_data_dir rebuilds it, once."""
    from model import prepare as prep

    monkeypatch.setenv("GOLF_DATA_DIR", str(tmp_path))
    stale = tmp_path / "default"
    stale.mkdir()
    (stale / "golf_val_000000.bin").write_bytes(b"stale")
    folder = prep.default_data_dir()
    assert folder == stale and (folder / "corpus_version").read_text().strip() == str(prep.CORPUS_VERSION)
    assert (folder / "golf_val_000000.bin").read_bytes() != b"stale"
    built = (folder / "golf_train_000000.bin").stat().st_mtime_ns
    assert prep.default_data_dir() == folder and (folder / "golf_train_000000.bin").stat().st_mtime_ns == built
