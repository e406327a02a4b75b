"""A sweep in motion: launchers (local processes, Ray) start workers that claim runs from the
store and train them with `model.train`; the cost estimate and the live terminal views.

May import sweeper.spec, sweeper.store, sweeper.errors and model; never sweeper.report.
"""
