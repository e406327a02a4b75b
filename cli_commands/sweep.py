"""`golf sweep`: expand a spec, queue it, train it with a live view, rank it. The orchestration lives in
sweeper/run/sweep.py; this module asks, prints and handles Ctrl-C."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.markup import escape

from cli_commands.common import DbOption, TrainOption, check_lease, console, err_console, fail, free_cores
from sweeper.errors import GolfError


def sweep_command(
    spec: Annotated[Path, typer.Argument(help="Ablation spec (ablations/*.yaml).")],
    base: Annotated[Optional[str], typer.Option(help="Preset to run on instead of the spec's (tiny on a CPU).")] = None,
    seeds: Annotated[Optional[int], typer.Option(help="Number of seeds instead of the spec's.")] = None,
    workers: Annotated[Optional[int], typer.Option(min=1, help="Worker processes (default: one per GPU, else per CPU core).")] = None,
    db: DbOption = None,
    detach: Annotated[bool, typer.Option("--detach", help="Only enqueue; run `golf worker` elsewhere.")] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print the expanded runs and exit.")] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask before a GPU-sized sweep on a CPU.")] = False,
    lease: Annotated[float, typer.Option(help="Seconds a worker may go silent before its run is re-queued.")] = 60.0,
    name: Annotated[Optional[str], typer.Option(help="Sweep name (default: the spec's, plus -BASE when --base changes it).")] = None,
    launcher: Annotated[str, typer.Option(help="local: worker processes here; ray: one Ray task per run on a Ray cluster.")] = "local",
    ray_address: Annotated[Optional[str], typer.Option(help="Ray cluster to join with --launcher ray (auto, HOST:6379; default: start one here).")] = None,
    train: TrainOption = None,
    max_runs: Annotated[Optional[int], typer.Option(min=1, help="Refuse a spec that expands to more runs than this (default 1000).")] = None,
    threads: Annotated[Optional[int], typer.Option(min=1, help="Threads per CPU worker (default: the cores other golf workers here leave, divided).")] = None,
    adaptive: Annotated[bool, typer.Option("--adaptive", help="Add seeds only where a comparison is undecided (seeds 2..--seeds, default 10).")] = False,
    noise_from: Annotated[Optional[str], typer.Option(help="--dry-run: estimate seed noise from this sweep's runs.")] = None,
) -> None:
    """Run an ablation spec: enqueue, train on every local GPU (or CPU slot), rank.

    Expands SPEC into runs, queues them in the store, trains them with a live view and prints the
    ranking. Ctrl-C puts running runs back in the queue; the same command resumes."""
    if launcher not in ("local", "ray"):
        fail(f"--launcher must be local or ray, got {launcher!r}")
    if ray_address is not None and launcher != "ray":
        fail("--ray-address needs --launcher ray")
    check_lease(lease)
    from sweeper.spec import expand, load_spec
    from sweeper.spec.limits import DEFAULT_MAX_RUNS

    parsed = load_spec(spec)
    expansion = expand(parsed, base, seeds, max_runs or DEFAULT_MAX_RUNS, adaptive=adaptive)
    if dry_run:
        from sweeper.spec.dry_run_view import dry_run_table
        console.print(dry_run_table(expansion))
        _print_noise_estimate(expansion, db, noise_from)
        return
    # Only now: a dry run (or a bad spec) need not load the store, torch or the launchers.
    from sweeper.run import sweep as sweeps
    from sweeper.run.estimate import format_duration
    from sweeper.run.live_view import SweepWatcher
    from sweeper.run.outcome import unfinished_runs
    from sweeper.run.signals import interrupt_exit_code, stop_signals_interrupt
    from sweeper.store import Store

    store = Store(db)
    plan = sweeps.plan_sweep(store, parsed, expansion, spec.read_text(), base, name)
    pending = plan.pending
    console.print(f"sweep [bold]{escape(plan.name)}[/]: {len(plan.plans)} runs, {len(plan.plans) - len(pending)} "
                  f"already ended, {len(pending)} to run ({plan.new} new), store {escape(store.url)}",
                  highlight=False, soft_wrap=True)
    if detach or not pending:
        sweeps.enqueue(store, plan)
        if detach:
            console.print(escape(f"enqueued; start workers with: golf worker --db {store.url} --sweep {plan.name}"),
                          soft_wrap=True, highlight=False)
        else:
            _print_ranking(store, plan.name)
        return
    cores = free_cores(store) if launcher == "local" else None
    workers_ = sweeps.open_launcher(launcher, store, plan, workers, lease, ray_address, train, cores=cores,
                                    threads=threads)
    est = sweeps.estimate_cost(plan, workers_)
    slots = workers_.connect()
    console.print(f"estimate: {est.step_s * 1000:.0f} ms/step on {est.device}, ~{format_duration(est.per_run_s)} "
                  f"per run, {len(pending)} runs on {len(slots)} worker(s) -> ~{format_duration(est.total_s)}",
                  highlight=False, soft_wrap=True)
    if sweeps.gpu_sized_on_cpu(plan, workers_) and not yes:
        err_console.print(f"[bold yellow]no GPU here:[/] base {expansion.base_name!r} is a GPU-sized preset; "
                          f"this sweep would take ~{format_duration(est.total_s)} on this CPU. "
                          "Use --base tiny to try it on a CPU, or --yes to go on anyway.")
        if not sys.stdin.isatty():
            fail("not starting a GPU-sized sweep on a CPU without --yes")
        if not typer.confirm("Start anyway?", default=False):
            raise typer.Exit(1)
    sweeps.enqueue(store, plan)  # only now: a declined sweep leaves the store as it was
    console.print(escape(workers_.describe()), highlight=False, soft_wrap=True)
    from sweeper.report.html import LivePage, live_page_path
    page = LivePage(store, plan.name, live_page_path(plan.name))
    console.print(escape(f"live page: {page.path.resolve()}"), highlight=False, soft_wrap=True)
    policy = plan.seeds_policy
    watcher = SweepWatcher(store, plan.name, console, footer=policy and policy.states_table)
    with stop_signals_interrupt():  # SIGTERM / SIGHUP: the same path as Ctrl-C
        workers_.start()
        try:
            if policy is None:
                watcher.watch(lambda: workers_.alive() > 0, on_snapshot=page.maybe_write)
            else:
                watcher.watch(lambda: policy.tick(workers_, console), on_snapshot=page.maybe_write)
                workers_.stop()  # idle now: every variant is decided
            codes = workers_.wait()
        except KeyboardInterrupt as exc:
            err_console.print("interrupted: stopping workers, running runs go back to the queue...")
            released = workers_.stop()
            page.write_final(stopped=True)
            counts = store.status_counts(plan.name).get(plan.name, {})
            err_console.print(f"stopped: {counts.get('finished', 0)} finished, {counts.get('queued', 0)} queued"
                              f"{f' ({released} released here)' if released else ''}; run the same command to resume.")
            raise typer.Exit(interrupt_exit_code(exc))
        problem = unfinished_runs(store, plan.name, codes, workers_.log_dir if launcher == "local" else None)
        if problem:  # workers died (store unwritable, crash, OOM kill): give back what they held
            try:
                workers_.stop()
            except GolfError as exc:
                problem += f"; {exc}"
            page.write_final(stopped=True)
            fail(problem, code=1)
    page.write_final()
    if any(codes):
        err_console.print(escape(f"worker exit codes {codes}; see {workers_.log_dir}/"), style="yellow")
    if page.error is not None:
        err_console.print(f"[yellow]live page not written: {escape(str(page.error))}[/]")
    _print_ranking(store, plan.name)



def _print_noise_estimate(expansion, db: Optional[str], noise_from: Optional[str]) -> None:
    """After the dry-run table: the seed noise and seeds needed, from `--noise-from SWEEP` or from
    stored runs of the spec's baseline config; nothing when there are none (or no store yet)."""
    from sweeper.report import plan_view
    from sweeper.store import Store, default_db_url

    url = db or default_db_url()
    if noise_from is None and url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).exists():
        return  # a dry run does not create a store
    store = Store(url)
    try:
        found = plan_view.dry_run_estimate(expansion, store, noise_from)
    finally:
        store.close()
    if found is None:
        console.print("no stored runs of this spec's baseline config: golf plan needs some (or --noise-from SWEEP)")
        return
    title, plans = found
    console.print(plan_view.plan_table(title, plans))


def _print_ranking(store, sweep: str) -> None:
    """The end-of-sweep table: by restricted mean time-to-threshold, or by final loss without a
    threshold; with adaptive seeds, each variant's state in a `seeds_state` column."""
    from sweeper.report import table_view as report_view
    from sweeper.report.notebook import load

    counts = store.status_counts(sweep).get(sweep, {})
    if counts.get("failed"):
        err_console.print(f"[red]{counts['failed']} run(s) failed[/]: golf runs {escape(sweep)} --status failed")
    res = load(sweep, store)
    if res.runs["val_loss"].notna().sum() == 0:
        return
    summary = res.summary  # without a threshold: by final metric
    title = report_view.ranking_title(sweep, summary.attrs.get("threshold", res.threshold), summary)
    console.print(report_view.to_rich_table(summary, title=escape(title), width=console.width))
