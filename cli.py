"""golf's command line: parse, call into sweeper/ and model/, render with rich. Nothing else.

Each section belongs to one area; heavy imports happen inside the commands so that
`golf --help` stays instant.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.markup import escape
from typer.core import TyperGroup

try:  # typer >= 0.2x vendors click as typer._click; older ones use click itself
    from typer._click.exceptions import ClickException, NoArgsIsHelpError, UsageError
except ImportError:  # pragma: no cover
    from click.exceptions import ClickException, NoArgsIsHelpError, UsageError

from sweeper.errors import GolfError

# Piped output (logs, `| tee`, CI) gets room for the wide report tables instead of rich's 80 columns.
_PIPE_WIDTH = None if sys.stdout.isatty() or "COLUMNS" in os.environ else 200
console = Console(width=_PIPE_WIDTH)
err_console = Console(stderr=True, width=_PIPE_WIDTH)


class _GolfGroup(TyperGroup):
    """The one rule of golf's commands: do what was asked, or print one line naming the input and
    what was expected and exit 2 (click's usage errors and golf's own errors alike). Anything else
    is a bug: its traceback is kept, with a line asking to report it."""

    def main(self, *args, standalone_mode: bool = True, **kwargs):
        if not standalone_mode:
            return super().main(*args, standalone_mode=False, **kwargs)
        try:
            code = super().main(*args, standalone_mode=False, **kwargs)
        except GolfError as exc:
            _error_line(str(exc))
            sys.exit(exc.exit_code)
        except NoArgsIsHelpError as exc:
            exc.show()
            sys.exit(exc.exit_code)
        except ClickException as exc:
            ctx = getattr(exc, "ctx", None)
            hint = f" (see {ctx.command_path} --help)" if isinstance(exc, UsageError) and ctx else ""
            _error_line(exc.format_message() + hint)
            sys.exit(exc.exit_code)
        except typer.Abort:
            _error_line("aborted")
            sys.exit(1)
        except Exception:
            import traceback
            traceback.print_exc()
            err_console.print("[bold red]internal error:[/] this is a bug in golf, not in your input; please "
                              "report it with the command and the traceback above.", highlight=False)
            sys.exit(1)
        sys.exit(code or 0)


def _error_line(message: str) -> None:
    """`error: MESSAGE` on one line: the user's text escaped (it may hold rich markup), and a database
    driver's multi-line detail joined, without SQLAlchemy's link to its error catalogue."""
    message = " ".join(re.sub(r"\(Background on this error at: [^)]*\)", "", message).split())
    err_console.print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)


app = typer.Typer(cls=_GolfGroup, help="golf: ablation sweeps for small-GPT training runs.", no_args_is_help=True,
                  pretty_exceptions_enable=False, add_completion=False)
data_app = typer.Typer(help="Training data: shards and tokenizer.", no_args_is_help=True)
spec_app = typer.Typer(help="Ablation specs (ablations/*.yaml).", no_args_is_help=True)
app.add_typer(data_app, name="data")
app.add_typer(spec_app, name="spec")


def fail(message: str, code: int = 2) -> None:
    """Print one clear error line and exit (2 = bad input)."""
    _error_line(message)
    raise typer.Exit(code)


# =============================================================================
# ---- golf train / golf data (training core) ----
@app.command("train")
def train_command(
    base: str = typer.Option("tiny", "--base", help="Preset to start from: golf, medium, tiny."),
    overrides: Optional[list[str]] = typer.Option(None, "--set", help="key=value: a TrainConfig field (or spec operation), value as in YAML."),
    out: Optional[Path] = typer.Option(None, "--out", help="Folder for final_model.int8.ptz."),
):
    """Train one run in this process, showing progress and the final metrics.

    --set takes any TrainConfig field or spec operation, with values written as in a spec's YAML
    (--set value_residual=true --set remove_ve=[0]); they are checked as a spec's are."""
    import dataclasses

    import yaml

    from sweeper.spec import resolve_overrides

    changes: dict = {}
    for item in overrides or []:
        key, sep, raw = item.partition("=")
        if not sep or not key:
            fail(f"--set {item!r}: expected key=value with key a TrainConfig field")
        try:
            changes[key] = yaml.safe_load(raw)
        except yaml.YAMLError as exc:
            fail(f"--set {item!r}: {raw!r} is not a YAML value ({exc})")
    config = resolve_overrides(base, changes)
    from rich.progress import Progress

    from model.trainer import train

    console = Console()
    with Progress(console=console) as progress:
        task = progress.add_task("training", total=config.iterations)

        def on_event(event) -> None:
            if event.kind == "train_step":
                progress.update(task, completed=event.step,
                                description=f"step {event.step} loss {event.train_loss:.3f}")
            elif event.kind == "eval":
                progress.console.print(f"step {event.step:>5}  val_loss {event.val_loss:.4f}  "
                                       f"val_bpb {event.val_bpb:.4f}  train_time {event.train_time_s:.1f}s")
        try:
            final = train(config, on_event, out)
        except ValueError as exc:  # the training core's data errors name their file
            fail(str(exc))
    for key, value in dataclasses.asdict(final).items():
        console.print(f"{key:>20}: {value}")


@data_app.command("prepare")
def data_prepare(
    text: Optional[list[Path]] = typer.Option(None, "--text", help="Text files to build the corpus from."),
    out: Optional[Path] = typer.Option(None, "--out", help="Output folder (default: GOLF_DATA_DIR/default)."),
    vocab: int = typer.Option(1024, "--vocab", help="SentencePiece vocabulary size."),
):
    """Build tokenizer.model and golf_train/val shards from stdlib docs or your --text files."""
    import os
    from model.prepare import prepare
    if out is None:
        out = Path(os.environ.get("GOLF_DATA_DIR") or Path.home() / ".cache/golf/data") / "default"
    try:
        info = prepare(out, list(text) if text else None, vocab)
    except ValueError as exc:  # bad options or text, named by prepare
        fail(str(exc))
    Console().print(f"wrote {info['out']}: tokenizer.model, {info['train_tokens']} train tokens, "
               f"{info['val_tokens']} val tokens")



# =============================================================================
# ---- golf spec check (specs) ----
@spec_app.command("check")
def spec_check(
    files: list[Path] = typer.Argument(..., help="Spec files to validate."),
    base: Optional[str] = typer.Option(None, "--base", help="Also resolve against this preset."),
    max_runs: Optional[int] = typer.Option(None, "--max-runs", min=1, help="Run limit per spec (default 1000)."),
):
    """Validate spec files (parse and resolve every variant) without running anything.

    Every file is checked; each bad one prints its error, and the exit code is 2 if any was bad.
    """

    from sweeper.spec import expand, load_spec
    from sweeper.spec.limits import DEFAULT_MAX_RUNS
    bad = 0
    for f in files:
        try:
            exp = expand(load_spec(f), base, max_runs=max_runs or DEFAULT_MAX_RUNS)
        except GolfError as exc:
            bad += 1
            err_console.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True)
            continue
        variants = len({p.variant for p in exp.plans})
        dups = "".join(f", {dropped} = {kept} (not run twice)" for kept, dropped in exp.duplicates)
        console.print(f"[green]ok[/] {escape(str(f))}: {variants} variants, {len(exp.plans)} runs "
                      f"(base {exp.base_name}){escape(dups)}", highlight=False, soft_wrap=True)
    if bad:
        fail(f"{bad} of {len(files)} spec files have errors")


# =============================================================================
# ---- golf sweep / worker / status / runs / show / retry / cancel (store, queue, workers) ----
DbOption = Annotated[Optional[str], typer.Option("--db", help="Store URL (default: $GOLF_DB, else sqlite:///results.db).")]
TrainOption = Annotated[Optional[str], typer.Option(help="Workers' train function as module:function, with model.train's signature (default: model:train).")]


@app.command("sweep")
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
    _check_lease(lease)
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
    cores = _free_cores(store) if launcher == "local" else None
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


def _free_cores(store) -> int:
    """Cores this machine's other golf workers leave (they hold what their running runs record)."""
    from sweeper.run.threads import free_cores

    cores, held = free_cores(store)
    if held:
        err_console.print(f"{held} core(s) here are held by other golf workers; these workers share the {cores} left",
                          highlight=False)
    return cores


def _check_lease(lease: float) -> None:
    # Shorter than a second, heartbeats (every lease/4) would flood the store and an eval would
    # outlast the lease: every run would be taken from its worker.
    if not lease >= 1.0:
        fail(f"--lease: got {lease} (expected at least 1 second)")


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
    if res.threshold is None:
        summary, title = res.report(threshold=float("inf"), by="final"), f"{sweep}: final val_loss"
    else:
        summary = res.report()
        title = report_view.ranking_title(sweep, res.threshold, summary)
    console.print(report_view.to_rich_table(summary, title=escape(title), width=console.width))


@app.command("worker")
def worker_command(
    db: DbOption = None,
    gpus: Annotated[Optional[str], typer.Option(help="GPU indices to use, e.g. 0,1 (default: all visible).")] = None,
    workers: Annotated[Optional[int], typer.Option(min=1, help="Worker processes (CPU slots when there is no GPU).")] = None,
    sweep: Annotated[Optional[str], typer.Option(help="Only take runs of this sweep.")] = None,
    gpus_per_run: Annotated[int, typer.Option(min=1, help="GPUs per worker (runs with gpus_per_run > 1 use torchrun).")] = 1,
    exit_when_idle: Annotated[bool, typer.Option("--exit-when-idle", help="Exit when the queue is empty.")] = False,
    lease: Annotated[float, typer.Option(help="Lease seconds (renewed every lease/4).")] = 60.0,
    train: TrainOption = None,
    threads: Annotated[Optional[int], typer.Option(min=1, help="Threads per CPU worker (default: the cores other golf workers here leave, divided).")] = None,
) -> None:
    """Start workers here that train runs from the store's queue.

    Any machine that can reach the database can help a sweep. Ctrl-C gives their running runs back."""
    _check_lease(lease)
    from sweeper.run import local_launcher as local
    from sweeper.run.signals import interrupt_exit_code, stop_signals_interrupt
    from sweeper.store import Store, default_db_url

    url = db or default_db_url()
    store = Store(url)  # fail fast on a bad URL or a too-new schema
    shown_url = store.url  # password hidden
    cores = _free_cores(store)
    store.close()
    if train is not None:
        from sweeper.run.worker import import_train
        import_train(train)  # ... or a train function that cannot be imported
    gpu_list = [g.strip() for g in gpus.split(",") if g.strip()] if gpus else None
    slots = local.plan_slots(workers, gpus_per_run, gpus=gpu_list, cores=cores, threads=threads)
    pool = local.LocalLauncher(url, slots, sweep, lease_s=lease, exit_when_idle=exit_when_idle, train=train)
    console.print(escape(f"{len(slots)} worker(s) on {shown_url}: {', '.join(s.device for s in slots)}"),
                  highlight=False)
    with stop_signals_interrupt():  # SIGTERM / SIGHUP: the same path as Ctrl-C
        pool.start()
        try:
            codes = pool.wait()
        except KeyboardInterrupt as exc:
            released = pool.stop()
            err_console.print(f"stopped; {released} run(s) released by the launcher")
            raise typer.Exit(interrupt_exit_code(exc))
    if any(codes):
        fail(f"worker exit codes {codes}: a worker that exits non-zero could not use the store or crashed "
             "(its log is above)", code=1)


@app.command("status")
def status_command(
    sweep: Annotated[Optional[str], typer.Argument(help="One sweep (default: all).")] = None,
    db: DbOption = None,
) -> None:
    """Run counts per sweep; with SWEEP, also its running runs and their progress."""
    from sweeper.run.status_view import counts_table, runs_table
    from sweeper.store import Store

    store = Store(db)
    counts = store.status_counts(sweep)
    if sweep and store.get_sweep(sweep) is None:
        fail(f"no sweep named {sweep!r} in {store.url}")
    console.print(counts_table(counts))
    if sweep:
        running = [r for r in store.live_runs(sweep) if r.status == "running"]
        if running:
            console.print(runs_table(running, title="running", show_error=False, width=console.width))


@app.command("runs")
def runs_command(
    sweep: Annotated[str, typer.Argument(help="Sweep name.")],
    status: Annotated[Optional[str], typer.Option(help="Only runs with this status (queued|running|finished|failed|cancelled).")] = None,
    db: DbOption = None,
) -> None:
    """The runs of a sweep: status, attempts, device, progress, val_loss, error."""
    from sweeper.run.status_view import runs_table
    from sweeper.store import Store

    store = Store(db)
    if store.get_sweep(sweep) is None:
        fail(f"no sweep named {sweep!r} in {store.url}")
    runs = [r for r in store.live_runs(sweep) if status is None or r.status == status]
    console.print(runs_table(runs, title=escape(f"{sweep}: {len(runs)} run(s)" + (f" {status}" if status else "")),
                             width=console.width))


@app.command("show")
def show_command(
    run: Annotated[str, typer.Argument(help="Run id (or a unique prefix).")],
    db: DbOption = None,
) -> None:
    """One run: where it ran, its config, every attempt, its curve and its error.

    The config lists the fields that differ from the defaults."""
    from sweeper.run.show_view import show_run
    from sweeper.store import Store

    console.print(show_run(*Store(db).run_detail(run)))


def _target(store, target: str) -> dict:
    """A sweep name, else a run id prefix."""
    return {"sweep": target} if store.get_sweep(target) is not None else {"run_id": target}


@app.command("retry")
def retry_command(
    target: Annotated[str, typer.Argument(help="Sweep name or run id.")],
    attempts: Annotated[int, typer.Option(min=1, help="Attempts to give each run.")] = 3,
    db: DbOption = None,
) -> None:
    """Put failed and cancelled runs back in the queue (finished runs are never re-run)."""
    from sweeper.store import Store

    store = Store(db)
    n = store.retry(attempts=attempts, **_target(store, target))
    console.print(f"{n} run(s) back in the queue; run `golf sweep SPEC` or `golf worker` to train them")


@app.command("cancel")
def cancel_command(
    target: Annotated[str, typer.Argument(help="Sweep name or run id.")],
    db: DbOption = None,
) -> None:
    """Cancel queued and running runs (a running run's worker stops it within a few seconds)."""
    from sweeper.store import Store

    store = Store(db)
    n = store.cancel(**_target(store, target))
    console.print(f"{n} run(s) cancelled")


# =============================================================================
# ---- golf report (report) ----


@app.command("report")
def report_command(
    sweep: Annotated[str, typer.Argument(help="Sweep name.")],
    threshold: Annotated[Optional[str], typer.Option(help="METRIC=VALUE, or VALUE on --metric (default: the sweep's).")] = None,
    metric: Annotated[Optional[str], typer.Option(help="val_loss|val_bpb|ppm_val_loss|ppm_val_bpb (default: the sweep's threshold metric).")] = None,
    by: Annotated[str, typer.Option(help="Rank by time|steps|final.")] = "time",
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
    db: Annotated[Optional[str], typer.Option(help="Store URL (default: sqlite results.db).")] = None,
) -> None:
    """Rank variants by restricted mean time-to-threshold, with seed statistics and adjusted p-values."""
    from sweeper.report import table_view as report_view
    from sweeper.report.notebook import load
    from sweeper.threshold import THRESHOLD_METRICS, Threshold

    if metric is not None and metric not in THRESHOLD_METRICS:
        fail(f"--metric must be one of {', '.join(THRESHOLD_METRICS)}, got {metric!r}")
    if by not in ("time", "steps", "final"):
        fail(f"--by must be time, steps or final, got {by!r}")
    if fmt not in ("table", "csv", "json", "markdown"):
        fail(f"--format must be table, csv, json or markdown, got {fmt!r}")
    if save and threshold is None:
        fail("--save stores --threshold: pass --threshold METRIC=VALUE")
    if plot is not None and not Path(plot).resolve().parent.is_dir():
        fail(f"--plot {plot}: folder {Path(plot).resolve().parent} does not exist (expected a PNG path in an existing folder)")
    res = load(sweep, db)
    if threshold is not None:
        chosen = Threshold.parse(threshold, metric or res.metric)
        if metric is not None and metric != chosen.metric:
            fail(f"--metric {metric} and --threshold {threshold} name different metrics")
    elif res.threshold is None:
        fail(f"sweep {sweep!r} has no stored threshold: pass --threshold METRIC=VALUE (--save keeps it)")
    elif metric not in (None, res.threshold.metric):
        fail(f"--metric {metric}: the sweep's threshold is {res.threshold}; pass --threshold {metric}=VALUE")
    else:
        chosen = res.threshold
    if save:
        from sweeper.store import Store
        Store(db).ensure_sweep(sweep, threshold_metric=chosen.metric, threshold_value=chosen.value)
        err_console.print(f"saved threshold {chosen} for sweep {sweep}", highlight=False)
    summary = res.report(chosen, baseline=baseline, by=by, adjust=adjust, final=final)
    if rule is not None:
        from sweeper.report.analysis import apply_rule
        if rule not in ("speedrun", "golf"):
            fail(f"--rule must be speedrun or golf, got {rule!r}")
        if rule == "speedrun" and target is None:
            fail("--rule speedrun needs --target")
        summary = apply_rule(summary, res.runs, res.curves, rule, target=target, alpha=alpha, margin=margin)
    if plot is not None:
        from sweeper.report.plots import plot_curves
        plot_curves(res.curves, plot, chosen, summary)
        (console if fmt == "table" else err_console).print(f"wrote {plot}", highlight=False, soft_wrap=True)
    title = report_view.ranking_title(sweep, chosen, summary)
    if html is not None:
        from sweeper.report.html import PageOptions, write_page
        from sweeper.store import Store
        rule_note = ([f"rule {rule}: " + (f"mean final val_loss <= {target:g}" if rule == "speedrun" else
                                          f"beats the baseline by >= {margin:g} nats") + f" at p < {alpha:g}"]
                     if rule else [])
        options = PageOptions(summary=summary, threshold=chosen.value, metric=chosen.metric, title=title,
                              notes=rule_note)
        written = write_page(html, Store(db), sweep, options, results=res)
        err_console.print(f"wrote {written}", highlight=False, soft_wrap=True)
    if fmt == "table":
        console.print(report_view.to_rich_table(summary, title=escape(title), width=console.width))
    else:
        for line in summary.attrs.get("warnings", []):
            err_console.print(f"[yellow]warning:[/] {escape(line)}", highlight=False, soft_wrap=True)
        out = {"csv": report_view.to_csv, "json": report_view.to_json, "markdown": report_view.to_markdown}[fmt](summary)
        sys.stdout.write(out if out.endswith("\n") else out + "\n")


@app.command("plan")
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



# =============================================================================
# ---- golf import (importer) ----


@app.command("import")
def import_command(
    paths: Annotated[list[str], typer.Argument(help="Log files, folders (walked for .log/.txt/.md/.out) or globs.")],
    sweep: Annotated[str, typer.Option(help="Sweep the imported runs belong to (created if new).")],
    fmt: Annotated[str, typer.Option("--format", help="auto|modded|golf|markdown (auto sniffs each file).")] = "auto",
    header_level: Annotated[int, typer.Option(help="Markdown header depth that starts a run (## = 2).")] = 2,
    variant_from: Annotated[Optional[str], typer.Option(help="Regex on file names with named groups 'variant' and 'seed'.")] = None,
    threshold: Annotated[Optional[str], typer.Option(help="Store a threshold with the sweep: METRIC=VALUE, e.g. val_loss=2.92.")] = None,
    db: Annotated[Optional[str], typer.Option(help="Store URL (default: sqlite results.db).")] = None,
) -> None:
    """Bring existing modded-nanogpt / parameter-golf logs into the store (idempotent; folders are walked)."""

    from sweeper.importer import import_paths
    from sweeper.importer.summary_view import summary_tables
    from sweeper.store import Store
    from sweeper.threshold import Threshold

    chosen = Threshold.parse(threshold) if threshold is not None else None
    store = Store(db)
    summary = import_paths(store, sweep, paths, fmt=fmt, header_level=header_level, variant_from=variant_from)
    first = next((run.variant for f in summary.files for run in f.runs), None)
    # the first run imported is the reference run of a collection: the baseline, unless one is stored
    record = store.get_sweep(sweep)
    store.ensure_sweep(sweep, threshold_metric=chosen.metric if chosen else None,
                       threshold_value=chosen.value if chosen else None,
                       baseline=first if record is not None and record.baseline is None else None)
    for warning in summary.warnings:
        err_console.print(f"[yellow]warning:[/] {escape(warning)}", highlight=False, soft_wrap=True)
    for error in summary.errors:
        err_console.print(f"[bold red]error:[/] {escape(error)}", highlight=False, soft_wrap=True)
    console.print(summary_tables(summary, sweep))
    if summary.errors and summary.runs == 0:
        raise typer.Exit(2)


# =============================================================================
# ---- golf ppm (PPM-C) ----


def _ppm_load_tokens(data: Path):
    """int64 token ids from a .npy of ids, a shard, or a data folder's validation shards, and the
    folder's tokenizer (None for a single file)."""
    import numpy as np

    from model.data import load_validation_tokens, read_shard

    if not data.exists():
        raise GolfError(f"{data}: no such file or folder (expected a shard, a .npy of ids, or a data folder)")
    try:
        if data.is_file():
            tokens = np.load(data) if data.suffix == ".npy" else read_shard(data)
            return np.asarray(tokens, dtype=np.int64).reshape(-1), None
        # The layout resolve_data reads; seq_len 1 keeps every token of the split.
        tokens = load_validation_tokens(str(data / "*_val_*.bin"), seq_len=1).numpy()
    except (OSError, ValueError) as exc:
        raise GolfError(f"{data}: {exc}") from exc
    tokenizers = sorted(data.glob("*.model"))
    return tokens, (tokenizers[0] if len(tokenizers) == 1 else None)


@app.command("ppm")
def ppm_command(
    data: Annotated[Path, typer.Argument(help="A shard (.bin), a .npy of token ids, or a data folder (its val split).")],
    order: Annotated[int, typer.Option(min=0, help="Highest context order k.")] = 2,
    vocab: Annotated[Optional[int], typer.Option(min=1, help="Vocabulary size (default: the folder's tokenizer, else 1024).")] = None,
    limit: Annotated[Optional[int], typer.Option(min=2, help="Use only the first N tokens.")] = None,
    out: Annotated[Optional[Path], typer.Option(help="Save each target's probability here (.npy, float64).")] = None,
) -> None:
    """Run PPM-C alone over validation tokens: a classical-compressor baseline (never cached)."""
    import time

    import numpy as np

    from model.config import TrainConfig
    from model.ppm import bits_per_token, bpb_from_probs, compute_ppm_probs

    tokens, tokenizer = _ppm_load_tokens(data)
    tokens = tokens[:limit]
    if vocab is None and tokenizer is not None:
        import sentencepiece as spm

        vocab = spm.SentencePieceProcessor(model_file=str(tokenizer)).vocab_size()
    vocab = vocab if vocab is not None else TrainConfig().vocab_size
    if len(tokens) < 2:
        raise GolfError(f"{data}: need at least 2 tokens, found {len(tokens)}")
    try:
        start = time.perf_counter()
        compute_ppm_probs(tokens[:2], order, vocab)  # compile, or load numba's cached kernel
        compile_s = time.perf_counter() - start
        start = time.perf_counter()
        probs = compute_ppm_probs(tokens, order, vocab)
        seconds = time.perf_counter() - start
    except ValueError as exc:
        raise GolfError(f"{data}: {exc}") from exc
    console.print(f"tokens:{len(tokens)} order:{order} vocab:{vocab}")
    console.print(f"bits_per_token:{bits_per_token(probs):.4f}")
    if tokenizer is not None:
        import torch

        from model.data import build_bpb_luts, target_bytes

        ids = torch.from_numpy(tokens)
        nbytes = target_bytes(ids[:-1], ids[1:], build_bpb_luts(tokenizer, vocab))  # bytes of each target
        console.print(f"bpb:{bpb_from_probs(probs, nbytes.numpy()):.4f}")
    console.print(f"tokens_per_s:{(len(tokens) - 1) / seconds:.0f} compile_s:{compile_s:.2f}")
    if out is not None:
        np.save(out, probs)
        console.print(f"saved {len(probs)} probabilities to {out}")



if __name__ == "__main__":
    app()
