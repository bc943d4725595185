"""Simulated operator on ../shared/data/pku-reid-dev: answers the review queue from
ground_truth.csv and counts the decisions needed to link 90% of the true cross-camera identities,
for the imported Intel encoder and the default encoder. Then drives the real review screen with
key presses (S / D from ground truth) and reports the decisions per minute the UI sustains.

    python bench/bench_operator.py [--target 0.9] [--ui-decisions 150]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

ROOT = Path(__file__).resolve().parents[1]
PKU = ROOT.parent / "shared" / "data" / "pku-reid-dev"
INTEL = ROOT.parent / "shared" / "models" / "intel-person-reid-retail-0267.onnx"


def build_project(tmp: Path, model_path: Path, name: str):
    from reid_desktop.core.encoders.embed import embed_project
    from reid_desktop.core.encoders.registry import open_encoder, register_encoder
    from reid_desktop.core.ingest.scan import ingest
    from reid_desktop.core.jobs import run_job
    from reid_desktop.store import Project

    p = Project.create(tmp / f"{name}.reidproj")
    run_job(ingest(p, [str(PKU / "cam1"), str(PKU / "cam2")], "folders"))
    model = register_encoder(p, model_path, name)
    run_job(embed_project(p, model.id, open_encoder(model)))
    return p, model


def simulate(p, model, target: float) -> tuple[int | None, int, int]:
    """(decisions to reach target, cross-camera people linked at the end, people total)."""
    from reid_desktop.core.review.session import ReviewSession, prepare_queue

    crops = {c.id: c for c in p.crops.all()}
    people = {c.gt_person for c in crops.values()}
    index, queue = prepare_queue(p, model.id)
    s = ReviewSession(p, model.id, "simulated", index=index, queue=queue)
    linked: set[str] = set()
    reached = None
    n = 0
    while (pair := s.current()) is not None:
        a, b = crops[pair.query], crops[pair.candidate]
        same = a.gt_person == b.gt_person
        s.decide(pair.query, pair.candidate, "same" if same else "different")
        n += 1
        if same and a.camera_id != b.camera_id:
            linked.add(a.gt_person)
        if reached is None and len(linked) >= target * len(people):
            reached = n
            break
    return reached, len(linked), len(people)


def ui_rate(p, model, decisions: int) -> float:
    from PySide6.QtCore import QSettings, Qt
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QApplication

    from reid_desktop.ui.shell.main_window import MainWindow

    app = QApplication.instance() or QApplication([])
    path = p.path
    p.close()
    w = MainWindow(QSettings(str(path.with_suffix(".ini")), QSettings.IniFormat))
    w.resize(1280, 800)
    w.show()
    w.open_project(path)
    w.show_tab("Review")
    while w.review.session is None:
        app.processEvents()
        time.sleep(0.01)
    gt = {c.id: c.gt_person for c in w.project.crops.all()}
    t0 = time.perf_counter()
    done = 0
    while done < decisions and w.review.session.current() is not None:
        q, c = w.review.query, w.review.selected_candidate()
        QTest.keyClick(w.review, Qt.Key_S if gt[q] == gt[c] else Qt.Key_D)
        app.processEvents()
        done += 1
    rate = done / (time.perf_counter() - t0) * 60
    w.close()
    return rate


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--target", type=float, default=0.9)
    ap.add_argument("--ui-decisions", type=int, default=150)
    args = ap.parse_args()
    if not PKU.is_dir():
        print("../shared/data/pku-reid-dev is not present; nothing to measure")
        return 0
    from reid_desktop.core.encoders.defaults import default_encoder_path
    from reid_desktop.core.encoders.importer import import_model

    with tempfile.TemporaryDirectory() as tmp:
        tmpd = Path(tmp)
        encoders = [("default-mnv2", default_encoder_path())]
        if INTEL.is_file():
            encoders.insert(0, ("intel-0267", import_model(INTEL, tmpd / "intel.onnx").dst))
        for name, path in encoders:
            p, model = build_project(tmpd, path, name)
            t = time.perf_counter()
            reached, linked, people = simulate(p, model, args.target)
            sim_s = time.perf_counter() - t
            got = f"{reached} decisions" if reached else f"not reached ({linked}/{people} linked)"
            print(
                f"{name}: link {args.target:.0%} of {people} cross-camera identities: {got} "
                f"(simulation {sim_s:.1f} s)"
            )
            p.close()
        # UI throughput on a fresh project with the first encoder.
        p, model = build_project(tmpd, encoders[0][1], "ui")
        rate = ui_rate(p, model, args.ui_decisions)
        print(
            f"UI driven by key presses: {rate:,.0f} decisions/minute sustained over "
            f"{args.ui_decisions} decisions ({encoders[0][0]})"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
