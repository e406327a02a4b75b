"""What `golf import` prints at the end: one table of totals and one of the files that failed."""
from __future__ import annotations

from rich.console import Group
from rich.markup import escape
from rich.table import Table

from sweeper.importer.write import RUN_SHAPES, ImportSummary


def summary_tables(summary: ImportSummary, sweep: str) -> Group:
    """Totals (files, runs by outcome, runs with curves, evals written, warnings, failures) and,
    when some file gave no run, a table of those files with the reason."""
    o = summary.outcomes
    totals = Table(title=f"import into sweep '{escape(sweep)}' ({summary.seconds:.1f} s)", title_justify="left",
                   show_header=False, box=None, padding=(0, 2))
    totals.add_column(style="bold")
    totals.add_column(justify="right")
    totals.add_column(style="dim")
    warned_files = sum(1 for f in summary.files if len(f.issues))
    rows = [
        ("files read", len(summary.files), ""),
        ("files skipped", len(summary.skipped), "markdown found in folders without eval lines (READMEs)"),
        ("runs", summary.runs, ", ".join(f"{k} {o[k]}" for k in ("added", "unchanged", "grown", "replaced", "alias")
                                          if o[k]) or "none"),
        ("runs with curves", summary.runs_with_curves, "two or more evals"),
        *[(name, count, note) for (name, _, note), count in zip(RUN_SHAPES, summary.shapes.values()) if count],
        ("evals written", summary.evals, ""),
        ("warnings", len(summary.warnings), f"in {warned_files} file(s)" if warned_files else ""),
        ("failures", len(summary.errors), "files that gave no run"),
    ]
    for name, value, note in rows:
        totals.add_row(name, f"{value:,}", note)
    parts = [totals]
    if summary.errors:
        failures = Table(title="failures", title_justify="left", header_style="bold")
        failures.add_column("file", overflow="fold")
        failures.add_column("reason", overflow="fold")
        for f in summary.files:
            if f.error:
                reason = f.error[len(f.path) + 2:] if f.error.startswith(f.path + ": ") else f.error
                failures.add_row(escape(f.path), escape(reason))
        parts.append(failures)
    return Group(*parts)
