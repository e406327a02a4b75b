"""`train(config, on_event, out_dir=None) -> Final`: one training run, streamed as events.

Follows the parameter-golf baseline's `main()` (openai/parameter-golf `train_gpt.py`): on CUDA
the model is placed in bf16 with fp32 linears and control tensors, runs under bf16 autocast
with TF32 and the flash attention kernel, and is compiled (fresh for every run); the CPU runs
fp32, uncompiled unless a compile backend is asked for. Launched by torchrun (RANK / WORLD_SIZE
/ LOCAL_RANK) it trains data-parallel with DDP over nccl on CUDA or gloo on CPU, Muon sharded
over the ranks. Only rank 0 emits events.
"""

from __future__ import annotations

import copy
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
from model.export import ARTIFACT_NAME, code_bytes, read_artifact, write_artifact
from model.gpt import GPT, place_model
from model.optim import build_optimizers


# ---- DEVICE AND PROCESS GROUP ----
def _setup_device(config: TrainConfig):
    """(device, rank, world, owns_group) from torchrun's RANK / WORLD_SIZE / LOCAL_RANK.

    Under torchrun with no process group yet, start one (nccl on CUDA, gloo on CPU) and say so,
    so train() destroys only a group it created (a notebook's own group is left alone)."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    if config.grad_accum_steps % world:
        # The reference refuses these too (8 % WORLD_SIZE): the batch would not split evenly
        # and a run would train fewer tokens than Eval.tokens reports.
        raise ValueError(f"grad_accum_steps={config.grad_accum_steps}: expected a multiple of the "
                         f"world size {world} (each rank runs grad_accum_steps / world micro-steps)")
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


def reference_kernels(is_cuda: bool):
    """The reference's fast-math knobs on CUDA: TF32 for any fp32 matmul left (process-wide, as
    there) and SDPA pinned to the flash kernel (cudnn, mem-efficient, math off) -- the latter
    scoped to the returned context, so a notebook's own attention afterwards is left alone."""
    if not is_cuda:
        return nullcontext()
    from torch.nn.attention import SDPBackend, sdpa_kernel
    torch.backends.cuda.matmul.allow_tf32 = True
    torch.backends.cudnn.allow_tf32 = True
    return sdpa_kernel([SDPBackend.FLASH_ATTENTION])


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


# ---- MODEL, COMPILE, OPTIMIZERS ----
def build_model(config: TrainConfig, device: torch.device, compile_backend=None):
    """(base_model, model to call, optimizers), placed and compiled as every run does.

    Compiled when config.compile is set, on CUDA with inductor, on any device when
    `compile_backend` (a torch.compile backend: name or callable) is given. Each compile starts
    from an empty dynamo cache: a long-lived worker trains config after config in one process,
    each adding ~3 graphs to GPT.forward's cache (train, eval under no_grad, a short last eval
    batch), and at dynamo's recompile_limit (8) the third config would silently run eager --
    fewer steps under a wall-clock cap, biasing exactly the comparison a sweep makes."""
    base_model = place_model(GPT(config), device)
    model = base_model
    if config.compile and (device.type == "cuda" or compile_backend is not None):
        torch._dynamo.reset()
        model = torch.compile(base_model, dynamic=False, fullgraph=True,
                              backend=compile_backend or "inductor")
    return base_model, model, build_optimizers(base_model, config)


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


# ---- VALIDATION ----
class _Evaluator:
    """Validation loss and bpb over a fixed token stream, batch by batch (PPM-C mix optional).

    Batches as the reference's eval_val: each rank scores its contiguous share of the sequences,
    val_batch_size / (world * accum) tokens per forward -- the size of a training micro-batch at
    the default settings, so eval never needs more memory than training."""

    def __init__(self, config, files, device, rank, world, accum=1):
        from model.data import build_bpb_luts, load_validation_tokens

        self.config, self.device, self.rank, self.world = config, device, rank, world
        T = config.train_seq_len
        self.batch_seqs = config.val_batch_size // (world * accum) // T
        if self.batch_seqs < 1:
            raise ValueError(f"val_batch_size={config.val_batch_size}: expected at least one sequence "
                             f"per forward, i.e. >= world {world} * accum {accum} * train_seq_len {T}")
        self.tokens = load_validation_tokens(files.val_pattern, T, config.val_max_tokens, config.vocab_size)
        self.luts = build_bpb_luts(files.tokenizer_path, config.vocab_size, device)
        # PPM-C depends only on the validation stream: computed once, cached next to the data.
        # The weight is the evaluator's own: tests set the ends 0 and 1, which TrainConfig refuses.
        self.ppm_probs, self.ppm_weight = None, config.ppm_c_weight
        if config.ppm_c:
            from model.ppm import mixed_nll, ppm_target_probs
            self.mixed_nll = mixed_nll

            self.ppm_probs = torch.from_numpy(ppm_target_probs(  # (n_tokens - 1,) float64
                self.tokens.numpy(), config.ppm_c_order, config.vocab_size, files.root))

    @torch.no_grad()  # not inference_mode: the rotary tables cached here are used in training
    def __call__(self, model, autocast):
        from model.data import target_bytes

        T = self.config.train_seq_len
        n_seqs = (self.tokens.numel() - 1) // T
        mine = range(self.rank * n_seqs // self.world, (self.rank + 1) * n_seqs // self.world)
        sums = torch.zeros(4, dtype=torch.float64, device=self.device)  # nll, bytes, ppm nll, count
        model.eval()
        for s in range(mine.start, mine.stop, self.batch_seqs):
            e = min(s + self.batch_seqs, mine.stop)
            chunk = self.tokens[s * T:e * T + 1].to(self.device, non_blocking=True)
            x, y = chunk[:-1].view(-1, T), chunk[1:].view(-1, T)  # (seqs, T)
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


# ---- TRAINING ----
def train(config: TrainConfig, on_event: EventCallback, out_dir: Path | None = None, *,
          compile_backend=None) -> Final:
    """Train `config` to completion (or its wall-clock cap), streaming events to on_event.

    Under torchrun every rank calls this with the same arguments; only rank 0 emits events.
    `compile_backend` (e.g. "aot_eager") compiles with that torch.compile backend on any
    device; by default CUDA compiles with inductor and the CPU runs eager."""
    device, rank, world, owns_group = _setup_device(config)
    try:
        with reference_kernels(device.type == "cuda"):
            return _train(config, on_event, out_dir, device, rank, world, compile_backend)
    finally:
        if owns_group:
            # DDP's reference cycles keep the group alive past destroy_process_group; gloo then
            # aborts the process (SIGABRT) when the interpreter frees it at exit. Collect first.
            gc.collect()
            dist.destroy_process_group()
        if device.type == "cuda":  # an idle worker keeps its CUDA context, not this run's cache
            gc.collect()
            torch.cuda.empty_cache()


def _train(config: TrainConfig, on_event: EventCallback, out_dir: Path | None,
           device: torch.device, rank: int, world: int, compile_backend) -> Final:
    from model.data import TokenLoader, resolve_data

    emit = on_event if rank == 0 else (lambda event: None)
    torch.manual_seed(config.seed)
    files = resolve_data(config)
    is_cuda = device.type == "cuda"
    autocast = (lambda: torch.autocast("cuda", dtype=torch.bfloat16)) if is_cuda else nullcontext
    sync = (lambda: torch.cuda.synchronize(device)) if is_cuda else (lambda: None)
    if is_cuda:  # peak memory of this run only, in a worker that trains many
        torch.cuda.reset_peak_memory_stats(device)
    accum = config.grad_accum_steps // world
    base_model, model, optimizers = build_model(config, device, compile_backend)
    eval_model = model  # each rank scores its own shard: no DDP, whose forward syncs buffers
    if world > 1:
        from torch.nn.parallel import DistributedDataParallel

        # device_ids must be None for a module on the CPU; no buffer to broadcast (the reference)
        model = DistributedDataParallel(model, device_ids=[device.index] if is_cuda else None,
                                        broadcast_buffers=False)
    loader = TokenLoader(files.train_pattern, rank, world, device, config.vocab_size)
    evaluate = _Evaluator(config, files, device, rank, world, accum)
    num_params = sum(p.numel() for p in base_model.parameters())

    def train_step(step: int, scale: float) -> torch.Tensor:
        """One optimizer step (0-based `step`); returns this rank's mean loss, on the device
        (no sync: the host queues work ahead until someone reads it)."""
        total = torch.zeros((), device=device)
        for micro in range(accum):
            x, y = loader.next_batch(config.train_batch_tokens, config.train_seq_len, accum)
            ctx = model.no_sync() if world > 1 and micro < accum - 1 else nullcontext()
            with ctx, autocast():
                loss = model(x, y)
            if config.debug_nan_at_step and step + 1 == config.debug_nan_at_step:
                loss = loss * float("nan")
            total += loss.detach()
            (loss * (1.0 / accum)).backward()
        frac = min(step / config.muon_momentum_warmup_steps, 1.0) if config.muon_momentum_warmup_steps > 0 else 1.0
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
        return total / accum

    # ---- warm-up: compile paths and allocator on real batches, then restore the initial state
    if config.warmup_steps > 0:
        # on the CPU, as the reference: the copy must not take GPU memory from the run
        init_model = {k: v.detach().cpu().clone() for k, v in base_model.state_dict().items()}
        init_opts = [copy.deepcopy(opt.state_dict()) for opt in optimizers]
        for _ in range(config.warmup_steps):
            train_step(0, 1.0)
        base_model.load_state_dict(init_model)
        for opt, st in zip(optimizers, init_opts):
            opt.load_state_dict(st)
        loader = TokenLoader(files.train_pattern, rank, world, device, config.vocab_size)

    def shared(value: float, op) -> float:
        """One number made equal on all ranks (one all-reduce), so they decide alike."""
        if world == 1:
            return value
        t = torch.tensor([value], dtype=torch.float64, device=device)
        dist.all_reduce(t, op=op)
        return t.item()

    def run_eval(step: int, train_s: float) -> tuple:
        res = evaluate(eval_model, autocast)
        if not math.isfinite(res[0]):
            fail(step, f"non-finite validation loss {res[0]} at step {step}")
        emit(Eval(step, config.iterations, train_s, res[0], res[1],
                  step * config.train_batch_tokens, res[2], res[3]))
        return res

    def fail(step: int, message: str):
        emit(Failed(step, message))
        raise TrainingError(message)

    # ---- the loop, clocked as the reference's: time runs on between evals (no per-step sync);
    # validation is excluded from train time, with a sync on each side of it
    cap_ms = config.max_wallclock_seconds * 1000 if config.max_wallclock_seconds > 0 else None
    train_ms, step, stop_at, shared_ms, res = 0.0, 0, None, 0.0, None
    sync()
    t0 = time.perf_counter()
    while True:
        last = step == config.iterations or stop_at is not None
        if last or (config.val_loss_every > 0 and step % config.val_loss_every == 0):
            sync()
            train_ms += 1000 * (time.perf_counter() - t0)
            res = run_eval(step, train_ms / 1000)
            sync()
            t0 = time.perf_counter()
        if last:
            break
        elapsed_ms = train_ms + 1000 * (time.perf_counter() - t0)
        # Several ranks under a cap use the shared clock of the previous step, so every rank
        # scales its lr alike (the reference lets each rank read its own clock here).
        scale = lr_scale(step, shared_ms if world > 1 and cap_ms else elapsed_ms, config)
        loss = train_step(step, scale)
        step += 1
        now_ms = train_ms + 1000 * (time.perf_counter() - t0)
        if config.train_log_every and step % config.train_log_every == 0:
            # the only read of the loss between evals; the mean over ranks, so all agree on NaN
            loss_value = shared(loss.item(), dist.ReduceOp.SUM) / world
            if not math.isfinite(loss_value):
                fail(step, f"non-finite training loss {loss_value} at step {step}")
            emit(TrainStep(step, config.iterations, loss_value, now_ms / 1000, now_ms / step))
        if cap_ms is not None:
            # as the reference's reached-cap all-reduce (MAX): all ranks stop at the same step
            shared_ms = shared(now_ms, dist.ReduceOp.MAX)
            if shared_ms >= cap_ms and step < config.iterations:
                stop_at = step
    # The reference reads the peak here: training and its evals, not the export's round trip.
    peak = torch.cuda.max_memory_allocated(device) / 2**20 if is_cuda else 0.0

    # ---- export: rank 0 writes the artifact; every rank waits, then scores the same round trip
    path = _artifact_dir(out_dir, rank, world) / ARTIFACT_NAME
    if rank == 0:
        write_artifact(base_model.state_dict(), path.parent, config.fp16_embed)
    if world > 1:
        dist.barrier()
    base_model.load_state_dict(read_artifact(path), strict=True)
    quant = evaluate(eval_model, autocast)
    final = Final(step, train_ms / 1000, train_ms / max(step, 1), num_params, peak, res[0], res[1],
                  quant[0], quant[1], path.stat().st_size + code_bytes(config), stop_at is not None,
                  res[2], res[3], quant[2], quant[3])
    emit(final)
    return final
