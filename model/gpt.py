"""The parameter-golf baseline GPT, with golf's ablations switched visibly in `forward`.

Structure follows openai/parameter-golf `train_gpt.py` (our own code): tied embeddings, RMSNorm
without weights, RoPE, GQA with QK-norm and a learned per-head query gain, relu^2 MLP, per-channel
attn/mlp output scales, a learned mix of the residual stream with x0, U-net skips between the
first and second half of the blocks, and a tanh logit soft-cap.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from model.config import TrainConfig

# ---- PRECISION ----
# On CUDA the model is placed as the reference places it: the body in bf16 (embedding, value
# embeddings: so their Adam state and the residual stream are bf16), the CastedLinear weights and
# the control tensors back in fp32. Names as in the reference's CONTROL_TENSOR_NAME_PATTERNS, plus
# golf's own learned mixes (value-embedding and value-residual lambdas). The export keeps the
# same tensors in fp32 (model/export.py).
CONTROL_TENSOR_NAME_PATTERNS = (
    "attn_scale", "attn_scales", "mlp_scale", "mlp_scales", "resid_mix", "resid_mixes", "q_gain",
    "skip_weight", "skip_weights", "ve_lambdas", "vr_lambdas")


def is_control(name: str) -> bool:
    return any(pattern in name for pattern in CONTROL_TENSOR_NAME_PATTERNS)


def cast_like_reference(model: nn.Module) -> nn.Module:
    """bf16 body, CastedLinear weights and control tensors (and anything below 2-D) fp32: the
    reference's `.bfloat16()`, CastedLinear `.float()`, restore_low_dim_params_to_fp32."""
    model = model.bfloat16()
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, CastedLinear):
                module.float()
        for name, param in model.named_parameters():
            if param.ndim < 2 or is_control(name):
                param.data = param.data.float()
    return model


def place_model(model: nn.Module, device: torch.device) -> nn.Module:
    """Move to `device`, cast like the reference on CUDA. The CPU keeps everything fp32: it
    trains without autocast (CPU bf16 is slow) and its runs are golf's exact tests."""
    model = model.to(device)
    return cast_like_reference(model) if device.type == "cuda" else model


def rms_norm(x: Tensor) -> Tensor:
    """RMSNorm with no learned weight (the baseline has none)."""
    return F.rms_norm(x, (x.size(-1),))


class CastedLinear(nn.Linear):
    """Linear whose fp32 weights are cast to the activation dtype (bf16 autocast on CUDA)."""

    def forward(self, x: Tensor) -> Tensor:
        bias = self.bias.to(x.dtype) if self.bias is not None else None
        return F.linear(x, self.weight.to(x.dtype), bias)


# ---- ROTARY EMBEDDING ----
class Rotary(nn.Module):
    """RoPE tables, cached per (sequence length, device, dtype) as the reference caches them.

    Unlike the reference, the tables are always computed in fp32: its inv_freq buffer is cast
    to bf16 by `model.bfloat16()`, so its positions above 256 round to even numbers. No buffer
    here, hence nothing for a cast to touch (and nothing in the state dict)."""

    def __init__(self, head_dim: int, base: float):
        super().__init__()
        self.head_dim, self.base = head_dim, base
        self._key: tuple | None = None
        self._cos: Tensor | None = None
        self._sin: Tensor | None = None

    def forward(self, seq_len: int, device, dtype) -> tuple[Tensor, Tensor]:
        if self._key != (seq_len, device, dtype):
            D = self.head_dim
            inv_freq = 1.0 / (self.base ** (torch.arange(0, D, 2, dtype=torch.float32, device=device) / D))
            freqs = torch.outer(torch.arange(seq_len, dtype=torch.float32, device=device), inv_freq)  # (T, D/2)
            self._cos, self._sin = freqs.cos()[None, None].to(dtype), freqs.sin()[None, None].to(dtype)
            self._key = (seq_len, device, dtype)
        return self._cos, self._sin


def apply_rotary(x: Tensor, cos: Tensor, sin: Tensor) -> Tensor:
    half = x.size(-1) // 2
    x1, x2 = x[..., :half], x[..., half:]
    return torch.cat((x1 * cos + x2 * sin, x1 * (-sin) + x2 * cos), dim=-1)


# ---- ATTENTION ----
class CausalSelfAttention(nn.Module):
    def __init__(self, config: TrainConfig):
        super().__init__()
        dim, self.num_heads, self.num_kv_heads = config.model_dim, config.num_heads, config.num_kv_heads
        self.head_dim = config.head_dim
        kv_dim = config.kv_dim
        self.c_q = CastedLinear(dim, dim, bias=False)
        self.c_k = CastedLinear(dim, kv_dim, bias=False)
        self.c_v = CastedLinear(dim, kv_dim, bias=False)
        self.proj = CastedLinear(dim, dim, bias=False)
        self.proj._zero_init = True
        self.q_gain = nn.Parameter(torch.full((self.num_heads,), config.qk_gain_init))
        self.rotary = Rotary(self.head_dim, config.rope_base)
        self.gated_attention = config.gated_attention
        if self.gated_attention:
            # W = 0, b = 4: gate = sigmoid(4) ~= 0.982 per head at init (arXiv:2505.06708).
            self.gate = CastedLinear(dim, self.num_heads, bias=True)  # fp32 weights under bf16
            nn.init.zeros_(self.gate.weight)
            nn.init.constant_(self.gate.bias, 4.0)

    def forward(self, x: Tensor, ve: Tensor | None, ve_lambda: Tensor | None,
                v0: Tensor | None, vr_lambdas: Tensor | None) -> tuple[Tensor, Tensor]:
        B, T, C = x.shape
        q = self.c_q(x).view(B, T, self.num_heads, self.head_dim)
        k = self.c_k(x).view(B, T, self.num_kv_heads, self.head_dim)
        v = self.c_v(x).view(B, T, self.num_kv_heads, self.head_dim)
        raw_v = v
        if ve is not None:  # value embedding: v + lambda * ve[token], lambda starts at 0
            v = v + ve_lambda.to(v.dtype) * ve.view(B, T, self.num_kv_heads, self.head_dim)
        if v0 is not None:  # value residual: v = a * v0 + b * v, a = b = 0.5 at init
            v = vr_lambdas[0].to(v.dtype) * v0 + vr_lambdas[1].to(v.dtype) * v
        q, k = rms_norm(q).transpose(1, 2), rms_norm(k).transpose(1, 2)  # (B, H, T, D)
        v = v.transpose(1, 2)  # (B, Hkv, T, D)
        cos, sin = self.rotary(T, x.device, q.dtype)
        q, k = apply_rotary(q, cos, sin), apply_rotary(k, cos, sin)
        q = q * self.q_gain.to(q.dtype)[None, :, None, None]
        # GQA inside the kernel: each KV head serves num_heads / num_kv_heads query heads, with
        # no copy of K and V (repeat_interleave cost ~1 GiB per micro-batch at `golf`).
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True,
                                           enable_gqa=self.num_kv_heads != self.num_heads)  # (B, H, T, D)
        if self.gated_attention:
            g = torch.sigmoid(self.gate(x))  # (B, T, H)
            y = y * g.transpose(1, 2)[..., None]  # (B, H, T, 1)
        y = y.transpose(1, 2).reshape(B, T, C)
        return self.proj(y), raw_v


class MLP(nn.Module):
    def __init__(self, config: TrainConfig):
        super().__init__()
        hidden = config.mlp_mult * config.model_dim
        self.fc = CastedLinear(config.model_dim, hidden, bias=False)
        self.proj = CastedLinear(hidden, config.model_dim, bias=False)
        self.proj._zero_init = True

    def forward(self, x: Tensor) -> Tensor:
        return self.proj(torch.relu(self.fc(x)).square())


class Block(nn.Module):
    def __init__(self, config: TrainConfig):
        super().__init__()
        dim = config.model_dim
        self.attn = CausalSelfAttention(config)
        self.mlp = MLP(config)
        self.attn_scale = nn.Parameter(torch.ones(dim))
        self.mlp_scale = nn.Parameter(torch.ones(dim))
        self.resid_mix = nn.Parameter(torch.stack((torch.ones(dim), torch.zeros(dim))))

    def forward(self, x, x0, ve, ve_lambda, v0, vr_lambdas):
        mix = self.resid_mix.to(x.dtype)
        x = mix[0] * x + mix[1] * x0
        a, raw_v = self.attn(rms_norm(x), ve, ve_lambda, v0, vr_lambdas)
        x = x + self.attn_scale.to(x.dtype) * a
        x = x + self.mlp_scale.to(x.dtype) * self.mlp(rms_norm(x))
        return x, raw_v


# ---- THE MODEL ----
class GPT(nn.Module):
    """Baseline GPT plus ablations.

    Parameters: golf preset 17,059,912. gated_attention adds L*(D*H + H) (36,936 at golf).
    value_residual adds 2 scalars per layer 1..L-1 stored as a (L, 2) tensor (18 at golf).
    Each VE table adds vocab*kv_dim (262,144 at golf), plus one scalar lambda per layer that
    reads a table (so a mirror count-3 placement adds 3 tables + 6 lambdas).
    """

    def __init__(self, config: TrainConfig):
        super().__init__()
        self.config = config
        L = config.num_layers
        self.logit_softcap = config.logit_softcap
        self.tok_emb = nn.Embedding(config.vocab_size, config.model_dim)
        self.num_encoder_layers = L // 2
        self.num_decoder_layers = L - self.num_encoder_layers
        self.num_skip_weights = min(self.num_encoder_layers, self.num_decoder_layers)
        self.skip_weights = nn.Parameter(torch.ones(self.num_skip_weights, config.model_dim))
        self.blocks = nn.ModuleList(Block(config) for _ in range(L))
        self.value_residual = config.value_residual
        self.gated_attention = config.gated_attention
        self.ve_table_of_layer = config.ve_table_of_layer()
        self.value_embeds = nn.ModuleList(
            nn.Embedding(config.vocab_size, config.kv_dim) for _ in config.value_embeds)
        # one lambda per layer that reads a table, 0 at init => exact baseline output
        self.ve_layers = sorted(self.ve_table_of_layer)
        self.ve_lambdas = nn.Parameter(torch.zeros(len(self.ve_layers))) if self.ve_layers else None
        if self.value_residual:
            # (a_l, b_l) per layer, 0.5/0.5 at init; row 0 is kept (unused) so the count is 2*L
            self.vr_lambdas = nn.Parameter(torch.full((L, 2), 0.5))
        self._init_weights()

    def _init_weights(self) -> None:
        nn.init.normal_(self.tok_emb.weight, mean=0.0, std=self.config.tied_embed_init_std)
        for module in self.modules():
            if isinstance(module, nn.Linear) and getattr(module, "_zero_init", False):
                nn.init.zeros_(module.weight)
        for table in self.value_embeds:
            nn.init.normal_(table.weight, mean=0.0, std=self.config.tied_embed_init_std)

    def forward(self, idx: Tensor, target: Tensor | None = None, reduction: str = "mean") -> Tensor:
        """Mean cross-entropy if `target` is given (or per-token with reduction='none'), else logits."""
        x = rms_norm(self.tok_emb(idx))  # (B, T, D)
        x0 = x
        skips: list[Tensor] = []
        v0 = None
        for i, block in enumerate(self.blocks):
            if i >= self.num_encoder_layers:  # decoder half: U-net skip from the mirrored encoder layer
                j = i - self.num_encoder_layers
                if j < self.num_skip_weights and skips:
                    x = x + self.skip_weights[j].to(x.dtype) * skips.pop()
            ve = ve_lambda = None
            if i in self.ve_table_of_layer:
                ve = self.value_embeds[self.ve_table_of_layer[i]](idx)  # (B, T, kv_dim)
                ve_lambda = self.ve_lambdas[self.ve_layers.index(i)]
            vr_in = vr_l = None
            if self.value_residual and i > 0:
                vr_in, vr_l = v0, self.vr_lambdas[i]
            x, raw_v = block(x, x0, ve, ve_lambda, vr_in, vr_l)
            if i == 0:
                v0 = raw_v
            if i < self.num_encoder_layers:
                skips.append(x)
        x = rms_norm(x)
        logits = F.linear(x, self.tok_emb.weight.to(x.dtype))  # tied head
        logits = self.logit_softcap * torch.tanh(logits / self.logit_softcap)
        if target is None:
            return logits
        loss = F.cross_entropy(logits.float().reshape(-1, logits.size(-1)), target.reshape(-1),
                               reduction=reduction)
        return loss
