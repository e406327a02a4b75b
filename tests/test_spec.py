import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from rich.console import Console

from sweeper.errors import SpecError
from sweeper.spec import expand, load_spec, parse_spec
from sweeper.spec.dry_run_view import dry_run_table

ROOT = Path(__file__).resolve().parents[1]
GOLF = Path(sys.executable).with_name("golf")
HEAD = "name: t\nbase: tiny\nconfig:\n  value_embeds: {pattern: mirror, count: 3}\nseeds: 2\n"  # 5 lines


def err(text):
    with pytest.raises(SpecError) as e:
        expand(parse_spec(text, "x.yaml"))
    return str(e.value)


@pytest.mark.parametrize("body,expect", [
    # a layer index outside the model
    ("variants:\n  a: {remove_ve: [20]}\n", "x.yaml:7: variant 'a': remove_ve: layer index 20 is outside a model of 16 layers"),
    # duplicate variant names
    ("variants:\n  a: {}\n  a: {}\n", "x.yaml:8: duplicate key 'a' (first at line 7"),
    # unknown keys: operation, top level, threshold
    ("variants:\n  a: {bogus: 1}\n", "x.yaml:7: variant 'a': bogus: unknown operation or config field 'bogus'"),
    ("variants:\n  a: {matrx_lr: 1}\n", "did you mean 'matrix_lr'?"),
    ("bogus: 1\nvariants:\n  a: {}\n", "x.yaml:6: unknown key 'bogus' (expected one of name, description, base"),
    ("threshold: {metric: val_loss, value: 2, x: 1}\nvariants:\n  a: {}\n", "x.yaml:6: unknown key 'x' (expected one of metric, value, golf, medium, tiny)"),
    # a threshold metric that does not exist, a threshold with no value
    ("threshold: {metric: acc, value: 1}\nvariants:\n  a: {}\n",
     "x.yaml:6: threshold.metric: got 'acc' (expected 'val_loss', 'val_bpb', 'ppm_val_loss' or 'ppm_val_bpb')"),
    ("threshold:\n  metric: val_loss\nvariants:\n  a: {}\n", "x.yaml:6: threshold: missing key 'value'"),
    # ppm_c weight outside (0, 1)
    ("variants:\n  a: {ppm_c: {order: 2, weight: 0}}\n", "x.yaml:7: variant 'a': ppm_c: weight 0 is outside (0, 1)"),
    # a table shared by no layer
    ("variants:\n  a: {reshare_ve: [[]]}\n", "x.yaml:7: variant 'a': reshare_ve: value_embeds table 0 is shared by no layer"),
    # wrong types: op argument, config field by name (strict: no bool for int, no str for float)
    ("variants:\n  a: {gated_attention: 3}\n", "x.yaml:7: variant 'a': gated_attention: expected true or false"),
    ("variants:\n  a:\n    matrix_lr: 0.02\n    iterations: true\n", "x.yaml:9: variant 'a': iterations: got True (expected a valid integer)"),
    ("variants:\n  a: {matrix_lr: fast}\n", "x.yaml:7: variant 'a': matrix_lr: got 'fast' (expected a valid number)"),
    ("variants:\n  a: {matrix_lr: null}\n", "x.yaml:7: variant 'a': matrix_lr: got None"),
    ("variants:\n  a: 3\n", "x.yaml:7: variant 'a': got 3 (expected a mapping)"),
    ("variants:\n  a: {seed: 3}\n", "x.yaml:7: variant 'a': seed: cannot be set here (seeds are set by the top-level 'seeds' key)"),
    ("variants: {}\n", "x.yaml:6: variants: got {} (expected a non-empty value)"),
    ("grid:\n  matrix_lr: [0.1,\n    x]\nvariants:\n  a: {}\n", "x.yaml:8: grid.matrix_lr.1: got 'x' (expected a valid number)"),
    ("grid:\n  matrix_lr: []\nvariants:\n  a: {}\n", "x.yaml:7: grid.matrix_lr: got [] (expected a non-empty value)"),
    # config ops are checked against the base and named as such
    ("variants:\n  a: {}\nconfig: {add_ve: 9}\n", "x.yaml:8: duplicate key 'config' (first at line 3"),
    # YAML syntax
    ("variants:\n  a: [1\n", "x.yaml:8: YAML syntax"),
    ("variants:\n  a: {}\n---\nname: u\n", "x.yaml:8: YAML syntax"),
])
def test_errors_name_file_line_variant(body, expect):
    assert expect in err(HEAD + body)


@pytest.mark.parametrize("text,expect", [
    ("name: t\nseeds: [1, 2, 1]\nvariants:\n  a: {}\n", "x.yaml:2: seeds: got [1, 2, 1] (expected distinct seeds)"),
    ("name: t\nseeds:\n  - 1\n  - true\nvariants:\n  a: {}\n", "x.yaml:4: seeds.1: got True (expected a valid integer)"),
    ("name: t\nseeds: 0\nvariants:\n  a: {}\n", "x.yaml:2: seeds: got 0 (expected a positive count n"),
    ("name: ''\nvariants:\n  a: {}\n", "x.yaml:1: name: got '' (expected a non-empty value)"),
    ("name: t\nbase: huge\nvariants:\n  a: {}\n", "x.yaml:2: base: got 'huge' (expected 'golf', 'medium' or 'tiny')"),
    ("name: t\n", "x.yaml:1: missing key 'variants'"),
    ("- 1\n", "x.yaml:1: expected a mapping with keys name, description, base"),
    ("name: !!python/object:os.system x\n", "x.yaml:1: YAML tag '!!python/object:os.system' is not allowed"),
    ("name: t\nbase: tiny\nconfig:\n  value_embeds: {pattern: mirror, count: 3}\n  add_ve: 20\nvariants:\n  a: {}\n",
     "x.yaml:5: config: add_ve: 23 mirrored tables need 46 layers but the model has 16 layers"),
])
def test_top_level_errors(text, expect):
    assert expect in err(text)


def test_one_message_for_the_first_problem_in_file_order():
    msg = err("name: t\nbase: tiny\nvariants:\n  a: {matrix_lr: x}\n  b: {bogus: 1}\nseeds: -1\n")
    assert msg.count("x.yaml:") == 1 and msg.startswith("x.yaml:4: variant 'a': matrix_lr")


def test_seeds_count_or_list_and_numbered_variant_names():
    s = parse_spec("name: t\nbase: tiny\nseeds: [7, 3]\nvariants:\n  25: {}\n  26: {add_ve: 2}\n")
    assert s.seeds == [7, 3]
    e = expand(s)
    assert [(p.variant, p.seed) for p in e.plans] == [("25", 7), ("25", 3), ("26", 7), ("26", 3)]
    assert [p.seed for p in expand(s, seeds=2).plans] == [0, 1, 0, 1]
    with pytest.raises(SpecError, match="--seeds"):
        expand(s, seeds=0)
    with pytest.raises(SpecError, match="--base: unknown preset 'huge'"):
        expand(s, "huge")


def test_ops_apply_in_written_order():
    # remove then add: no longer a mirror, so the new table goes on the lowest free layer (0);
    # add then remove: mirror 4 first, then layer 0 leaves its table.
    s = parse_spec(HEAD + "variants:\n  ra: {remove_ve: [0], add_ve: 1}\n  ar: {add_ve: 1, remove_ve: [0]}\n")
    e = expand(s)
    assert e.plans[0].config.value_embeds == ((0,), (1, 14), (2, 15), (13,))
    assert e.plans[2].config.value_embeds == ((1, 13), (2, 14), (3, 15), (12,))


def test_expand_order_grid_dedup_seeds():
    s = parse_spec(HEAD + "grid:\n  matrix_lr: [0.02, 0.04]\nvariants:\n  a: {}\n  b: {remove_ve: []}\n  c: {remove_ve: [0]}\n")
    e = expand(s)
    assert [(p.variant, p.seed) for p in e.plans][:3] == [("a[matrix_lr=0.02]", 0), ("a[matrix_lr=0.02]", 1), ("a[matrix_lr=0.04]", 0)]
    assert ("a[matrix_lr=0.02]", "b[matrix_lr=0.02]") in e.duplicates
    assert len(e.plans) == 2 * 2 * 2
    assert len(expand(s, seeds=3).plans) == 2 * 2 * 3
    assert len({p.key for p in e.plans}) == len(e.plans)
    assert e.plans[0].config.matrix_lr == 0.02 and e.base.matrix_lr == 0.04


def test_int_for_float_field_gives_the_same_run_as_the_float():
    a = expand(parse_spec("name: t\nbase: tiny\nvariants:\n  a: {matrix_lr: 1}\n"))
    b = expand(parse_spec("name: t\nbase: tiny\nvariants:\n  a: {matrix_lr: 1.0}\n"))
    assert a.plans[0].key == b.plans[0].key


def test_keys_deterministic_across_processes():
    code = ("from sweeper.spec import load_spec, expand;"
            "print(','.join(p.key for p in expand(load_spec('ablations/remove_ve.yaml'), 'tiny').plans))")
    outs = [subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True).stdout
            for _ in range(2)]
    assert outs[0] == outs[1] and outs[0].count(",") == 35


def test_dry_run_table_shows_layers_switches_keys_and_duplicates():
    e = expand(parse_spec(HEAD + "grid:\n  matrix_lr: [0.02]\nvariants:\n  a: {remove_ve: [-1], gated_attention: true}\n"
                                 "  p: {ppm_c: {order: 3, weight: 0.1}}\n  same: {ppm_c: {order: 3, weight: 0.1}}\n"))
    console = Console(record=True, width=250)
    console.print(dry_run_table(e))
    out = console.export_text()
    assert "(0,13) (1,14) (2)" in out and "matrix_lr=0.02, gated_attention" in out
    assert "ppm_c(order=3, weight=0.1)" in out and "ppm_c_order" not in out
    assert all(p.key in out for p in e.plans)
    assert "same[matrix_lr=0.02] = p[matrix_lr=0.02]" in out
    assert "t: 2 variants, 4 runs, base tiny (VE (0,13) (1,14) (2,15))" in out


def test_dry_run_table_at_80_columns_keeps_run_keys_whole():
    e = expand(parse_spec(HEAD + "variants:\n  a_long_variant_name: {remove_ve: [-1], gated_attention: true}\n"))
    console = Console(record=True, width=80)
    console.print(dry_run_table(e))
    out = console.export_text()
    assert all(p.key in out for p in e.plans) and max(map(len, out.splitlines())) <= 80, out


def test_spec_check_reports_every_bad_file_and_exits_2(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: bad\nvariants:\n  a: {bogus: 1}\n")
    r = subprocess.run([str(GOLF), "spec", "check", str(bad), str(tmp_path / "missing.yaml"), "ablations/vr_ga.yaml"],
                       cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 2
    assert f"{bad}:3: variant 'a': bogus: unknown operation" in r.stderr
    assert "missing.yaml: cannot read spec" in r.stderr and "2 of 3 spec files have errors" in r.stderr
    assert "ok ablations/vr_ga.yaml: 4 variants, 12 runs (base golf)" in r.stdout


def test_load_spec_reads_a_file(tmp_path):
    p = tmp_path / "s.yaml"
    p.write_text(HEAD + "variants:\n  a: {}\n")
    s = load_spec(p)
    assert s.path == str(p) and s.name == "t" and s.line("variants", "a") == 7


# ---- golf train --set: one config from names and values, checked as specs are ----


def test_set_values_are_checked_like_a_spec_and_name_the_field():
    from sweeper.spec import resolve_overrides

    cfg = resolve_overrides("tiny", {"compile": True, "seed": 3, "matrix_lr": 0.05,
                                     "value_embeds": {"pattern": "mirror", "count": 2}, "remove_ve": [0]})
    assert (cfg.compile, cfg.seed, cfg.matrix_lr) == (True, 3, 0.05)
    assert 0 not in cfg.ve_table_of_layer() and 1 in cfg.ve_table_of_layer()  # operations, in order
    for values, message in (({"compile": "ture"}, "--set compile: got 'ture' (expected a valid boolean)"),
                            ({"comple": True}, "did you mean 'compile'?"),
                            ({"seed": "x"}, "--set seed: got 'x'"),
                            ({"remove_ve": [40]}, "--set remove_ve: layer index 40 is outside")):
        with pytest.raises(SpecError, match=re.escape(message)):
            resolve_overrides("tiny", values)


def test_golf_train_set_typo_is_an_error_naming_the_field(tmp_path):
    out = subprocess.run([sys.executable, "-m", "cli", "train", "--set", "compile=ture"], cwd=tmp_path,
                         env={**os.environ, "PYTHONPATH": str(ROOT)},
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 2 and "compile: got 'ture' (expected a valid boolean)" in out.stderr, out.stderr


def test_adaptive_seeds_rule_and_min_effect():
    s = parse_spec("name: t\nbase: tiny\nseeds: {min: 2, max: 4, until: decided}\nmin_effect: 0.005\n"
                   "variants:\n  baseline: {}\n  a: {matrix_lr: 0.1}\n", "x.yaml")
    e = expand(s)
    assert (e.adaptive.min, e.adaptive.max, e.min_effect) == (2, 4, 0.005)
    assert [p.seed for p in e.plans] == [0, 1, 2, 3] * 2  # every seed the sweep may pick
    assert expand(s, seeds=6).adaptive.max == 6
    plain = parse_spec("name: t\nbase: tiny\nseeds: 3\nvariants:\n  a: {}\n", "x.yaml")
    assert expand(plain).adaptive is None and expand(plain, adaptive=True).adaptive.max == 10
    for text, message in (("seeds: {min: 3, max: 2}", "x.yaml:3: seeds: got {'min': 3, 'max': 2} (expected max >= min"),
                          ("seeds: {min: 2, max: 5, until: never}", "x.yaml:3: seeds.until: got 'never' (expected 'decided')"),
                          ("seeds: {min: 1, max: 5}", "x.yaml:3: seeds.min: got 1 (expected greater than or equal to 2)"),
                          ("min_effect: -1", "x.yaml:3: min_effect: got -1 (expected greater than 0)")):
        with pytest.raises(SpecError) as info:
            parse_spec(f"name: t\nbase: tiny\n{text}\nvariants:\n  a: {{}}\n", "x.yaml")
        assert str(info.value).startswith(message)
