"""Size and speed of the HTML report page on a synthetic store, opened in headless Chromium.

    python bench/bench_html.py [--runs N] [--evals M] [--db PATH] [--show-runs]

Builds the store as bench/bench_report.py does (default 5,000 runs x 200 evals, 50 variants; --db
keeps and reuses it), writes the page, and prints: the page's size, the time to build it, and for
Chromium (--headless --dump-dom, network cut off): the page's own load-and-draw time (the script
records performance.now() on <body data-drawn-ms> after the last chart is drawn) and the whole
process's wall time, which includes Chromium's start. --show-runs draws every single run too (the
page opens with them hidden; this is the cost of ticking "single runs").
"""

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_report import build  # noqa: E402 - the same synthetic store as the report bench

from sweeper.report.html import write_page  # noqa: E402
from sweeper.store import Store  # noqa: E402

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--window-size=1280,800",
         "--host-resolver-rules=MAP * ~NOTFOUND", "--proxy-server=127.0.0.1:9", "--proxy-bypass-list=<-loopback>"]


def open_in_chromium(page: Path, fragment: str = "") -> tuple[int, float]:
    """(data-drawn-ms the page recorded, wall seconds of the chromium process)."""
    exe = shutil.which("chromium") or sys.exit("chromium not found: apt-get install chromium")
    with tempfile.TemporaryDirectory() as profile:
        start = time.perf_counter()
        out = subprocess.run([exe, *FLAGS, f"--user-data-dir={profile}", "--dump-dom", page.resolve().as_uri() + fragment],
                             capture_output=True, text=True, timeout=120)
        wall = time.perf_counter() - start
    drawn = re.search(r'data-drawn-ms="(\d+)"', out.stdout)
    if drawn is None:
        sys.exit(f"the page did not finish drawing:\n{out.stderr[-2000:]}")
    return int(drawn.group(1)), wall


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5000)
    ap.add_argument("--evals", type=int, default=200)
    ap.add_argument("--db", help="store file to build once and reuse (default: a new temporary file)")
    ap.add_argument("--show-runs", action="store_true", help="open the page with single runs drawn")
    args = ap.parse_args()
    folder = Path(tempfile.mkdtemp())
    path = Path(args.db) if args.db else folder / "bench.db"
    db = f"sqlite:///{path}"
    if not (path.exists() and Store(db).get_sweep("bench")):
        start = time.perf_counter()
        build(db, args.runs, args.evals)
        print(f"build store {args.runs} runs x {args.evals} evals: {time.perf_counter() - start:.1f} s")
    page = folder / "bench.html"
    start = time.perf_counter()
    write_page(page, Store(db), "bench")
    print(f"write page: {time.perf_counter() - start:.2f} s, {page.stat().st_size / 1e6:.2f} MB")
    fragment = "#" + urllib.parse.quote(json.dumps({"runs": True})) if args.show_runs else ""
    for attempt in range(2):  # the first start of chromium also warms the disk cache
        drawn_ms, wall = open_in_chromium(page, fragment)
        print(f"chromium{' (single runs drawn)' if args.show_runs else ''}: page loaded and drawn at "
              f"{drawn_ms} ms; process wall {wall:.2f} s")
    print(f"page: {page}")


if __name__ == "__main__":
    main()
