"""The network: exact parameter counts, baseline identity with ablations off, ablation inits."""

import pytest
import torch

from model.config import TrainConfig, mirror_tables
from model.gpt import GPT

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
