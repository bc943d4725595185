"""Shared fixtures. Tests run offscreen and make their own synthetic data."""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from helpers.synth import make_camera_folder  # noqa: E402

from reid_desktop.store import Project  # noqa: E402

# DESIGN §7: app code never opens a project file (or its -wal/-shm) with plain file I/O; closing
# that descriptor would drop the SQLite locks of every connection in the process. An audit hook
# catches any such open made from reid_desktop/ or trainer/ in any test.
_PROJECT_FILE = re.compile(r"\.reidproj(-wal|-shm|-journal)?$")
_APP_DIRS = tuple(str(Path(__file__).resolve().parents[1] / d) + os.sep for d in ("reid_desktop", "trainer"))
_plain_opens: list[str] = []


def _audit(event: str, args: tuple) -> None:
    if event != "open" or not isinstance(args[0], str | bytes | os.PathLike):
        return
    name = os.fsdecode(args[0])
    if not _PROJECT_FILE.search(name):
        return
    frame = sys._getframe(1)
    while frame is not None:
        if frame.f_code.co_filename.startswith(_APP_DIRS):
            _plain_opens.append(f"{name} from {frame.f_code.co_filename}:{frame.f_lineno}")
            return
        frame = frame.f_back


sys.addaudithook(_audit)


@pytest.fixture(autouse=True)
def _no_plain_opens_of_project_files():
    _plain_opens.clear()
    yield
    assert not _plain_opens, f"app code opened a project file with plain I/O: {_plain_opens}"


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


@pytest.fixture
def window(qtbot, tmp_path: Path):
    """The main window with its own settings file (no recent projects or folders leak between
    tests), shown at a workstation size; message boxes left open are closed afterwards."""
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QMessageBox

    from reid_desktop.ui.shell.main_window import MainWindow

    w = MainWindow(QSettings(str(tmp_path / "settings.ini"), QSettings.IniFormat))
    qtbot.addWidget(w)
    w.resize(1280, 800)
    w.show()
    yield w
    for box in w.findChildren(QMessageBox):
        box.close()  # an open (window-modal) box would hold the mouse in later tests
    w.close()
