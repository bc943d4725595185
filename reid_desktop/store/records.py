"""Plain dataclasses returned by the store's typed accessors."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Camera:
    id: int
    name: str
    root: str
    layout: str  # "folders" or "market"
    added_at: str
    source_key: str = ""  # camera id within a multi-camera source (Market "c1"), else ""


@dataclass(frozen=True)
class Crop:
    id: int
    camera_id: int
    rel_path: str
    sha256: str
    width: int
    height: int
    size_bytes: int
    mtime_ns: int
    frame: int | None = None
    timestamp: str | None = None
    gt_person: str | None = None
    status: str = "present"  # "present" or "missing"


@dataclass(frozen=True)
class EncoderRecord:
    id: int
    name: str
    file: str
    sha256: str
    metadata: dict[str, Any] = field(default_factory=dict)
    created_at: str = ""


@dataclass(frozen=True)
class Decision:
    id: int
    query_crop_id: int
    candidate_crop_id: int
    verdict: str  # "same", "different", "skip" or "undo"
    score: float | None
    encoder_id: int | None
    operator: str
    created_at: str
    voids_id: int | None = None
    action_id: int | None = None  # the operator action this row belongs to (None: written before actions)


@dataclass(frozen=True)
class Action:
    """One operator action: the unit of the audit trail and of undo/redo."""

    id: int
    kind: str  # "verdict", "merge", "group", "split", "unlink", "undo", …
    operator: str
    created_at: str
    encoder_id: int | None = None
    undoes_id: int | None = None  # for "undo": the action it takes out of force (None: a pre-action row)
    note: str = ""  # one line for people: "merged ID-0042 (6 crops) with 3 identities"


@dataclass(frozen=True)
class Identity:
    id: int
    name: str
    notes: str
    created_at: str


@dataclass(frozen=True)
class TrainingRun:
    id: int
    recipe: str
    params: dict[str, Any]
    status: str
    started_at: str
    finished_at: str | None = None
    metrics: dict[str, Any] = field(default_factory=dict)
    encoder_id: int | None = None


@dataclass(frozen=True)
class SkippedFile:
    camera_id: int | None
    source_root: str
    path: str
    reason: str
    seen_at: str


@dataclass(frozen=True)
class CameraStats:
    camera: Camera
    present: int
    missing: int
    skipped: int
