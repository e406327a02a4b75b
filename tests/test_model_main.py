"""`python -m model` as a real process: GOLF_EVENT lines, exit codes, and 2-rank CPU torchrun."""

import json
import subprocess
import sys

import pytest

from model.__main__ import load_config
from model.config import TrainConfig
from model.export import code_bytes
from model.events import Eval, Failed, Final, TrainStep, event_to_dict, parse_event_line


def tiny_json(**changes) -> str:
    settings = dict(iterations=3, warmup_steps=1, val_loss_every=2, train_log_every=1,
                    val_max_tokens=1152, train_batch_tokens=1024, val_batch_size=1024,
                    warmdown_iters=1)
    return json.dumps(TrainConfig.preset("tiny", **{**settings, **changes}).to_dict())


def run_model(*args: str, ranks: int = 1) -> tuple[int, list, str]:
    """Run `python -m model` (under torchrun when ranks > 1); (exit code, events, stderr)."""
    launcher = [sys.executable, "-m", "model"]
    if ranks > 1:  # the torchrun console script is this module
        launcher = [sys.executable, "-m", "torch.distributed.run", "--standalone",
                    f"--nproc_per_node={ranks}", "-m", "model"]
    proc = subprocess.run([*launcher, *args], capture_output=True, text=True, timeout=120)
    events = [e for e in map(parse_event_line, proc.stdout.splitlines()) if e is not None]
    return proc.returncode, events, proc.stderr


def test_parse_event_line_skips_noise():
    event = Eval(2, 3, 0.5, 6.1, 2.9, 2048)
    line = "GOLF_EVENT " + json.dumps(event_to_dict(event))
    assert parse_event_line(line + "\n") == event
    assert parse_event_line("W0101 warning left without a newline" + line) == event
    assert parse_event_line(line[:-5]) is None  # cut short
    assert parse_event_line("step:1/3 train_loss:6.93") is None


def test_config_json_round_trip_keeps_run_key(tmp_path):
    cfg = TrainConfig.preset("tiny", seed=7, value_embeds=[[0, -1], [1, -2]], gated_attention=True)
    text = json.dumps(cfg.to_dict())  # tuples come back from JSON as lists
    (tmp_path / "run.json").write_text(text)
    for source in (text, f"@{tmp_path / 'run.json'}"):
        again = load_config(source)
        assert again == cfg and again.value_embeds == ((0, 15), (1, 14))
        assert again.run_key() == cfg.run_key()


def test_single_process_run_prints_events(golf_data_dir, tmp_path):
    code, events, stderr = run_model("--config", tiny_json(), "--out", str(tmp_path))
    assert code == 0, stderr
    assert [e.step for e in events if isinstance(e, Eval)] == [0, 2, 3]
    assert sum(isinstance(e, TrainStep) for e in events) == 3
    final = events[-1]
    assert isinstance(final, Final) and final.steps == 3
    assert (tmp_path / "final_model.int8.ptz").stat().st_size + code_bytes() == final.artifact_bytes


@pytest.mark.parametrize("config, field", [
    ('{"num_layers": 0}', "num_layers"),
    ('{"num_layer": 4}', "num_layer"),
    ('{"seed": 1', "not valid JSON"),
])
def test_bad_config_exits_2_naming_the_field(config, field):
    code, events, stderr = run_model("--config", config)
    assert code == 2 and events == []
    assert field in stderr


def test_non_finite_loss_exits_1_with_failed_event(golf_data_dir, tmp_path):
    code, events, stderr = run_model("--config", tiny_json(debug_nan_at_step=2), "--out", str(tmp_path))
    assert code == 1
    assert isinstance(events[-1], Failed) and events[-1].step == 2
    assert not any(isinstance(e, Final) for e in events)
    assert "non-finite training loss" in stderr


def test_torchrun_two_cpu_ranks_report_once(golf_data_dir, tmp_path):
    """gloo DDP, rank-sharded data and eval (9 val sequences: 4 + 5, uneven on purpose), rank 0
    writes the artifact that both ranks read back; only rank 0 prints events."""
    (tmp_path / "run.json").write_text(tiny_json(grad_accum_steps=2))  # one micro-step per rank
    code, events, stderr = run_model("--config", f"@{tmp_path / 'run.json'}",
                                     "--out", str(tmp_path / "out"), ranks=2)
    assert code == 0, stderr
    finals = [e for e in events if isinstance(e, Final)]
    assert len(finals) == 1 and finals[0].steps == 3
    assert [e.step for e in events if isinstance(e, Eval)] == [0, 2, 3]
    assert (tmp_path / "out" / "final_model.int8.ptz").stat().st_size + code_bytes() == finals[0].artifact_bytes
