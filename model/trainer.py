"""`train(config, on_event, out_dir=None) -> Final`: one training run, streamed as events.

CPU runs in fp32; CUDA uses bf16 autocast, optional torch.compile and flash SDPA. Launched by
torchrun (RANK / WORLD_SIZE / LOCAL_RANK) it trains data-parallel with DDP over nccl on CUDA or
gloo on CPU. Only rank 0 emits events.
"""

from __future__ import annotations

import gc
import math
import os
import tempfile
import time
from contextlib import nullcontext
from pathlib import Path

import torch
import torch.distributed as dist

from model.config import TrainConfig
from model.events import Eval, EventCallback, Failed, Final, TrainingError, TrainStep
from model.export import ARTIFACT_NAME, read_artifact, write_artifact
from model.gpt import GPT
from model.optim import build_optimizers


def _setup_device(config: TrainConfig):
    """(device, rank, world, owns_group) from torchrun's RANK / WORLD_SIZE / LOCAL_RANK.

    Under torchrun with no process group yet, start one (nccl on CUDA, gloo on CPU) and say so,
    so train() destroys only a group it created (a notebook's own group is left alone)."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    if config.device == "cuda" and not torch.cuda.is_available():
        raise ValueError("device='cuda': expected a visible CUDA device, but torch sees none")
    use_cuda = config.device == "cuda" or (config.device == "auto" and torch.cuda.is_available())
    if use_cuda:
        device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
        torch.cuda.set_device(device)
    else:
        device = torch.device("cpu")
    owns_group = world > 1 and not dist.is_initialized()
    if owns_group:
        if use_cuda:
            dist.init_process_group("nccl", device_id=device)
        else:
            dist.init_process_group("gloo")
    return device, rank, world, owns_group


def _mean_over_ranks(values: list[float], device: torch.device) -> list[float]:
    """Average plain numbers over all ranks, so every rank sees the same loss and clock."""
    t = torch.tensor(values, dtype=torch.float64, device=device)
    dist.all_reduce(t)  # SUM: gloo has no AVG
    return (t / dist.get_world_size()).tolist()


def _artifact_dir(out_dir: Path | None, rank: int, world: int) -> Path:
    """out_dir, else a fresh temporary folder; under torchrun rank 0 picks it and tells the
    others (all ranks of a run share one machine's disk, or out_dir on a shared file system)."""
    if out_dir is not None:
        return Path(out_dir)
    if world == 1:
        return Path(tempfile.mkdtemp(prefix="golf-run-"))
    chosen = [tempfile.mkdtemp(prefix="golf-run-") if rank == 0 else None]
    dist.broadcast_object_list(chosen, src=0)
    return Path(chosen[0])


def lr_scale(step: int, elapsed_ms: float, config: TrainConfig) -> float:
    """Linear warm-down to 0 over the last warmdown_iters steps, or over the matching last
    stretch of the wall-clock cap (estimated from the mean step time so far)."""
    if config.warmdown_iters <= 0:
        return 1.0
    if config.max_wallclock_seconds <= 0:
        start = max(config.iterations - config.warmdown_iters, 0)
        return (config.iterations - step) / max(config.warmdown_iters, 1) if step >= start else 1.0
    step_ms = elapsed_ms / max(step, 1)
    warmdown_ms = config.warmdown_iters * step_ms
    remaining_ms = max(config.max_wallclock_seconds * 1000 - elapsed_ms, 0.0)
    return remaining_ms / max(warmdown_ms, 1e-9) if remaining_ms <= warmdown_ms else 1.0


class _Evaluator:
    """Validation loss and bpb over a fixed token stream, batch by batch (PPM-C mix optional)."""

    def __init__(self, config, files, device, rank, world):
        from model.data import build_bpb_luts, load_validation_tokens

        self.config, self.device, self.rank, self.world = config, device, rank, world
        self.tokens = load_validation_tokens(files.val_pattern, config.train_seq_len,
                                             config.val_max_tokens, config.vocab_size)
        self.luts = build_bpb_luts(files.tokenizer_path, config.vocab_size, device)
        # PPM-C depends only on the validation stream: computed once, cached next to the data.
        # The weight is the evaluator's own: tests set the ends 0 and 1, which TrainConfig refuses.
        self.ppm_probs, self.ppm_weight = None, config.ppm_c_weight
        if config.ppm_c:
            from model.ppm import mixed_nll, ppm_target_probs
            self.mixed_nll = mixed_nll

            self.ppm_probs = torch.from_numpy(ppm_target_probs(  # (n_tokens - 1,) float64
                self.tokens.numpy(), config.ppm_c_order, config.vocab_size, files.root))

    @torch.no_grad()
    def __call__(self, model, autocast):
        from model.data import target_bytes

        T = self.config.train_seq_len
        n_seqs = (self.tokens.numel() - 1) // T
        per_batch = max(self.config.val_batch_size // (T * self.world), 1)
        mine = range(self.rank * n_seqs // self.world, (self.rank + 1) * n_seqs // self.world)
        sums = torch.zeros(4, dtype=torch.float64, device=self.device)  # nll, bytes, ppm nll, count
        model.eval()
        for s in range(mine.start, mine.stop, per_batch):
            e = min(s + per_batch, mine.stop)
            chunk = self.tokens[s * T:e * T + 1].to(self.device)
            x, y = chunk[:-1].view(-1, T), chunk[1:].view(-1, T)
            with autocast():
                nll = model(x, y, reduction="none").double()
            sums[0] += nll.sum()
            sums[1] += target_bytes(x.reshape(-1), y.reshape(-1), self.luts).double().sum()
            sums[3] += nll.numel()
            if self.ppm_probs is not None:
                p_ppm = self.ppm_probs[s * T:e * T].to(self.device)  # targets tokens[s*T+1 .. e*T]
                sums[2] += self.mixed_nll(nll, p_ppm, self.ppm_weight).sum()
        model.train()
        if self.world > 1:
            dist.all_reduce(sums)
        loss = (sums[0] / sums[3]).item()
        bpb = (sums[0] / math.log(2) / sums[1]).item()
        if self.ppm_probs is None:
            return loss, bpb, None, None
        return loss, bpb, (sums[2] / sums[3]).item(), (sums[2] / math.log(2) / sums[1]).item()


def train(config: TrainConfig, on_event: EventCallback, out_dir: Path | None = None) -> Final:
    """Train `config` to completion (or its wall-clock cap), streaming events to on_event.

    Under torchrun every rank calls this with the same arguments; only rank 0 emits events."""
    device, rank, world, owns_group = _setup_device(config)
    try:
        return _train(config, on_event, out_dir, device, rank, world)
    finally:
        if owns_group:
            # DDP's reference cycles keep the group alive past destroy_process_group; gloo then
            # aborts the process (SIGABRT) when the interpreter frees it at exit. Collect first.
            gc.collect()
            dist.destroy_process_group()


def _train(config: TrainConfig, on_event: EventCallback, out_dir: Path | None,
           device: torch.device, rank: int, world: int) -> Final:
    from model.data import TokenLoader, resolve_data

    emit = on_event if rank == 0 else (lambda event: None)
    torch.manual_seed(config.seed)
    files = resolve_data(config)
    is_cuda = device.type == "cuda"
    autocast = (lambda: torch.autocast("cuda", dtype=torch.bfloat16)) if is_cuda else nullcontext
    base_model = GPT(config).to(device)
    model = base_model
    if is_cuda and config.compile:
        model = torch.compile(base_model, dynamic=False)
    eval_model = model  # each rank scores its own shard: no DDP, whose forward syncs buffers
    if world > 1:
        from torch.nn.parallel import DistributedDataParallel

        # device_ids must be None for a module on the CPU
        model = DistributedDataParallel(model, device_ids=[device.index] if is_cuda else None)
    optimizers = build_optimizers(base_model, config)
    accum = max(config.grad_accum_steps // world, 1)
    loader = TokenLoader(files.train_pattern, rank, world, device, config.vocab_size)
    evaluate = _Evaluator(config, files, device, rank, world)
    num_params = sum(p.numel() for p in base_model.parameters())

    def train_step(step: int, scale: float) -> torch.Tensor:
        total = torch.zeros((), device=device)
        for micro in range(accum):
            x, y = loader.next_batch(config.train_batch_tokens, config.train_seq_len, accum)
            sync = world == 1 or micro == accum - 1
            ctx = nullcontext() if sync or world == 1 else model.no_sync()
            with ctx, autocast():
                loss = model(x, y)
            if config.debug_nan_at_step and step == config.debug_nan_at_step:
                loss = loss * float("nan")
            (loss / accum).backward()
            total += loss.detach() / accum
        frac = min(step / max(config.muon_momentum_warmup_steps, 1), 1.0)
        for group in optimizers[1].param_groups:
            group["momentum"] = (1 - frac) * config.muon_momentum_warmup_start + frac * config.muon_momentum
        for opt in optimizers:
            for group in opt.param_groups:
                group["lr"] = group["base_lr"] * scale
        if config.grad_clip_norm > 0:
            torch.nn.utils.clip_grad_norm_(base_model.parameters(), config.grad_clip_norm)
        for opt in optimizers:
            opt.step()
        base_model.zero_grad(set_to_none=True)
        return total

    # warm-up (compile paths, allocator) on real batches, then restore the initial state
    if config.warmup_steps > 0:
        init_model = {k: v.detach().clone() for k, v in base_model.state_dict().items()}
        init_opts = [opt.state_dict() for opt in optimizers]
        for _ in range(config.warmup_steps):
            train_step(0, 1.0)
        base_model.load_state_dict(init_model)
        for opt, st in zip(optimizers, init_opts):
            opt.load_state_dict(st)
        loader = TokenLoader(files.train_pattern, rank, world, device, config.vocab_size)

    def run_eval(step: int, train_s: float) -> tuple:
        res = evaluate(eval_model, autocast)
        emit(Eval(step, config.iterations, train_s, res[0], res[1],
                  step * config.train_batch_tokens, res[2], res[3]))
        return res

    train_ms, step, stopped_early = 0.0, 0, False
    res = None
    if config.val_loss_every > 0:
        res = run_eval(0, 0.0)
    while step < config.iterations:
        if is_cuda:
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        loss = train_step(step + 1, lr_scale(step, train_ms, config))
        loss_value = loss.item()
        step_ms = (time.perf_counter() - t0) * 1000
        if world > 1:  # one loss and one clock on all ranks: same lr, same cap decision, no hang
            loss_value, step_ms = _mean_over_ranks([loss_value, step_ms], device)
        train_ms += step_ms
        step += 1
        if not math.isfinite(loss_value):
            message = f"non-finite training loss {loss_value} at step {step}"
            emit(Failed(step, message))
            raise TrainingError(message)
        if config.train_log_every and step % config.train_log_every == 0:
            emit(TrainStep(step, config.iterations, loss_value, train_ms / 1000, train_ms / step))
        capped = config.max_wallclock_seconds > 0 and train_ms >= config.max_wallclock_seconds * 1000
        if capped and step < config.iterations:
            stopped_early = True
            break
        if config.val_loss_every and step % config.val_loss_every == 0 and step < config.iterations:
            res = run_eval(step, train_ms / 1000)
    res = run_eval(step, train_ms / 1000)

    # rank 0 writes the artifact; every rank waits for it, then evaluates the same round trip
    path = _artifact_dir(out_dir, rank, world) / ARTIFACT_NAME
    if rank == 0:
        write_artifact(base_model.state_dict(), path.parent, config.fp16_embed)
    if world > 1:
        dist.barrier()
    base_model.load_state_dict(read_artifact(path), strict=True)
    quant = evaluate(eval_model, autocast)
    peak = torch.cuda.max_memory_allocated(device) / 2**20 if is_cuda else 0.0
    final = Final(step, train_ms / 1000, train_ms / max(step, 1), num_params, peak, res[0], res[1],
                  quant[0], quant[1], path.stat().st_size, stopped_early, res[2], res[3],
                  quant[2], quant[3])
    emit(final)
    return final
