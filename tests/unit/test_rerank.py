"""k-reciprocal re-ranking: agreement with a slow reference written from the paper, and its effect on mAP."""

from __future__ import annotations

import numpy as np
import pytest
from helpers.kreciprocal import slow_encoding

from reid_desktop.core.evaluation.metrics import evaluate
from reid_desktop.core.retrieval.rerank import _nearest, k_reciprocal


def _sq_dist(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """2 - 2 cos on L2-normalised features, clamped at 0 against rounding."""
    return np.maximum(2.0 - 2.0 * a @ b.T, 0.0).astype(np.float32)


def _normalise(x: np.ndarray) -> np.ndarray:
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def _slow_rerank(q_g, q_q, g_g, k1, k2, lam):
    """Straight from the paper's equations with loops and Python sets (stable order for ties)."""
    n_q = q_g.shape[0]
    d = np.block([[q_q, q_g], [q_g.T, g_g]]).astype(np.float32)
    d = (d / d.max(axis=0)).T  # the reference code's column-max normalisation
    n = len(d)
    v = slow_encoding(d, k1, k2)
    out = np.zeros(q_g.shape)
    for i in range(n_q):
        for g in range(q_g.shape[1]):
            j = n_q + g
            mins = sum(min(v[i, t], v[j, t]) for t in range(n))
            maxs = sum(max(v[i, t], v[j, t]) for t in range(n))
            out[i, g] = (1 - lam) * (1 - mins / maxs) + lam * d[i, j]
    return out


def _random_case(seed: int, n_q: int, n_g: int, dim: int = 8):
    rng = np.random.default_rng(seed)
    # A few loose clusters so the reciprocal sets and the expansion rule are actually exercised.
    centres = rng.normal(size=(5, dim))
    q = _normalise(centres[rng.integers(0, 5, n_q)] + 0.8 * rng.normal(size=(n_q, dim)))
    g = _normalise(centres[rng.integers(0, 5, n_g)] + 0.8 * rng.normal(size=(n_g, dim)))
    return _sq_dist(q, g), _sq_dist(q, q), _sq_dist(g, g)


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize(("k1", "k2", "lam"), [(5, 3, 0.3), (4, 1, 0.3), (6, 2, 0.0), (3, 3, 0.5)])
def test_matches_slow_reference(seed, k1, k2, lam):
    rng = np.random.default_rng(100 + seed)
    n_q, n_g = int(rng.integers(10, 20)), int(rng.integers(20, 40))
    q_g, q_q, g_g = _random_case(seed, n_q, n_g)
    fast = k_reciprocal(q_g, q_q, g_g, k1=k1, k2=k2, lambda_value=lam)
    slow = _slow_rerank(q_g, q_q, g_g, k1, k2, lam)
    assert fast.shape == (n_q, n_g) and fast.dtype == np.float32
    np.testing.assert_allclose(fast, slow, atol=1e-5)


def test_nearest_matches_stable_argsort_with_ties():
    rng = np.random.default_rng(3)
    d = rng.integers(0, 4, size=(50, 40)).astype(np.float32)  # many ties
    for k in (1, 5, 17, 40):
        np.testing.assert_array_equal(_nearest(d, k), np.argsort(d, axis=1, kind="stable")[:, :k])


def test_lambda_one_is_normalised_original():
    q_g, q_q, g_g = _random_case(7, 12, 30)
    out = k_reciprocal(q_g, q_q, g_g, k1=5, k2=3, lambda_value=1.0)
    row_max = np.concatenate([q_q, q_g], axis=1).max(axis=1, keepdims=True)  # symmetric input
    np.testing.assert_allclose(out, q_g / row_max, rtol=1e-6)


def _clustered(seed: int, noise: float, ids: int = 10, per_cam: int = 3, dim: int = 16):
    """`ids` identities with `per_cam` samples in each of two cameras; camera 0 queries camera 1."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(ids, dim))
    cam_shift = rng.normal(size=(2, dim)) * 0.3
    feats, pids, cams = [], [], []
    for pid in range(ids):
        for cam in range(2):
            for _ in range(per_cam):
                feats.append(centres[pid] + cam_shift[cam] + noise * rng.normal(size=dim))
                pids.append(pid)
                cams.append(cam)
    x, pids, cams = _normalise(np.array(feats)), np.array(pids), np.array(cams)
    q, g = cams == 0, cams == 1
    return x[q], x[g], pids[q], pids[g], cams[q], cams[g]


def _maps(seed: int, noise: float) -> tuple[float, float]:
    xq, xg, qp, gp, qc, gc = _clustered(seed, noise)
    q_g = _sq_dist(xq, xg)
    raw = evaluate(q_g, qp, gp, qc, gc).mAP
    rr = k_reciprocal(q_g, _sq_dist(xq, xq), _sq_dist(xg, xg), k1=5, k2=3).astype(np.float64)
    return raw, evaluate(rr, qp, gp, qc, gc).mAP


@pytest.mark.parametrize("seed", range(4))
def test_rerank_does_not_hurt_clean_clusters(seed):
    raw, rr = _maps(seed, noise=0.4)
    assert rr >= raw - 1e-9


def test_rerank_helps_with_harder_noise():
    pairs = [_maps(seed, noise=0.9) for seed in range(6)]
    raw, rr = np.mean(pairs, axis=0)
    assert rr > raw + 0.01, pairs


def test_rejects_bad_input():
    q_g, q_q, g_g = _random_case(1, 5, 8)
    with pytest.raises(ValueError):
        k_reciprocal(q_g, q_q[:4, :4], g_g)
    bad = q_g.copy()
    bad[0, 0] = np.nan
    with pytest.raises(ValueError):
        k_reciprocal(bad, q_q, g_g)
    assert k_reciprocal(q_g[:0], q_q[:0, :0], g_g).shape == (0, 8)


def test_collection_smaller_than_k():
    q_g, q_q, g_g = _random_case(4, 3, 5)
    fast = k_reciprocal(q_g, q_q, g_g, k1=20, k2=9)
    np.testing.assert_allclose(fast, _slow_rerank(q_g, q_q, g_g, 20, 9, 0.3), atol=1e-5)


def test_exact_duplicates_are_deterministic():
    rng = np.random.default_rng(8)
    base = _normalise(rng.normal(size=(6, 8)))
    x = np.repeat(base, 5, axis=0)  # every feature five times: massive ties in the neighbour lists
    q, g = x[:10], x[10:]
    # Rounded so duplicates give exactly equal distances.
    args = tuple(np.round(m, 3) for m in (_sq_dist(q, g), _sq_dist(q, q), _sq_dist(g, g)))
    fast = k_reciprocal(*args, k1=4, k2=2)
    assert np.isfinite(fast).all()
    np.testing.assert_allclose(fast, _slow_rerank(*args, 4, 2, 0.3), atol=1e-5)
