"""The plot screens for `make screenshots`, each at 1366×768 and 1920×1080: model report,
comparison, embedding map (PCA, hover, t-SNE when installed), and a replayed training run.

With the PKU dev data (not --synthetic) the Intel encoder from ../shared/models is imported and
the ground truth plays the operator (top-3 cross-camera candidates of 35 people's cam1 crops), so
the report has "same" and "different" verdicts to calibrate on.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import QPointF
from PySide6.QtWidgets import QApplication

from tools.screenshots import _pump, _wait_job
from tools.screenshots import save as _save

ROOT = Path(__file__).resolve().parents[1]
INTEL = ROOT.parent / "shared" / "models" / "intel-person-reid-retail-0267.onnx"
SIZES = ((1366, 768), (1920, 1080))


def use_intel(app: QApplication, w, tmpd: Path, people: int = 35) -> None:
    """Import and activate the Intel encoder, embed, and judge top-3 candidates from ground truth."""
    from reid_desktop.core.encoders.importer import import_model
    from reid_desktop.core.encoders.registry import register_encoder
    from reid_desktop.core.retrieval.matching import GalleryIndex

    import_model(INTEL, tmpd / "intel.onnx")
    enc = register_encoder(w.project, tmpd / "intel.onnx", "intel")
    w.encoder_actions.activate(enc.id)  # embeds what it lacks, in the background
    _wait_job(app, w)
    p = w.project
    idx = GalleryIndex.from_project(p, enc.id)
    crops = {c.id: c for c in p.crops.all() if c.gt_person}
    keep = sorted({c.gt_person for c in crops.values()}, key=int)[:people]
    first_cam = min(c.camera_id for c in crops.values())
    with p.write():
        for cid, c in crops.items():
            if c.gt_person in keep and c.camera_id == first_cam and cid in idx:
                for cand in idx.topk(cid, 3):
                    same = (
                        crops.get(cand.crop_id) is not None and crops[cand.crop_id].gt_person == c.gt_person
                    )
                    p.decisions.record(
                        cid, cand.crop_id, "same" if same else "different", operator="gt", score=cand.score
                    )


def _dialog_size(size: tuple[int, int]) -> tuple[int, int]:
    """What the report windows choose on a screen of this size (see report_dialog)."""
    return min(1180, size[0] - 40), min(760, size[1] - 60)


def plot_screens(app: QApplication, w, out: Path, tmpd: Path, use_pku: bool, events: Path | None) -> None:
    if use_pku and INTEL.is_file():
        use_intel(app, w, tmpd)
    p = w.project
    encoders = p.encoders.all()
    active = p.active_encoder_id
    run = p.training_runs.start("baseline", {"minutes": 10})
    if events is not None:
        from reid_desktop.core.reports.training_curves import TrainingCurves
        from reid_desktop.core.training.monitor import TrainingMonitor

        m = TrainingMonitor()
        m.feed(events.read_text())
        done = {"before": m.done["before"], "after": m.done["after"]} if m.done is not None else {}
        p.training_runs.finish(run.id, "done", {**done, "curve": TrainingCurves.from_monitor(m).to_record()})
    for size in SIZES:
        tag = f"{size[0]}x{size[1]}"
        w.resize(*size)
        for name, ids in (("13-model-report", [active]), ("14-compare-models", [e.id for e in encoders[:2]])):
            if len(set(ids)) < len(ids) or (name.startswith("14") and len(ids) < 2):
                continue
            w.report_actions.run(ids)
            _wait_job(app, w)
            dlg = w.report_actions.windows[-1]
            dlg.resize(*_dialog_size(size))
            _pump(app, 0.4)
            _save(dlg, out, f"{name}-{tag}")
            dlg.close()
            _pump(app, 0.1)
        runs = w.report_actions.runs()
        runs.resize(min(900, size[0] - 40), min(680, size[1] - 60))
        _pump(app, 0.4)
        _save(runs, out, f"15-training-runs-{tag}")
        runs.close()
        w.show_tab("Map")
        _wait_job(app, w)
        _pump(app, 0.5)
        _save(w, out, f"16-embedding-map-{tag}")
        plot = w.map_view.plot
        m = plot.map
        if m is not None and len(m):
            labelled = np.flatnonzero(m.identity >= 0)
            i = int(labelled[len(labelled) // 2] if len(labelled) else 0)
            scene = plot.vb.mapViewToScene(QPointF(float(m.xy[i, 0]), float(m.xy[i, 1])))
            plot.hover_at(scene)
            _pump(app, 1.0)  # the thumbnail decodes off the GUI thread
            plot.hover_at(scene)
            _pump(app, 0.2)
            _save(w, out, f"17-embedding-map-hover-{tag}")
            plot.hide_hover()
        tsne = w.map_view.method.model().item(1)
        if tsne.isEnabled():
            w.map_view.method.setCurrentIndex(1)
            _wait_job(app, w)
            _pump(app, 0.5)
            _save(w, out, f"18-embedding-map-tsne-{tag}")
            w.map_view.method.setCurrentIndex(0)
            _wait_job(app, w)
