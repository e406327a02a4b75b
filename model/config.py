"""TrainConfig: every knob of a training run, with the baseline as the defaults.

Field names follow the parameter-golf trainer's environment variables in lower case
(NUM_LAYERS -> num_layers), so a researcher's muscle memory carries over. Every ablation is a
plain field whose default is "off": the baseline is the config with nothing set, and a variant
is "the base, with these fields changed" (`dataclasses.replace`).

Rules that span fields are checked in `__post_init__` and raise ValueError naming the field and
the value; a rule that lives only in a comment is a bug.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
from dataclasses import dataclass, fields
from typing import Any

# Part of every run key. Bump it when a run with the same config would now compute different
# numbers: a change to model/ that alters the math (init, optimizer, schedule, data order, eval),
# or a new default value for an existing field (run keys leave defaults out, so a changed
# default would otherwise reuse results trained under the old one). Do not bump it for a new
# field whose default is the old behaviour, for speed-only changes that keep the numbers, or for
# refactors; the golden loss trace (tests/golden/) tells which case a change is.
# 2 (issue 19): Muon momentum warm-up counted from step 0, bf16 placement on CUDA, the
#   reference's export (quant_val_* and artifact_bytes, which now include code bytes).
TRAIN_CORE_VERSION = 2

VeTables = tuple[tuple[int, ...], ...]


# -----------------------------------------------------------------------------
# ---- VALUE-EMBEDDING PLACEMENT ----
# A placement is a tuple of tables; each table is the tuple of layers that share it.
# Negative layer indices count from the last layer, so one placement fits models of any depth.


def resolve_layer(index: int, num_layers: int) -> int:
    """Map a possibly-negative layer index to 0..num_layers-1, or raise ValueError."""
    resolved = index + num_layers if index < 0 else index
    if not 0 <= resolved < num_layers:
        raise ValueError(
            f"layer index {index} is outside a model of {num_layers} layers "
            f"(expected {-num_layers}..{num_layers - 1})"
        )
    return resolved


def mirror_tables(count: int, num_layers: int) -> VeTables:
    """modded-nanogpt's layout: table i is shared by layer i and layer L-count+i.

    count=3 at 16 layers gives (0, 13), (1, 14), (2, 15). Needs 2*count <= num_layers so that the
    early and late halves do not overlap.
    """
    if count < 0:
        raise ValueError(f"mirror count must be >= 0, got {count}")
    if 2 * count > num_layers:
        raise ValueError(
            f"mirror count {count} needs {2 * count} layers but the model has {num_layers}"
        )
    return tuple((i, num_layers - count + i) for i in range(count))


def pairs_tables(num_layers: int) -> VeTables:
    """The parameter-golf value-embedding run's layout: layers 0&1, 2&3, ... share a table.

    An odd last layer gets a table of its own.
    """
    return tuple(tuple(range(i, min(i + 2, num_layers))) for i in range(0, num_layers, 2))


def normalize_tables(tables: Any, num_layers: int) -> VeTables:
    """Resolve negative indices and sort, so equal placements compare (and hash) equal.

    Raises ValueError for an empty table, an index outside the model, or a layer in two tables.
    """
    out: list[tuple[int, ...]] = []
    owner: dict[int, int] = {}
    for t, table in enumerate(tables):
        layers = tuple(sorted({resolve_layer(int(i), num_layers) for i in table}))
        if not layers:
            raise ValueError(f"value_embeds table {t} is shared by no layer")
        for layer in layers:
            if layer in owner:
                raise ValueError(
                    f"value_embeds: layer {layer} is in table {owner[layer]} and table {t}; "
                    "a layer reads at most one table"
                )
            owner[layer] = t
        out.append(layers)
    return tuple(sorted(out))


# -----------------------------------------------------------------------------
# ---- THE CONFIG ----


@dataclass(frozen=True)
class TrainConfig:
    """One training run. Defaults are the parameter-golf baseline with no ablation set."""

    # ---- data ----
    # Empty data_path means golf's embedded corpus (built once by `golf data prepare`).
    data_path: str = ""
    tokenizer_path: str = ""  # empty: the *.model file inside data_path
    val_max_tokens: int = 0  # 0 = the whole validation split; small runs cap it to eval quickly

    # ---- model shape ----
    vocab_size: int = 1024
    num_layers: int = 9
    model_dim: int = 512
    num_heads: int = 8
    num_kv_heads: int = 4
    mlp_mult: int = 2
    rope_base: float = 10000.0
    logit_softcap: float = 30.0
    qk_gain_init: float = 1.5
    tied_embed_init_std: float = 0.005

    # ---- schedule ----
    seed: int = 1337
    iterations: int = 20000
    warmup_steps: int = 20  # compile/warm-up steps that do not count; the initial state is restored
    warmdown_iters: int = 1200  # linear LR decay to 0, tied to the wall-clock cap when one is set
    max_wallclock_seconds: float = 600.0  # 0 = no cap; measured over training time only
    train_batch_tokens: int = 524_288  # tokens per optimizer step, over all ranks
    train_seq_len: int = 1024
    grad_accum_steps: int = 8  # micro-steps per optimizer step over all ranks (world must divide it)
    val_loss_every: int = 1000  # 0 = only at the end
    val_batch_size: int = 524_288  # tokens per eval forward pass, over all ranks
    train_log_every: int = 200

    # ---- optimizer (baseline learning rates) ----
    tied_embed_lr: float = 0.05
    matrix_lr: float = 0.04
    scalar_lr: float = 0.04
    muon_momentum: float = 0.95
    muon_backend_steps: int = 5
    muon_momentum_warmup_start: float = 0.85
    muon_momentum_warmup_steps: int = 500
    beta1: float = 0.9
    beta2: float = 0.95
    adam_eps: float = 1e-8
    grad_clip_norm: float = 0.0

    # ---- hardware ----
    device: str = "auto"  # auto | cpu | cuda
    compile: bool = True  # torch.compile on CUDA; ignored on CPU
    gpus_per_run: int = 1  # > 1 launches the run with torchrun on that many devices

    # ---- ablations (all off = the baseline) ----
    # Value embeddings (modded-nanogpt): each table is an nn.Embedding(vocab_size, kv_dim) shared
    # by the layers listed; layer l's value becomes v + lambda_l * ve[token], lambda_l learned and
    # initialised to 0 so that turning VE on starts exactly at the baseline's output.
    value_embeds: VeTables = ()
    # Value residual (ResFormer, arXiv:2410.17897): v_l = a_l * v_0 + b_l * v_l for l >= 1, with
    # v_0 the first layer's raw values; a_l, b_l learned, both initialised to 0.5 as in the source.
    value_residual: bool = False
    # Gated attention (arXiv:2505.06708): attention output of head h scaled by
    # sigmoid(W x + b)_h, x the block's normed input; W = 0, b = 4 at init so the gate starts at
    # sigmoid(4) ~= 0.982, close to the baseline.
    gated_attention: bool = False
    # PPM-C mixing at eval only: p = (1 - w) * p_net + w * p_ppm, p_ppm an order-k PPM-C model
    # over the validation stream updated online (score first). Training is unchanged.
    ppm_c: bool = False
    ppm_c_order: int = 2
    ppm_c_weight: float = 0.05
    # Export keeps the tied embedding in fp16 instead of int8 per-row (its rows are looked up
    # and used as the output head, so quantization error hits twice).
    fp16_embed: bool = False

    # ---- testing hooks ----
    # Step at which the training loss is replaced by NaN, to exercise failure handling end to
    # end; 0 = never.
    debug_nan_at_step: int = 0

    def __post_init__(self) -> None:
        # Accept lists (YAML/JSON) for the placement but store a canonical tuple form.
        object.__setattr__(self, "value_embeds", normalize_tables(self.value_embeds, self.num_layers))
        self._validate()

    def _validate(self) -> None:
        def need(ok: bool, name: str, expected: str) -> None:
            if not ok:
                raise ValueError(f"{name}={getattr(self, name)!r}: expected {expected}")

        for name in ("vocab_size", "num_layers", "model_dim", "num_heads", "num_kv_heads",
                     "mlp_mult", "train_seq_len", "train_batch_tokens", "grad_accum_steps",
                     "gpus_per_run", "iterations"):
            need(getattr(self, name) > 0, name, "a positive integer")
        need(self.model_dim % self.num_heads == 0, "model_dim", f"a multiple of num_heads={self.num_heads}")
        need(self.num_heads % self.num_kv_heads == 0, "num_heads", f"a multiple of num_kv_heads={self.num_kv_heads}")
        need((self.model_dim // self.num_heads) % 2 == 0, "model_dim", "model_dim / num_heads even (RoPE rotates pairs)")
        need(self.vocab_size <= 65536, "vocab_size", "at most 65536 (shards store uint16 tokens)")
        need(self.max_wallclock_seconds >= 0, "max_wallclock_seconds", ">= 0 (0 = no cap)")
        need(self.warmdown_iters >= 0, "warmdown_iters", ">= 0")
        need(self.warmup_steps >= 0, "warmup_steps", ">= 0")
        need(self.val_loss_every >= 0, "val_loss_every", ">= 0 (0 = only at the end)")
        need(self.device in ("auto", "cpu", "cuda"), "device", "one of auto, cpu, cuda")
        need(self.ppm_c_order >= 0, "ppm_c_order", "an order >= 0")
        need(0.0 < self.ppm_c_weight < 1.0, "ppm_c_weight", "a mixing weight strictly between 0 and 1")
        # As the reference (8 % WORLD_SIZE): each of the gpus_per_run ranks runs
        # grad_accum_steps / gpus_per_run micro-steps, or the batch would not split evenly.
        need(self.grad_accum_steps % self.gpus_per_run == 0, "grad_accum_steps",
             f"a multiple of gpus_per_run={self.gpus_per_run}")
        micro = self.grad_accum_steps * self.train_seq_len
        need(self.train_batch_tokens % micro == 0, "train_batch_tokens",
             f"a multiple of grad_accum_steps * train_seq_len = {micro}")
        need(self.debug_nan_at_step >= 0, "debug_nan_at_step", ">= 0 (0 = never)")
        # A negative rate or an eps of 0 trains, but not what anyone meant: refused at spec check.
        for name in ("tied_embed_lr", "matrix_lr", "scalar_lr", "grad_clip_norm"):
            need(math.isfinite(getattr(self, name)) and getattr(self, name) >= 0, name, "a finite number >= 0")
        for name in ("muon_momentum", "muon_momentum_warmup_start", "beta1", "beta2"):
            need(0.0 <= getattr(self, name) < 1.0, name, "a momentum in [0, 1)")
        need(self.adam_eps > 0 and math.isfinite(self.adam_eps), "adam_eps", "a finite number > 0")
        need(self.muon_backend_steps > 0, "muon_backend_steps", "a positive integer (Newton-Schulz iterations)")
        need(self.muon_momentum_warmup_steps >= 0, "muon_momentum_warmup_steps", ">= 0")

    # ---- derived shapes ----
    @property
    def head_dim(self) -> int:
        return self.model_dim // self.num_heads

    @property
    def kv_dim(self) -> int:
        return self.num_kv_heads * self.head_dim

    def ve_table_of_layer(self) -> dict[int, int]:
        """Layer index -> index of the value-embedding table it reads."""
        return {layer: t for t, table in enumerate(self.value_embeds) for layer in table}

    # ---- construction and identity ----
    @classmethod
    def preset(cls, name: str, **overrides: Any) -> "TrainConfig":
        """A named preset (see PRESETS) with fields overridden: preset("golf", gated_attention=True)."""
        if name not in PRESETS:
            raise ValueError(f"unknown preset {name!r}: expected one of {', '.join(PRESETS)}")
        return cls.from_dict({**PRESETS[name], **overrides})

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> "TrainConfig":
        """Build from plain values (JSON, YAML); unknown keys raise ValueError naming them."""
        unknown = sorted(set(values) - cls.field_names())
        if unknown:
            raise ValueError(f"unknown TrainConfig field(s): {', '.join(unknown)}")
        return cls(**values)

    @classmethod
    def field_names(cls) -> set[str]:
        return {f.name for f in fields(cls)}

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able values; from_dict(to_dict()) round-trips exactly."""
        out = dataclasses.asdict(self)
        out["value_embeds"] = [list(t) for t in self.value_embeds]
        return out

    def replace(self, **changes: Any) -> "TrainConfig":
        return dataclasses.replace(self, **changes)

    def run_key(self, core_version: int = TRAIN_CORE_VERSION) -> str:
        """Stable identity of a run: hash of the fields that differ from their defaults (seed
        included) and the training core's version. Same config in any process -> same key, and a
        new field whose default keeps the old behaviour changes no key, so finished runs are not
        retrained. `core_version`: the key this config had under an older core (runs trained by
        it are not reused by today's core). (Stores from before this rule get their keys
        rewritten by migration 0003.)"""
        defaults = type(self)().to_dict()
        changed = {k: v for k, v in self.to_dict().items() if v != defaults[k]}
        payload = json.dumps({"core": core_version, "config": changed},
                             sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(payload.encode()).hexdigest()[:16]


# -----------------------------------------------------------------------------
# ---- PRESETS ----
# Plain override dicts over the defaults; the defaults themselves are the `golf` preset.

PRESETS: dict[str, dict[str, Any]] = {
    # parameter-golf baseline: 9 layers x 512, 8 heads / 4 KV heads, MLP 2x, vocab 1024,
    # seq 1024, 524,288 tokens per step, 10-minute cap -> 17,059,912 parameters.
    "golf": {},
    # The same architecture at the depth of the modded-nanogpt medium runs of the
    # value-embedding write-ups (16 layers, width 1024), so their layer layouts carry over.
    # Those runs trained 5960 steps with no wall-clock cap.
    "medium": dict(num_layers=16, model_dim=1024, num_heads=8, num_kv_heads=4,
                   iterations=5960, warmdown_iters=1800, max_wallclock_seconds=0.0,
                   val_loss_every=125),
    # 16 layers so every shipped spec fits, but narrow and short: 40 steps of 4096 tokens at
    # seq 128 take ~28 s of training on one CPU core (0.68 s/step measured) and bring val_loss
    # from 6.93 to ~3.9, so every ablation's curve separates from noise within a CI-sized run.
    "tiny": dict(num_layers=16, model_dim=64, num_heads=4, num_kv_heads=2, mlp_mult=2,
                 train_seq_len=128, train_batch_tokens=4096, grad_accum_steps=1,
                 iterations=40, warmup_steps=2, warmdown_iters=12, max_wallclock_seconds=0.0,
                 val_loss_every=10, val_batch_size=16384, val_max_tokens=16384,
                 train_log_every=5, tied_embed_lr=0.05, matrix_lr=0.04, scalar_lr=0.04,
                 muon_momentum_warmup_steps=20, device="cpu", compile=False),
}
