"""`python -m model.measure --config JSON [--threads N]`: the time of one training step, measured.

What a sweep's cost estimate runs, in a process of its own so that the launcher never holds GPU
memory (or even imports torch). The step is built as train() builds it (placement, bf16 autocast,
optimizers; uncompiled: compile time is not part of a step) and timed on one micro-batch of the
size a run puts through one forward, train_batch_tokens / (world * accum) -- never the whole
batch, which at `golf` would need ~128 GiB of activations. A step is then `accum` such
micro-batches plus one optimizer step (ranks run in parallel; the all-reduce is not counted).

On a CPU a GPU-sized micro-batch is measured on a slice and scaled by tokens, which is what
makes a "this would take 300 hours" warning cheap to produce.

Prints one JSON line: step_s, micro_s, optimizer_s, muon_s, first_step_s, forward_tokens,
micro_tokens, device, peak_memory_mib.
"""

from __future__ import annotations

import argparse
import json
import time
from contextlib import nullcontext

from model.config import TrainConfig

_CPU_MAX_TOKENS = 8192
# Above this size a CPU micro-batch is one sequence of at most 256 tokens: a rough figure is
# all a CPU warning needs, and a GPU-sized model would take minutes.
_CPU_LARGE_MODEL_PARAMS = 5_000_000


def micro_batch_tokens(config: TrainConfig) -> int:
    """Tokens in one forward of a run: train_batch_tokens / (world * accum), and since each of
    the `world` ranks runs grad_accum_steps / world micro-steps, that is / grad_accum_steps."""
    return config.train_batch_tokens // config.grad_accum_steps


def measure_step(config: TrainConfig, threads: int = 1, repeats: int = 2, compile: bool = False) -> dict:
    """Time one micro-batch and the optimizer step (Muon alone too); see the module docstring.
    With compile (CUDA), first_step_s is the first micro-batch and optimizer step: compile time."""
    import torch

    from model.trainer import build_model, reference_kernels

    torch.set_num_threads(max(threads, 1))
    torch.manual_seed(0)
    if config.device == "cuda" and not torch.cuda.is_available():  # as train() says it
        raise ValueError("device='cuda': expected a visible CUDA device, but torch sees none")
    use_cuda = config.device != "cpu" and torch.cuda.is_available()
    device = torch.device("cuda" if use_cuda else "cpu")
    if use_cuda:
        torch.cuda.reset_peak_memory_stats()
    base_model, model, optimizers = build_model(config.replace(compile=compile), device)
    micro, seq_len = micro_batch_tokens(config), config.train_seq_len
    tokens = micro
    if not use_cuda:
        tokens = min(micro, _CPU_MAX_TOKENS)
        if sum(p.numel() for p in base_model.parameters()) > _CPU_LARGE_MODEL_PARAMS:
            seq_len = min(seq_len, 256)
            tokens, repeats = seq_len, 1
    x = torch.randint(0, config.vocab_size, (max(tokens // seq_len, 1), seq_len), device=device)
    autocast = torch.autocast("cuda", dtype=torch.bfloat16) if use_cuda else nullcontext()
    sync = torch.cuda.synchronize if use_cuda else (lambda: None)

    def micro_step() -> None:
        with autocast:
            loss = model(x, x)
        loss.backward()

    def timed(fn) -> float:
        sync()
        start = time.perf_counter()
        fn()
        sync()
        return time.perf_counter() - start

    def optimizer_step() -> tuple[float, float]:
        """(all optimizers, Muon alone) seconds; Muon is optimizers[1]."""
        muon = timed(optimizers[1].step)
        rest = timed(lambda: [opt.step() for i, opt in enumerate(optimizers) if i != 1])
        base_model.zero_grad(set_to_none=True)
        return muon + rest, muon

    with reference_kernels(use_cuda):
        first_step_s = timed(micro_step) + optimizer_step()[0]  # allocation, kernels, compile
        micro_s = opt_s = muon_s = float("inf")
        for _ in range(repeats):
            micro_s = min(micro_s, timed(micro_step))
            opt, muon = optimizer_step()
            opt_s, muon_s = min(opt_s, opt), min(muon_s, muon)
    accum = config.grad_accum_steps // config.gpus_per_run
    micro_s *= micro / x.numel()  # a CPU slice, scaled up by tokens
    return dict(step_s=accum * micro_s + opt_s, micro_s=micro_s, optimizer_s=opt_s, muon_s=muon_s,
                first_step_s=first_step_s, forward_tokens=x.numel(), micro_tokens=micro,
                device=torch.cuda.get_device_name(0) if use_cuda else f"cpu x{torch.get_num_threads()}",
                peak_memory_mib=torch.cuda.max_memory_allocated() / 2**20 if use_cuda else 0.0)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m model.measure", description=__doc__.split("\n")[0])
    parser.add_argument("--config", required=True, help="JSON object of TrainConfig fields")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    result = measure_step(TrainConfig.from_dict(json.loads(args.config)), args.threads)
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
