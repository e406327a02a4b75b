"""Forward+backward throughput of the `golf` preset on CPU at a short sequence; prints tokens/s.

    python bench/bench_forward.py [--seq 64] [--batch 2] [--iters 3] [--threads 1]
"""

import argparse
import time

import torch

from model.config import TrainConfig
from model.gpt import GPT


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seq", type=int, default=64)
    parser.add_argument("--batch", type=int, default=2)
    parser.add_argument("--iters", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    config = TrainConfig.preset("golf")
    model = GPT(config)
    x = torch.randint(0, config.vocab_size, (args.batch, args.seq))
    y = torch.randint(0, config.vocab_size, (args.batch, args.seq))
    model(x, y).backward()  # warm-up
    start = time.perf_counter()
    for _ in range(args.iters):
        model.zero_grad(set_to_none=True)
        model(x, y).backward()
    elapsed = time.perf_counter() - start
    tokens = args.batch * args.seq * args.iters
    print(f"golf preset fwd+bwd on CPU ({args.threads} thread(s)), seq {args.seq}, batch {args.batch}: "
          f"{tokens / elapsed:,.0f} tokens/s ({elapsed / args.iters * 1000:.0f} ms/step)")


if __name__ == "__main__":
    main()
