"""How much of a folder of real training logs `golf import` brings in, and how fast.

    PYTHONPATH=. python bench/import_corpus.py /work/ref/parameter-golf [--db sqlite:////tmp/c.db]

Prints: files, the files with two or more eval-looking lines (counted by a crude test that does
not use the importer: a line with `val_loss` or `val_bpb` and a `N/M` step), how many of those
import with a curve (a run with two or more evals), every failure and warning, the run count of
each markdown collection, the runs of each special shape (without a curve, finals only,
unfinished, restarted, seed from the file name or a stand-in), and the speed (lines/s) of parsing alone and of the whole import into a
fresh SQLite store.
"""
from __future__ import annotations

import argparse
import re
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sweeper.importer import import_paths, parse_file  # noqa: E402
from sweeper.importer.walk import expand_paths  # noqa: E402
from sweeper.importer.write import shape_counts  # noqa: E402
from sweeper.store import Store  # noqa: E402

_EVALISH = re.compile(r"(?:step:?\s*)?\b\d+/\d+\b.*\bval_(?:loss|bpb)\b")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", help="folder of logs (walked) or a file")
    parser.add_argument("--db", default=None, help="store URL (default: a fresh SQLite file)")
    args = parser.parse_args()

    sources = expand_paths([args.path])
    lines_total = 0
    evalish_files, with_curves, failures, warnings, collections = [], [], [], [], []
    shapes: Counter = Counter()
    started = time.perf_counter()
    for source in sources:
        text = source.path.read_text(encoding="utf-8", errors="replace")
        lines_total += text.count("\n") + 1
        result = parse_file(source.path)
        warnings.extend(result.issues.lines())
        shapes.update(shape_counts(result.runs))
        shapes["finals only (no eval row)"] += sum(1 for r in result.runs if not r.evals)
        evalish = sum(1 for line in text.splitlines() if _EVALISH.search(line) and "{" not in line)
        if result.format == "markdown":
            collections.append((source.path, len(result.runs), sum(len(r.evals) >= 2 for r in result.runs)))
        if evalish >= 2:
            evalish_files.append(source.path)
            if any(len(r.evals) >= 2 for r in result.runs):
                with_curves.append(source.path)
            else:
                failures.append(f"{source.path}: {result.error or 'runs without a curve'}")
        elif result.error and not (source.path.suffix == ".md" and not result.has_eval_lines):
            failures.append(f"{source.path} (fewer than 2 eval-looking lines): {result.error}")
    parse_s = time.perf_counter() - started

    with tempfile.TemporaryDirectory() as tmp:
        store = Store(args.db or f"sqlite:///{Path(tmp) / 'corpus.db'}")
        summary = import_paths(store, "corpus", [args.path])
        again = import_paths(store, "corpus", [args.path])

    share = len(with_curves) / len(evalish_files) if evalish_files else float("nan")
    print(f"files: {len(sources)}  lines: {lines_total:,}")
    print(f"files with >= 2 eval-looking lines: {len(evalish_files)}; imported with a curve: {len(with_curves)} ({share:.1%})")
    print(f"runs: {summary.runs} (with curves {summary.runs_with_curves}); outcomes: {dict(summary.outcomes)}; "
          f"evals: {summary.evals:,}; re-import: {dict(again.outcomes)}, evals written {again.evals}")
    print("runs by shape: " + "; ".join(f"{k} {v}" for k, v in shapes.items()))
    for path, runs, curves in collections:
        print(f"collection {path}: {runs} runs ({curves} with curves)")
    print(f"parse only: {parse_s:.2f} s = {lines_total / parse_s:,.0f} lines/s; "
          f"import into a fresh store: {summary.seconds:.2f} s = {lines_total / summary.seconds:,.0f} lines/s")
    print(f"failures ({len(failures)}):")
    for f in failures:
        print("  " + f)
    print(f"warnings ({len(warnings)}):")
    for w in warnings:
        print("  " + w)


if __name__ == "__main__":
    main()
