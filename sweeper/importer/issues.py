"""Problems met while reading a file, kept per kind so that a file gives one warning line per kind
(a 1,530-line log whose eval lines all lack a field is one line saying so, not 1,530)."""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class IssueKind:
    """How many lines had this problem, and the first of them (line number and why)."""

    count: int
    first_line_no: int
    first_reason: str


@dataclass
class FileIssues:
    """Per-kind problem counts of one file, in the order first met."""

    path: str
    kinds: dict[str, IssueKind] = field(default_factory=dict)

    def add(self, kind: str, line_no: int, reason: str) -> None:
        """Count one more `kind` problem; the first one's line and reason are the ones shown."""
        found = self.kinds.get(kind)
        if found is None:
            self.kinds[kind] = IssueKind(1, line_no, reason)
        else:
            found.count += 1

    def __len__(self) -> int:
        return sum(k.count for k in self.kinds.values())

    def lines(self) -> list[str]:
        """One warning line per kind: 'PATH: 3 unreadable lines (first at line 17: REASON)'."""
        out = []
        for kind, k in self.kinds.items():
            noun = kind if k.count == 1 else kind + "s"  # kinds are "<adjective> <noun>"
            out.append(f"{self.path}: {k.count} {noun} (first at line {k.first_line_no}: {k.first_reason})")
        return out

