"""What a file is, judged by its content: a markdown collection of runs or one run's log, and
where the log proper starts when the trainer dumped its own source at the top.

parameter-golf and modded-nanogpt trainers write their script into the log, then a line of `=`,
then the run. The script's comment banners (`# -----`, `# HYPERPARAMETERS`) look like markdown
headers and its f-strings like log lines, so the dump is found and skipped before anything else.
"""
from __future__ import annotations

import re

from sweeper.importer.fields import read_fields

_SEPARATOR = re.compile(r"^={40,}\s*$")
_PYTHON = re.compile(r"^(?:import \w|from [\w.]+ import |def \w|class \w|if __name__ == )")
HEADER = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
# How many non-blank lines after a header may come before its first eval line for the header to
# count as a run's title (a blank line and a code-fence line sit between them in real collections).
_HEADER_REACH = 3


def code_dump_end(lines: list[str]) -> int:
    """Index of the first log line after a dumped script (0 when there is no dump): the line after
    the first `=====` separator, if Python statements come before it."""
    for i, line in enumerate(lines):
        if _SEPARATOR.match(line):
            if any(_PYTHON.match(l) for l in lines[:i]):
                return i + 1
            return 0
    return 0


def is_eval_line(line: str) -> bool:
    """A step line with a validation metric: `step:N/M val_loss:X ...` or `N/M val_loss: X ...`."""
    if "val_" not in line:
        return False
    lf = read_fields(line.strip())
    return lf.step is not None and ("val_loss" in lf.fields or "val_bpb" in lf.fields)


def sniff_format(text: str) -> str:
    """'markdown' when some header is followed by an eval line (or glued to one), else 'golf' when
    the log has parameter-golf's val_bpb, else 'modded'. Headers inside a dumped script, or not
    followed by a run, do not count."""
    lines = text.splitlines()
    lines = lines[code_dump_end(lines):]
    for i, line in enumerate(lines):
        if not line.startswith("#"):
            continue
        m = HEADER.match(line)
        if m is None:
            continue
        if "step:" in m.group(2) and is_eval_line(m.group(2)[m.group(2).index("step:"):]):
            return "markdown"  # a header glued to its first log line
        following = [l for l in lines[i + 1:i + 1 + 3 * _HEADER_REACH] if l.strip()][:_HEADER_REACH]
        if any(is_eval_line(l) for l in following):
            return "markdown"
    return "golf" if any("val_bpb" in l for l in lines) else "modded"
