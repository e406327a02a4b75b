"""golf's own error types: what the CLI reports as a clear message (exit 2), not a traceback."""


class GolfError(Exception):
    """Bad input or state the user can fix; the message names the file/field and what was expected."""

    exit_code = 2


class SpecError(GolfError):
    """A spec file is invalid (YAML, unknown key, wrong type, layer out of range, ...)."""


class StoreError(GolfError):
    """The results store cannot do what was asked (schema too new, unreachable, conflict)."""
