"""Muon (momentum + Newton-Schulz orthogonalisation) and the baseline's parameter groups.

Groups as in the parameter-golf baseline: the tied embedding (Adam, tied_embed_lr), the 2-D
matrices inside blocks (Muon, matrix_lr), and everything else -- scalars, gains, mixes, skip
weights, VE tables/lambdas, gate biases -- with Adam at scalar_lr.
"""

from __future__ import annotations

import torch
import torch.distributed as dist
from torch import Tensor, nn

from model.config import TrainConfig


def zeropower_newton_schulz(g: Tensor, steps: int = 5, eps: float = 1e-7) -> Tensor:
    """Approximately orthogonalise g (quintic Newton-Schulz iteration, bf16 on CUDA)."""
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


class Muon(torch.optim.Optimizer):
    """SGD-momentum (Nesterov) whose update is orthogonalised; shape-scaled like the baseline.

    Under DDP every rank holds the same averaged grads, so each rank simply updates all params.
    """

    def __init__(self, params, lr: float, momentum: float, backend_steps: int, nesterov: bool = True):
        super().__init__(params, dict(lr=lr, momentum=momentum, backend_steps=backend_steps,
                                      nesterov=nesterov))

    @torch.no_grad()
    def step(self):
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                g = p.grad
                state = self.state[p]
                if "momentum_buffer" not in state:
                    state["momentum_buffer"] = torch.zeros_like(g)
                buf = state["momentum_buffer"]
                buf.mul_(group["momentum"]).add_(g)
                if group["nesterov"]:
                    g = g.add(buf, alpha=group["momentum"])
                else:
                    g = buf
                update = zeropower_newton_schulz(g, group["backend_steps"])
                update = update * max(1.0, p.size(0) / p.size(1)) ** 0.5
                p.add_(update.to(p.dtype), alpha=-group["lr"])


def build_optimizers(model: nn.Module, config: TrainConfig) -> list[torch.optim.Optimizer]:
    """[Adam(embedding), Muon(block matrices), Adam(scalars and the rest)]; each group keeps
    its base lr in `base_lr` so the schedule can scale it."""
    block_params = dict(model.blocks.named_parameters())
    matrices = [p for n, p in block_params.items() if p.ndim == 2 and "resid_mix" not in n
                and "gate" not in n]
    chosen = {id(p) for p in matrices} | {id(model.tok_emb.weight)}
    rest = [p for p in model.parameters() if id(p) not in chosen]
    betas = (config.beta1, config.beta2)
    opts: list[torch.optim.Optimizer] = [
        torch.optim.Adam([dict(params=[model.tok_emb.weight], lr=config.tied_embed_lr,
                               base_lr=config.tied_embed_lr)], betas=betas, eps=config.adam_eps),
        Muon(matrices, lr=config.matrix_lr, momentum=config.muon_momentum,
             backend_steps=config.muon_backend_steps),
        torch.optim.Adam([dict(params=rest, lr=config.scalar_lr, base_lr=config.scalar_lr)],
                         betas=betas, eps=config.adam_eps),
    ]
    for group in opts[1].param_groups:
        group["base_lr"] = config.matrix_lr
    return opts
