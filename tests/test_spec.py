import subprocess
import sys
from pathlib import Path

import pytest

from sweeper.errors import SpecError
from sweeper.spec import expand, parse_spec

HEAD = "name: t\nbase: tiny\nconfig:\n  value_embeds: {pattern: mirror, count: 3}\nseeds: 2\n"


def err(text):
    with pytest.raises(SpecError) as e:
        expand(parse_spec(text, "x.yaml"))
    return str(e.value)


@pytest.mark.parametrize("body,expect", [
    ("variants:\n  a: {remove_ve: [20]}\n", "x.yaml:7: variant 'a': remove_ve: layer index 20 is outside a model of 16 layers"),
    ("variants:\n  a: {}\n  a: {}\n", "x.yaml:8: duplicate key 'a'"),
    ("variants:\n  a: {bogus: 1}\n", "x.yaml:7: variant 'a': bogus: unknown operation or config field 'bogus'"),
    ("bogus: 1\nvariants:\n  a: {}\n", "x.yaml:6: unknown key 'bogus'"),
    ("threshold: {metric: acc, value: 1}\nvariants:\n  a: {}\n", "x.yaml:6: threshold: metric 'acc' does not exist"),
    ("variants:\n  a: {ppm_c: {order: 2, weight: 0}}\n", "x.yaml:7: variant 'a': ppm_c: weight 0 is outside (0, 1)"),
    ("variants:\n  a: {reshare_ve: [[]]}\n", "x.yaml:7: variant 'a': reshare_ve: value_embeds table 0 is shared by no layer"),
    ("variants:\n  a: {gated_attention: 3}\n", "x.yaml:7: variant 'a': gated_attention: expected true or false"),
    ("variants:\n  a: [1\n", "x.yaml:"),
])
def test_errors_name_file_line_variant(body, expect):
    assert expect in err(HEAD + body)


def test_expand_order_grid_dedup_seeds():
    s = parse_spec(HEAD + "grid:\n  matrix_lr: [0.02, 0.04]\nvariants:\n  a: {}\n  b: {remove_ve: []}\n  c: {remove_ve: [0]}\n")
    e = expand(s)
    assert [(p.variant, p.seed) for p in e.plans][:3] == [("a[matrix_lr=0.02]", 0), ("a[matrix_lr=0.02]", 1), ("a[matrix_lr=0.04]", 0)]
    assert ("a[matrix_lr=0.02]", "b[matrix_lr=0.02]") in e.duplicates
    assert len(e.plans) == 2 * 2 * 2
    assert len(expand(s, seeds=3).plans) == 2 * 2 * 3
    assert len({p.key for p in e.plans}) == len(e.plans)


def test_keys_deterministic_across_processes():
    code = ("from sweeper.spec import load_spec, expand;"
            "print(','.join(p.key for p in expand(load_spec('ablations/remove_ve.yaml'), 'tiny').plans))")
    root = Path(__file__).resolve().parents[1]
    outs = [subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True, check=True).stdout
            for _ in range(2)]
    assert outs[0] == outs[1] and outs[0].count(",") == 35


def test_render_plan_table_shows_layers_and_keys():
    from rich.console import Console
    from sweeper.spec_view import render_plan_table
    e = expand(parse_spec(HEAD + "variants:\n  a: {remove_ve: [-1], gated_attention: true}\n"))
    console = Console(record=True, width=200)
    render_plan_table(e.plans, console)
    out = console.export_text()
    assert "(0,13) (1,14)" in out and "gated_attention" in out and e.plans[0].key in out
