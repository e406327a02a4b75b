"""Export in the parameter-golf baseline's format: int8 + zlib, and the round trip back.

The rules and the file layout are those of `quantize_state_dict_int8` in openai/parameter-golf
`train_gpt.py` ("int8_clean_per_row_v1"), so `quant_val_bpb` and `artifact_bytes` compare with
published records, and an artifact golf writes loads with the reference's
`dequantize_state_dict_int8`:
- non-float tensors pass through unchanged;
- float tensors of at most 65,536 elements pass through: control tensors (model.gpt's
  CONTROL_TENSOR_NAME_PATTERNS) in fp32, the rest in fp16 with their dtype noted for the way back;
- larger matrices: int8 with one fp16 scale per row, each row clipped at the 99.99984th
  percentile of |w| and scale = clip / 127 floored at 1/127; other large tensors: one scale.
golf's one addition: with `fp16_embed` the tied embedding passes through in fp16 instead (it is
both the input table and the output head, so its quantization error counts twice).

`artifact_bytes` counts as the reference's "Total submission size int8+zlib": the compressed
model plus the bytes of the code that trains and evaluates it (code_bytes).
"""

from __future__ import annotations

import io
import zlib
from pathlib import Path

import torch
from torch import Tensor

from model.gpt import is_control

ARTIFACT_NAME = "final_model.int8.ptz"
QUANT_FORMAT = "int8_clean_per_row_v1"
KEEP_FLOAT_MAX_NUMEL = 65_536  # float tensors up to this size are stored as floats (<=, as the reference)
CLIP_Q = 99.99984 / 100.0  # rows clipped at this quantile of |w|: outliers do not set the scale
EMBED_KEY = "tok_emb.weight"


def _keep_float(name: str, t: Tensor, orig_dtypes: dict[str, str]) -> Tensor:
    """A small float tensor as stored: control tensors fp32, the rest fp16 (dtype noted)."""
    if is_control(name):
        return t.float().contiguous()
    if t.dtype in (torch.float32, torch.bfloat16):
        orig_dtypes[name] = str(t.dtype).removeprefix("torch.")
        return t.to(torch.float16).contiguous()
    return t


def _quantize(t: Tensor) -> tuple[Tensor, Tensor]:
    """(int8 values, scale): per row for a matrix (fp16 scales), one fp32 scale otherwise."""
    t32 = t.float()
    if t32.ndim == 2:
        clip = torch.quantile(t32.abs(), CLIP_Q, dim=1)  # (rows,)
        clipped = torch.maximum(torch.minimum(t32, clip[:, None]), -clip[:, None])
        scale = (clip / 127.0).clamp_min(1.0 / 127.0)
        q = torch.clamp(torch.round(clipped / scale[:, None]), -127, 127).to(torch.int8)
        return q.contiguous(), scale.to(torch.float16).contiguous()
    clip = float(torch.quantile(t32.abs().flatten(), CLIP_Q).item())
    scale = torch.tensor(clip / 127.0 if clip > 0 else 1.0, dtype=torch.float32)
    q = torch.clamp(torch.round(torch.clamp(t32, -clip, clip) / scale), -127, 127).to(torch.int8)
    return q.contiguous(), scale


def quantize_state(state: dict[str, Tensor], fp16_embed: bool = False) -> dict:
    """The reference's quantized object for a state dict (plain dicts of tensors and strings)."""
    quantized, scales, dtypes, passthrough, orig_dtypes, qmeta = {}, {}, {}, {}, {}, {}
    for name, tensor in state.items():
        t = tensor.detach().to("cpu").contiguous()
        if not t.is_floating_point():
            passthrough[name] = t
        elif t.numel() <= KEEP_FLOAT_MAX_NUMEL:
            passthrough[name] = _keep_float(name, t, orig_dtypes)
        elif fp16_embed and name == EMBED_KEY:
            orig_dtypes[name] = str(t.dtype).removeprefix("torch.")
            passthrough[name] = t.to(torch.float16).contiguous()
        else:
            quantized[name], scales[name] = _quantize(t)
            dtypes[name] = str(t.dtype).removeprefix("torch.")
            if scales[name].ndim > 0:
                qmeta[name] = {"scheme": "per_row", "axis": 0}
    obj: dict = {"__quant_format__": QUANT_FORMAT, "quantized": quantized, "scales": scales,
                 "dtypes": dtypes, "passthrough": passthrough}
    if qmeta:
        obj["qmeta"] = qmeta
    if orig_dtypes:
        obj["passthrough_orig_dtypes"] = orig_dtypes
    return obj


def dequantize_state(obj: dict) -> dict[str, Tensor]:
    """Inverse of quantize_state: each tensor back in the dtype it was exported from."""
    out: dict[str, Tensor] = {}
    for name, q in obj["quantized"].items():
        dtype = getattr(torch, obj["dtypes"][name])
        s = obj["scales"][name]
        if s.ndim > 0:  # per row: broadcast the row scale over the trailing dims
            out[name] = (q.float() * s.float().view(q.shape[0], *([1] * (q.ndim - 1)))).to(dtype)
        else:
            out[name] = (q.float() * float(s.item())).to(dtype)
    orig_dtypes = obj.get("passthrough_orig_dtypes", {})
    for name, t in obj["passthrough"].items():
        out[name] = t.to(getattr(torch, orig_dtypes[name])) if name in orig_dtypes else t
    return out


def write_artifact(state: dict[str, Tensor], out_dir: Path, fp16_embed: bool = False) -> Path:
    """Quantize, serialize and zlib-compress (level 9) `state` to out_dir/final_model.int8.ptz."""
    buf = io.BytesIO()
    torch.save(quantize_state(state, fp16_embed), buf)
    path = Path(out_dir) / ARTIFACT_NAME
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(zlib.compress(buf.getvalue(), level=9))
    return path


def read_artifact(path: Path) -> dict[str, Tensor]:
    """Load an artifact written by write_artifact (or by the reference) back into a state dict."""
    raw = zlib.decompress(Path(path).read_bytes())
    return dequantize_state(torch.load(io.BytesIO(raw), weights_only=True))


# The reference counts its one file, train_gpt.py. golf's counterpart is the training core as
# a run executes it: every model/*.py except the corpus builder (the reference counts no data
# preparation either), and ppm.py only for runs that mix PPM-C into their evaluation.
_NOT_RUN_CODE = ("prepare.py",)


def code_bytes(config=None) -> int:
    """UTF-8 bytes of the training core's source, as the reference's len(code.encode())."""
    skip = set(_NOT_RUN_CODE) | (set() if config is not None and config.ppm_c else {"ppm.py"})
    folder = Path(__file__).resolve().parent
    return sum(len(p.read_bytes()) for p in sorted(folder.glob("*.py")) if p.name not in skip)
