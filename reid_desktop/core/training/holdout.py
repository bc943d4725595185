"""How a training run scores its held-out people, and how sure it can be that a model is better.

Protocol per query (a held-out crop of person p in camera c):
- p was seen in another camera: the usual cross-camera rule, its true matches are p's crops in the
  other cameras and p's other crops in camera c are left out of the ranking;
- p was seen in camera c only (a new project's first identities usually are): its true matches are
  p's other crops in camera c, except near-duplicates of the query (consecutive frames of one
  track), which are left out of the ranking altogether; they would make any model look perfect.
Every other held-out crop, of every camera, is a distractor. When every held-out person was seen in
exactly two cameras this is exactly `reid eval`'s protocol (each camera queries the other, both
directions averaged), so `reid eval --gt holdout.csv` reproduces the figures.

Near-duplicates are decided from pixels, never from the model being scored: two crops of one
camera whose 16×8 colour thumbnails correlate at NEAR_DUPLICATE or more. (On the PKU dev crops
distinct orientations of one person in one camera correlate at most 0.83, p99.)

With few held-out people a difference in mAP says little. `compare` resamples held-out people
(bootstrap, paired: both models on the same draw) for a 95 % interval of the difference, and calls
the new model better only when the whole interval is above zero.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from PIL import Image

from reid_desktop.core.evaluation.evaluate import Labelled
from reid_desktop.core.evaluation.metrics import match_positions

NEAR_DUPLICATE = 0.95
THUMB = (8, 16)  # width, height
BOOTSTRAP = 1000
CROSS, WITHIN, MIXED = "cross-camera", "within-camera, near-duplicates excluded", "mixed"


def thumbnails(images: Sequence[Image.Image]) -> np.ndarray:
    """N×D mean-centred, unit-norm colour thumbnails (for near-duplicate tests only)."""
    out = []
    for im in images:
        a = np.asarray(im.convert("RGB").resize(THUMB, Image.BILINEAR), np.float32).ravel()
        a = a - a.mean()
        out.append(a / (np.linalg.norm(a) + 1e-6))
    return np.stack(out) if out else np.zeros((0, 3 * THUMB[0] * THUMB[1]), np.float32)


def near_duplicates(items: Sequence[Labelled], thumbs: np.ndarray, threshold: float = NEAR_DUPLICATE):
    """N×N bool: crops of the same camera whose thumbnails correlate at `threshold` or more
    (the diagonal is True: a crop is its own duplicate)."""
    cams = np.array([s.camera for s in items])
    return ((thumbs @ thumbs.T) >= threshold) & (cams[:, None] == cams[None, :])


@dataclass(frozen=True)
class HoldoutScore:
    rank1: float
    rank5: float
    mAP: float
    mINP: float
    queries: int  # queries with at least one true match
    identities: int  # held-out people those queries belong to
    cross_camera_queries: int
    protocol: str
    ap: np.ndarray  # per valid query
    hit: np.ndarray  # per valid query: 0-based position of its first true match
    inp: np.ndarray
    pid: np.ndarray  # per valid query
    weight: np.ndarray  # per valid query, summing to 1 (both directions count equally)

    def public(self) -> dict:
        """The fields events and metrics.json carry."""
        return {
            "rank1": self.rank1,
            "rank5": self.rank5,
            "mAP": self.mAP,
            "mINP": self.mINP,
            "queries": self.queries,
            "holdout_ids": self.identities,
            "cross_camera_queries": self.cross_camera_queries,
            "protocol": self.protocol,
        }


def score(feats: np.ndarray, items: Sequence[Labelled], dup: np.ndarray | None = None) -> HoldoutScore:
    """Held-out figures of L2-normalised features (see the module docstring)."""
    n = len(items)
    pids = np.array([s.pid for s in items])
    cams = np.array([s.camera for s in items])
    dup = np.eye(n, dtype=bool) if dup is None else (dup | np.eye(n, dtype=bool))
    d = np.maximum(2.0 - 2.0 * (feats @ feats.T), 0.0).astype(np.float32)
    seen = {p: set(cams[pids == p]) for p in set(pids.tolist())}
    two_cam = len(set(cams.tolist())) == 2 and all(len(c) == 2 for c in seen.values())
    rows: list[tuple[int, float, int, float, str]] = []  # (query, AP, first hit, INP, group)
    for q in range(n):
        same_pid, same_cam = pids == pids[q], cams == cams[q]
        if len(seen[pids[q]]) > 1:
            match = same_pid & ~same_cam
            keep = ~(same_pid & same_cam)
            if two_cam:
                keep &= ~same_cam  # reid eval's two-camera protocol: the gallery is the other camera
            group = f"cross:{cams[q]}" if two_cam else "cross"
        else:
            keep = ~(dup[q] & same_pid)
            match = same_pid & keep
            group = "within"
        if not match.any():
            continue
        pos = match_positions(d[q], match, keep) + 1.0
        ap = float(np.mean(np.arange(1, len(pos) + 1) / pos))
        rows.append((q, ap, int(pos[0] - 1), len(pos) / pos[-1], group))
    if not rows:
        empty = np.zeros(0)
        return HoldoutScore(0.0, 0.0, 0.0, 0.0, 0, 0, 0, WITHIN, empty, empty, empty, empty, empty)
    q_idx = np.array([r[0] for r in rows])
    groups = np.array([r[4] for r in rows])
    weight = np.empty(len(rows))
    if two_cam:  # each direction weighs one half, as `reid eval` averages the two directions
        for g in set(groups.tolist()):
            weight[groups == g] = 1.0 / (len(set(groups.tolist())) * np.count_nonzero(groups == g))
    else:
        weight[:] = 1.0 / len(rows)
    ap = np.array([r[1] for r in rows])
    hit = np.array([r[2] for r in rows])
    inp = np.array([r[3] for r in rows])
    cross = int(np.count_nonzero(groups != "within"))
    protocol = CROSS if cross == len(rows) else WITHIN if cross == 0 else MIXED
    return HoldoutScore(
        rank1=float(weight @ (hit < 1)),
        rank5=float(weight @ (hit < 5)),
        mAP=float(weight @ ap),
        mINP=float(weight @ inp),
        queries=len(rows),
        identities=len(set(pids[q_idx].tolist())),
        cross_camera_queries=cross,
        protocol=protocol,
        ap=ap,
        hit=hit,
        inp=inp,
        pid=pids[q_idx],
        weight=weight,
    )


def _draws(pids: np.ndarray, n: int, seed: int) -> tuple[list[np.ndarray], np.ndarray]:
    """Per-identity query indices, and `n` bootstrap draws of identities (with replacement)."""
    people = sorted(set(pids.tolist()))
    index = [np.flatnonzero(pids == p) for p in people]
    rng = np.random.default_rng(seed)
    return index, rng.integers(0, len(people), size=(n, len(people)))


def _resampled_means(s: HoldoutScore, index, draws) -> np.ndarray:
    per_w = np.array([s.weight[i].sum() for i in index])
    per_wap = np.array([(s.weight[i] * s.ap[i]).sum() for i in index])
    return per_wap[draws].sum(1) / np.maximum(per_w[draws].sum(1), 1e-12)


def interval(s: HoldoutScore, n: int = BOOTSTRAP, seed: int = 0) -> tuple[float, float]:
    """95 % bootstrap interval of mAP over held-out people."""
    if s.queries == 0:
        return (0.0, 0.0)
    index, draws = _draws(s.pid, n, seed)
    m = _resampled_means(s, index, draws)
    return float(np.percentile(m, 2.5)), float(np.percentile(m, 97.5))


@dataclass(frozen=True)
class Comparison:
    """The trained model against the one training started from, on the same held-out people."""

    before: float
    after: float
    low: float  # 95 % interval of after − before over held-out people
    high: float
    holdout_ids: int
    queries: int
    protocol: str

    @property
    def delta(self) -> float:
        return self.after - self.before

    @property
    def verdict(self) -> str:
        """better | worse | unclear (the interval holds zero: too few people to tell) | untested"""
        if self.queries == 0:
            return "untested"
        if self.low > 0:
            return "better"
        if self.high < 0:
            return "worse"
        return "unclear"

    @property
    def recommend_activate(self) -> bool:
        return self.verdict == "better"

    def sentence(self) -> str:
        basis = f"{self.holdout_ids} held-out people, {self.queries} queries ({self.protocol})"
        if self.verdict == "untested":
            return (
                "No held-out crop could be compared (each held-out person has only near-duplicate "
                "crops): nothing shows the new model is better; keep the current model."
            )
        d = f"mAP {self.before:.3f} → {self.after:.3f} ({self.delta:+.3f}; 95 % interval "
        d += f"{self.low:+.3f} to {self.high:+.3f} over {basis})"
        if self.verdict == "better":
            return f"Better than the start model: {d}."
        if self.verdict == "worse":
            return f"Worse than the start model: {d}. Keep the current model."
        return (
            f"Not shown to be better: {d}; too few held-out people to tell the two apart. "
            "Keep the current model unless you have another reason."
        )

    def as_dict(self) -> dict:
        return {
            "before_mAP": self.before,
            "after_mAP": self.after,
            "delta_mAP": self.delta,
            "interval": [self.low, self.high],
            "holdout_ids": self.holdout_ids,
            "queries": self.queries,
            "protocol": self.protocol,
            "verdict": self.verdict,
            "recommend": "activate" if self.recommend_activate else "keep",
            "sentence": self.sentence(),
        }


def compare(before: HoldoutScore, after: HoldoutScore, n: int = BOOTSTRAP, seed: int = 0) -> Comparison:
    """Paired bootstrap over held-out people of after.mAP − before.mAP (same queries in both)."""
    if before.queries != after.queries or not np.array_equal(before.pid, after.pid):
        raise ValueError("compare() needs both scores on the same held-out queries")
    if after.queries == 0:
        return Comparison(0.0, 0.0, 0.0, 0.0, 0, 0, after.protocol)
    index, draws = _draws(after.pid, n, seed)
    deltas = _resampled_means(after, index, draws) - _resampled_means(before, index, draws)
    return Comparison(
        before=before.mAP,
        after=after.mAP,
        low=float(np.percentile(deltas, 2.5)),
        high=float(np.percentile(deltas, 97.5)),
        holdout_ids=after.identities,
        queries=after.queries,
        protocol=after.protocol,
    )
