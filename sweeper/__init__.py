"""golf's sweeper: everything around the training core, one sub-package per part.

    spec/      ablation specs: YAML with line numbers, the spec model, ablation operations,
               expansion into RunPlans. Imports model.config only.
    store/     the results store: schema, migrations, queue operations, frames for the report,
               import upserts. All SQL of golf lives here. Imports nothing else of sweeper.
    run/       a sweep in motion: orchestration, launchers (local, Ray), the worker, the cost
               estimate, the live terminal views. Imports spec, store and model.
    report/    statistics over stored runs, the notebook API (`load`), tables, plots.
               Imports store (through its frames) and nothing of run/.
    importer/  parsers for existing training logs, written into the store through its API.
    errors.py  golf's error types (a GolfError is shown as one line, exit 2).

`model/` knows nothing of any of this; `cli.py` parses, prompts and renders.
"""
