"""golf's sweeper: specs, expansion, the results store (all SQL), queue, workers, launchers,
report and import. Builds on `model.train(config, on_event)`."""
