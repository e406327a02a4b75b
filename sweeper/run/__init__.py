"""A sweep in motion: sweep.py plans it (name, seed-major runs, what is left) and picks a launcher
(local processes, Ray; one `Launcher` protocol) whose workers claim runs from the store and train
them with `model.train`; the cost estimate and the terminal views (live, status, show).

May import sweeper.spec, sweeper.store, sweeper.errors and model; of sweeper.report only the
adaptive-seeds decision code (report.sequential, report.seed_states), which the report replays.
"""
