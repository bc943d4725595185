"""Shared fixtures. Tests run offscreen and make their own synthetic data."""

from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from synth import make_camera_folder  # noqa: E402

from reid_desktop.store import Project  # noqa: E402

SHARED = Path(__file__).resolve().parents[2] / "shared"
PKU = SHARED / "data" / "pku-reid-dev"


@pytest.fixture
def project(tmp_path: Path):
    p = Project.create(tmp_path / "test.reidproj")
    yield p
    p.close()


@pytest.fixture
def two_cameras(tmp_path: Path) -> list[Path]:
    """Two camera folders with 6 synthetic people each (same people, different lighting)."""
    return [
        make_camera_folder(tmp_path / "cams" / "cam1", people=6, per_person=2, seed=1),
        make_camera_folder(tmp_path / "cams" / "cam2", people=6, per_person=2, seed=2),
    ]


@pytest.fixture
def pku() -> Path:
    if not (PKU / "ground_truth.csv").is_file():
        pytest.skip("../shared/data/pku-reid-dev is not present")
    return PKU
