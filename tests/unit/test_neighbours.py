"""Sparse crop similarity: agreement with a slow reference written from the paper's equations,
the camera correction, frame evidence, and the cache round trip."""

from __future__ import annotations

import numpy as np
import pytest
from helpers.kreciprocal import slow_encoding

from reid_desktop.core.jobs import run_job
from reid_desktop.core.retrieval.neighbours import CropSimilarity, Params, build_similarity


def _slow(feats, shift_of, k1, k2, lam):
    """s(i, j) on d = 2 − 2(cos − shift), from the paper's encoding with row-max normalisation."""
    n = len(feats)
    d = np.array(
        [[max(0.0, 2 - 2 * (feats[i] @ feats[j] - shift_of(i, j))) for j in range(n)] for i in range(n)]
    )
    np.fill_diagonal(d, 0.0)
    m = d.max(axis=1)
    v = slow_encoding(d / m[:, None], k1, k2)
    s = np.zeros((n, n))
    for i in range(n):
        for j in range(n):
            jac = np.minimum(v[i], v[j]).sum() / np.maximum(v[i], v[j]).sum()
            s[i, j] = (1 - lam) * jac + lam * (1 - d[i, j] * (1 / m[i] + 1 / m[j]) / 2)
    return s


def _feats(n, seed, dim=8):
    rng = np.random.default_rng(seed)
    f = rng.normal(size=(n, dim))
    return (f / np.linalg.norm(f, axis=1, keepdims=True)).astype(np.float32)


@pytest.mark.parametrize("seed", [0, 1])
def test_sparse_similarity_equals_the_slow_reference(seed):
    n = 30
    f = _feats(n, seed)
    cams = np.random.default_rng(seed).integers(0, 3, n)
    sim = run_job(build_similarity(f, cams, params=Params(k1=5, k2=3, lam=0.3, width=n)))
    shift = sim.shift
    want = _slow(f.astype(np.float64), lambda i, j: shift[sim.cam_idx[i], sim.cam_idx[j]], 5, 3, 0.3)
    got = sim.block(np.arange(n), np.arange(n))
    off = ~np.eye(n, dtype=bool)
    assert np.abs(got - want)[off].max() < 1e-4


def test_narrow_neighbour_lists_keep_the_exact_values_they_hold():
    n = 40
    f = _feats(n, 5)
    cams = np.zeros(n, int)
    full = run_job(build_similarity(f, cams, params=Params(k1=4, k2=2, width=n)))
    narrow = run_job(build_similarity(f, cams, params=Params(k1=4, k2=2, width=8)))
    all_rows = np.arange(n)
    held = narrow.jaccard(all_rows, all_rows) > 0
    assert held.any() and not held.all()
    a, b = full.block(all_rows, all_rows), narrow.block(all_rows, all_rows)
    assert np.abs(a - b)[held].max() < 1e-5
    assert (b[~held] <= a[~held] + 1e-6).all()  # pairs beyond the lists lose only their J part


def test_camera_bias_is_taken_out():
    """Two crops per person per camera; everyone in camera 0 shares a component (light, angle).
    The correction lets the same person in the other camera into each crop's nearest three."""
    rng = np.random.default_rng(2)
    people = rng.normal(size=(10, 16))
    pid = np.tile(np.repeat(np.arange(10), 2), 2)
    cams = np.repeat([0, 1], 20)
    f = people[pid] + (cams[:, None] == 0) * rng.normal(size=16) * 1.5 + rng.normal(size=(40, 16)) * 0.5
    f = (f / np.linalg.norm(f, axis=1, keepdims=True)).astype(np.float32)
    sim = run_job(build_similarity(f, cams, params=Params(k1=3, k2=1, width=5)))
    assert sim.shift[0, 0] > sim.shift[0, 1]  # within camera 0 everyone is alike

    def cross_partners_in_top3(s: np.ndarray) -> float:
        s = s.copy()
        np.fill_diagonal(s, -np.inf)
        top = np.argsort(-s, axis=1)[:, :3]
        return float(((pid[top] == pid[:, None]) & (cams[top] != cams[:, None])).sum(axis=1).mean())

    rows = np.arange(40)
    raw, corrected = cross_partners_in_top3(f @ f.T), cross_partners_in_top3(sim.adjusted(rows, rows))
    assert corrected > raw + 0.3


def test_consecutive_frames_of_one_camera_count_as_evidence():
    n = 12
    f = _feats(n, 7)
    f[1] = f[0] * 0.9 + f[1] * 0.1  # crop 1 looks like crop 0 (one person walking past)
    f /= np.linalg.norm(f, axis=1, keepdims=True)
    cams = np.zeros(n, int)
    frames = np.full(n, np.nan)
    frames[0], frames[1] = 100, 104
    params = Params(k1=2, k2=1, lam=0.0, width=2)
    without = run_job(build_similarity(f, cams, None, params))
    with_frames = run_job(build_similarity(f, cams, frames, params))
    a, b = np.array([0]), np.array([1])
    assert with_frames.block(a, b)[0, 0] > without.block(a, b)[0, 0]
    assert with_frames.block(a, b)[0, 0] == pytest.approx(float(f[0] @ f[1]), abs=1e-5)


def test_cache_round_trip_and_mismatch():
    f = _feats(20, 9)
    cams = np.repeat([0, 1], 10)
    sim = run_job(build_similarity(f, cams, params=Params(k1=3, k2=2, width=6)))
    again = CropSimilarity.unpack(sim.pack(), f, sim.cam_idx)
    rows = np.arange(20)
    assert np.array_equal(again.block(rows, rows), sim.block(rows, rows))
    with pytest.raises(ValueError, match="another set of crops"):
        CropSimilarity.unpack(sim.pack(), f[:10], sim.cam_idx[:10])
