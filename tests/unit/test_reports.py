"""Model reports: the figures equal the metrics and calibration code run by hand on the same data."""

from __future__ import annotations

import numpy as np
import pytest
from helpers.embedded import confirm_people, embedded_project

from reid_desktop.core.evaluation.metrics import average, evaluate
from reid_desktop.core.jobs import CancelToken, run_job
from reid_desktop.core.reports.model_report import (
    CMC_RANKS,
    model_report,
    model_reports_job,
    threshold_at,
)
from reid_desktop.core.retrieval.matching import l2n
from reid_desktop.core.review.calibration import ScoreCalibrator


def unit_features(project, encoder_id):
    ids, cams, glob, _ = project.embeddings.load_all(encoder_id)
    return {int(c): f for c, f in zip(ids, l2n(glob), strict=True)}, dict(
        zip(ids.tolist(), cams.tolist(), strict=True)
    )


def test_report_figures_equal_the_metrics_code_by_hand(project):
    enc, ids = embedded_project(project, people=8, per_camera=3, noise=0.9)
    confirm_people(project, ids, list(range(6)), different=25)  # persons 6, 7 stay unconfirmed
    r = run_job(model_report(project, enc))
    feats, cams = unit_features(project, enc)
    members = sorted(c for (p, _c, _v), c in ids.items() if p < 6)
    person = {c: p for (p, _c, _v), c in ids.items()}
    parts = []
    for qa, ga in ((1, 2), (2, 1)):  # camera ids: each queries the other, both directions averaged
        q = [c for c in members if cams[c] == qa]
        g = [c for c in members if cams[c] == ga]
        d = 2 - 2 * np.array([[feats[a] @ feats[b] for b in g] for a in q])
        parts.append(
            evaluate(d, [person[c] for c in q], [person[c] for c in g], [qa] * len(q), [ga] * len(g))
        )
    expected = average(parts)
    assert r.metrics is not None and r.protocol == "two-camera both directions"
    for name in ("rank1", "rank5", "rank10", "mAP", "mINP"):
        assert getattr(r.metrics, name) == pytest.approx(getattr(expected, name), abs=1e-6)
    np.testing.assert_allclose(r.cmc, expected.cmc[:CMC_RANKS], atol=1e-6)
    assert (r.identities, r.crops, r.single_camera, r.encoded_now) == (6, 36, 0, 0)

    # Scores: the cosine of every judged pair under this model, and P(same) fitted on them.
    same = [
        feats[d.query_crop_id] @ feats[d.candidate_crop_id]
        for d in project.decisions.active()
        if d.verdict == "same"
    ]
    diff = [
        feats[d.query_crop_id] @ feats[d.candidate_crop_id]
        for d in project.decisions.active()
        if d.verdict == "different"
    ]
    np.testing.assert_allclose(r.scores.same, same, atol=1e-6)
    np.testing.assert_allclose(r.scores.different, diff, atol=1e-6)
    cal = ScoreCalibrator().fit(np.r_[same, diff], np.r_[np.ones(len(same)), np.zeros(len(diff))])
    assert cal.fitted and r.scores.calibration == cal.describe()
    np.testing.assert_allclose(r.scores.curve_p, cal.predict(r.scores.curve_x), atol=1e-9)
    assert r.scores.floor_label == "P(same) = 0.5"
    assert cal.predict(np.array([r.scores.floor]))[0] == pytest.approx(0.5, abs=1e-6)

    project.set_review_floor(enc, 0.42)  # the operator set a floor in Review: that is what is marked
    r = run_job(model_report(project, enc))
    assert (r.scores.floor, r.scores.floor_label) == (pytest.approx(0.42), "review floor")


def test_threshold_is_where_the_logistic_curve_crosses_one_half():
    rng = np.random.default_rng(1)
    s = np.r_[rng.normal(0.7, 0.1, 40), rng.normal(0.3, 0.1, 40)]
    cal = ScoreCalibrator().fit(s, np.r_[np.ones(40), np.zeros(40)])
    a, b = cal.platt_params
    assert threshold_at(cal) == pytest.approx(-b / a, abs=1e-9)
    assert threshold_at(ScoreCalibrator()) is None  # unfitted: no curve, no floor


def test_single_camera_contradicted_and_unconfirmed_identities(project):
    enc, ids = embedded_project(project, people=5, per_camera=2)
    # Person 0 is confirmed in camera 1 only; person 1 across both cameras; person 2 is joined
    # but also declared different inside itself (a contradiction): left out and said so.
    with project.write():
        project.decisions.record(ids[(0, 0, 0)], ids[(0, 0, 1)], "same", operator="t")
        project.decisions.record(ids[(1, 0, 0)], ids[(1, 1, 0)], "same", operator="t")
        project.decisions.record(ids[(2, 0, 0)], ids[(2, 1, 0)], "same", operator="t")
        project.decisions.record(ids[(2, 1, 0)], ids[(2, 1, 1)], "same", operator="t")
        project.decisions.record(ids[(2, 0, 0)], ids[(2, 1, 1)], "different", operator="t")
    r = run_job(model_report(project, enc))
    assert (r.identities, r.single_camera, r.left_out, r.crops) == (2, 1, 1, 4)
    assert r.metrics is not None and r.metrics.queries == 2  # person 1, once per direction
    assert any("contradicting" in n for n in r.notes)


def test_no_cross_camera_identity_gives_no_metrics_and_says_why(project):
    enc, ids = embedded_project(project, people=3, per_camera=2)
    project.decisions.record(ids[(0, 0, 0)], ids[(0, 0, 1)], "same", operator="t")
    r = run_job(model_report(project, enc))
    assert r.metrics is None and len(r.cmc) == 0
    assert any("two cameras" in n for n in r.notes)
    assert r.scores.curve_p is None and r.scores.floor is None  # one verdict: nothing to fit


def test_crops_without_embeddings_are_encoded_in_memory_and_nothing_is_written(tmp_path, two_cameras):
    from helpers.onnx_factory import tiny_encoder

    from reid_desktop.core.encoders.registry import register_encoder
    from reid_desktop.core.ingest.scan import ingest
    from reid_desktop.store import Project

    path = tmp_path / "r.reidproj"
    with Project.create(path) as p:
        run_job(ingest(p, [str(f) for f in two_cameras], "folders", CancelToken()))
        enc = register_encoder(p, tiny_encoder(tmp_path / "t.onnx"), "tiny")
        by_name = {c.rel_path: c.id for c in p.crops.all()}
        for person in range(4):
            a, b = by_name[f"p{person:03d}_v0_s1.jpg"], by_name[f"p{person:03d}_v0_s2.jpg"]
            p.decisions.record(a, b, "same", operator="t")
        before = p.db.execute("SELECT count(*) FROM embeddings").fetchone()[0]
    messages = []
    reports = run_job(
        model_reports_job(path, [enc.id], CancelToken()), lambda pr: messages.append(pr.message)
    )
    r = reports[0]
    assert r.encoded_now == 8 and r.crops == 8 and r.metrics is not None
    assert any("encoding confirmed crops" in m for m in messages)
    with Project.open(path, read_only=True) as p:
        assert p.db.execute("SELECT count(*) FROM embeddings").fetchone()[0] == before == 0


def test_report_job_can_be_cancelled(project):
    from reid_desktop.core.jobs import Cancelled

    enc, ids = embedded_project(project, people=3)
    confirm_people(project, ids, [0, 1, 2])
    token = CancelToken()
    job = model_report(project, enc, token)
    next(job)
    token.cancel()
    with pytest.raises(Cancelled):
        run_job(job)
