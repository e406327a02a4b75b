"""`golf import`: existing modded-nanogpt / parameter-golf training logs into the store.

Parsing is pure (text -> `ParsedRun` domain objects + line issues); only `import_paths` touches
the store, through its public API. Formats:
- modded:   `step:N/M val_loss:X train_time:Tms step_avg:Sms` eval lines, one run per file;
- golf:     parameter-golf trainer logs (adds val_bpb, params, stop, memory, sizes, round-trip);
- markdown: a collection, one run per `## NAME` section (`--header-level` picks the depth).
"""

from __future__ import annotations

import glob
import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Optional

from sweeper.errors import GolfError

FORMATS = ("auto", "modded", "golf", "markdown")

# ---- line grammar ----
# One regex per line kind; a line that starts like a step line but matches neither is malformed
# (typically a log cut mid-line), reported with its line number and skipped.
_EVAL = re.compile(
    r"step:(\d+)/(\d+) val_loss:([0-9.]+(?:[eE][-+]?\d+)?|nan|inf)(?: val_bpb:([0-9.]+|nan|inf))?"
    r" train_time:(\d+(?:\.\d+)?)ms step_avg:([0-9.]+|nan|inf)ms\s*$"
)
_TRAIN = re.compile(
    r"step:(\d+)/(\d+)(?: train_loss:\S+)? train_time:(\d+(?:\.\d+)?)ms step_avg:([0-9.]+|nan|inf)ms\s*$"
)


def _stopped(m: re.Match, final: dict, extra: dict) -> None:
    final.update(train_time_s=int(m[1]) / 1000.0, steps=int(m[2]), stopped_early=True)
    extra["total_steps"] = int(m[3])


# parameter-golf summary lines: (prefix, full-line pattern, what it records into final / extra).
# A line with a known prefix that does not match (a log cut mid-line) is reported, not guessed at.
# artifact_bytes is the int8+zlib model, as golf's own runs count it; parameter-golf's 16 MB rule
# also counts the script, so the printed total is kept as submission_bytes.
_SUMMARY_LINES = (
    ("stopping_early:", re.compile(r"stopping_early: .*?train_time:(\d+)ms step:(\d+)/(\d+)\s*$"), _stopped),
    ("peak memory allocated:", re.compile(r"peak memory allocated: (\d+) MiB"),
     lambda m, final, extra: final.update(peak_memory_mib=int(m[1]))),
    ("Serialized model int8+zlib:", re.compile(r"Serialized model int8\+zlib: (\d+) bytes"),
     lambda m, final, extra: final.update(artifact_bytes=int(m[1]))),
    ("Total submission size int8+zlib:", re.compile(r"Total submission size int8\+zlib: (\d+) bytes\s*$"),
     lambda m, final, extra: extra.update(submission_bytes=int(m[1]))),
    ("final_int8_zlib_roundtrip_exact ", re.compile(r"final_int8_zlib_roundtrip_exact val_loss:([0-9.]+) val_bpb:([0-9.]+)\s*$"),
     lambda m, final, extra: final.update(quant_val_loss=float(m[1]), quant_val_bpb=float(m[2]))),
    ("model_params:", re.compile(r"model_params:(\d+)\s*$"), lambda m, final, extra: final.update(num_params=int(m[1]))),
    ("seed:", re.compile(r"seed:(\d+)\s*$"), lambda m, final, extra: extra.update(seed=int(m[1]))),
)
_HEADER = re.compile(r"(#{1,6})\s+(.*?)\s*#*\s*$")
_VARIANT_SEED = re.compile(r"^(.*?)(?:-|\s+)(\d+)$")


@dataclass(frozen=True)
class LineIssue:
    """A line that was skipped, with where it is and why."""

    path: str
    line_no: int
    reason: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line_no}: {self.reason}"


@dataclass
class ParsedRun:
    """One run as its log states it: evals (store dicts), final metrics, identity for idempotency."""

    source_path: str
    header: Optional[str]
    variant: str
    seed: int
    evals: list[dict]
    final: dict
    content_hash: str
    extra: dict = field(default_factory=dict)  # facts with no run column (total_steps, submission_bytes, seed)

    @property
    def import_key(self) -> str:
        """Resolved file path, plus '#' + header for a run inside a collection."""
        return self.source_path if self.header is None else f"{self.source_path}#{self.header}"


@dataclass
class FileResult:
    """What one file gave: its runs, the lines skipped, and an error if the file gave no run."""

    path: str
    format: str
    runs: list[ParsedRun] = field(default_factory=list)
    issues: list[LineIssue] = field(default_factory=list)
    error: Optional[str] = None


def _num(text: str) -> float:
    return float(text)


def parse_log_lines(lines: list[str], path: str, first_line_no: int = 1) -> tuple[list[dict], dict, dict, list[LineIssue]]:
    """Parse one run's log lines -> (evals, final, extra, issues).

    `first_line_no` is the file line number of `lines[0]`, so issues point into the real file.
    Everything that is not a step line or a known summary line is noise (torchrun, NCCL, config).
    """
    evals: list[dict] = []
    final: dict = {}
    extra: dict = {}
    issues: list[LineIssue] = []
    for offset, raw in enumerate(lines):
        line = raw.rstrip("\r\n")
        if line.startswith("step:"):
            m = _EVAL.match(line)
            if m:
                step, total, loss, bpb, t_ms, avg = m.groups()
                evals.append({"step": int(step), "train_time_s": _num(t_ms) / 1000.0, "val_loss": _num(loss),
                              "val_bpb": _num(bpb) if bpb is not None else None, "tokens": None})
                extra["total_steps"] = int(total)
                final["step_avg_ms"] = _num(avg)
            elif not _TRAIN.match(line):
                issues.append(LineIssue(path, first_line_no + offset, f"malformed step line: {line[:80]!r}"))
            continue
        if line.startswith("warmup_step:") or not line:
            continue
        for prefix, pattern, record in _SUMMARY_LINES:
            if line.startswith(prefix):
                m = pattern.match(line)
                if m:
                    record(m, final, extra)
                else:
                    issues.append(LineIssue(path, first_line_no + offset, f"malformed {prefix!r} line: {line[:80]!r}"))
                break
    if evals:
        last = evals[-1]
        final["val_loss"] = last["val_loss"]
        final["val_bpb"] = last["val_bpb"]
        final.setdefault("steps", last["step"])
        final.setdefault("train_time_s", last["train_time_s"])
        final.setdefault("stopped_early", False)
    return evals, final, extra, issues


def _content_hash(lines: Iterable[str]) -> str:
    # Line endings are normalised so a CRLF copy of the same log is the same run.
    digest = hashlib.sha256()
    for line in lines:
        digest.update(line.rstrip("\r\n").encode())
        digest.update(b"\n")
    return digest.hexdigest()


def sniff_format(text: str) -> str:
    """'markdown' if the text has headers, 'golf' if it has parameter-golf lines, else 'modded'."""
    if re.search(r"^#{1,6} ", text, re.M):
        return "markdown"
    if "val_bpb:" in text or "final_int8_zlib_roundtrip" in text or "model_params:" in text:
        return "golf"
    return "modded"


def variant_seed_from_header(header: str) -> tuple[str, int]:
    """`X-N` or `X N` with integer N -> (X, N); anything else -> (header, 0)."""
    m = _VARIANT_SEED.match(header)
    if m and m.group(1):
        return m.group(1), int(m.group(2))
    return header, 0


def _split_sections(lines: list[str], header_level: int) -> list[tuple[str, int, list[str]]]:
    """(header, first line number, lines) for each header of exactly `header_level`.

    Any other header (deeper or shallower) ends the current section: deeper headers are a
    separate batch (e.g. `### 26 i` inside a details block) and are not part of the run above.
    """
    sections: list[tuple[str, int, list[str]]] = []
    current: Optional[list] = None
    for i, raw in enumerate(lines):
        if raw.startswith("#"):
            m = _HEADER.match(raw.rstrip("\r\n"))
            if m:
                if len(m.group(1)) == header_level:
                    current = [m.group(2), i + 2, []]
                    sections.append(current)  # type: ignore[arg-type]
                else:
                    current = None
                continue
        if current is not None:
            current[2].append(raw)
    return [tuple(s) for s in sections]  # type: ignore[misc]


def parse_text(text: str, path: str, fmt: str = "auto", header_level: int = 2,
               variant_from: Optional[str] = None) -> FileResult:
    """Parse one file's text into runs (pure; no filesystem, no store)."""
    if fmt not in FORMATS:
        raise GolfError(f"--format {fmt!r}: expected one of {', '.join(FORMATS)}")
    fmt = sniff_format(text) if fmt == "auto" else fmt
    lines = text.splitlines()
    result = FileResult(path=path, format=fmt)
    if fmt == "markdown":
        for header, first_line_no, section in _split_sections(lines, header_level):
            evals, final, extra, issues = parse_log_lines(section, path, first_line_no)
            result.issues.extend(issues)
            if not evals:
                result.issues.append(LineIssue(path, first_line_no - 1, f"section {header!r} has no eval line; skipped"))
                continue
            variant, seed = variant_seed_from_header(header)
            result.runs.append(ParsedRun(path, header, variant, seed, evals, final, _content_hash(section), extra))
        if not result.runs:
            result.error = f"{path}: no run with an eval line under any level-{header_level} header"
        return result
    evals, final, extra, issues = parse_log_lines(lines, path, 1)
    result.issues.extend(issues)
    if not evals:
        result.error = f"{path}: no eval line (expected 'step:N/M val_loss:X ... train_time:Tms step_avg:Sms')"
        return result
    variant, seed = Path(path).stem, extra.get("seed", 0)
    if variant_from:
        m = re.search(variant_from, Path(path).name)
        if m is None:
            result.error = f"{path}: file name does not match --variant-from {variant_from!r}"
            return result
        groups = m.groupdict()
        variant = groups.get("variant") or variant
        if groups.get("seed") is not None:
            seed = int(groups["seed"])
    result.runs.append(ParsedRun(path, None, variant, seed, evals, final, _content_hash(lines), extra))
    return result


def expand_paths(paths: Iterable[str]) -> list[Path]:
    """Files named, files inside named folders (sorted), and glob matches (a missing path is kept)."""
    found: list[Path] = []
    for spec in paths:
        p = Path(spec)
        if p.is_dir():
            found.extend(sorted(f for f in p.iterdir() if f.is_file() and not f.name.startswith(".")))
        elif p.is_file():
            found.append(p)
        else:
            matches = sorted(glob.glob(spec, recursive=True))
            # A missing path stays in the list: reading it fails as that file's own error,
            # so the other files still import.
            found.extend(Path(m) for m in matches if Path(m).is_file()) if matches else found.append(p)
    return found


def parse_file(path: Path, fmt: str = "auto", header_level: int = 2,
               variant_from: Optional[str] = None) -> FileResult:
    """Read one file (any line endings, undecodable bytes replaced) and parse it."""
    resolved = str(path.resolve())
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        return FileResult(path=resolved, format=fmt, error=f"{resolved}: cannot read ({exc.strerror or exc})")
    return parse_text(text, resolved, fmt, header_level, variant_from)


@dataclass
class ImportSummary:
    """Totals for the CLI: runs added/unchanged/replaced, evals written, skipped lines, errors."""

    files: list[FileResult] = field(default_factory=list)
    added: int = 0
    unchanged: int = 0
    replaced: int = 0
    evals: int = 0

    @property
    def runs(self) -> int:
        return sum(len(f.runs) for f in self.files)

    @property
    def issues(self) -> list[LineIssue]:
        return [i for f in self.files for i in f.issues]

    @property
    def errors(self) -> list[str]:
        return [f.error for f in self.files if f.error]


def import_paths(store, sweep: str, paths: Iterable[str], fmt: str = "auto", header_level: int = 2,
                 variant_from: Optional[str] = None) -> ImportSummary:
    """Parse every file and write its runs through `store`; one bad file does not stop the others."""
    if variant_from:
        try:
            re.compile(variant_from)
        except re.error as exc:
            raise GolfError(f"--variant-from {variant_from!r}: not a valid regex ({exc})") from exc
    summary = ImportSummary()
    store.ensure_sweep(sweep)
    for path in expand_paths(paths):
        result = parse_file(path, fmt, header_level, variant_from)
        summary.files.append(result)
        for run in result.runs:
            config = {"import_format": result.format, **run.extra}
            outcome = store.upsert_imported_run(sweep, run.import_key, run.content_hash, run.variant, run.seed,
                                                run.evals, run.final, run.source_path, config=config)
            if outcome == "added":
                summary.added += 1
            elif outcome == "replaced":
                summary.replaced += 1
            else:
                summary.unchanged += 1
            if outcome != "unchanged":
                summary.evals += len(run.evals)
    return summary
