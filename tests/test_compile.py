"""A long-lived worker trains config after config in one process: each must be compiled.

dynamo keeps one cache per code object (GPT.forward) with a limit of 8 entries, and every
config adds ~3 (train, eval under no_grad, ...): without a fresh cache per run the third config
hit the limit and ran eager. A counting backend stands in for inductor (same dynamo capture,
no C++ build); fail_on_recompile_limit_hit turns a silent fallback into an error."""

import torch

from model.config import TrainConfig
from model.trainer import train

torch.set_num_threads(1)


def test_three_distinct_configs_all_compile_in_one_process(golf_data_dir, tmp_path):
    graphs: list = []

    def counting_backend(gm: torch.fx.GraphModule, example_inputs):
        graphs.append(gm)
        return gm.forward  # run the captured graph as captured

    settings = dict(iterations=2, warmup_steps=1, val_loss_every=1, train_log_every=0,
                    train_batch_tokens=512, val_max_tokens=1024, val_batch_size=512,
                    compile=True, num_layers=2)
    configs = [TrainConfig.preset("tiny", **settings, **change)
               for change in ({}, {"gated_attention": True}, {"value_residual": True})]
    per_run = []
    with torch._dynamo.config.patch(fail_on_recompile_limit_hit=True):
        for i, cfg in enumerate(configs):
            before = len(graphs)
            final = train(cfg, lambda e: None, tmp_path / str(i), compile_backend=counting_backend)
            per_run.append(len(graphs) - before)
            assert final.steps == 2
    # every run captured its own train and eval graphs (fullgraph: no eager pieces in between)
    assert all(n >= 2 for n in per_run), per_run


def test_compile_false_stays_eager(golf_data_dir, tmp_path):
    graphs: list = []
    cfg = TrainConfig.preset("tiny", iterations=1, warmup_steps=0, val_loss_every=0,
                             train_batch_tokens=512, val_max_tokens=512, val_batch_size=512)
    assert cfg.compile is False
    train(cfg, lambda e: None, tmp_path, compile_backend=lambda gm, _: graphs.append(gm) or gm.forward)
    assert graphs == []
