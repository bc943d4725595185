"""The trainer's JSON-lines event stream: one JSON object per line on stdout.

This module imports neither torch nor Qt, so the app parses events with the same code that
writes them. Every event has `v` (schema version), `event` (its type) and `t` (seconds since the
run started). Fields per type (stable; add, never rename):

- plan:       the `core.training.plan.TrainingPlan` the run follows (identities, crops, train_ids,
              train_crops, holdout_ids, holdout_crops, holdout_cross_camera_ids, left_out, …):
              the Fine-tune dialog shows the same plan before the run
- start:      recipe, data, init, device, seed, epochs, minutes, train_ids, train_crops,
              holdout_ids, holdout_crops, backbone_lr, head_lr
- epoch:      epoch, epochs, seconds, eta_seconds
- step:       epoch, step, steps, loss, terms {name: value}, lr
- eval:       epoch (0 = the start model, before training), rank1, rank5, mAP, mINP, queries,
              holdout_ids, cross_camera_queries, protocol, embedding
- checkpoint: epoch, path, mAP, best
- export:     path, parity_cosine
- done:       out, before {rank1, rank5, mAP, queries, holdout_ids, protocol},
              after {… and mAP_interval [low, high]}, best_epoch, seconds, start,
              comparison {before_mAP, after_mAP, delta_mAP, interval, verdict better | worse |
              unclear | untested, recommend activate | keep, sentence}
- error:      message
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import dataclass, field
from typing import IO, Any

SCHEMA_VERSION = 1
EVENT_TYPES = ("plan", "start", "epoch", "step", "eval", "checkpoint", "export", "done", "error")
REQUIRED = {
    "plan": ("train_ids", "holdout_ids"),
    "start": ("recipe", "train_ids", "holdout_ids"),
    "epoch": ("epoch", "epochs"),
    "step": ("epoch", "step", "loss"),
    "eval": ("epoch", "rank1", "mAP"),
    "checkpoint": ("epoch", "path"),
    "export": ("path",),
    "done": ("out", "before", "after"),
    "error": ("message",),
}


@dataclass(frozen=True)
class Event:
    type: str
    t: float
    data: dict[str, Any] = field(default_factory=dict)

    def __getitem__(self, key: str) -> Any:
        return self.data[key]

    def get(self, key: str, default: Any = None) -> Any:
        return self.data.get(key, default)


class EventError(ValueError):
    """A line that is not a valid trainer event."""


def parse_line(line: str) -> Event | None:
    """An Event, or None for lines that are not events (blank lines, stray prints)."""
    line = line.strip()
    if not line.startswith("{"):
        return None
    try:
        obj = json.loads(line)
    except ValueError as exc:
        raise EventError(f"malformed event line: {exc}") from None
    if not isinstance(obj, dict) or obj.get("event") not in EVENT_TYPES:
        raise EventError(f"unknown event: {line[:120]}")
    if obj.get("v", SCHEMA_VERSION) > SCHEMA_VERSION:
        raise EventError(f"event schema {obj['v']} is newer than {SCHEMA_VERSION}")
    kind = obj.pop("event")
    t = float(obj.pop("t", 0.0))
    obj.pop("v", None)
    missing = [k for k in REQUIRED[kind] if k not in obj]
    if missing:
        raise EventError(f"{kind} event lacks {', '.join(missing)}")
    return Event(kind, t, obj)


class EventWriter:
    """Writes events as JSON lines and flushes each, so a reader sees them at once."""

    def __init__(self, stream: IO[str] | None = None) -> None:
        self.stream = stream or sys.stdout
        self.t0 = time.monotonic()

    def emit(self, kind: str, **fields: Any) -> dict[str, Any]:
        if kind not in EVENT_TYPES:
            raise ValueError(f"unknown event type {kind!r}")
        missing = [k for k in REQUIRED[kind] if k not in fields]
        if missing:
            raise ValueError(f"{kind} event lacks {', '.join(missing)}")
        obj = {"v": SCHEMA_VERSION, "event": kind, "t": round(time.monotonic() - self.t0, 3), **fields}
        self.stream.write(json.dumps(obj, default=_jsonable) + "\n")
        self.stream.flush()
        return obj


def _jsonable(x: Any) -> Any:
    if hasattr(x, "item"):
        return x.item()  # numpy / torch scalars
    if hasattr(x, "__fspath__"):
        return str(x)
    raise TypeError(f"not JSON serialisable: {type(x).__name__}")
