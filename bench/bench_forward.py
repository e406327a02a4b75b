"""Forward+backward throughput of the `golf` preset; prints tokens/s and ms/step.

    python bench/bench_forward.py [--seq 256] [--batch 4] [--iters 5] [--threads 1]
    python bench/bench_forward.py --reference PATH/train_gpt.py      # golf vs the reference GPT
    python bench/bench_forward.py --device cuda --seq 1024 --batch 64 --iters 20 --compile

On CUDA it runs as the trainer does: the model placed in bf16 (CastedLinear weights and control
tensors fp32), bf16 autocast, optional torch.compile(dynamic=False), and the clock read only
after torch.cuda.synchronize(); it also prints the peak memory.

`--reference` builds the GPT class of the parameter-golf baseline `train_gpt.py` (openai/
parameter-golf; not vendored, give the path of your copy) at the same shapes and times both
models interleaved in one process, step by step, so drift of the machine hits both alike. It
prints the ratio golf / reference of the median step times (issue 17's target: <= 1.00).
"""

import argparse
import importlib.util
import statistics
import sys
import time
from contextlib import nullcontext
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from anywhere

from model.config import TrainConfig
from model.gpt import GPT, place_model


def load_reference(path: Path, config: TrainConfig, device: torch.device) -> torch.nn.Module:
    """The reference's GPT at `config`'s shapes, built from its source file at `path`.

    Importing train_gpt.py runs only its module level (hyperparameters from the environment,
    constant tables); `main()`, which needs CUDA and data, is not called."""
    spec = importlib.util.spec_from_file_location("pg_reference_train_gpt", path)
    if spec is None or spec.loader is None:
        raise SystemExit(f"--reference {path}: not a Python file")
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except Exception as exc:  # a newer reference that touches CUDA or data at import time
        raise SystemExit(f"--reference {path}: importing it failed: {type(exc).__name__}: {exc}")
    model = module.GPT(
        vocab_size=config.vocab_size, num_layers=config.num_layers, model_dim=config.model_dim,
        num_heads=config.num_heads, num_kv_heads=config.num_kv_heads, mlp_mult=config.mlp_mult,
        tie_embeddings=True, tied_embed_init_std=config.tied_embed_init_std,
        logit_softcap=config.logit_softcap, rope_base=config.rope_base,
        qk_gain_init=config.qk_gain_init)
    if device.type == "cuda":  # the reference's own placement: bf16 body, fp32 linears/controls
        model = model.to(device).bfloat16()
        for m in model.modules():
            if isinstance(m, module.CastedLinear):
                m.float()
        module.restore_low_dim_params_to_fp32(model)
    return model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seq", type=int, default=256)
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--iters", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    parser.add_argument("--compile", action="store_true", help="torch.compile the model(s)")
    parser.add_argument("--reference", type=Path, default=None,
                        help="path to parameter-golf's train_gpt.py: time its GPT beside golf's")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    if args.device == "cuda" and not torch.cuda.is_available():
        parser.error("--device cuda: torch sees no CUDA device")
    use_cuda = args.device == "cuda" or (args.device == "auto" and torch.cuda.is_available())
    device = torch.device("cuda" if use_cuda else "cpu")
    config = TrainConfig.preset("golf")
    models = {"golf": place_model(GPT(config), device)}
    if args.reference is not None:
        models["reference"] = load_reference(args.reference, config, device)
    autocast = (lambda: torch.autocast("cuda", dtype=torch.bfloat16)) if use_cuda else nullcontext
    sync = torch.cuda.synchronize if use_cuda else (lambda: None)
    x = torch.randint(0, config.vocab_size, (args.batch, args.seq), device=device)
    y = torch.randint(0, config.vocab_size, (args.batch, args.seq), device=device)

    def stepper(model: torch.nn.Module):
        run = torch.compile(model, dynamic=False) if args.compile else model

        def step() -> float:
            model.zero_grad(set_to_none=True)
            sync()
            start = time.perf_counter()
            with autocast():
                loss = run(x, y)
            loss.backward()
            sync()
            return time.perf_counter() - start
        return step

    steps = {name: stepper(m) for name, m in models.items()}
    for step in steps.values():  # warm-up (compilation, allocator, rotary tables)
        step()
    times: dict[str, list[float]] = {name: [] for name in steps}
    for _ in range(args.iters):  # interleaved: golf, reference, golf, reference, ...
        for name, step in steps.items():
            times[name].append(step())
    where = (f"{torch.cuda.get_device_name(device)}, bf16" if use_cuda
             else f"CPU ({args.threads} thread(s)), fp32")
    tokens = args.batch * args.seq
    for name, ts in times.items():
        med = statistics.median(ts)
        print(f"{name} fwd+bwd on {where}{', compiled' if args.compile else ''}, seq {args.seq}, "
              f"batch {args.batch}: {tokens / med:,.0f} tokens/s ({med * 1000:.1f} ms/step, "
              f"median of {len(ts)})")
    if "reference" in times:
        ratio = statistics.median(times["golf"]) / statistics.median(times["reference"])
        print(f"ratio golf/reference: {ratio:.3f} (target <= 1.00)")
    if use_cuda:
        print(f"peak memory: {torch.cuda.max_memory_allocated(device) / 2**20:,.0f} MiB")


if __name__ == "__main__":
    main()
