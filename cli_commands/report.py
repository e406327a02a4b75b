"""`golf report` and `golf plan`: rankings with their statistics, and the seeds an effect needs."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.markup import escape

from cli_commands.common import DbOption, console, err_console, fail


def report_command(
    sweep: Annotated[str, typer.Argument(help="Sweep name.")],
    threshold: Annotated[Optional[str], typer.Option(help="METRIC=VALUE, or VALUE on --metric (default: the sweep's).")] = None,
    metric: Annotated[Optional[str], typer.Option(help="val_loss|val_bpb|ppm_val_loss|ppm_val_bpb (default: the sweep's threshold metric).")] = None,
    by: Annotated[Optional[str], typer.Option(help="Rank by time|steps|final (default: time; final when the sweep has no threshold).")] = None,
    baseline: Annotated[Optional[str], typer.Option(help="Baseline variant (default: the sweep's, else the first).")] = None,
    adjust: Annotated[str, typer.Option(help="p-value adjustment for the table's comparisons: holm|bh|none.")] = "holm",
    final: Annotated[Optional[str], typer.Option(help="Final metric: raw|quant (default: quant round-trip where every run has it).")] = None,
    save: Annotated[bool, typer.Option("--save", help="Store --threshold as the sweep's threshold.")] = False,
    fmt: Annotated[str, typer.Option("--format", help="table|csv|json|markdown")] = "table",
    plot: Annotated[Optional[str], typer.Option(help="Write curves and a Kaplan-Meier panel to this PNG.")] = None,
    html: Annotated[Optional[Path], typer.Option(help="Write the report as one self-contained HTML page here.")] = None,
    rule: Annotated[Optional[str], typer.Option(help="Record rule: speedrun|golf.")] = None,
    target: Annotated[Optional[float], typer.Option(help="speedrun rule: target mean val_loss.")] = None,
    alpha: Annotated[float, typer.Option(help="Significance level for the rule.")] = 0.01,
    margin: Annotated[float, typer.Option(help="golf rule: required gain over baseline (nats).")] = 0.005,
    db: DbOption = None,
) -> None:
    """Rank variants by restricted mean time-to-threshold, with seed statistics and adjusted p-values."""
    from sweeper.report import table_view as report_view
    from sweeper.report.notebook import load
    from sweeper.store import Store
    from sweeper.threshold import THRESHOLD_METRICS, Threshold

    if metric is not None and metric not in THRESHOLD_METRICS:
        fail(f"--metric must be one of {', '.join(THRESHOLD_METRICS)}, got {metric!r}")
    if by not in (None, "time", "steps", "final"):
        fail(f"--by must be time, steps or final, got {by!r}")
    if fmt not in ("table", "csv", "json", "markdown"):
        fail(f"--format must be table, csv, json or markdown, got {fmt!r}")
    if save and threshold is None:
        fail("--save stores --threshold: pass --threshold METRIC=VALUE")
    if plot is not None and not Path(plot).resolve().parent.is_dir():
        fail(f"--plot {plot}: folder {Path(plot).resolve().parent} does not exist (expected a PNG path in an existing folder)")
    store = Store(db, create=False)  # one store for the load, --save and the page
    res = load(sweep, store)
    if not (res.runs["status"] == "finished").any():
        _nothing_to_rank(res, fmt, html, store)
        return
    if threshold is not None:
        chosen = Threshold.parse(threshold, metric or res.metric)
        if metric is not None and metric != chosen.metric:
            fail(f"--metric {metric} and --threshold {threshold} name different metrics")
    elif res.threshold is None:
        if by not in (None, "final"):
            fail(f"--by {by} ranks by time-to-threshold and sweep {sweep!r} has no stored threshold: "
                 "pass --threshold METRIC=VALUE (--save keeps it)")
        chosen, by = Threshold.none(metric or res.metric), "final"
        err_console.print(f"note: sweep {escape(sweep)} has no threshold, so it is ranked by its final {chosen.metric}; "
                          "--threshold METRIC=VALUE ranks by time-to-threshold (--save keeps it)",
                          highlight=False, soft_wrap=True)
    elif metric not in (None, res.threshold.metric):
        fail(f"--metric {metric}: the sweep's threshold is {res.threshold}; pass --threshold {metric}=VALUE")
    else:
        chosen = res.threshold
    if save:
        store.ensure_sweep(sweep, threshold_metric=chosen.metric, threshold_value=chosen.value)
        err_console.print(f"saved threshold {chosen} for sweep {sweep}", highlight=False)
    summary = res.report(chosen, baseline=baseline, by=by or "time", adjust=adjust, final=final)
    if rule is not None:
        from sweeper.report.analysis import apply_rule
        if rule not in ("speedrun", "golf"):
            fail(f"--rule must be speedrun or golf, got {rule!r}")
        if rule == "speedrun" and target is None:
            fail("--rule speedrun needs --target")
        summary = apply_rule(summary, res.runs, res.curves, rule, target=target, alpha=alpha, margin=margin)
    if plot is not None:
        from sweeper.report.plots import plot_curves
        # no threshold: the curves alone, without a threshold line or Kaplan-Meier panel
        plot_curves(res.curves, plot, None if chosen.is_none else chosen, summary, metric=chosen.metric)
        (console if fmt == "table" else err_console).print(f"wrote {plot}", highlight=False, soft_wrap=True)
    title = report_view.ranking_title(sweep, chosen, summary)
    if html is not None:
        from sweeper.report.html import PageOptions, write_page
        rule_note = ([f"rule {rule}: " + (f"mean final val_loss <= {target:g}" if rule == "speedrun" else
                                          f"beats the baseline by >= {margin:g} nats") + f" at p < {alpha:g}"]
                     if rule else [])
        options = PageOptions(summary=summary, threshold=chosen.value, metric=chosen.metric, title=title,
                              notes=rule_note)
        written = write_page(html, store, sweep, options, results=res)
        err_console.print(f"wrote {written}", highlight=False, soft_wrap=True)
    if fmt == "table":
        console.print(report_view.to_rich_table(summary, title=escape(title), width=console.width))
    else:
        for line in summary.attrs.get("warnings", []):
            err_console.print(f"[yellow]warning:[/] {escape(line)}", highlight=False, soft_wrap=True)
        out = {"csv": report_view.to_csv, "json": report_view.to_json, "markdown": report_view.to_markdown}[fmt](summary)
        sys.stdout.write(out if out.endswith("\n") else out + "\n")


def _nothing_to_rank(res, fmt: str, html: Optional[Path], store) -> None:
    """A sweep with no finished run (just enqueued, or every run failed): say so instead of drawing
    an empty table or plot. The page is still written (it shows the runs and their curves so far);
    json still prints its (empty) list for scripts."""
    counts = res.runs["status"].value_counts()
    states = ", ".join(f"{n} {status}" for status, n in counts.items()) or "no runs"
    err_console.print(f"note: sweep {escape(res.sweep)} has no finished run yet ({states}): nothing to rank or plot; "
                      f"`golf status {escape(res.sweep)}` shows its progress", highlight=False, soft_wrap=True)
    if html is not None:
        from sweeper.report.html import write_page
        err_console.print(f"wrote {write_page(html, store, res.sweep, results=res)}", highlight=False, soft_wrap=True)
    if fmt == "json":
        sys.stdout.write("[]\n")


def plan_command(
    sweep: Annotated[str, typer.Argument(help="Sweep name (own or imported).")],
    metric: Annotated[Optional[str], typer.Option(help="Final metric (default: the sweep's threshold metric, else val_loss).")] = None,
    effect: Annotated[Optional[float], typer.Option(help="Effect worth finding, in the final metric's units: prints the seeds it needs.")] = None,
    effect_s: Annotated[Optional[float], typer.Option(help="Same for time-to-threshold, in seconds.")] = None,
    threshold: Annotated[Optional[float], typer.Option(help="Threshold for time-to-threshold (default: the sweep's).")] = None,
    alpha: Annotated[float, typer.Option(help="Two-sided significance level.")] = 0.01,
    power: Annotated[float, typer.Option(help="Power wanted.")] = 0.8,
    baseline: Annotated[Optional[str], typer.Option(help="Baseline variant (default 'baseline', else the first).")] = None,
    fmt: Annotated[str, typer.Option("--format", help="table|json")] = "table",
    db: DbOption = None,
) -> None:
    """Seed-to-seed noise of a sweep and the seeds an effect needs (golf's power analysis)."""
    from sweeper.report import plan_view
    from sweeper.report.notebook import load

    if fmt not in ("table", "json"):
        fail(f"--format must be table or json, got {fmt!r}")
    if not (0 < alpha < 1 and 0 < power < 1):
        fail(f"--alpha and --power must lie strictly between 0 and 1, got {alpha} and {power}")
    res = load(sweep, db)
    plans = plan_view.plans_for(res, metric, threshold, baseline, alpha, power, effect, effect_s)
    if fmt == "json":
        sys.stdout.write(plan_view.plan_json(plans) + "\n")
    else:
        console.print(plan_view.plan_table(sweep, plans))
