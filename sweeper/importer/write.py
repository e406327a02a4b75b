"""`golf import`'s writing half: parse every file, write its runs through the store's public API,
and count what happened for the summary. One bad file never stops the others."""
from __future__ import annotations

import re
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Iterable, Optional

from sweeper.errors import GolfError
from sweeper.importer.logs import FileResult, ParsedRun, parse_file
from sweeper.importer.walk import expand_paths


# Runs that are not plain curves, by what they are (name, test, what the summary says of them).
RUN_SHAPES = (
    ("runs without a curve", lambda r: len(r.evals) < 2, "one eval, or final evaluations only"),
    ("runs unfinished", lambda r: r.log.unfinished is not None, "log ends short of its budget: no stop line, no finals"),
    ("runs restarted", lambda r: bool(r.log.attempts), "earlier attempts in the log kept as interrupted ones"),
    ("seeds from file names", lambda r: any(n.endswith("taken from the file name") for n in r.log.notes),
     "no seed line in the log"),
    ("stand-in seeds", lambda r: r.seed < 0, "no seed in the log or its name: a negative seed per file"),
)


def shape_counts(runs: Iterable[ParsedRun]) -> dict[str, int]:
    """How many of `runs` have each of RUN_SHAPES (every shape, zeros included)."""
    runs = list(runs)
    return {name: sum(1 for r in runs if test(r)) for name, test, _ in RUN_SHAPES}


@dataclass
class ImportSummary:
    """Per-file results and store outcomes ('added', 'unchanged', 'grown', 'replaced', 'alias')."""

    files: list[FileResult] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # walked .md files with no eval line (READMEs)
    outcomes: Counter = field(default_factory=Counter)
    evals: int = 0        # eval rows written
    seconds: float = 0.0

    @property
    def runs(self) -> int:
        return sum(len(f.runs) for f in self.files)

    @property
    def runs_with_curves(self) -> int:
        """Runs with two or more evals: a curve rather than a point."""
        return sum(1 for f in self.files for r in f.runs if len(r.evals) >= 2)

    @property
    def shapes(self) -> dict[str, int]:
        """Runs per RUN_SHAPES name (unfinished, restarted, without a curve, seeds not from the log)."""
        return shape_counts(r for f in self.files for r in f.runs)

    @property
    def added(self) -> int:
        return self.outcomes["added"]

    @property
    def unchanged(self) -> int:
        return self.outcomes["unchanged"]

    @property
    def replaced(self) -> int:
        return self.outcomes["replaced"]

    @property
    def warnings(self) -> list[str]:
        """One line per file and kind of problem."""
        return [w for f in self.files for w in f.issues.lines()]

    @property
    def errors(self) -> list[str]:
        return [f.error for f in self.files if f.error]


def import_paths(store, sweep: str, paths: Iterable[str], fmt: str = "auto", header_level: int = 2,
                 variant_from: Optional[str] = None) -> ImportSummary:
    """Parse every file (folders walked) and write its runs through `store`."""
    if variant_from:
        try:
            re.compile(variant_from)
        except re.error as exc:
            raise GolfError(f"--variant-from {variant_from!r}: not a valid regex ({exc})") from exc
    summary = ImportSummary()
    started = time.perf_counter()
    store.ensure_sweep(sweep)
    for source in expand_paths(paths):
        result = parse_file(source.path, fmt, header_level, variant_from)
        # A README found in a record folder is not a failed import; a log without evals is.
        if source.walked and source.path.suffix.lower() == ".md" and not result.has_eval_lines:
            summary.skipped.append(result.path)
            continue
        summary.files.append(result)
        for run in result.runs:
            config = {"import_format": result.format}
            if run.log.notes:
                config["import_notes"] = run.log.notes
            if run.log.unfinished:
                config["unfinished"] = run.log.unfinished  # read by the report's warnings
            outcome, written = store.upsert_imported_run(
                sweep, run.import_key, run.content_hash, run.variant, run.seed, run.log.stored_evals(), run.final,
                run.source_path, config=config, extra_finals=run.log.extra_finals, alias_same_content=True,
                attempts=run.log.attempts)
            summary.outcomes[outcome] += 1
            summary.evals += written
    summary.seconds = time.perf_counter() - started
    return summary
