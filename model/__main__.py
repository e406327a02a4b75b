"""`python -m model --config CONFIG [--out DIR]`: one training run as its own process.

CONFIG is a JSON object of TrainConfig fields (the dict the store keeps, `TrainConfig.to_dict()`)
or `@path/to/config.json`. A worker starts multi-GPU runs this way:

    torchrun --standalone --nproc_per_node 2 -m model --config @run.json --out runs/abc

Rank 0 prints each event as one line `GOLF_EVENT {json}`, flushed at once; anything else on
stdout (torchrun, warnings) is noise that `model.events.parse_event_line` skips.
Exit codes: 0 finished, 1 TrainingError (e.g. non-finite loss), 2 bad config; the message of a
failure goes to stderr.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from model.config import TrainConfig
from model.events import EVENT_LINE_PREFIX, Event, TrainingError, event_to_dict


def load_config(text: str) -> TrainConfig:
    """TrainConfig from a JSON object or `@path` to one; ValueError says what is wrong where."""
    source = "--config"
    if text.startswith("@"):
        source = text[1:]
        try:
            text = Path(source).read_text()
        except OSError as e:
            raise ValueError(f"--config {source}: cannot read ({e.strerror})") from None
    try:
        values = json.loads(text)
    except json.JSONDecodeError as e:
        raise ValueError(f"{source}: not valid JSON ({e})") from None
    if not isinstance(values, dict):
        raise ValueError(f"{source}: expected a JSON object of TrainConfig fields")
    try:
        return TrainConfig.from_dict(values)
    except TypeError as e:  # a value of the wrong type, e.g. "num_layers": "nine"
        raise ValueError(f"{source}: {e}") from None


def print_event(event: Event) -> None:
    print(EVENT_LINE_PREFIX + json.dumps(event_to_dict(event)), flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m model", description=__doc__.split("\n")[0])
    parser.add_argument("--config", required=True, help="JSON object of TrainConfig fields, or @file")
    parser.add_argument("--out", type=Path, default=None, help="folder for the artifact (default: a temp dir)")
    args = parser.parse_args(argv)
    try:
        config = load_config(args.config)
        from model.trainer import train  # torch loads only once the config is good

        train(config, print_event, args.out)
    except TrainingError as e:
        print(f"golf: training failed: {e}", file=sys.stderr)
        return 1
    except ValueError as e:  # the config, or the data it points at
        print(f"golf: bad config: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
