import pytest

from model.config import TrainConfig
from sweeper.ablation_ops import apply_op


def cfg(L=8, **kw):
    return TrainConfig.preset("tiny", num_layers=L, **kw)


def test_mirror_pairs_tables():
    assert apply_op(cfg(), "value_embeds", {"pattern": "mirror", "count": 2}).value_embeds == ((0, 6), (1, 7))
    assert apply_op(cfg(5), "value_embeds", {"pattern": "pairs"}).value_embeds == ((0, 1), (2, 3), (4,))
    assert apply_op(cfg(), "value_embeds", {"tables": [[0, -1]]}).value_embeds == ((0, 7),)


def test_add_ve_mirror_and_explicit():
    c = apply_op(cfg(), "value_embeds", {"pattern": "mirror", "count": 2})
    assert apply_op(c, "add_ve", 1).value_embeds == ((0, 5), (1, 6), (2, 7))
    with pytest.raises(ValueError, match="8 layers"):
        apply_op(c, "add_ve", 3)
    c = apply_op(cfg(), "value_embeds", {"tables": [[0, 1]]})
    assert apply_op(c, "add_ve", 2).value_embeds == ((0, 1), (2,), (3,))


def test_remove_negative_and_depth_change():
    for L in (8, 16):
        c = apply_op(cfg(L), "value_embeds", {"pattern": "mirror", "count": 3})
        out = apply_op(c, "remove_ve", [-1, 2])
        assert out.value_embeds == ((0, L - 3), (1, L - 2))
    c = apply_op(cfg(), "value_embeds", {"pattern": "mirror", "count": 3})
    assert apply_op(c, "remove_ve_table", [-1]).value_embeds == ((0, 5), (1, 6))
    with pytest.raises(ValueError, match="outside a model of 8 layers"):
        apply_op(c, "remove_ve", [8])


def test_shift_reshare_flags_ppm():
    c = apply_op(cfg(16), "value_embeds", {"pattern": "mirror", "count": 3})
    assert apply_op(c, "shift_ve", {"early": 1}).value_embeds == ((1, 13), (2, 14), (3, 15))
    assert apply_op(c, "shift_ve", {"late": -1}).value_embeds == ((0, 12), (1, 13), (2, 14))
    assert apply_op(c, "reshare_ve", [[0, 1], [-2, -1]]).value_embeds == ((0, 1), (14, 15))
    assert apply_op(c, "gated_attention", True).gated_attention
    p = apply_op(c, "ppm_c", {"order": 3, "weight": 0.1})
    assert (p.ppm_c, p.ppm_c_order, p.ppm_c_weight) == (True, 3, 0.1)
    with pytest.raises(ValueError, match=r"outside \(0, 1\)"):
        apply_op(c, "ppm_c", {"order": 2, "weight": 1.5})
    assert apply_op(c, "matrix_lr", 0.02).matrix_lr == 0.02
    assert c.value_embeds == ((0, 13), (1, 14), (2, 15))  # pure: input unchanged
