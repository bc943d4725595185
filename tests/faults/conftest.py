"""Helpers for the fault-injection suite."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image


def trials(default: int) -> int:
    """How many randomised trials to run: `default` in `make test`, more under `make faults`."""
    return max(1, int(default * float(os.environ.get("REID_FAULT_TRIALS", "1"))))


@pytest.fixture
def fault_trials():
    return trials


def noise_crops(root: Path, per_camera: int, seed: int = 0) -> Path:
    """Two camera folders of small distinct crops (random pixels: no duplicates)."""
    rng = np.random.default_rng(seed)
    for cam in ("cam1", "cam2"):
        (root / cam).mkdir()
        for i in range(per_camera):
            px = rng.integers(0, 255, size=(32, 16, 3), dtype=np.uint8)
            Image.fromarray(px).save(root / cam / f"{i:05d}.png")
    return root
