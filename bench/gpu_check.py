"""Is golf ready on this GPU? One call, one summary (bench/gpu_check.sh runs this).

Sections, each timed, each allowed to fail without stopping the rest:
  data       golf's default corpus, prepared once per machine (the runs below read it)
  step       the `golf` preset, bf16 autocast + torch.compile, on random tokens: compile time
             (first step), ms/step and tokens/s (accum micro-batches + one optimizer step),
             Muon ms/step, peak memory
  torchrun   `torchrun --nproc_per_node=1 -m model` of a short `golf` run: events, artifact
  compile    three distinct configs trained in this process, each compiled (graphs per run,
             no eager fallback), peak memory per run
  sweep      `golf sweep` of a 2-variant `--base tiny` spec, one worker, a temp store

GOLF_GPU_CHECK_CPU=1 (or --cpu) runs the same script logic on the CPU at tiny shapes,
uncompiled where inductor would need minutes -- a smoke test of this script, not a benchmark
(on a loaded CPU the one sweep worker gets every core, and its threads may crawl).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from model.config import TrainConfig  # noqa: E402
from model.events import Eval, Final, TrainStep, parse_event_line  # noqa: E402


def section(results: list, name: str, fn) -> None:
    """Run one section; record (name, ok, seconds, summary line) whatever happens."""
    print(f"---- {name} ----", flush=True)
    start = time.perf_counter()
    try:
        line, ok = fn(), True
    except Exception as exc:  # a failed section is a finding; the others still run
        line, ok = f"{type(exc).__name__}: {str(exc)[-600:]}", False
    results.append((name, ok, time.perf_counter() - start, line))
    print(f"{'ok' if ok else 'FAIL'} {name}: {line}", flush=True)


def env_for_children() -> dict:
    return {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, (str(REPO), os.environ.get("PYTHONPATH"))))}


def check_data() -> str:
    from model.data import resolve_data

    files = resolve_data(TrainConfig())
    return f"default corpus at {files.root}"


def check_step(cpu: bool) -> str:
    import torch

    from model.measure import measure_step

    config = (TrainConfig.preset("tiny", device="cpu") if cpu
              else TrainConfig.preset("golf", device="cuda"))
    m = measure_step(config, threads=torch.get_num_threads(), repeats=5, compile=not cpu)
    return (f"{'tiny (CPU, eager)' if cpu else 'golf, bf16, compiled'} on {m['device']}: "
            f"first step (compile) {m['first_step_s']:.1f} s, {m['step_s'] * 1000:.1f} ms/step, "
            f"{config.train_batch_tokens / m['step_s']:,.0f} tokens/s, Muon {m['muon_s'] * 1000:.1f} ms/step, "
            f"micro-batch {m['forward_tokens']} tokens, peak {m['peak_memory_mib']:,.0f} MiB")


def short_run(cpu: bool, **changes) -> TrainConfig:
    if cpu:
        return TrainConfig.preset("tiny", iterations=6, warmup_steps=1, val_loss_every=3, train_log_every=3,
                                  val_max_tokens=4096, warmdown_iters=2, **changes)
    return TrainConfig.preset("golf", device="cuda", iterations=20, warmup_steps=3, val_loss_every=10,
                              train_log_every=10, val_max_tokens=262_144, warmdown_iters=5,
                              max_wallclock_seconds=0.0, **changes)


def check_torchrun(cpu: bool, tmp: Path) -> str:
    config = short_run(cpu)
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=1",
           "-m", "model", "--config", json.dumps(config.to_dict()), "--out", str(tmp / "torchrun")]
    done = subprocess.run(cmd, env=env_for_children(), capture_output=True, text=True, timeout=600, check=False)
    events = [e for e in map(parse_event_line, done.stdout.splitlines()) if e is not None]
    finals = [e for e in events if isinstance(e, Final)]
    if done.returncode != 0 or not finals:
        raise RuntimeError(f"exit {done.returncode}: " + " | ".join(done.stderr.strip().splitlines()[-4:]))
    f = finals[0]
    evals = [f"{e.step}:{e.val_loss:.3f}" for e in events if isinstance(e, Eval)]
    logged = [e for e in events if isinstance(e, TrainStep)]
    return (f"{f.steps} steps, {f.step_avg_ms:.1f} ms/step, evals {' '.join(evals)}, "
            f"quant val_loss {f.quant_val_loss:.4f}, artifact {f.artifact_bytes:,} bytes, "
            f"peak {f.peak_memory_mib:,.0f} MiB, {len(logged)} train logs")


def check_compile(cpu: bool, tmp: Path) -> str:
    import torch

    from model.trainer import train

    graphs: list = []
    if cpu:
        backend_impl = lambda gm, example_inputs: gm.forward  # noqa: E731  (capture only)
    else:
        from torch._dynamo.backends.registry import lookup_backend
        backend_impl = lookup_backend("inductor")

    def counting(gm, example_inputs):
        graphs.append(gm)
        return backend_impl(gm, example_inputs)

    base = dict(iterations=3, warmup_steps=1, val_loss_every=0, train_log_every=0, num_layers=2,
                val_max_tokens=4096, compile=True, device="cpu" if cpu else "cuda")
    # widest first: if peak memory accumulated over runs, the narrower runs could not report less
    widths = (128, 64, 96)
    per_run = []
    with torch._dynamo.config.patch(fail_on_recompile_limit_hit=True):  # eager fallback = error
        for i, dim in enumerate(widths):
            before = len(graphs)
            final = train(TrainConfig.preset("tiny", **base, model_dim=dim), lambda e: None,
                          tmp / f"compile{i}", compile_backend=counting)
            per_run.append((dim, len(graphs) - before, final.peak_memory_mib))
    if any(n < 2 for _, n, _ in per_run):
        raise RuntimeError(f"a run compiled fewer than 2 graphs: {per_run}")
    return "; ".join(f"dim {d}: {n} graphs, peak {p:,.0f} MiB" for d, n, p in per_run)


SPEC = """name: gpu_check
description: bench/gpu_check.py - two tiny variants, one worker.
base: tiny
seeds: 1
config: {{device: {device}, iterations: {iterations}}}
variants:
  baseline: {{}}
  value_residual: {{value_residual: true}}
"""


def check_sweep(cpu: bool, tmp: Path) -> str:
    spec = tmp / "gpu_check.yaml"
    spec.write_text(SPEC.format(device="cpu" if cpu else "cuda", iterations=4 if cpu else 40))
    cmd = [sys.executable, "-m", "cli", "sweep", str(spec), "--base", "tiny", "--seeds", "1", "--yes",
           "--workers", "1", "--db", f"sqlite:///{tmp / 'gpu_check.db'}"]
    done = subprocess.run(cmd, cwd=tmp, env=env_for_children(), capture_output=True, text=True,
                          timeout=600, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"exit {done.returncode}: " + " | ".join(done.stderr.strip().splitlines()[-4:]))
    estimate = next((ln.strip() for ln in done.stdout.splitlines() if ln.startswith("estimate:")), "")
    return f"2 runs finished; {estimate}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cpu", action="store_true", default=os.environ.get("GOLF_GPU_CHECK_CPU") == "1",
                        help="smoke-test on the CPU at tiny shapes (also GOLF_GPU_CHECK_CPU=1)")
    parser.add_argument("--skip", nargs="*", default=[], help="sections to leave out")
    args = parser.parse_args()
    import torch

    if not args.cpu and not torch.cuda.is_available():
        print("gpu_check: torch sees no CUDA device; use --cpu (GOLF_GPU_CHECK_CPU=1) for a smoke test")
        return 2
    head = (f"torch {torch.__version__}, "
            + ("CPU SMOKE MODE (tiny shapes, no inductor): not a GPU measurement" if args.cpu
               else f"{torch.cuda.get_device_name(0)}, CUDA {torch.version.cuda}"))
    print(f"gpu_check: {head}", flush=True)
    results: list = []
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="golf-gpu-check-") as d:
        tmp = Path(d)
        sections = {"data": check_data, "step": lambda: check_step(args.cpu),
                    "torchrun": lambda: check_torchrun(args.cpu, tmp),
                    "compile": lambda: check_compile(args.cpu, tmp),
                    "sweep": lambda: check_sweep(args.cpu, tmp)}
        for name, fn in sections.items():
            if name not in args.skip:
                section(results, name, fn)
    print(f"\n==== gpu_check summary ({head}; {time.perf_counter() - start:.0f} s) ====")
    for name, ok, seconds, line in results:
        print(f"{'ok  ' if ok else 'FAIL'} {name:<9} {seconds:6.1f} s  {line}")
    return 0 if all(ok for _, ok, _, _ in results) else 1


if __name__ == "__main__":
    sys.exit(main())
