"""A log that holds more than one attempt at its run: a job preempted and restarted, whose trainer
wrote the header block and warm-up again into the same file and started its step counter over.

The attempts are found before the lines are read, so that no attempt's evals, timing points or
summary lines mix with another's: the run is the last attempt; each earlier one is kept as an
interrupted attempt (the store's attempts table and `evals.attempt` hold golf's own retried runs
the same way, and `golf show` and the report already tell current evals from earlier ones).
"""
from __future__ import annotations

import re
from dataclasses import dataclass

# The start of a step line as `fields.read_fields` reads one (`step:N/M ...`, `step=N`, `N/M ...`),
# matched cheaply here because every line of the file is scanned before it is read.
_STEP_START = re.compile(r"^\s*(?:step[:=][ \t]*(\d+)(?:/\d+)?|(\d+)/\d+)(?=[\s,|;]|$)")


@dataclass(frozen=True)
class Restart:
    """Where an attempt begins (`start`, an index into the run's lines), the line where its step
    counter starts over (`restart_at`), and the last step the attempt before it reached."""

    start: int
    restart_at: int
    previous_step: int
    first_step: int
    last_words: str = ""  # the first line after the previous attempt's last step, if any ("Runner interrupted ...")


def find_restarts(lines: list[str]) -> list[Restart]:
    """Every point where the step counter goes back (a restarted job), in order; [] for one attempt.

    Both must be seen: the counter going back, and before it a line that repeats one of the
    previous attempt's header (what the trainer prints before its first step: run id, config,
    `seed:1337`, warm-up steps). The attempt begins at the first such line; lines before it
    (`Runner interrupted due to worker preemption ...`) belong to the attempt they end. A step
    line that goes back without a header again (a stray or cut line) is no restart.
    """
    restarts: list[Restart] = []
    attempt_start, first_step_at, last_step_at, previous = 0, None, None, None
    for i, line in enumerate(lines):
        m = _STEP_START.match(line)
        if m is None:
            continue
        step = int(m.group(1) or m.group(2))
        if previous is not None and step < previous:
            header = {l.strip() for l in lines[attempt_start:first_step_at] if l.strip()}
            start = next((k for k in range(last_step_at + 1, i) if lines[k].strip() in header), None)
            if start is not None:
                said = next((l.strip() for l in lines[last_step_at + 1:start] if l.strip()), "")
                restarts.append(Restart(start, i, previous, step, said[:100]))
                attempt_start, first_step_at = start, i
        elif first_step_at is None:
            first_step_at = i
        previous, last_step_at = step, i
    return restarts
