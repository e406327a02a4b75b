import dataclasses
import re

import pytest

from model import TrainConfig, mirror_tables, pairs_tables


def test_baseline_is_the_config_with_nothing_set():
    assert TrainConfig.preset("golf") == TrainConfig()


def test_preset_overrides_and_unknown_fields():
    cfg = TrainConfig.preset("golf", gated_attention=True)
    assert cfg.gated_attention and cfg.num_layers == 9
    with pytest.raises(ValueError, match="unknown TrainConfig field"):
        TrainConfig.preset("golf", gated_atention=True)
    with pytest.raises(ValueError, match="unknown preset"):
        TrainConfig.preset("huge")


def test_value_embeds_normalized_and_validated():
    cfg = TrainConfig.preset("medium", value_embeds=[[-1, 2], [0, -3]])
    assert cfg.value_embeds == ((0, 13), (2, 15))
    assert TrainConfig.preset("medium", value_embeds=mirror_tables(3, 16)).value_embeds == (
        (0, 13), (1, 14), (2, 15))
    assert pairs_tables(9) == ((0, 1), (2, 3), (4, 5), (6, 7), (8,))
    with pytest.raises(ValueError, match="outside a model of 9 layers"):
        TrainConfig(value_embeds=[[9]])
    with pytest.raises(ValueError, match="shared by no layer"):
        TrainConfig(value_embeds=[[]])
    with pytest.raises(ValueError, match="layer 1 is in table 0 and table 1"):
        TrainConfig(value_embeds=[[0, 1], [1, 2]])
    with pytest.raises(ValueError, match="needs 16 layers"):
        mirror_tables(8, 9)


def test_cross_field_rules_name_the_field():
    with pytest.raises(ValueError, match="num_heads=6"):
        TrainConfig(num_heads=6, num_kv_heads=4, model_dim=516)
    with pytest.raises(ValueError, match="ppm_c_weight"):
        TrainConfig(ppm_c=True, ppm_c_weight=1.5)


def test_run_key_stable_and_round_trips():
    cfg = TrainConfig.preset("tiny", seed=3, value_embeds=[[0, -1]])
    again = TrainConfig.from_dict(cfg.to_dict())
    assert again == cfg and again.run_key() == cfg.run_key()
    assert cfg.replace(seed=4).run_key() != cfg.run_key()


def test_a_new_field_with_a_default_changes_no_run_key():
    """TrainConfig as it will be once someone adds a knob whose default is today's behaviour."""
    grown = dataclasses.make_dataclass("GrownConfig", [("new_knob", int, dataclasses.field(default=0))],
                                       bases=(TrainConfig,), frozen=True)
    for cfg in (TrainConfig(), TrainConfig.preset("tiny", seed=3, value_embeds=[[0, -1]], gated_attention=True)):
        same = grown(**cfg.to_dict())
        assert same.run_key() == cfg.run_key()
        assert same.replace(new_knob=1).run_key() != cfg.run_key()  # setting the new knob is a new run


def test_gpus_per_run_must_divide_the_accumulation():
    with pytest.raises(ValueError, match="grad_accum_steps=1: expected a multiple of gpus_per_run=2"):
        TrainConfig.preset("tiny", gpus_per_run=2)
    assert TrainConfig.preset("tiny", gpus_per_run=2, grad_accum_steps=2).gpus_per_run == 2


@pytest.mark.parametrize("field, value, expected", [
    ("matrix_lr", -1.0, "a finite number >= 0"), ("scalar_lr", float("nan"), "a finite number >= 0"),
    ("muon_momentum", 1.0, "a momentum in [0, 1)"), ("beta2", -0.1, "a momentum in [0, 1)"),
    ("adam_eps", 0.0, "a finite number > 0"), ("muon_backend_steps", 0, "a positive integer"),
])
def test_optimizer_settings_out_of_range_are_refused_naming_the_field(field, value, expected):
    with pytest.raises(ValueError, match=rf"{field}=.*expected {re.escape(expected)}"):
        TrainConfig.preset("tiny", **{field: value})
    TrainConfig.preset("tiny", tied_embed_lr=0.0)  # a frozen embedding is a real ablation
