"""Relinking a moved camera folder: decisions stay attached because crop ids never change."""

from __future__ import annotations

import hashlib
import os
import random
from dataclasses import dataclass
from pathlib import Path

from reid_desktop.store import Project

SAMPLE = 20


class RelinkError(Exception):
    """The new folder does not hold this source's crops; nothing was changed."""


@dataclass(frozen=True)
class RelinkReport:
    old_root: str
    new_root: str
    cameras: int
    sampled: int
    matched: int


def relink(project: Project, old_root: str, new_root: str | os.PathLike[str]) -> RelinkReport:
    """Point the cameras scanned from `old_root` at `new_root` after checking a sample of files
    (same relative path and same content hash). Re-scan afterwards to pick up other changes."""
    new = Path(os.path.normpath(Path(new_root).expanduser().absolute()))
    if not new.is_dir():
        raise RelinkError(f"{new} is not a folder")
    cams = [c for c in project.cameras.all() if c.root == old_root]
    if not cams:
        raise RelinkError(f"no camera was scanned from {old_root}")
    if any(c.root == str(new) for c in project.cameras.all()):
        raise RelinkError(f"{new} is already a camera folder of this project")
    crops = [c for cam in cams for c in project.crops.for_camera(cam.id, include_missing=True)]
    sample = random.Random(0).sample(crops, min(SAMPLE, len(crops)))
    matched = 0
    for crop in sample:
        try:
            data = (new / crop.rel_path).read_bytes()
        except OSError:
            continue
        matched += hashlib.sha256(data).hexdigest() == crop.sha256
    if sample and matched < max(1, len(sample) // 2):
        raise RelinkError(
            f"{new} does not look like the moved folder: {matched} of {len(sample)} sampled crops "
            "were found there with the same content. Nothing was changed."
        )
    project.cameras.set_root(old_root, str(new))
    return RelinkReport(old_root, str(new), len(cams), len(sample), matched)
