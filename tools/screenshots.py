"""Render each main screen to PNG (offscreen):
`python -m tools.screenshots OUT_DIR [--synthetic] [--events RUN.events.jsonl]`.

Uses ../shared/data/pku-reid-dev when present (its ground truth plays the operator for a few
dozen decisions so Identities has content), otherwise synthetic crops; the default encoder from
resources/ embeds them. Bad files are added so the skipped-files report has content.
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

ROOT = Path(__file__).resolve().parents[1]
PKU = ROOT.parent / "shared" / "data" / "pku-reid-dev"
EVENTS = [
    ROOT / "bench" / "out" / "train" / "baseline.events.jsonl",
    ROOT / "tests" / "data" / "train_events.jsonl",
]


def _pump(app: QApplication, seconds: float) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        app.processEvents()
        time.sleep(0.02)


def _wait_job(app: QApplication, w) -> None:
    _pump(app, 0.2)
    while w.job is not None:
        _pump(app, 0.1)
    _pump(app, 0.3)


def _synthetic(folder: Path) -> list[str]:
    rng = np.random.default_rng(0)
    cams = []
    for cam in ("lobby", "car park"):
        d = folder / cam
        d.mkdir(parents=True)
        for i in range(60):
            arr = np.full((128, 48, 3), 110, np.uint8)
            colours = np.random.default_rng(i % 30).integers(20, 235, (3, 3))
            arr[6:30, 14:34], arr[30:75, 8:40], arr[75:124, 12:36] = colours
            arr = np.clip(arr + rng.integers(-10, 10, arr.shape), 0, 255).astype(np.uint8)
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


def _play_operator(w, decisions: int) -> None:
    """Answer the first queue pairs from ground truth, as an operator would."""
    s = w.review.session

    # PKU has ground truth; synthetic crops are named after their person (i % 30).
    def person(c) -> str | None:
        tail = Path(c.rel_path).stem.split("_")[-1]
        return c.gt_person or (str(int(tail) % 30) if tail.isdigit() else None)

    gt = {c.id: person(c) for c in w.project.crops.all()}
    for _ in range(decisions):
        pair = s.current()
        if pair is None:
            break
        verdict = (
            "same" if gt.get(pair.query) and gt.get(pair.query) == gt.get(pair.candidate) else "different"
        )
        s.decide(pair.query, pair.candidate, verdict)
    w.review.show_current()


def save(widget: QWidget, out: Path, name: str) -> None:
    path = out / f"{name}.png"
    widget.grab().save(str(path))
    print(path)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    synthetic = "--synthetic" in args  # for images that may be published (PKU crops may not)
    args = [a for a in args if a != "--synthetic"]
    if "--events" in args:  # a recorded `reid-train` event stream for the training plots
        i = args.index("--events")
        EVENTS.insert(0, Path(args[i + 1]))
        del args[i : i + 2]
    out = Path(args[0] if args else "screenshots")
    out.mkdir(parents=True, exist_ok=True)
    app = QApplication.instance() or QApplication([])
    from reid_desktop.ui.crops.add_folders_dialog import AddFoldersDialog
    from reid_desktop.ui.encoders.finetune_dialog import FineTuneDialog
    from reid_desktop.ui.encoders.import_dialog import ImportEncoderDialog
    from reid_desktop.ui.export.dialog import ExportDialog
    from reid_desktop.ui.shell.help_dialogs import HelpDialog
    from reid_desktop.ui.shell.main_window import MainWindow

    with tempfile.TemporaryDirectory() as tmp:
        tmpd = Path(tmp)
        w = MainWindow(QSettings(str(tmpd / "settings.ini"), QSettings.IniFormat))
        w.resize(1280, 820)
        w.show()
        _pump(app, 0.3)
        save(w, out, "01-welcome")
        w.create_project(tmpd / "demo.reidproj")
        use_pku = PKU.is_dir() and not synthetic
        folders = [str(PKU / "cam1"), str(PKU / "cam2")] if use_pku else _synthetic(tmpd)
        dlg = AddFoldersDialog(w)
        for f in folders:
            dlg.add_folder(f)
        dlg.show()
        _pump(app, 0.2)
        save(dlg, out, "02-add-folders")
        dlg.close()
        w.add_folders(folders + [_bad_files(tmpd / "door")], "folders")
        _wait_job(app, w)
        _pump(app, 1.5)
        save(w, out, "03-crops")
        sk = w.show_skipped()
        _pump(app, 0.3)
        save(sk, out, "04-skipped-files")
        sk.close()
        w.show_tab("Review")
        _wait_job(app, w)  # the default encoder is registered; the view offers to embed
        if w.review.empty_action.isVisible():
            w.review.empty_action.click()
            _wait_job(app, w)
        _wait_job(app, w)
        if w.review.session is not None:
            _play_operator(w, 40)
            _pump(app, 0.5)
            save(w, out, "05-review")
        w.show_tab("Identities")
        _pump(app, 0.8)
        if w.identities.model.rowCount():
            w.identities.table.selectRow(0)
            w.identities.rename("red jacket, backpack")
            _pump(app, 0.8)
        save(w, out, "06-identities")
        w.show_tab("Models")
        _pump(app, 0.3)
        save(w, out, "07-models")
        ft = FineTuneDialog(w.project, w)
        ft.show()
        events = next((p for p in EVENTS if p.is_file()), None)
        if events is not None:
            ft.feed(events.read_text())
        _pump(app, 0.3)
        save(ft, out, "08-fine-tune")
        ft.close()
        dialogs = [
            ("09-import-model", ImportEncoderDialog(w)),
            ("10-export", ExportDialog(w.project, w)),
            ("11-shortcuts", w.show_help(HelpDialog.SHORTCUTS)),
            ("12-how-to-work", w.show_help(HelpDialog.HOW_TO)),
        ]
        for name, dlg in dialogs:
            dlg.show()
            _pump(app, 0.3)
            save(dlg, out, name)
            dlg.close()
        from tools.plot_screenshots import plot_screens

        plot_screens(app, w, out, tmpd, use_pku, events)
        w.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
