"""Render each main screen to PNG (offscreen): `python -m reid_desktop.ui.screenshots OUT_DIR`.

Uses ../shared/data/pku-reid-dev when present, otherwise synthetic crops, plus a few bad files
so the skipped-files report has content.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np
from PIL import Image
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication, QWidget

PKU = Path(__file__).resolve().parents[3] / "shared" / "data" / "pku-reid-dev"


def _pump(app: QApplication, seconds: float) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        app.processEvents()
        time.sleep(0.02)


def _synthetic(folder: Path) -> list[str]:
    rng = np.random.default_rng(0)
    cams = []
    for cam in ("lobby", "car park"):
        d = folder / cam
        d.mkdir(parents=True)
        for i in range(60):
            arr = rng.integers(0, 255, (128, 48, 3), dtype=np.uint8)
            arr[10:40] = rng.integers(0, 255, 3)
            Image.fromarray(arr).save(d / f"{cam}_{i:04d}.jpg")
        cams.append(str(d))
    return cams


def _bad_files(folder: Path) -> str:
    folder.mkdir(parents=True)
    (folder / "empty.jpg").write_bytes(b"")
    (folder / "notes.jpg").write_text("not an image")
    good = folder / "ok.jpg"
    Image.new("RGB", (48, 128), (200, 40, 40)).save(good)
    data = good.read_bytes()
    (folder / "truncated.jpg").write_bytes(data[: len(data) // 2])
    return str(folder)


def save(widget: QWidget, out: Path, name: str) -> None:
    path = out / f"{name}.png"
    widget.grab().save(str(path))
    print(path)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    out = Path(args[0] if args else "screenshots")
    out.mkdir(parents=True, exist_ok=True)
    app = QApplication.instance() or QApplication([])
    from .add_folders_dialog import AddFoldersDialog
    from .main_window import MainWindow

    with tempfile.TemporaryDirectory() as tmp:
        tmpd = Path(tmp)
        settings = QSettings(str(tmpd / "settings.ini"), QSettings.IniFormat)
        w = MainWindow(settings)
        w.resize(1280, 800)
        w.show()
        _pump(app, 0.3)
        save(w, out, "01-welcome")
        w.create_project(tmpd / "demo.reidproj")
        folders = [str(PKU / "cam1"), str(PKU / "cam2")] if PKU.is_dir() else _synthetic(tmpd)
        dlg = AddFoldersDialog(w)
        for f in folders:
            dlg.add_folder(f)
        dlg.show()
        _pump(app, 0.2)
        save(dlg, out, "02-add-folders")
        dlg.close()
        handle = w.add_folders(folders + [_bad_files(tmpd / "door")], "folders")
        while handle is not None and w.job is not None:
            _pump(app, 0.05)
        _pump(app, 1.5)
        save(w, out, "03-browser")
        w.browser.select_camera_row(1)
        _pump(app, 1.0)
        save(w, out, "04-browser-camera")
        sk = w.show_skipped()
        _pump(app, 0.3)
        save(sk, out, "05-skipped-files")
        sk.close()
        w.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
