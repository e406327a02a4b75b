"""The HTML report in a real browser: Debian's headless Chromium opens the page with the network
cut off, and the tests read the DOM it built (tables, drawn SVG charts) and look at screenshots.

Pages: the value-embedding fixture collection (threshold 2.92) and the README's main job (a real
`--base tiny` sweep, trained once per session by conftest.py's readme_main_job).
Screenshots go to $GOLF_ARTIFACTS (else the test's tmp dir); the path is printed (pytest -s).
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import replace
from html.parser import HTMLParser
from pathlib import Path

import pytest

from sweeper.report.html import LivePage, build_page
from sweeper.store import Store

REPO = Path(__file__).resolve().parent.parent
GOLF = [sys.executable, "-m", "cli"]
VE_LOG = REPO / "tests/fixtures/modded-nanogpt-value-embeddings/results.md"
CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run", "--hide-scrollbars", "--mute-audio",
    # No network: every name resolves to nothing and every request goes to a closed local port.
    "--host-resolver-rules=MAP * ~NOTFOUND", "--proxy-server=127.0.0.1:9", "--proxy-bypass-list=<-loopback>"]


@pytest.fixture(scope="session")
def chromium():
    """The chromium executable; missing: FAIL under CI (never a silent skip there), else skip."""
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    if exe is None:
        msg = "chromium not found; install Debian's chromium package (apt-get install chromium)"
        if os.environ.get("CI"):
            pytest.fail(msg)
        pytest.skip(msg)
    return exe


def _browse(chromium, page: Path, *args: str) -> str:
    with tempfile.TemporaryDirectory(prefix="golf-chromium-") as profile:
        out = subprocess.run([chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args, page.resolve().as_uri()],
                             capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr[-2000:]
    return out.stdout


def dump_dom(chromium, page: Path) -> "Dom":
    """The DOM after the page's script ran."""
    dom = Dom()
    dom.feed(_browse(chromium, page, "--dump-dom"))
    return dom


def screenshots(chromium, page: Path, name: str) -> list[Path]:
    """The page at 1280x800 (what a laptop shows first), its whole length at 1280, and at phone width."""
    folder = Path(os.environ.get("GOLF_ARTIFACTS") or tempfile.mkdtemp(prefix="golf-html-"))
    folder.mkdir(parents=True, exist_ok=True)
    shots = []
    for suffix, size in (("1280x800", "1280,800"), ("1280-full", "1280,4200"), ("phone", "390,3000")):
        path = folder / f"{name}-{suffix}.png"
        _browse(chromium, page, f"--window-size={size}", f"--screenshot={path}")
        assert path.stat().st_size > 10_000, path  # a blank page compresses to a few kB
        shots.append(path)
    print(f"\nscreenshots of {name}: {folder}")
    return shots


class Dom(HTMLParser):
    """What the checks read from a dumped DOM: the ranking's cells, each chart's traces, the state."""

    def __init__(self):
        super().__init__()
        self.body: dict = {}
        self.refresh = False
        self.ranking: list[dict] = []      # per row: {column: data-v}
        self.header: list[str] = []        # the ranking's data-col in order
        self.behind_switch: set[str] = set()  # those shown only with "all columns"
        self.labels: dict[str, str] = {}   # the ranking's data-col -> its header text
        self.charts: dict[str, dict] = {}  # data-chart -> {"mean": set of variants, "attrs": ...}
        self.text: list[str] = []
        self._table = self._chart = self._th = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "body":
            self.body = a
        elif tag == "meta" and a.get("http-equiv", "").lower() == "refresh":
            self.refresh = True
        elif tag == "table":
            self._table = a.get("id")
        elif tag == "svg" and "data-chart" in a:
            self._chart = a["data-chart"]
            self.charts[self._chart] = {"mean": [], "band": [], "pt": 0, "attrs": a}
        elif self._table == "ranking" and tag == "th":
            self.header.append(a["data-col"])
            self._th = a["data-col"]
            if "more" in a.get("class", "").split():
                self.behind_switch.add(a["data-col"])
        elif self._table == "ranking" and tag == "tr" and "data-variant" in a:
            self.ranking.append({})
        elif self._table == "ranking" and tag == "td" and "data-col" in a:
            self.ranking[-1][a["data-col"]] = json.loads(a["data-v"])
        elif self._chart and tag == "path" and "mean" in a.get("class", "").split():
            assert a.get("d", "").startswith("M"), f"empty trace in {self._chart}: {a}"
            self.charts[self._chart]["mean"].append(a["data-variant"])
        elif self._chart and tag == "path" and a.get("class") == "band":
            self.charts[self._chart]["band"].append(a["data-variant"])
        elif self._chart and "pt" in a.get("class", "").split():
            self.charts[self._chart]["pt"] += 1

    def handle_endtag(self, tag):
        if tag == "th":
            self._th = None
        elif tag == "table":
            self._table = None
        elif tag == "svg":
            self._chart = None

    def handle_data(self, data):
        self.text.append(data)
        if self._th:
            self.labels[self._th] = self.labels.get(self._th, "") + data


def _golf(*args, cwd=REPO, timeout=300):
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    out = subprocess.run([*GOLF, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert out.returncode == 0, out.stderr[-3000:]
    return out


def _assert_matches_report(dom: Dom, report_json: str) -> None:
    """The page's ranking is the report's: same rows in the same order, every shown column's raw
    value equal to --format json's."""
    rows = json.loads(report_json)
    assert [r["variant"] for r in dom.ranking] == [r["variant"] for r in rows]
    assert [r["rank"] for r in dom.ranking] == list(range(1, len(rows) + 1))
    shown = [c for c in dom.header if c != "rank"]
    assert {"variant", "runs", "reached", "p_value", "final_mean"} <= set(shown), shown
    # the decision columns are in sight without "all columns", and the final mean names its metric
    by_time = any(r["reached"] for r in rows)  # else the table falls back to the final metric
    decision = {c for c in ({"ttt_rmst_s", "ttt_rmst_ci_low_s", "ttt_rmst_ci_high_s"} if by_time else {"final_mean"})
                | ({"verdict"} & set(rows[0])) if any(r[c] is not None for r in rows)}  # an interval needs 2 runs
    decision.add("p_value_adj" if by_time else "final_p_value_adj")  # a value, or "n/a (why)"
    assert decision <= set(shown) - dom.behind_switch, dom.behind_switch
    assert dom.labels["final_mean"] == f"final {rows[0]['final_metric']}"
    fm = rows[0]["final_metric"]
    assert not {f"final_{fm}_mean", f"{fm}_mean"} & set(shown)  # the same numbers as final_mean, not shown twice
    for page_row, report_row in zip(dom.ranking, rows):
        for column in shown:
            assert page_row[column] == report_row[column], (report_row["variant"], column)


def _assert_offline(html: str) -> None:
    """Nothing in the page asks for the network: no external script, style, image or font."""
    import re
    assert not re.search(r"""(?:src|href)\s*=\s*["']?(?:https?:)?//""", html, re.I)
    assert not re.search(r"""url\(\s*["']?(?:https?:)?//|@import""", html, re.I)


# ---- the value-embedding collection ----
def test_fixture_collection_page_in_the_browser(chromium, tmp_path):
    db = f"sqlite:///{tmp_path / 'r.db'}"
    _golf("import", str(VE_LOG), "--sweep", "ve", "--db", db)
    page = tmp_path / "ve.html"
    report = _golf("report", "ve", "--threshold", "2.92", "--db", db, "--format", "json", "--html", str(page),
                   "--rule", "golf")  # a verdict column, which must be in sight
    assert f"wrote {page}" in report.stderr
    html = page.read_text()
    _assert_offline(html)
    dom = dump_dom(chromium, page)
    _assert_matches_report(dom, report.stdout)
    assert dom.body["data-state"] == "finished" and not dom.refresh
    variants = {r["variant"] for r in dom.ranking}
    assert len(variants) == 27
    for chart in ("time", "detail", "step", "km"):  # one trace per variant, drawn
        assert sorted(dom.charts[chart]["mean"]) == sorted(variants), chart
    assert sorted(dom.charts["diff"]["mean"]) == sorted(variants - {"0"})  # the baseline is the zero line
    assert dom.charts["km"]["pt"] == 57  # every run's crossing (or censoring) as a point
    # the fixture README's crossing times, as KM steps: 16 crosses first, at 1410.6 s
    assert dom.ranking[0]["variant"] == "16" and dom.ranking[0]["ttt_mean_s"] == pytest.approx(1410.6, abs=0.5)
    assert "verdict" in dom.header and "verdict" not in dom.behind_switch
    screenshots(chromium, page, "value-embeddings")


# ---- the README's main job (12 real tiny runs): its finished page, then live again ----
@pytest.mark.slow
def test_readme_main_job_page_finished_then_live_again(chromium, tmp_path, readme_main_job):
    # trained once per session (conftest.py); tests/test_workers.py checks its ranking and its Ctrl-C
    folder, db, out = readme_main_job.folder, readme_main_job.url, readme_main_job.out
    assert out.returncode == 0, out.stderr[-3000:]
    page = folder / ".golf/reports/remove_ve-tiny.html"
    assert f"live page: {page}" in out.stdout.replace("\n", "")
    dom = dump_dom(chromium, page)
    assert dom.body["data-state"] == "finished" and not dom.refresh  # the final write: no more reloads
    _assert_matches_report(dom, _golf("report", "remove_ve-tiny", "--db", db, "--format", "json").stdout)
    variants = sorted(r["variant"] for r in dom.ranking)
    assert len(variants) == 12
    for chart in ("time", "detail", "step", "km"):
        assert sorted(dom.charts[chart]["mean"]) == variants, chart
    assert sorted(dom.charts["diff"]["mean"]) == [v for v in variants if v != "baseline"]
    assert dom.charts["km"]["pt"] == 12  # every run's crossing of the spec's tiny threshold
    assert "Challenge accounting" in "".join(dom.text)  # golf's own runs export an int8+zlib artifact
    screenshots(chromium, page, "tiny-finished")

    # A second seed queued (on a copy of the store: other tests read the job as it ended): the sweep
    # is running again, and its live page says so and reloads.
    shutil.copy(folder / "results.db", tmp_path / "results.db")
    copy = f"sqlite:///{tmp_path / 'results.db'}"
    _golf("sweep", str(REPO / "ablations/remove_ve.yaml"), "--base", "tiny", "--seeds", "2", "--detach", "--db", copy,
          cwd=tmp_path)
    store = Store(copy)
    live = LivePage(store, "remove_ve-tiny", tmp_path / "live.html")
    assert live.maybe_write(store.live_runs("remove_ve-tiny")) and live.error is None
    dom = dump_dom(chromium, tmp_path / "live.html")
    assert dom.body["data-state"] == "running" and dom.refresh
    text = " ".join(dom.text)
    assert "running" in text and "Progress" in text and "12 of 24 runs ended" in text
    assert sorted(dom.charts["time"]["mean"]) == variants  # the finished runs still draw


# ---- the live page's rewrite policy (no browser) ----
def test_live_page_rewrites_after_a_run_ends_at_most_every_30_s(tmp_path):
    store = Store(f"sqlite:///{tmp_path / 'r.db'}")
    store.ensure_sweep("s", threshold_metric="val_loss", threshold_value=3.0)
    for seed in range(3):
        store.upsert_imported_run("s", f"k{seed}", "h", "baseline", seed,
                                  [{"step": s, "train_time_s": s, "val_loss": 4 - s / 10} for s in range(12)],
                                  {"val_loss": 2.9}, "test")
    done = store.live_runs("s")
    running = [replace(r, status="running") for r in done]
    now = [0.0]
    page = LivePage(store, "s", tmp_path / "s.html", clock=lambda: now[0])
    assert page.maybe_write(running)                    # the first snapshot: the page exists at once
    assert not page.maybe_write(running[:1] + done[1:])  # a run ended, but 0 s after the last write
    now[0] = 31.0
    assert page.maybe_write(running[:1] + done[1:])      # 31 s later: written
    now[0] = 100.0
    assert not page.maybe_write(running[:1] + done[1:])  # nothing new ended
    assert page.maybe_write(done)
    page.write_final()
    final = (tmp_path / "s.html").read_text()
    assert 'data-state="finished"' in final and 'http-equiv="refresh"' not in final


def test_live_page_waits_for_the_baseline_and_recovers_when_it_finishes(tmp_path):
    """A sweep whose first finished run is not the baseline's (found in a real tiny sweep: the
    ranking raised, and the page then stayed at its first snapshot for the whole sweep)."""
    store = Store(f"sqlite:///{tmp_path / 'r.db'}")
    store.ensure_sweep("w", threshold_metric="val_loss", threshold_value=3.0, baseline="baseline")
    curve = [{"step": s, "train_time_s": s, "val_loss": 4 - s / 10} for s in range(12)]
    store.upsert_imported_run("w", "other", "h1", "other", 0, curve, {"val_loss": 2.9}, "test")
    store.upsert_imported_run("w", "base", "h2", "baseline", 0, curve, {"val_loss": 2.95}, "test")
    runs = store.live_runs("w")
    waiting = [r if r.variant == "other" else replace(r, status="queued") for r in runs]
    # the store says finished; what the page reads is the runs frame, so mark the baseline queued there too
    from sqlalchemy import text
    with store.engine.begin() as conn:
        conn.execute(text("UPDATE runs SET status = 'queued' WHERE variant = 'baseline'"))
    now = [0.0]
    page = LivePage(store, "w", tmp_path / "w.html", clock=lambda: now[0])
    assert page.maybe_write(waiting) and page.error is None
    assert "the ranking appears when the baseline (baseline) has a finished run" in (tmp_path / "w.html").read_text()
    with store.engine.begin() as conn:
        conn.execute(text("UPDATE runs SET status = 'finished' WHERE variant = 'baseline'"))
    now[0] = 31.0
    assert page.maybe_write(runs) and page.error is None
    page.write_final()
    final = (tmp_path / "w.html").read_text()
    assert 'data-state="finished"' in final and "the ranking appears" not in final


def test_page_for_20_variants_x_5_seeds_x_200_evals_stays_under_5_mb(tmp_path):
    import numpy as np
    store = Store(f"sqlite:///{tmp_path / 'r.db'}")
    store.ensure_sweep("big", threshold_metric="val_loss", threshold_value=3.2)
    rng = np.random.default_rng(0)
    t = np.linspace(0, 600, 200)
    for v in range(20):
        for seed in range(5):
            y = 3.0 + 4 * np.exp(-t / 120) + v * 0.002 + rng.normal(0, 0.004, len(t))
            evals = [{"step": 25 * i, "train_time_s": float(t[i] * (1 + rng.normal(0, 0.01))), "val_loss": float(y[i]),
                      "val_bpb": float(y[i] / 2.3)} for i in range(len(t))]
            store.upsert_imported_run("big", f"v{v}-{seed}", "h", f"variant_{v:02d}", seed, evals,
                                      {"val_loss": float(y[-1]), "val_bpb": float(y[-1] / 2.3)}, "test")
    size = len(build_page(store, "big").encode())
    print(f"\n20 variants x 5 seeds x 200 evals: {size / 1e6:.2f} MB")
    assert size < 5_000_000


def test_live_page_with_a_variant_not_yet_started_warns_nothing(tmp_path):
    """Found in the README's main job: the page written after the first run ended took the seed mean
    of the not-yet-started variants' zero curves, and numpy's 'Mean of empty slice' warnings landed
    in the middle of the sweep's output."""
    import warnings
    store = Store(f"sqlite:///{tmp_path / 'r.db'}")
    store.ensure_sweep("w", threshold_metric="val_loss", threshold_value=3.0, baseline="baseline")
    curve = [{"step": s, "train_time_s": s, "val_loss": 4 - s / 10} for s in range(12)]
    store.upsert_imported_run("w", "base", "h", "baseline", 0, curve, {"val_loss": 2.9}, "test")
    store.enqueue_many("w", [dict(variant="later", seed=0, key="k", config={})])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        html = build_page(store, "w")
    assert "later" in html


def test_ranking_keeps_a_variant_name_on_its_swatch_line(tmp_path):
    """The variant cell never wraps (found on the README job's page: 'no_ve_0_1_2' broke away from its
    swatch), while the decision columns' sentences still do."""
    import re
    store = Store(f"sqlite:///{tmp_path / 'r.db'}")
    store.ensure_sweep("w", threshold_metric="val_loss", threshold_value=3.0, baseline="baseline")
    for variant, offset in (("baseline", 0.0), ("no_ve_0_1_2", 0.01)):
        curve = [{"step": s, "train_time_s": s, "val_loss": 4 - s / 10 + offset} for s in range(12)]
        store.upsert_imported_run("w", variant, "h" + variant, variant, 0, curve, {"val_loss": 2.9 + offset}, "test")
    html = build_page(store, "w")
    variant_cells = re.findall(r'<td class="([^"]*)" data-col="variant"', html)
    assert variant_cells and not any("wrap" in c.split() for c in variant_cells), variant_cells
    assert re.search(r'<td class="[^"]*\bwrap\b[^"]*" data-col="p_value_adj"', html)
