"""Forward+backward throughput of the `golf` preset; prints tokens/s and ms/step.

    python bench/bench_forward.py [--seq 64] [--batch 2] [--iters 3] [--threads 1]
    python bench/bench_forward.py --device cuda --seq 1024 --batch 64 --iters 20 --compile

On CUDA it runs as the trainer does: bf16 autocast, optional torch.compile(dynamic=False), and
the clock read only after torch.cuda.synchronize(); it also prints the peak memory.
"""

import argparse
import time
from contextlib import nullcontext

import torch

from model.config import TrainConfig
from model.gpt import GPT


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seq", type=int, default=64)
    parser.add_argument("--batch", type=int, default=2)
    parser.add_argument("--iters", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    parser.add_argument("--compile", action="store_true", help="torch.compile the model (CUDA)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    if args.device == "cuda" and not torch.cuda.is_available():
        parser.error("--device cuda: torch sees no CUDA device")
    use_cuda = args.device == "cuda" or (args.device == "auto" and torch.cuda.is_available())
    device = torch.device("cuda" if use_cuda else "cpu")
    config = TrainConfig.preset("golf")
    model = GPT(config).to(device)
    step_model = torch.compile(model, dynamic=False) if args.compile else model
    autocast = (lambda: torch.autocast("cuda", dtype=torch.bfloat16)) if use_cuda else nullcontext
    sync = torch.cuda.synchronize if use_cuda else (lambda: None)
    x = torch.randint(0, config.vocab_size, (args.batch, args.seq), device=device)
    y = torch.randint(0, config.vocab_size, (args.batch, args.seq), device=device)

    def step() -> None:
        model.zero_grad(set_to_none=True)
        with autocast():
            loss = step_model(x, y)
        loss.backward()

    step()  # warm-up (compilation, allocator)
    sync()
    start = time.perf_counter()
    for _ in range(args.iters):
        step()
    sync()
    elapsed = time.perf_counter() - start
    tokens = args.batch * args.seq * args.iters
    where = (f"{torch.cuda.get_device_name(device)}, bf16" if use_cuda
             else f"CPU ({args.threads} thread(s)), fp32")
    print(f"golf preset fwd+bwd on {where}{', compiled' if args.compile else ''}, seq {args.seq}, "
          f"batch {args.batch}: {tokens / elapsed:,.0f} tokens/s ({elapsed / args.iters * 1000:.0f} ms/step)")
    if use_cuda:
        print(f"peak memory: {torch.cuda.max_memory_allocated(device) / 2**20:,.0f} MiB")


if __name__ == "__main__":
    main()
