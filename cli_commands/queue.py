"""`golf worker / status / runs / show / retry / cancel`: the queue and the workers that drain it."""

from __future__ import annotations

from typing import Annotated, Optional

import typer
from rich.markup import escape

from cli_commands.common import DbOption, TrainOption, check_lease, console, err_console, fail, free_cores


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
    check_lease(lease)
    from sweeper.run import local_launcher as local
    from sweeper.run.signals import interrupt_exit_code, stop_signals_interrupt
    from sweeper.store import Store, default_db_url

    url = db or default_db_url()
    store = Store(url)  # fail fast on a bad URL or a too-new schema
    shown_url = store.url  # password hidden
    cores = free_cores(store)
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


def status_command(
    sweep: Annotated[Optional[str], typer.Argument(help="One sweep (default: all).")] = None,
    db: DbOption = None,
) -> None:
    """Run counts per sweep; with SWEEP, also its running runs and their progress."""
    from sweeper.run.status_view import counts_table, runs_table
    from sweeper.store import Store

    store = Store(db, create=False)
    counts = store.status_counts(sweep)
    if sweep:
        store.require_sweep(sweep)
    console.print(counts_table(counts))
    if sweep:
        running = [r for r in store.live_runs(sweep) if r.status == "running"]
        if running:
            console.print(runs_table(running, title="running", show_error=False, width=console.width))


def runs_command(
    sweep: Annotated[str, typer.Argument(help="Sweep name.")],
    status: Annotated[Optional[str], typer.Option(help="Only runs with this status (queued|running|finished|failed|cancelled).")] = None,
    db: DbOption = None,
) -> None:
    """The runs of a sweep: status, attempts, device, progress, val_loss, error."""
    from sweeper.run.status_view import runs_table
    from sweeper.store import Store

    store = Store(db, create=False)
    store.require_sweep(sweep)
    runs = [r for r in store.live_runs(sweep) if status is None or r.status == status]
    console.print(runs_table(runs, title=escape(f"{sweep}: {len(runs)} run(s)" + (f" {status}" if status else "")),
                             width=console.width))


def show_command(
    run: Annotated[str, typer.Argument(help="Run id (or a unique prefix).")],
    db: DbOption = None,
) -> None:
    """One run: where it ran, its config, every attempt, its curve and its error.

    The config lists the fields that differ from the defaults."""
    from sweeper.run.show_view import show_run
    from sweeper.store import Store

    console.print(show_run(*Store(db, create=False).run_detail(run)))


def _target(store, target: str) -> dict:
    """A sweep name, else a run id prefix; an error naming the store's sweeps when it is neither."""
    from sweeper.errors import StoreError

    if store.get_sweep(target) is not None:
        return {"sweep": target}
    if store.get_run(target) is None:
        try:
            store.require_sweep(target)
        except StoreError as exc:
            fail(f"{exc}, and no run id starts with {target!r}")
    return {"run_id": target}


def retry_command(
    target: Annotated[str, typer.Argument(help="Sweep name or run id.")],
    attempts: Annotated[int, typer.Option(min=1, help="Attempts to give each run.")] = 3,
    db: DbOption = None,
) -> None:
    """Put failed and cancelled runs back in the queue (finished runs are never re-run)."""
    from sweeper.store import Store

    store = Store(db, create=False)
    n = store.retry(attempts=attempts, **_target(store, target))
    if n == 0:
        console.print("0 runs back in the queue: none is failed or cancelled (finished runs are never re-run)")
    else:
        console.print(f"{n} run(s) back in the queue; run `golf sweep SPEC` or `golf worker` to train them")


def cancel_command(
    target: Annotated[str, typer.Argument(help="Sweep name or run id.")],
    db: DbOption = None,
) -> None:
    """Cancel queued and running runs (a running run's worker stops it within a few seconds)."""
    from sweeper.store import Store

    store = Store(db, create=False)
    n = store.cancel(**_target(store, target))
    console.print(f"{n} run(s) cancelled")
