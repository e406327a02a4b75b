"""The network: exact parameter counts, baseline identity with ablations off, ablation inits."""

import pytest
import torch

from model.config import TrainConfig, mirror_tables
from model.gpt import GPT, cast_like_reference

torch.set_num_threads(1)


def count(config: TrainConfig) -> int:
    return sum(p.numel() for p in GPT(config).parameters())


def test_parameter_counts_golf():
    golf = TrainConfig.preset("golf")
    base = count(golf)
    assert base == 17_059_912
    assert count(golf.replace(gated_attention=True)) - base == 36_936
    assert count(golf.replace(value_residual=True)) - base == 18
    # mirror count 1 on 9 layers: one table shared by 2 layers -> 262,144 + 2 lambdas
    ve = golf.replace(value_embeds=mirror_tables(1, 9))
    layers = len(ve.ve_table_of_layer())
    assert count(ve) - base == 262_144 + layers


def tiny(**changes) -> TrainConfig:
    return TrainConfig.preset("tiny", **changes)


def loss_of(config: TrainConfig, seed: int = 0) -> tuple[GPT, torch.Tensor, torch.Tensor]:
    torch.manual_seed(seed)
    model = GPT(config)
    g = torch.Generator().manual_seed(1)
    x = torch.randint(0, config.vocab_size, (2, 32), generator=g)
    y = torch.randint(0, config.vocab_size, (2, 32), generator=g)
    return model, x, y


def randomize_zero_inits(model: GPT) -> None:
    # zero-initialised output projections make every block a no-op; move them so blocks matter
    g = torch.Generator().manual_seed(2)
    with torch.no_grad():
        for block in model.blocks:
            for lin in (block.attn.proj, block.mlp.proj):
                lin.weight.copy_(torch.randn(lin.weight.shape, generator=g) * 0.05)


def test_ablations_off_is_bit_identical_baseline():
    m1, x, y = loss_of(tiny())
    m2, _, _ = loss_of(tiny(value_residual=False, gated_attention=False, value_embeds=()))
    assert [n for n, _ in m1.named_parameters()] == [n for n, _ in m2.named_parameters()]
    assert torch.equal(m1(x, y), m2(x, y))


def test_value_embeddings_start_at_exact_baseline_then_change_output():
    base, x, y = loss_of(tiny())
    randomize_zero_inits(base)
    ve, _, _ = loss_of(tiny(value_embeds=mirror_tables(2, 16)))
    ve.load_state_dict(base.state_dict(), strict=False)
    assert torch.equal(base(x), ve(x))
    with torch.no_grad():
        ve.ve_lambdas.fill_(0.5)
    assert not torch.allclose(base(x), ve(x))


def test_value_residual_init_and_effect():
    base, x, _ = loss_of(tiny())
    randomize_zero_inits(base)
    vr, _, _ = loss_of(tiny(value_residual=True))
    vr.load_state_dict(base.state_dict(), strict=False)
    assert torch.equal(vr.vr_lambdas, torch.full((16, 2), 0.5))
    with torch.no_grad():
        vr.vr_lambdas[:, 0] = 0.0
        vr.vr_lambdas[:, 1] = 1.0
    assert torch.allclose(base(x), vr(x), atol=1e-6)  # a=0, b=1 is exactly the baseline
    with torch.no_grad():
        vr.vr_lambdas.fill_(0.5)
    assert not torch.allclose(base(x), vr(x), atol=1e-4)


def test_gated_attention_starts_close_and_changes_when_moved():
    base, x, _ = loss_of(tiny())
    randomize_zero_inits(base)
    ga, _, _ = loss_of(tiny(gated_attention=True))
    ga.load_state_dict(base.state_dict(), strict=False)
    gate = ga.blocks[0].attn.gate
    assert torch.all(gate.weight == 0) and torch.all(gate.bias == 4.0)
    close = (base(x) - ga(x)).abs().max().item()
    assert close < 0.5
    with torch.no_grad():
        for block in ga.blocks:
            block.attn.gate.bias.fill_(-2.0)
    assert (base(x) - ga(x)).abs().max().item() > close


def test_loss_backward_reaches_every_parameter():
    model, x, y = loss_of(tiny(value_residual=True, gated_attention=True,
                               value_embeds=mirror_tables(1, 16)))
    randomize_zero_inits(model)
    with torch.no_grad():
        model.ve_lambdas.fill_(0.1)
    model(x, y).backward()
    missing = [n for n, p in model.named_parameters() if p.grad is None]
    assert missing == []


def test_cuda_placement_dtypes_as_the_reference():
    """The CUDA placement, checked with its CPU equivalent (bf16 is the same dtype on the CPU):
    only the embedding tables run bf16; CastedLinear weights (golf's gate included), control
    tensors and everything below 2-D stay fp32, as restore_low_dim_params_to_fp32 leaves them."""
    config = tiny(gated_attention=True, value_residual=True, value_embeds=mirror_tables(1, 16))
    torch.manual_seed(0)
    model = cast_like_reference(GPT(config))
    dtypes = {n: p.dtype for n, p in model.named_parameters()}
    assert {n for n, d in dtypes.items() if d == torch.bfloat16} == {"tok_emb.weight", "value_embeds.0.weight"}
    assert all(d == torch.float32 for n, d in dtypes.items() if n not in ("tok_emb.weight", "value_embeds.0.weight"))
    assert dtypes["blocks.0.resid_mix"] == dtypes["skip_weights"] == dtypes["vr_lambdas"] == torch.float32  # 2-D controls
    x = torch.randint(0, config.vocab_size, (2, 32))
    with torch.autocast("cpu", dtype=torch.bfloat16):
        loss = model(x, x)
    loss.backward()
    assert torch.isfinite(loss) and model.tok_emb.weight.grad.dtype == torch.bfloat16


def test_rotary_tables_cached_and_exact_fp32():
    rotary = GPT(tiny()).blocks[0].attn.rotary
    cos, sin = rotary(1024, torch.device("cpu"), torch.float32)
    assert rotary(1024, torch.device("cpu"), torch.float32)[0] is cos  # cached, not recomputed
    D = rotary.head_dim
    inv_freq = 1.0 / (rotary.base ** (torch.arange(0, D, 2, dtype=torch.float64) / D))
    # position 1023 exactly (a bf16 position would be 1024)
    assert torch.allclose(cos[0, 0, 1023].double(), torch.cos(1023 * inv_freq), atol=1e-4)
    assert torch.allclose(sin[0, 0, 1023].double(), torch.sin(1023 * inv_freq), atol=1e-4)


def test_device_label_opens_no_cuda():
    from model.hardware import device_label

    assert device_label(3) == "cpu x3"  # tests run with CUDA_VISIBLE_DEVICES=""
    assert not torch.cuda.is_initialized()
