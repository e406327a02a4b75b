"""Plain PPM-C reference (dicts and loops) that the fast kernel in model/ppm.py is checked against.

Written straight from the textbook description, with no shared code: orders k..0 then a uniform
order -1, escape method C, exclusion of symbols offered by higher orders, score first, full update.
With `exact=True` it computes in Fractions, so "sums to exactly 1" can be tested exactly.
"""

from __future__ import annotations

from collections import defaultdict
from fractions import Fraction


class ReferencePPMC:
    def __init__(self, order: int, vocab: int, exact: bool = False):
        self.order, self.vocab, self.exact = order, vocab, exact
        # counts[context tuple][symbol]; the empty tuple is the order-0 context.
        self.counts: dict[tuple, dict[int, int]] = defaultdict(dict)
        self.history: list[int] = []

    def _ratio(self, a: int, b: int):
        return Fraction(a, b) if self.exact else a / b

    def probability(self, symbol: int):
        """P(symbol | history) before the symbol is seen."""
        escape = self._ratio(1, 1)
        excluded: set[int] = set()
        top = min(self.order, len(self.history))
        for j in range(top, -1, -1):
            context = tuple(self.history[len(self.history) - j :])
            table = self.counts.get(context, {})
            offered = {s: c for s, c in table.items() if s not in excluded}
            n = sum(offered.values())
            u = len(offered)
            if n == 0:
                continue
            if symbol in offered:
                return escape * self._ratio(offered[symbol], n + u)
            escape = escape * self._ratio(u, n + u)
            excluded |= set(offered)
        return escape * self._ratio(1, self.vocab - len(excluded))

    def distribution(self) -> list:
        return [self.probability(s) for s in range(self.vocab)]

    def update(self, symbol: int) -> None:
        top = min(self.order, len(self.history))
        for j in range(top + 1):
            table = self.counts[tuple(self.history[len(self.history) - j :])]
            table[symbol] = table.get(symbol, 0) + 1
        self.history.append(symbol)


def reference_target_probs(tokens, order: int, vocab: int) -> list[float]:
    """Position i = P(tokens[i+1] | tokens[0..i]), scoring each token before updating on it."""
    model = ReferencePPMC(order, vocab)
    out = []
    for i, tok in enumerate(tokens):
        tok = int(tok)
        if i >= 1:
            out.append(model.probability(tok))
        model.update(tok)
    return out


# ---- LONG REAL-TEXT STREAM FOR THE BENCHMARK ----
# The tests use the prepared corpus (fixture golf_data_dir). bench/bench_ppm.py wants millions of
# tokens without one, so by default it reads English from this machine: docstrings cut into words and
# punctuation and hashed into ids < vocab, which keeps the repetition statistics of real text
# (Zipfian words, recurring phrases).


def stdlib_text_tokens(max_tokens: int, vocab: int = 1024):
    """Deterministic int64 ids (< vocab) from docstrings (stdlib, then installed packages), at most max_tokens."""
    import ast
    import re
    import sysconfig
    import zlib
    from pathlib import Path

    import numpy as np

    word = re.compile(r"[A-Za-z]+|[0-9]+|[^\sA-Za-z0-9]")
    ids: list[int] = []
    # The stdlib first (what the tests use), then installed packages for longer benchmark streams.
    roots = [Path(sysconfig.get_paths()["stdlib"]), Path(sysconfig.get_paths()["purelib"])]
    files = [p for root in roots for p in sorted(root.rglob("*.py"))]
    for path in files:
        in_stdlib = not path.is_relative_to(roots[1])
        if "test" in path.parts or (in_stdlib and "site-packages" in path.parts):
            continue
        try:
            tree = ast.parse(path.read_text(encoding="utf-8"))
        except (SyntaxError, UnicodeDecodeError, OSError):
            continue
        for node in ast.walk(tree):
            if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
                doc = ast.get_docstring(node)
                if doc:
                    ids.extend(zlib.crc32(w.lower().encode()) % vocab for w in word.findall(doc))
        if len(ids) >= max_tokens:
            break
    return np.asarray(ids[:max_tokens], dtype=np.int64)
