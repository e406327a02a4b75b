import subprocess
import sys
from pathlib import Path

import pytest

from sweeper.errors import SpecError
from sweeper.spec import expand, load_spec

ROOT = Path(__file__).resolve().parents[1]
SPECS = sorted((ROOT / "ablations").glob("*.yaml"))


def test_all_eight_shipped():
    assert {p.stem for p in SPECS} >= {"remove_ve", "add_ve", "shift_ve", "reshare_ve", "ve_pairs",
                                        "vr_ga", "ppm_c", "fp16_embed"}


@pytest.mark.parametrize("path", SPECS, ids=lambda p: p.stem)
def test_expands_with_own_base_and_tiny(path):
    spec = load_spec(path)
    assert "Reproduces" in spec.description
    for base in (None, "tiny"):
        e = expand(spec, base)
        assert e.plans and not e.duplicates


def test_remove_ve_lists_12_variants():
    e = expand(load_spec(ROOT / "ablations/remove_ve.yaml"))
    assert len({p.variant for p in e.plans}) == 12 and len(e.plans) == 12 * 3


def test_add_ve_does_not_fit_golf_base():
    with pytest.raises(SpecError, match="variant 've_5'.*9 layers"):
        expand(load_spec(ROOT / "ablations/add_ve.yaml"), "golf")
    golf = Path(sys.executable).with_name("golf")
    r = subprocess.run([str(golf), "spec", "check", "--base", "golf", "ablations/add_ve.yaml"],
                       cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 2 and "ve_5" in r.stderr and "9 layers" in r.stderr
