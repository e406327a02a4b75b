"""Markdown collections: one run per `## NAME` section (`--header-level` picks the depth)."""
from __future__ import annotations

import re
from dataclasses import dataclass

from sweeper.importer.fields import INT64_MAX
from sweeper.importer.issues import FileIssues
from sweeper.importer.sniff import HEADER, is_eval_line

_VARIANT_SEED = re.compile(r"^(.*?)(?:-|\s+)(\d+)$")
GLUED = "glued header"
REPEATED = "repeated header"
EMPTY = "run header without eval lines"


@dataclass
class Section:
    """One run's section: its header text, the file line number of its first line, its lines."""

    header: str
    first_line_no: int
    lines: list[str]
    header_line_no: int = 0


def variant_seed_from_header(header: str) -> tuple[str, int | None]:
    """`X-N` or `X N` with integer N (within int64) -> (X, N); anything else -> (header, None): the
    header names no seed."""
    m = _VARIANT_SEED.match(header)
    if m and m.group(1) and int(m.group(2)) <= INT64_MAX:
        return m.group(1), int(m.group(2))
    return header, None


def looks_like_run(header: str) -> bool:
    """A header of a run's form (`NAME-N`): with nothing under it, a run that lost its log rather than
    a heading such as `## Setup`."""
    return variant_seed_from_header(header)[1] is not None


def split_glued(header: str) -> tuple[str, str]:
    """`61 3step:0/5820 val_loss:...` -> ('61 3', 'step:0/5820 val_loss:...') when the rest is an
    eval line (a header that lost its newline); else (header, '')."""
    at = header.find("step:")
    while at > 0:
        if is_eval_line(header[at:]):
            return header[:at].strip(), header[at:]
        at = header.find("step:", at + 1)
    return header, ""


def split_sections(lines: list[str], header_level: int, path: str, issues: FileIssues,
                   first_line_no: int = 1) -> list[Section]:
    """Sections under headers of exactly `header_level`. Any other header (deeper or shallower)
    ends the current section: a deeper header is a separate batch (e.g. `### 26 i` inside a
    details block), not part of the run above it. Glued headers are split and warned about."""
    sections: list[Section] = []
    current = None
    for i, raw in enumerate(lines):
        if raw.startswith("#"):
            m = HEADER.match(raw.rstrip("\r\n"))
            if m:
                if len(m.group(1)) != header_level:
                    current = None
                    continue
                header, rest = split_glued(m.group(2))
                current = Section(header, first_line_no + i + (0 if rest else 1), [rest] if rest else [],
                                  first_line_no + i)
                if rest:
                    issues.add(GLUED, first_line_no + i, f"{raw[:60]!r} read as header {header!r} + its first log line")
                sections.append(current)
                continue
        if current is not None:
            current.lines.append(raw)
    return sections
