"""Muon (momentum + Newton-Schulz orthogonalisation) and the baseline's parameter groups.

Groups as in the parameter-golf baseline: the tied embedding (Adam, tied_embed_lr), the 2-D
matrices inside blocks (Muon, matrix_lr), and everything else -- scalars, gains, mixes, skip
weights, VE tables/lambdas, gate weights and biases -- with Adam at scalar_lr.
"""

from __future__ import annotations

import torch
import torch.distributed as dist
from torch import Tensor, nn

from model.config import TrainConfig
from model.gpt import is_control


# ---- MUON OPTIMIZER ----
# From modded-nanogpt (https://kellerjordan.github.io/posts/muon/), as parameter-golf runs it.
def zeropower_newton_schulz(g: Tensor, steps: int = 5, eps: float = 1e-7) -> Tensor:
    """Approximately orthogonalise g (quintic Newton-Schulz iteration).

    bf16 on CUDA as in the reference; fp32 on the CPU, where bf16 matmuls are slow and CPU runs
    are golf's exact, deterministic tests."""
    a, b, c = 3.4445, -4.7750, 2.0315
    x = g.bfloat16() if g.is_cuda else g.float()
    x = x / (x.norm() + eps)
    transposed = g.size(0) > g.size(1)
    if transposed:
        x = x.T
    for _ in range(steps):
        A = x @ x.T
        B = b * A + c * A @ A
        x = a * x + B @ x
    return x.T if transposed else x


_compiled_newton_schulz = None


def newton_schulz(g: Tensor, steps: int) -> Tensor:
    """zeropower_newton_schulz, compiled on CUDA as the reference does: uncompiled, its 5
    iterations are ~54 small kernel launches per matrix and the step is bound by the host."""
    global _compiled_newton_schulz
    if not g.is_cuda:
        return zeropower_newton_schulz(g, steps)
    if _compiled_newton_schulz is None:
        _compiled_newton_schulz = torch.compile(zeropower_newton_schulz)
    return _compiled_newton_schulz(g, steps)


class Muon(torch.optim.Optimizer):
    """SGD-momentum (Nesterov) whose update is orthogonalised; shape-scaled like the baseline.

    Sharded as in the reference: with W ranks, rank r orthogonalises the matrices i % W == r
    and writes their updates into one flat buffer (zeros elsewhere); one all-reduce (SUM) of that
    buffer gives every rank every update. bf16 on CUDA (half the bytes on the wire), fp32 on the
    CPU, where the updates are fp32 too.
    """

    def __init__(self, params, lr: float, momentum: float, backend_steps: int, nesterov: bool = True):
        super().__init__(params, dict(lr=lr, momentum=momentum, backend_steps=backend_steps,
                                      nesterov=nesterov))

    @torch.no_grad()
    def step(self):
        world = dist.get_world_size() if dist.is_available() and dist.is_initialized() else 1
        rank = dist.get_rank() if world > 1 else 0
        for group in self.param_groups:
            params = group["params"]
            if not params:
                continue
            dtype = torch.bfloat16 if params[0].is_cuda else torch.float32
            flat = torch.zeros(sum(p.numel() for p in params), device=params[0].device, dtype=dtype)
            offset = 0
            for i, p in enumerate(params):
                if i % world == rank and p.grad is not None:
                    g = p.grad
                    state = self.state[p]
                    if "momentum_buffer" not in state:
                        state["momentum_buffer"] = torch.zeros_like(g)
                    buf = state["momentum_buffer"]
                    buf.mul_(group["momentum"]).add_(g)
                    g = g.add(buf, alpha=group["momentum"]) if group["nesterov"] else buf
                    update = newton_schulz(g, group["backend_steps"])
                    update = update * max(1.0, p.size(0) / p.size(1)) ** 0.5
                    flat[offset:offset + p.numel()] = update.reshape(-1)
                offset += p.numel()
            if world > 1:
                dist.all_reduce(flat)
            offset = 0
            for p in params:
                p.add_(flat[offset:offset + p.numel()].view_as(p).to(p.dtype), alpha=-group["lr"])
                offset += p.numel()


def build_optimizers(model: nn.Module, config: TrainConfig) -> list[torch.optim.Optimizer]:
    """[Adam(embedding), Muon(block matrices), Adam(scalars and the rest)]; each group keeps
    its base lr in `base_lr` so the schedule can scale it. Call after the model is placed:
    Adam is fused on CUDA, as in the reference.

    Muon takes the reference's block matrices (2-D, not a control tensor) except golf's gated-
    attention gate (kept on Adam, golf's choice): a (heads x dim) projection that starts at zero
    so the gate starts near 1, and Muon's orthogonalised steps have a fixed size whatever the
    gradient, which would move it away from that start at full speed from the first step."""
    matrices = [p for n, p in model.blocks.named_parameters()
                if p.ndim == 2 and not is_control(n) and "attn.gate" not in n]
    chosen = {id(p) for p in matrices} | {id(model.tok_emb.weight)}
    rest = [p for p in model.parameters() if id(p) not in chosen]
    adam = dict(betas=(config.beta1, config.beta2), eps=config.adam_eps,
                fused=True if model.tok_emb.weight.is_cuda else None)
    opts: list[torch.optim.Optimizer] = [
        torch.optim.Adam([dict(params=[model.tok_emb.weight], lr=config.tied_embed_lr,
                               base_lr=config.tied_embed_lr)], **adam),
        Muon(matrices, lr=config.matrix_lr, momentum=config.muon_momentum,
             backend_steps=config.muon_backend_steps),
        torch.optim.Adam([dict(params=rest, lr=config.scalar_lr, base_lr=config.scalar_lr)], **adam),
    ]
    for group in opts[1].param_groups:
        group["base_lr"] = config.matrix_lr
    return opts
