import pytest

from model.config import TrainConfig
from sweeper.spec.ablation_ops import apply_op


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
    with pytest.raises(ValueError, match=r"layer\(s\) \[4\] read no value embedding \(expected some of \[0, 1, 2, 5, 6, 7\]"):
        apply_op(c, "remove_ve", [0, 4])  # a removal that removes nothing would rerun the baseline
    with pytest.raises(ValueError, match="no value embeddings"):
        apply_op(cfg(), "remove_ve", [0])


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


def test_flags_none_and_off():
    c = apply_op(cfg(), "value_embeds", {"pattern": "pairs"})
    assert apply_op(c, "value_embeds", None).value_embeds == ()
    assert apply_op(c, "value_residual", True).value_residual and apply_op(c, "fp16_embed", True).fp16_embed
    on = apply_op(c, "ppm_c", {"order": 2, "weight": 0.05})
    assert apply_op(on, "ppm_c", False).ppm_c is False
    with pytest.raises(ValueError, match="value_residual: expected true or false"):
        apply_op(c, "value_residual", "yes")


@pytest.mark.parametrize("L", [6, 9, 16])
def test_depth_changes_keep_negative_indices_relative_to_the_last_layer(L):
    c = apply_op(cfg(L), "value_embeds", {"tables": [[0, -1], [1, -2]]})
    assert c.value_embeds == ((0, L - 1), (1, L - 2))
    assert apply_op(c, "remove_ve_table", [0]).value_embeds == ((1, L - 2),)
    assert apply_op(c, "shift_ve", {"early": 1}).value_embeds == ((1, L - 1), (2, L - 2))
    # add_ve on a non-mirror placement: new single-layer tables on the lowest free layers
    assert apply_op(c, "add_ve", 1).value_embeds == ((0, L - 1), (1, L - 2), (2,))


def test_op_errors_name_the_op_and_what_was_expected():
    c = apply_op(cfg(8), "value_embeds", {"pattern": "mirror", "count": 3})  # (0,5) (1,6) (2,7)
    with pytest.raises(ValueError, match="shift_ve: layer 7 shifted by 1 is 8, outside a model of 8 layers"):
        apply_op(c, "shift_ve", {"late": 1})
    with pytest.raises(ValueError, match="layer 1 is in table 0 and table 1"):
        apply_op(c, "reshare_ve", [[0, 1], [1, 2]])
    with pytest.raises(ValueError, match="layer 0 is in table 0 and table 1"):  # shifted onto another table
        apply_op(apply_op(c, "value_embeds", {"tables": [[0], [4]]}), "shift_ve", {"late": -4})
    with pytest.raises(ValueError, match=r"remove_ve_table: table 3 does not exist .*expected -3\.\.2"):
        apply_op(c, "remove_ve_table", [3])
    with pytest.raises(ValueError, match="add_ve: 6 new tables need 6 free layers but a model of 8 layers has 4"):
        apply_op(apply_op(c, "remove_ve_table", [0]), "add_ve", 6)
    with pytest.raises(ValueError, match="shift_ve: expected {early: k} or {late: k}"):
        apply_op(c, "shift_ve", {"middle": 1})
    with pytest.raises(ValueError, match="unknown operation or config field 'bogus'"):
        apply_op(c, "bogus", 1)
