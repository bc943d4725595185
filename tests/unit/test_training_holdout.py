"""The trainer's held-out protocol and its comparison with the start model (torch-free)."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from helpers.synth import person_crop
from PIL import Image

from reid_desktop.core.evaluation.evaluate import Labelled, protocol_metrics
from reid_desktop.core.training import holdout


def items(spec: list[tuple[str, str]]) -> list[Labelled]:
    return [Labelled(Path(f"{i}.jpg"), pid, cam) for i, (pid, cam) in enumerate(spec)]


def unit(x: np.ndarray) -> np.ndarray:
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def clustered(pids: list[str], spread: float, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = {p: rng.standard_normal(32) for p in sorted(set(pids))}
    return unit(np.stack([centres[p] + spread * rng.standard_normal(32) for p in pids]))


def test_two_camera_people_score_exactly_as_reid_eval():
    spec = [(str(p), c) for p in range(6) for c in ("c1", "c2") for _ in range(3)]
    its = items(spec)
    feats = clustered([s for s, _ in spec], spread=1.0)
    ours = holdout.score(feats, its)
    ref, _ = protocol_metrics(feats, its)
    assert ours.protocol == holdout.CROSS and ours.queries == ref.queries == 36
    for k in ("rank1", "rank5", "mAP", "mINP"):
        assert getattr(ours, k) == pytest.approx(getattr(ref, k), abs=1e-9)


def test_single_camera_people_are_scored_within_their_camera_without_near_duplicates():
    # Each person: crops 0 and 1 are near-duplicates (one track), crop 2 another moment.
    spec = [(str(p), "c1") for p in range(4) for _ in range(3)]
    its = items(spec)
    dup = np.zeros((12, 12), dtype=bool)
    for p in range(4):
        dup[3 * p, 3 * p + 1] = dup[3 * p + 1, 3 * p] = True
    feats = clustered([s for s, _ in spec], spread=0.8)
    s = holdout.score(feats, its, dup)
    assert s.protocol == holdout.WITHIN and s.identities == 4
    assert s.queries == 12  # every crop still has a non-duplicate match (0→2, 1→2, 2→0 and 1)
    assert 0 < s.mAP <= 1
    # Only near-duplicates of each other: nothing left to find, nothing counted (never a fake 1.0).
    pair = items([("a", "c1"), ("a", "c1"), ("b", "c1"), ("b", "c1")])
    both = np.ones((4, 4), dtype=bool)
    assert holdout.score(clustered(["a", "a", "b", "b"], 0.1), pair, both).queries == 0
    # Mixed: a cross-camera person is scored across cameras, a single-camera one within.
    m = items([("a", "c1"), ("a", "c2"), ("b", "c1"), ("b", "c1"), ("c", "c1"), ("c", "c2")])
    mixed = holdout.score(clustered(["a", "a", "b", "b", "c", "c"], 0.5), m)
    assert mixed.protocol == holdout.MIXED and mixed.cross_camera_queries == 4 and mixed.queries == 6


def test_near_duplicates_from_pixels_only():
    a = person_crop(1, 0)
    buf = io.BytesIO()
    a.save(buf, "JPEG", quality=70)  # the same frame, re-encoded: a near-duplicate
    again = Image.open(io.BytesIO(buf.getvalue())).convert("RGB")
    # the same person a few steps later: the box sits 24 px lower
    other_view = Image.fromarray(np.roll(np.asarray(person_crop(1, 3)), 24, axis=0))
    other_person = person_crop(2, 0)
    its = items([("1", "c1"), ("1", "c1"), ("1", "c1"), ("2", "c1"), ("1", "c2")])
    thumbs = holdout.thumbnails([a, again, other_view, other_person, a])
    dup = holdout.near_duplicates(its, thumbs)
    assert dup[0, 1] and dup[1, 0]
    assert not dup[0, 2] and not dup[0, 3]
    assert not dup[0, 4]  # the same pixels in another camera are a real cross-camera match


def test_compare_says_better_only_when_the_interval_clears_zero():
    pids = [str(p) for p in range(30) for _ in range(4)]
    cams = ["c1", "c1", "c2", "c2"] * 30
    its = [Labelled(Path(f"{i}.jpg"), p, c) for i, (p, c) in enumerate(zip(pids, cams, strict=True))]
    weak = holdout.score(clustered(pids, 2.0, seed=1), its)
    strong = holdout.score(clustered(pids, 0.8, seed=1), its)
    c = holdout.compare(weak, strong)
    assert c.verdict == "better" and c.low > 0 and c.recommend_activate
    assert holdout.compare(strong, weak).verdict == "worse"
    same = holdout.compare(strong, strong)
    assert same.verdict == "unclear" and not same.recommend_activate and "too few" in same.sentence()
    lo, hi = holdout.interval(strong)
    assert lo - 1e-9 <= strong.mAP <= hi + 1e-9
    # Two held-out people and a small gain: too few to tell, and the result says so.
    few = [x for x in its if x.pid in ("0", "1")]
    idx = [i for i, x in enumerate(its) if x.pid in ("0", "1")]
    f1 = clustered(pids, 1.2, seed=3)[idx]
    f2 = unit(f1 + 0.05 * np.random.default_rng(4).standard_normal(f1.shape))
    small = holdout.compare(holdout.score(f1, few), holdout.score(f2, few))
    assert small.verdict in ("unclear", "better", "worse") and small.holdout_ids == 2
    assert small.high - small.low >= 0
