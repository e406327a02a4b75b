"""What a spec may ask for, checked before anything is built or stored.

A spec is data from anyone; without these limits a few lines of YAML exhaust the machine: an alias
bomb (each level repeats the one below nine times) expands to billions of nodes, 5,000 nested
brackets overflow Python's stack, and `seeds: 100000000` or a wide grid enqueue millions of runs.
Explicit tags other than YAML's core ones (`!!python/object`, `!!set`, local `!x`) are refused:
the safe loader would construct or drop them, and either way the spec would mean something other
than what it says.
"""

from __future__ import annotations

import yaml

from sweeper.errors import SpecError

MAX_NODES = 100_000  # YAML nodes after expanding aliases (the shipped specs have < 200)
MAX_DEPTH = 32  # nesting of mappings and lists (the shipped specs reach 5)
MAX_SEEDS = 10_000  # seeds per variant (a count or a list)
# Seeds are stored in an INTEGER column, 32 bits on PostgreSQL; torch and numpy accept them all.
MAX_SEED = 2**31 - 1
DEFAULT_MAX_RUNS = 1_000  # runs one spec may expand to unless --max-runs allows more

_CORE = "tag:yaml.org,2002:"
CORE_TAGS = {_CORE + t for t in ("str", "int", "float", "bool", "null", "seq", "map")}
_COLLECTION_EVENTS = (yaml.MappingStartEvent, yaml.SequenceStartEvent)
_END_EVENTS = (yaml.MappingEndEvent, yaml.SequenceEndEvent)


def _shown(tag: str) -> str:
    return "!!" + tag[len(_CORE):] if tag.startswith(_CORE) else tag


def check_events(loader: yaml.SafeLoader, file: str) -> None:
    """One pass over the parser's events (no tree built yet): nesting depth, node count and tags,
    each error naming its line. Consumes the loader's events; use a fresh loader to compose."""
    depth = nodes = 0
    while loader.check_event():
        event = loader.get_event()
        line = event.start_mark.line + 1
        if isinstance(event, yaml.NodeEvent):
            nodes += 1
            if nodes > MAX_NODES:
                raise SpecError(f"{file}:{line}: more than {MAX_NODES:,} YAML nodes (expected a spec of "
                                "at most that size)")
            tag = getattr(event, "tag", None)
            if tag not in (None, "!") and tag not in CORE_TAGS:
                raise SpecError(f"{file}:{line}: YAML tag {_shown(tag)!r} is not allowed (expected only the "
                                "core tags !!str, !!int, !!float, !!bool, !!null, !!seq, !!map)")
        if isinstance(event, _COLLECTION_EVENTS):
            depth += 1
            if depth > MAX_DEPTH:
                raise SpecError(f"{file}:{line}: nested deeper than {MAX_DEPTH} levels (expected a flatter spec)")
        elif isinstance(event, _END_EVENTS):
            depth -= 1


def check_expanded(root: yaml.Node, file: str) -> None:
    """The composed tree as the spec means it, aliases expanded: node count, depth, no cycles.
    Sizes are counted once per shared node, so a billion-node alias bomb costs a few hundred steps."""
    measured: dict[int, tuple[int, int]] = {}  # id(node) -> (expanded nodes, height)
    open_nodes: set[int] = set()

    def measure(node: yaml.Node, depth: int) -> tuple[int, int]:
        line = node.start_mark.line + 1
        key = id(node)
        if key in open_nodes:
            raise SpecError(f"{file}:{line}: an alias refers to a node that contains it (expected no "
                            "recursive anchors)")
        if key not in measured:
            if depth > MAX_DEPTH:
                raise SpecError(f"{file}:{line}: aliases nest this spec deeper than {MAX_DEPTH} levels "
                                "(expected a flatter spec)")
            if isinstance(node, yaml.MappingNode):
                children = [n for pair in node.value for n in pair]
            else:
                children = list(node.value) if isinstance(node, yaml.SequenceNode) else []
            open_nodes.add(key)
            size, height = 1, 0
            for child in children:
                child_size, child_height = measure(child, depth + 1)
                size, height = size + child_size, max(height, child_height + 1)
                if size > MAX_NODES:
                    raise SpecError(f"{file}:{line}: aliases expand this spec to more than {MAX_NODES:,} "
                                    "YAML nodes (expected a spec of at most that size)")
            open_nodes.discard(key)
            measured[key] = (size, height)
        size, height = measured[key]
        if depth + height > MAX_DEPTH:
            raise SpecError(f"{file}:{line}: aliases nest this spec deeper than {MAX_DEPTH} levels "
                            "(expected a flatter spec)")
        return size, height

    measure(root, 0)


def check_run_count(path: str, variants: int, grid_points: int, seeds: int, max_runs: int) -> None:
    """Refuse a spec that expands to more than `max_runs` runs, before any run is built."""
    if seeds > MAX_SEEDS:
        raise SpecError(f"{path}: {seeds:,} seeds (expected at most {MAX_SEEDS:,})")
    runs = variants * grid_points * seeds
    if runs > max_runs:
        raise SpecError(f"{path}: expands to {runs:,} runs ({variants:,} variants x {grid_points:,} grid points "
                        f"x {seeds:,} seeds), more than the limit of {max_runs:,} (expected fewer; pass "
                        f"--max-runs {runs} to allow it)")
