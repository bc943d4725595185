"""The model report: how well an encoder separates the identities operators confirmed.

Retrieval figures come from the code `reid eval` uses (`evaluation.evaluate.protocol_metrics`:
two cameras → each queries the other, both directions averaged; more → every crop against all
others; the same person in the same camera never counts as a match), with each confirmed identity
as one person. Score figures are the cosines this encoder gives the pairs operators judged "same"
or "different", and P(same | score) fitted to them exactly as the review queue fits it
(`review.calibration.scored_verdicts` and `fit_calibration`). Scores are recomputed per
encoder, so two encoders are compared on the same verdicts.

A report only reads the project: confirmed crops without a stored embedding for the encoder are
encoded in memory, never written.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from reid_desktop.core.encoders.registry import open_encoder
from reid_desktop.core.evaluation.evaluate import Labelled, protocol_metrics
from reid_desktop.core.evaluation.metrics import RetrievalMetrics
from reid_desktop.core.identities.curation import identity_rows
from reid_desktop.core.imaging import BadImage, load_rgb
from reid_desktop.core.jobs import CancelToken, Job, Progress, project_job
from reid_desktop.core.retrieval.matching import l2n
from reid_desktop.core.review.calibration import ScoreCalibrator, fit_calibration, scored_verdicts
from reid_desktop.store import Decision, Project

log = logging.getLogger(__name__)

CMC_RANKS = 20  # the report's CMC curve: Rank-1 … Rank-20


@dataclass(frozen=True)
class ScoreSummary:
    """Cosines of the judged pairs under one encoder, and P(same | score) fitted to them."""

    same: np.ndarray
    different: np.ndarray
    curve_x: np.ndarray  # scores along which the calibration curve is drawn
    curve_p: np.ndarray | None  # P(same) at curve_x; None while too few verdicts to fit
    calibration: str  # the calibrator's own description ("calibrated on 40 same / …")
    floor: float | None  # score marked on the plot (see floor_label)
    floor_label: str = ""


@dataclass(frozen=True)
class ModelReport:
    encoder_id: int
    encoder_name: str
    metrics: RetrievalMetrics | None  # None when no query has a match in another camera
    protocol: str
    identities: int  # confirmed identities that entered the report
    crops: int  # their crops with a feature
    single_camera: int  # of those, identities seen by one camera only (never a cross-camera query)
    left_out: int  # identities left out because verdicts contradict each other inside them
    encoded_now: int  # confirmed crops that had no stored embedding and were encoded for the report
    unreadable: int  # confirmed crops that could not be encoded (file missing or unreadable)
    scores: ScoreSummary
    notes: list[str] = field(default_factory=list)

    @property
    def cmc(self) -> np.ndarray:
        """CMC at Rank-1 … Rank-20 (empty without metrics)."""
        return np.zeros(0) if self.metrics is None else np.asarray(self.metrics.cmc[:CMC_RANKS])


def threshold_at(cal: ScoreCalibrator, p: float = 0.5) -> float | None:
    """The lowest cosine whose P(same) reaches p (None when it never does, or never falls below:
    no score separates the verdicts there). P(same | score) is non-decreasing, so bisection works."""
    if not cal.fitted:
        return None
    lo, hi = -1.0, 1.0
    if cal.predict(np.array([lo]))[0] >= p or cal.predict(np.array([hi]))[0] < p:
        return None
    for _ in range(50):
        mid = (lo + hi) / 2
        if cal.predict(np.array([mid]))[0] >= p:
            hi = mid
        else:
            lo = mid
    return hi


def judged_scores(
    active: list[Decision], row_of: dict[int, int], feats: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Cosines (unit feature rows) of the "same" and the "different" verdicts whose two crops both
    have a feature."""

    def cosine(d: Decision) -> float | None:
        a, b = row_of.get(d.query_crop_id), row_of.get(d.candidate_crop_id)
        return None if a is None or b is None else float(feats[a] @ feats[b])

    scored = scored_verdicts(active, cosine)
    same = [s for s, y in scored if y]
    diff = [s for s, y in scored if not y]
    return np.asarray(same, np.float64), np.asarray(diff, np.float64)


def score_summary(same: np.ndarray, diff: np.ndarray, review_floor: float = 0.0) -> ScoreSummary:
    """Scores of the judged pairs and P(same | score); the marked score is the floor the operator
    set in Review when there is one, else where P(same) crosses 0.5."""
    scored = [(s, 1) for s in same] + [(s, 0) for s in diff]
    cal = fit_calibration(scored)
    both = np.concatenate([same, diff])
    lo, hi = (float(both.min()), float(both.max())) if len(both) else (-1.0, 1.0)
    pad = max(0.05, 0.05 * (hi - lo))
    x = np.linspace(max(-1.0, lo - pad), min(1.0, hi + pad), 201)
    floor, label = threshold_at(cal), "P(same) = 0.5"
    if review_floor > 0:
        floor, label = review_floor, "review floor"
    return ScoreSummary(
        same=same,
        different=diff,
        curve_x=x,
        curve_p=cal.predict(x) if cal.fitted else None,
        calibration=cal.describe(),
        floor=floor,
        floor_label=label if floor is not None else "",
    )


def _encode(
    project: Project, encoder_id: int, todo: list[tuple[int, Path]], cancel: CancelToken, batch: int = 32
) -> Job[tuple[list[int], np.ndarray]]:
    """Encode crops in memory (nothing is stored); unreadable files are left out."""
    runtime = open_encoder(project.encoders.get(encoder_id))
    ids, parts = [], []
    for start in range(0, len(todo), batch):
        cancel.raise_if_cancelled()
        imgs = []
        for crop_id, path in todo[start : start + batch]:
            try:
                imgs.append(load_rgb(path))
                ids.append(crop_id)
            except (BadImage, OSError) as exc:
                log.info("report: crop %s left out: %s", crop_id, exc)
        if imgs:
            parts.append(l2n(runtime.encode(imgs).global_))
        done = min(start + batch, len(todo))
        yield Progress(done, len(todo), f"encoding confirmed crops without an embedding: {done}/{len(todo)}")
    return ids, np.concatenate(parts) if parts else np.zeros((0, 0), np.float32)


def _features(
    project: Project, encoder_id: int, paths: dict[int, Path], cancel: CancelToken
) -> Job[tuple[dict[int, int], np.ndarray, int]]:
    """Unit global features of the crops in `paths`: stored ones, the rest encoded in memory.
    Returns (crop id -> feature row, features, how many were encoded now)."""
    ids, _cams, glob, _stripes = project.embeddings.load_all(encoder_id)
    stored_row = {int(c): i for i, c in enumerate(ids)}
    order = [c for c in paths if c in stored_row]
    parts = [l2n(glob[[stored_row[c] for c in order]])] if order else []
    todo = [(c, paths[c]) for c in paths if c not in stored_row]
    encoded = 0
    if todo:
        new_ids, new = yield from _encode(project, encoder_id, todo, cancel)
        if new_ids:
            order, encoded = order + new_ids, len(new_ids)
            parts.append(new)
    if not parts:
        return {}, np.zeros((0, 0), np.float32), 0
    return {c: i for i, c in enumerate(order)}, np.concatenate(parts), encoded


def model_report(project: Project, encoder_id: int, cancel: CancelToken | None = None) -> Job[ModelReport]:
    cancel = cancel or CancelToken()
    encoder = project.encoders.get(encoder_id)
    yield Progress(0, None, f"{encoder.name}: reading the confirmed identities…")
    active = project.decisions.active()
    rows = identity_rows(project, active)
    usable = [r for r in rows if not r.contradictions]
    judged = [d for d in active if d.verdict in ("same", "different")]
    confirmed = {c: r.key for r in usable for c in r.crops}
    # Judged pairs may involve crops outside confirmed identities ("different" verdicts): those
    # need a feature too, for the score histograms.
    paths = project.crops.paths(
        set(confirmed) | {c for d in judged for c in (d.query_crop_id, d.candidate_crop_id)}
    )
    cancel.raise_if_cancelled()
    row_of, feats, encoded = yield from _features(project, encoder_id, paths, cancel)
    camera = {c.id: str(c.camera_id) for c in project.crops.all(include_missing=True)}
    members = [c for c in confirmed if c in row_of]
    unreadable = len(confirmed) - len(members)  # missing since the last scan, or unreadable
    items = [Labelled(paths[c], str(confirmed[c]), camera[c]) for c in members]
    yield Progress(0, None, f"{encoder.name}: ranking {len(items):,} confirmed crops…")
    notes = []
    metrics, protocol = None, ""
    if len({it.camera for it in items}) >= 2:
        metrics, protocol = protocol_metrics(feats[[row_of[c] for c in members]], items)
        if metrics.queries == 0:
            metrics = None
    if metrics is None:
        notes.append("no confirmed identity has crops in two cameras yet: no Rank-1 / mAP to report")
    cams_of: dict[str, set[str]] = {}
    for it in items:
        cams_of.setdefault(it.pid, set()).add(it.camera)
    cancel.raise_if_cancelled()
    same, diff = judged_scores(judged, row_of, feats)
    if len(rows) > len(usable):
        notes.append(f"{len(rows) - len(usable)} identities with contradicting verdicts were left out")
    if unreadable:
        notes.append(f"{unreadable} confirmed crops are missing or unreadable and were left out")
    return ModelReport(
        encoder_id=encoder_id,
        encoder_name=encoder.name,
        metrics=metrics,
        protocol=protocol,
        identities=len(cams_of),
        crops=len(items),
        single_camera=sum(len(c) == 1 for c in cams_of.values()),
        left_out=len(rows) - len(usable),
        encoded_now=encoded,
        unreadable=unreadable,
        scores=score_summary(same, diff, project.review_floor(encoder_id)),
        notes=notes,
    )


def model_reports_job(path, encoder_ids: list[int], cancel: CancelToken) -> Job[list[ModelReport]]:
    """Reports of one or more encoders, on a read-only connection of its own (a worker thread)."""

    def work(project: Project) -> Job[list[ModelReport]]:
        out = []
        for eid in encoder_ids:
            out.append((yield from model_report(project, eid, cancel)))
        return out

    return project_job(path, work, read_only=True)
