"""Training curves (live and recorded) and the embedding map's projection, lasso and labels."""

from __future__ import annotations

import json
import sys
import types
from pathlib import Path

import numpy as np
import pytest
from helpers.embedded import confirm_people, embedded_project

from reid_desktop.core.jobs import Cancelled, CancelToken, run_job
from reid_desktop.core.reports import embedding_map as em
from reid_desktop.core.reports.training_curves import MAX_RECORDED_STEPS, TrainingCurves, curves_of_run
from reid_desktop.core.retrieval.matching import l2n
from reid_desktop.core.training.monitor import TrainingMonitor
from reid_desktop.store import TrainingRun

RECORDED = Path(__file__).resolve().parents[1] / "data" / "train_events.jsonl"


def recorded_monitor() -> TrainingMonitor:
    m = TrainingMonitor()
    m.feed(RECORDED.read_text())
    return m


def test_curves_from_the_event_stream():
    m = recorded_monitor()
    events = [json.loads(line) for line in RECORDED.read_text().splitlines() if line.strip()]
    steps = [e for e in events if e["event"] == "step"]
    evals = [e for e in events if e["event"] == "eval"]
    c = TrainingCurves.from_monitor(m)
    np.testing.assert_allclose(c.step_x, [e["epoch"] - 1 + e["step"] / e["steps"] for e in steps])
    np.testing.assert_allclose(c.step_loss, [e["loss"] for e in steps])
    for epoch in {e["epoch"] for e in steps}:
        mean = np.mean([e["loss"] for e in steps if e["epoch"] == epoch])
        assert c.epoch_loss[list(c.loss_epochs).index(epoch)] == pytest.approx(mean)
    assert c.eval_epochs.tolist() == [e["epoch"] for e in evals]
    np.testing.assert_allclose(c.mAP, [e["mAP"] for e in evals])
    np.testing.assert_allclose(c.rank1, [e["rank1"] for e in evals])
    done = next(e for e in events if e["event"] == "done")
    assert c.best_epoch == done["best_epoch"]  # the epoch the trainer kept, once it has finished


def test_live_best_epoch_is_the_best_so_far():
    m = TrainingMonitor()
    for epoch, value in ((0, 0.2), (1, 0.5), (2, 0.4)):
        m.feed(
            json.dumps({"v": 1, "event": "eval", "t": epoch, "epoch": epoch, "rank1": value, "mAP": value})
            + "\n"
        )
    c = TrainingCurves.from_monitor(m)
    assert c.best_epoch == 1 and c.value_at_best("mAP") == 0.5


def test_recorded_curves_round_trip_and_thin_long_runs():
    c = TrainingCurves.from_monitor(recorded_monitor())
    back = TrainingCurves.from_record(json.loads(json.dumps(c.to_record())))
    for name in ("step_x", "step_loss", "loss_epochs", "epoch_loss", "rank1", "mAP"):
        np.testing.assert_allclose(getattr(back, name), getattr(c, name), atol=1e-4)
    assert back.eval_epochs.tolist() == c.eval_epochs.tolist() and back.best_epoch == c.best_epoch
    steps = [(1 + i // 100, i % 100 + 1, 100, float(i)) for i in range(5000)]
    long = TrainingCurves.from_steps(steps, [], None)
    rec = long.to_record()
    assert len(rec["steps"]) == MAX_RECORDED_STEPS
    assert rec["steps"][0][1] == 0.0 and rec["steps"][-1][1] == 4999.0  # ends kept
    assert len(rec["epoch_loss"]) == 50  # per-epoch means are kept whole


def run(metrics: dict, params: dict | None = None) -> TrainingRun:
    return TrainingRun(7, "baseline", params or {}, "done", "2026-01-01T00:00:00", None, metrics, None)


def test_replay_falls_back_to_the_trainers_metrics_json(tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    history = [{"epoch": 0, "rank1": 0.3, "mAP": 0.2}, {"epoch": 1, "rank1": 0.6, "mAP": 0.5}]
    (out / "metrics.json").write_text(json.dumps({"history": history, "best_epoch": 1}))
    c = curves_of_run(run({"out": str(out)}))
    assert c.eval_epochs.tolist() == [0, 1] and c.mAP.tolist() == [0.2, 0.5] and c.best_epoch == 1
    assert len(c.step_x) == 0 and "loss was not recorded" in c.note
    gone = curves_of_run(run({"out": str(tmp_path / "deleted")}))
    assert gone.empty and "no metrics.json" in gone.note
    rec = TrainingCurves.from_monitor(recorded_monitor()).to_record()
    assert len(curves_of_run(run({"curve": rec, "out": str(out)})).step_x) == len(rec["steps"])


# ---- the embedding map -----------------------------------------------------------------------------


def test_pca_matches_an_svd_and_reports_its_variance():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, 12)) * np.r_[5.0, 3.0, np.full(10, 0.7)]
    xy, share = em.pca_2d(x)
    xc = x - x.mean(axis=0)
    _u, s, vt = np.linalg.svd(xc, full_matrices=False)
    ref = xc @ vt[:2].T
    for k in range(2):  # same axes up to sign
        assert min(np.abs(xy[:, k] - ref[:, k]).max(), np.abs(xy[:, k] + ref[:, k]).max()) < 1e-3
    assert share == pytest.approx((s[:2] ** 2).sum() / (s**2).sum(), rel=1e-4)
    np.testing.assert_array_equal(xy, em.pca_2d(x)[0])  # deterministic signs
    sub, _ = em.pca_2d(x, fit_at_most=100)  # axes fitted on a third of the rows: nearly the same
    assert np.abs(np.corrcoef(sub[:, 0], xy[:, 0])[0, 1]) > 0.99


def brute_inside(pt, poly) -> bool:
    """Winding number, one edge at a time."""
    wn = 0
    for (x1, y1), (x2, y2) in zip(poly, poly[1:] + poly[:1], strict=True):
        cross = (x2 - x1) * (pt[1] - y1) - (pt[0] - x1) * (y2 - y1)
        if y1 <= pt[1] < y2 and cross > 0:
            wn += 1
        elif y2 <= pt[1] < y1 and cross < 0:
            wn -= 1
    return wn != 0


def test_lasso_selects_what_a_brute_force_test_selects():
    poly = [(0, 0), (4, 0), (4, 4), (2, 1.5), (0, 4)]  # concave: a notch from the top
    pts = np.random.default_rng(2).uniform(-1, 5, size=(500, 2))
    got = em.inside_polygon(pts, np.array(poly))
    assert got.tolist() == [brute_inside(p, poly) for p in pts]
    assert not em.inside_polygon(pts, np.array(poly[:2])).any()  # a line selects nothing


def test_map_of_a_project_labels_identities_and_leaves_others_grey(project):
    enc, ids = embedded_project(project, people=5, per_camera=2)
    confirm_people(project, ids, [0, 1])
    m = run_job(em.embedding_map(project, enc, "pca"))
    assert len(m) == 20 and m.xy.shape == (20, 2) and m.method == "pca"
    key = dict(zip(m.crop_ids.tolist(), m.identity.tolist(), strict=True))
    for (p, _c, _v), crop in ids.items():
        expected = min(c for (q, _cc, _vv), c in ids.items() if q == p) if p < 2 else -1
        assert key[crop] == expected
    assert set(m.labels) == {key[ids[(0, 0, 0)]], key[ids[(1, 0, 0)]]}
    assert m.names[0].startswith("cam1/") and m.paths[0].endswith(".jpg")
    np.testing.assert_allclose(m.xy, em.pca_2d(l2n(project.embeddings.load_all(enc)[2]))[0], atol=1e-5)


def test_tsne_is_refused_when_not_installed(project, monkeypatch):
    enc, _ids = embedded_project(project, people=2)
    monkeypatch.setattr(em, "tsne_available", lambda: False)
    assert em.methods_for(10) == ["pca"]
    with pytest.raises(ValueError, match="not installed"):
        run_job(em.embedding_map(project, enc, "tsne"))


class FakeTSNE:
    """openTSNE's interface: callbacks every k iterations; returning True stops the fit."""

    def __init__(self, callbacks, callbacks_every_iters, **_kw):
        self.callback, self.every = callbacks, callbacks_every_iters

    def fit(self, x):
        for it in range(self.every, 751, self.every):
            if self.callback(it, 0.0, None):
                break
        return x[:, :2] * 2


def test_tsne_reports_progress_and_stops_on_cancel(project, monkeypatch):
    monkeypatch.setitem(sys.modules, "openTSNE", types.SimpleNamespace(TSNE=FakeTSNE))
    monkeypatch.setattr(em, "tsne_available", lambda: True)
    enc, _ids = embedded_project(project, people=3)
    seen = []
    m = run_job(em.embedding_map(project, enc, "tsne"), seen.append)
    assert m.method == "tsne" and "t-SNE" in m.note and m.xy.shape == (12, 2)
    assert any(p.total == 750 for p in seen)
    token = CancelToken()
    token.cancel()
    with pytest.raises(Cancelled):
        run_job(em.tsne_2d(np.zeros((5, 4)), token))
    assert em.methods_for(em.MAX_TSNE + 1) == ["pca"]  # too many crops for t-SNE


def test_real_tsne_keeps_identities_together():
    pytest.importorskip("openTSNE")
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(4, 16)) * 4
    labels = np.repeat(np.arange(4), 20)
    x = centres[labels] + rng.normal(size=(80, 16))
    xy = run_job(em.tsne_2d(x, CancelToken()))
    d = ((xy[:, None] - xy[None]) ** 2).sum(-1)
    np.fill_diagonal(d, np.inf)
    assert (labels[d.argmin(axis=1)] == labels).mean() > 0.95  # each point's nearest is its own
