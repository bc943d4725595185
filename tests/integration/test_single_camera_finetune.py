"""A new project's first fine-tune: every confirmed identity lies inside one camera (issue 11).

Measured before the fix: held-out mAP 0 for every epoch ("no query has a valid true match"), the
untrained epoch 0 kept and exported. Now the held-out people are scored within their camera
(near-duplicates left out), a trained epoch is exported, and cross-camera retrieval on the
project's own crops (both cameras, `reid eval`'s protocol: what the operator matches next) improves
over the start model. Measured with these settings (6 epochs, baseline, seed 0): dev mAP 0.156 →
0.206; on the 20 people the run never saw it stays flat (0.239 → 0.238): single-camera identities
teach the project's people, not yet the camera change.
"""

from __future__ import annotations

import csv
import io
from contextlib import redirect_stdout
from pathlib import Path

import pytest

from reid_desktop.core.encoders.defaults import default_encoder_path
from reid_desktop.core.encoders.runtime import EncoderRuntime
from reid_desktop.core.evaluation.evaluate import evaluate_encoder
from reid_desktop.core.ingest.scan import ingest
from reid_desktop.core.jobs import run_job
from reid_desktop.core.training.events import parse_line
from reid_desktop.store import Project
from trainer.cli import main

TRAIN_PEOPLE = 30  # as the issue measured: 30 identities grouped inside one camera


@pytest.mark.shared
@pytest.mark.timeout(900)  # the issue asks for this real run; about 2 minutes on 2 idle cores
def test_single_camera_identities_fine_tune_and_improve_cross_camera(pku, tmp_path):
    rows = list(csv.DictReader((pku / "ground_truth.csv").open()))
    people = sorted({r["person_id"] for r in rows}, key=int)
    confirmed = people[:TRAIN_PEOPLE]
    project = Project.create(tmp_path / "first.reidproj")
    run_job(ingest(project, [pku / "cam1", pku / "cam2"], layout="folders"))
    by_rel = {c.rel_path: c.id for c in project.crops.all()}
    for pid in confirmed:  # the operator grouped each person's cam1 crops only
        crops = [by_rel[Path(r["file"]).name] for r in rows if r["person_id"] == pid and r["camera"] == "1"]
        for other in crops[1:]:
            project.decisions.record(crops[0], other, "same", operator="t")
    project.close()

    out = tmp_path / "out"
    buf = io.StringIO()
    with redirect_stdout(buf):
        rc = main(
            ["--project", str(tmp_path / "first.reidproj"), "--init", "default", "--recipe", "baseline"]
            + ["--epochs", "6", "--seed", "0", "--out", str(out)]
        )
    events = [e for e in (parse_line(x) for x in buf.getvalue().splitlines()) if e is not None]
    assert rc == 0, events[-1]
    plan = events[0]
    assert plan.type == "plan" and plan["holdout_ids"] == 9 and plan["holdout_cross_camera_ids"] == 0
    evals = [e for e in events if e.type == "eval"]
    for e in evals:  # non-degenerate: real queries, neither empty nor saturated
        assert e["protocol"].startswith("within-camera") and e["queries"] == 72 and e["holdout_ids"] == 9
        assert 0.05 < e["mAP"] < 0.999
    done = events[-1]
    assert done["best_epoch"] >= 1  # a trained model, never the untrained start
    assert done["comparison"]["queries"] == 72 and len(done["comparison"]["interval"]) == 2

    def dev_map(model: Path) -> float:  # all 800 dev crops, cam1 against cam2 and back
        return run_job(evaluate_encoder(EncoderRuntime.load(model), pku)).metrics.mAP

    start, tuned = dev_map(default_encoder_path()), dev_map(out / "encoder.onnx")
    assert tuned > start + 0.02, (start, tuned)
