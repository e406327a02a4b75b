"""Export: int8 per-row quantization of the weights + zlib, and the round trip back.

Matrices are stored as int8 with one fp16 scale per row (scale = max|row| / 127); small
tensors (scalars, gains, norms) stay fp16 since quantizing them saves nothing. With
`fp16_embed` the tied embedding is kept in fp16 because it is used twice (input + head), so
its quantization error would count twice.
"""

from __future__ import annotations

import io
import zlib
from pathlib import Path

import torch
from torch import Tensor

ARTIFACT_NAME = "final_model.int8.ptz"
_SMALL = 65_536  # tensors with fewer elements are kept in fp16
EMBED_KEY = "tok_emb.weight"


def quantize_state(state: dict[str, Tensor], fp16_embed: bool = False) -> dict[str, dict]:
    """Quantize a state dict into plain tensors: {'q','scale'} per-row int8 or {'fp16'}."""
    out: dict[str, dict] = {}
    for name, t in state.items():
        t = t.detach().float().cpu()
        if t.ndim != 2 or t.numel() < _SMALL or (fp16_embed and name == EMBED_KEY):
            out[name] = {"fp16": t.half()}
            continue
        scale = t.abs().amax(dim=1, keepdim=True).clamp_min(1e-12) / 127.0
        q = torch.clamp(torch.round(t / scale), -127, 127).to(torch.int8)
        out[name] = {"q": q, "scale": scale.half()}
    return out


def dequantize_state(packed: dict[str, dict]) -> dict[str, Tensor]:
    """Inverse of quantize_state, giving fp32 tensors."""
    out = {}
    for name, entry in packed.items():
        if "fp16" in entry:
            out[name] = entry["fp16"].float()
        else:
            out[name] = entry["q"].float() * entry["scale"].float()
    return out


def write_artifact(state: dict[str, Tensor], out_dir: Path, fp16_embed: bool = False) -> Path:
    """Quantize, serialize and zlib-compress `state` to out_dir/final_model.int8.ptz."""
    buf = io.BytesIO()
    torch.save(quantize_state(state, fp16_embed), buf)
    path = Path(out_dir) / ARTIFACT_NAME
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(zlib.compress(buf.getvalue(), level=9))
    return path


def read_artifact(path: Path) -> dict[str, Tensor]:
    """Load an artifact written by write_artifact back into an fp32 state dict."""
    raw = zlib.decompress(Path(path).read_bytes())
    return dequantize_state(torch.load(io.BytesIO(raw), weights_only=True))
