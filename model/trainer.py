"""`train(config, on_event, out_dir=None) -> Final`: one training run, streamed as events.

CPU runs in fp32; CUDA uses bf16 autocast, optional torch.compile, flash SDPA and DDP when
launched by torchrun (RANK / WORLD_SIZE / LOCAL_RANK). Only rank 0 emits events.
"""

from __future__ import annotations

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
from model.export import read_artifact, write_artifact
from model.gpt import GPT
from model.optim import build_optimizers


def _setup_device(config: TrainConfig):
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    use_cuda = config.device == "cuda" or (config.device == "auto" and torch.cuda.is_available())
    if use_cuda:
        local = int(os.environ.get("LOCAL_RANK", "0"))
        device = torch.device("cuda", local)
        torch.cuda.set_device(device)
        if world > 1 and not dist.is_initialized():
            dist.init_process_group("nccl", device_id=device)
    else:
        device = torch.device("cpu")
    return device, rank, world


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
                                             config.val_max_tokens)
        self.luts = build_bpb_luts(files.tokenizer_path, config.vocab_size, device)
        self.ppm_probs = None
        if config.ppm_c:
            from model.ppm import ppm_target_probs

            self.ppm_probs = torch.from_numpy(ppm_target_probs(
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
                w = self.config.ppm_c_weight
                p_ppm = self.ppm_probs[s * T:e * T].to(self.device)
                p = (1 - w) * torch.exp(-nll) + w * p_ppm
                sums[2] += -torch.log(p).sum()
        model.train()
        if self.world > 1:
            dist.all_reduce(sums)
        loss = (sums[0] / sums[3]).item()
        bpb = (sums[0] / math.log(2) / sums[1]).item()
        if self.ppm_probs is None:
            return loss, bpb, None, None
        return loss, bpb, (sums[2] / sums[3]).item(), (sums[2] / math.log(2) / sums[1]).item()


def train(config: TrainConfig, on_event: EventCallback, out_dir: Path | None = None) -> Final:
    """Train `config` to completion (or its wall-clock cap), streaming events to on_event."""
    from model.data import TokenLoader, resolve_data

    device, rank, world = _setup_device(config)
    emit = on_event if rank == 0 else (lambda event: None)
    torch.manual_seed(config.seed)
    files = resolve_data(config)
    is_cuda = device.type == "cuda"
    autocast = (lambda: torch.autocast("cuda", dtype=torch.bfloat16)) if is_cuda else nullcontext
    base_model = GPT(config).to(device)
    model = base_model
    if is_cuda and config.compile:
        model = torch.compile(base_model, dynamic=False)
    if world > 1:
        from torch.nn.parallel import DistributedDataParallel

        model = DistributedDataParallel(model, device_ids=[device.index])
    optimizers = build_optimizers(base_model, config)
    accum = max(config.grad_accum_steps // world, 1)
    loader = TokenLoader(files.train_pattern, rank, world, device)
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
        loader = TokenLoader(files.train_pattern, rank, world, device)

    def run_eval(step: int, train_s: float) -> tuple:
        res = evaluate(model, autocast)
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
        train_ms += (time.perf_counter() - t0) * 1000
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

    out = Path(out_dir) if out_dir is not None else Path(tempfile.mkdtemp(prefix="golf-run-"))
    path = write_artifact(base_model.state_dict(), out, config.fp16_embed)
    if world > 1:
        dist.barrier()
    base_model.load_state_dict(read_artifact(path), strict=True)
    quant = evaluate(model, autocast)
    peak = torch.cuda.max_memory_allocated(device) / 2**20 if is_cuda else 0.0
    final = Final(step, train_ms / 1000, train_ms / max(step, 1), num_params, peak, res[0], res[1],
                  quant[0], quant[1], path.stat().st_size, stopped_early, res[2], res[3],
                  quant[2], quant[3])
    emit(final)
    return final
