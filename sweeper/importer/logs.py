"""Parse one file into runs (pure: text -> `FileResult`; no store).

Formats: `markdown` (a collection, one run per `## NAME` section) or one run's log. The log
reader is the same for modded-nanogpt and parameter-golf logs (`modded` and `golf` name the
flavour found, for the record); `--format` forces the choice that sniffing would make.
"""
from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from sweeper.errors import GolfError
from sweeper.importer.fields import INT64_MAX
from sweeper.importer.issues import FileIssues
from sweeper.importer.markdown import EMPTY, REPEATED, looks_like_run, split_sections, variant_seed_from_header
from sweeper.importer.runlog import RunLog, read_run
from sweeper.importer.seeds import seed_for_seedless_log, stand_in_seed
from sweeper.importer.sniff import code_dump_end, sniff_format

FORMATS = ("auto", "modded", "golf", "markdown")


@dataclass
class ParsedRun:
    """One run as its log states it, in store terms, plus its identity for idempotency."""

    source_path: str
    header: Optional[str]
    variant: str
    seed: int
    log: RunLog

    @property
    def evals(self) -> list[dict]:
        return self.log.evals

    @property
    def final(self) -> dict:
        return self.log.final

    @property
    def import_key(self) -> str:
        """Resolved file path, plus '#' + header for a run inside a collection."""
        return self.source_path if self.header is None else f"{self.source_path}#{self.header}"

    @property
    def content_hash(self) -> str:
        """A hash of what was read (curve, finals), not of the bytes: the same run logged with
        other noise lines, CRLF endings or under another name is the same run."""
        parts = [self.log.evals, self.log.final, self.log.extra_finals]
        if self.log.attempts:  # a restarted log: its earlier attempts are part of what was read
            parts.append(self.log.earlier_evals)
        body = json.dumps(parts, sort_keys=True, default=str)
        return hashlib.sha256(body.encode()).hexdigest()


@dataclass
class FileResult:
    """What one file gave: its runs, its problems (one line per kind), an error if no run."""

    path: str
    format: str
    runs: list[ParsedRun] = field(default_factory=list)
    issues: FileIssues = None  # type: ignore[assignment]
    error: Optional[str] = None
    has_eval_lines: bool = False  # False: nothing in it looked like a run (a README, a script)

    def __post_init__(self):
        if self.issues is None:
            self.issues = FileIssues(self.path)


def parse_text(text: str, path: str, fmt: str = "auto", header_level: int = 2,
               variant_from: Optional[str] = None) -> FileResult:
    """Parse one file's text into runs (pure; no filesystem, no store)."""
    if fmt not in FORMATS:
        raise GolfError(f"--format {fmt!r}: expected one of {', '.join(FORMATS)}")
    fmt = sniff_format(text) if fmt == "auto" else fmt
    lines = text.splitlines()
    unterminated = bool(text) and not text.endswith(("\n", "\r"))
    result = FileResult(path=path, format=fmt)
    if fmt == "markdown":
        _parse_collection(lines, header_level, unterminated, result)
    else:
        _parse_single_log(lines, path, variant_from, unterminated, result)
    return result


def _parse_collection(lines: list[str], header_level: int, unterminated: bool, result: FileResult) -> None:
    sections = split_sections(lines, header_level, result.path, result.issues)
    taken: set[str] = set()
    # `## 13` then `## 13-1` is a collection's usual way to name seeds 0 and 1; but beside a `## 22-0`
    # a bare `## 22` is another run, not seed 0 again
    seeded = {variant_seed_from_header(section.header) for section in sections}
    for number, section in enumerate(sections):
        last = number == len(sections) - 1
        log = read_run(section.lines, section.first_line_no, result.issues, unterminated and last)
        if not log.evals:
            if looks_like_run(section.header) and not any(line.strip() for line in section.lines):
                result.issues.add(EMPTY, section.header_line_no,
                                  f"'{'#' * header_level} {section.header}' has no eval line under it: no run imported")
            continue
        variant, seed = variant_seed_from_header(section.header)
        # The header is the run's import key within the file: a second section of the same name
        # (a re-run pasted under the old name) gets 'NAME (2)', not the first run's key.
        header, k = section.header, 1
        while header in taken:
            k += 1
            header = f"{section.header} ({k})"
        if k > 1:
            result.issues.add(REPEATED, section.header_line_no,
                              f"'{'#' * header_level} {section.header}' again; its run is imported as {header!r}")
        taken.add(header)
        if seed is None and (variant, 0) not in seeded:
            seed = 0
        elif seed is None:
            seed = stand_in_seed(f"{result.path}#{header}")
            log.notes.append(f"no seed in the header {section.header!r}: stored as seed {seed} (a stand-in "
                             "derived from the file and header; negative, so it never equals a real seed)")
        result.runs.append(ParsedRun(result.path, header, variant, seed, log))
    result.has_eval_lines = bool(result.runs)
    if not result.runs:
        result.error = f"{result.path}: no run: no level-{header_level} header ('{'#' * header_level} NAME') has eval lines under it"


def _parse_single_log(lines: list[str], path: str, variant_from: Optional[str], unterminated: bool,
                      result: FileResult) -> None:
    start = code_dump_end(lines)
    log = read_run(lines[start:], start + 1, result.issues, unterminated)
    if not log.evals and not log.has_final_eval:
        result.has_eval_lines = len(result.issues) > 0
        result.error = (f"{path}: no eval line and no final evaluation (expected 'step:N/M val_loss:X ...', "
                        f"'N/M val_loss: X ...' or '<name> val_loss:X val_bpb:Y'){_what_it_holds(log)}"
                        if not result.issues else f"{path}: no readable eval line; {result.issues.lines()[0]}")
        return
    result.has_eval_lines = True
    variant, seed = Path(path).stem, log.seed
    if variant_from:
        m = re.search(variant_from, Path(path).name)
        if m is None:
            result.error = f"{path}: file name does not match --variant-from {variant_from!r}"
            return
        groups = m.groupdict()
        variant = groups.get("variant") or variant
        if groups.get("seed") is not None:
            if not groups["seed"].isdigit() or int(groups["seed"]) > INT64_MAX:
                result.error = f"{path}: --variant-from seed {groups['seed']!r} is not an integer within int64"
                return
            seed = int(groups["seed"])
    if seed is None:
        seed = seed_for_seedless_log(path, log.notes)
    if start:
        log.notes.insert(0, f"log starts at line {start + 1}, after the trainer's dumped source")
    result.runs.append(ParsedRun(path, None, variant, seed, log))


def _what_it_holds(log: RunLog) -> str:
    """What a log without any evaluation does hold, so that its failure names a cause."""
    if log.traceback_line is not None:
        return f"; it has a Python traceback at line {log.traceback_line}"
    if log.last_step is not None:
        return f"; its step lines end at step {log.last_step} (training only: cut before its first evaluation?)"
    return "; it has no step line at all"


def parse_file(path: Path, fmt: str = "auto", header_level: int = 2,
               variant_from: Optional[str] = None) -> FileResult:
    """Read one file (any line endings, undecodable bytes replaced) and parse it."""
    resolved = str(path.resolve())
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        return FileResult(path=resolved, format=fmt, error=f"{resolved}: cannot read ({exc.strerror or exc})")
    return parse_text(text, resolved, fmt, header_level, variant_from)
