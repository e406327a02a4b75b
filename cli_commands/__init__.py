"""golf's commands, one module per area; `cli.py` assembles them into the `golf` app.

Each command parses its options, calls into sweeper/ and model/, and renders with rich. Heavy
imports happen inside the commands so that `golf --help` stays instant."""
