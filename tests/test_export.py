"""Export in the reference's format: each rule on hand-made tensors, and a whole model against an
independent re-implementation of the reference's quantize/dequantize (numpy, written from the
rules of parameter-golf's train_gpt.py, not from model/export.py)."""

import io
import zlib

import numpy as np
import pytest
import torch

from model.config import TrainConfig
from model.export import (
    code_bytes,
    dequantize_state,
    quantize_state,
    read_artifact,
    write_artifact,
)
from model.gpt import GPT

torch.set_num_threads(1)

Q = 0.9999984  # INT8_CLIP_PERCENTILE 99.99984 / 100
# the reference's CONTROL_TENSOR_NAME_PATTERNS (the plurals are covered by substring) + golf's lambdas
CONTROL = ("attn_scale", "mlp_scale", "resid_mix", "q_gain", "skip_weight", "ve_lambdas", "vr_lambdas")


def ref_row_clip(row: np.ndarray) -> np.float32:
    """torch.quantile's 'linear' rule by hand, in fp32 as torch computes it: sort |row|, rank
    q * (n - 1), lerp between the two neighbours (torch's lerp form for weights >= 0.5)."""
    a = np.sort(np.abs(row.astype(np.float32)))
    rank = np.float32(Q) * np.float32(a.size - 1)
    lo = int(np.floor(rank))
    w = np.float32(rank - np.float32(lo))
    below, above = a[lo], a[min(lo + 1, a.size - 1)]
    if w >= 0.5:
        return np.float32(above - (above - below) * np.float32(1 - w))
    return np.float32(below + w * (above - below))


def ref_roundtrip(name: str, t: torch.Tensor) -> torch.Tensor:
    """What the reference's dequantize(quantize(t)) gives for one float tensor."""
    if t.numel() <= 65_536:
        if any(c in name for c in CONTROL):
            return t.float()  # fp32 whatever it came as
        return t.half().to(t.dtype)
    w = t.float().numpy()
    assert w.ndim == 2
    out = np.empty_like(w)
    for i, row in enumerate(w):
        clip = ref_row_clip(row)
        scale = max(np.float32(clip / np.float32(127)), np.float32(1 / 127))  # fp32, floored
        q = np.clip(np.round(np.clip(row, -clip, clip) / scale), -127, 127)  # round half to even
        out[i] = q * np.float32(np.float16(scale))  # the stored scale is fp16
    return torch.from_numpy(out).to(t.dtype)


def roundtrip(state, **kw):
    return dequantize_state(quantize_state(state, **kw))


def test_small_tensors_pass_through_control_fp32_rest_fp16():
    t = torch.randn(65_536) * 0.3  # exactly at the limit: kept (<=, not <)
    back = roundtrip({"blocks.0.attn_scale": t, "blocks.0.other": t, "count": torch.arange(5)})
    assert back["blocks.0.attn_scale"].dtype == torch.float32 and torch.equal(back["blocks.0.attn_scale"], t)
    assert back["blocks.0.other"].dtype == torch.float32 and torch.equal(back["blocks.0.other"], t.half().float())
    assert torch.equal(back["count"], torch.arange(5))  # non-float: unchanged
    obj = quantize_state({"blocks.0.other": t.bfloat16()})
    assert obj["passthrough"]["blocks.0.other"].dtype == torch.float16
    assert roundtrip({"x": t.bfloat16()})["x"].dtype == torch.bfloat16  # original dtype restored


def test_one_more_element_is_quantized_per_row():
    t = torch.randn(1, 65_537)
    obj = quantize_state({"w": t})
    assert obj["quantized"]["w"].dtype == torch.int8 and obj["scales"]["w"].shape == (1,)
    assert obj["qmeta"]["w"] == {"scheme": "per_row", "axis": 0}
    assert obj["__quant_format__"] == "int8_clean_per_row_v1"


def test_row_clipped_at_the_percentile_not_the_max():
    # one outlier per row: the max would set a scale that crushes every other value to 0
    g = torch.Generator().manual_seed(0)
    t = torch.randn(130, 512, generator=g) * 4.0
    t[:, 7] = 1000.0
    clip = torch.tensor([ref_row_clip(r) for r in t.numpy()])
    assert (clip < 1000.0).all() and (clip > t[:, :7].abs().max(dim=1).values).all()
    obj = quantize_state({"w": t})
    assert torch.allclose(obj["scales"]["w"].float(), (clip / 127).half().float())
    back = roundtrip({"w": t})["w"]
    assert torch.allclose(back[:, 7], obj["scales"]["w"].float() * 127)  # the outlier is clipped


def test_scale_floor_is_one_over_127():
    # rows with |w| < 1 share the floor scale 1/127 (the reference's clamp_min); a zero row is exact
    t = torch.zeros(129, 512)
    t[1:] = torch.linspace(-0.5, 0.5, 512)
    obj = quantize_state({"w": t})
    assert torch.all(obj["scales"]["w"].float() == torch.tensor(1 / 127).half().float())
    back = roundtrip({"w": t})["w"]
    assert torch.equal(back[0], torch.zeros(512))
    assert (back[1:] - t[1:]).abs().max() <= 0.5 / 127 + 1e-6


def test_fp16_embed_keeps_the_embedding_in_fp16():
    emb = torch.randn(1024, 128) * 0.05
    back = roundtrip({"tok_emb.weight": emb}, fp16_embed=True)
    assert torch.equal(back["tok_emb.weight"], emb.half().float())
    assert not torch.equal(roundtrip({"tok_emb.weight": emb})["tok_emb.weight"], emb.half().float())


def trained_like_state(config: TrainConfig, dtype=torch.float32) -> dict:
    torch.manual_seed(0)
    model = GPT(config)
    with torch.no_grad():  # weights of a trained size, so the per-row scales are above the floor
        for p in model.parameters():
            if p.ndim == 2:
                p.normal_(0, 2.0)
    return {k: v.to(dtype) for k, v in model.state_dict().items()}


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_model_roundtrip_equals_the_reference_rules_and_size(tmp_path, dtype):
    config = TrainConfig.preset("tiny", model_dim=128, num_layers=4, num_heads=4, num_kv_heads=2)
    state = trained_like_state(config, dtype)
    path = write_artifact(state, tmp_path)
    back = read_artifact(path)
    assert set(back) == set(state)
    for name, t in state.items():
        expected = ref_roundtrip(name, t)
        assert back[name].dtype == expected.dtype, name
        assert torch.allclose(back[name].float(), expected.float(), rtol=0, atol=1e-6), name
    # the size of the reference's object built from the same values, by hand
    ref_obj = {"__quant_format__": "int8_clean_per_row_v1", "quantized": {}, "scales": {},
               "dtypes": {}, "passthrough": {}, "qmeta": {}, "passthrough_orig_dtypes": {}}
    for name, t in state.items():
        if t.numel() <= 65_536:
            control = any(c in name for c in CONTROL)
            ref_obj["passthrough"][name] = t.float() if control else t.half()
        else:
            clip = torch.tensor([ref_row_clip(r) for r in t.float().numpy()])
            scale = (clip / 127).clamp_min(1 / 127)
            ref_obj["quantized"][name] = torch.clamp(torch.round(
                torch.maximum(torch.minimum(t.float(), clip[:, None]), -clip[:, None]) / scale[:, None]),
                -127, 127).to(torch.int8)
            ref_obj["scales"][name] = scale.half()
    buf = io.BytesIO()
    torch.save(ref_obj, buf)
    ref_size = len(zlib.compress(buf.getvalue(), level=9))
    assert abs(path.stat().st_size - ref_size) <= 0.01 * ref_size


def test_code_bytes_counts_the_training_core():
    n = code_bytes()
    assert 20_000 < n < 200_000
    assert code_bytes(TrainConfig(ppm_c=True)) > n  # PPM-C's code counts only when it runs
