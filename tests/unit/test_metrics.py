"""Retrieval metrics: brute-force agreement, hand-checked cases, the same-id-same-camera exclusion."""

from __future__ import annotations

import json

import numpy as np
import pytest

from reid_desktop.core.evaluation.metrics import RetrievalMetrics, average, evaluate


def _brute(dist, q_pids, g_pids, q_cams, g_cams, max_rank=50):
    """Pure-Python Market-1501 protocol: sort by (distance, gallery index), drop same id + same camera."""
    aps, inps, cmcs = [], [], []
    for i in range(len(q_pids)):
        order = sorted(range(len(g_pids)), key=lambda j: (float(dist[i][j]), j))
        kept = [j for j in order if not (g_pids[j] == q_pids[i] and g_cams[j] == q_cams[i])]
        hits = [g_pids[j] == q_pids[i] for j in kept]
        if not any(hits):
            continue
        positions = [p + 1 for p, h in enumerate(hits) if h]
        aps.append(sum((n + 1) / r for n, r in enumerate(positions)) / len(positions))
        inps.append(len(positions) / positions[-1])
        cmcs.append([1.0 if positions[0] <= k + 1 else 0.0 for k in range(max_rank)])
    cmc = [sum(c[k] for c in cmcs) / len(cmcs) for k in range(max_rank)]
    return {
        "mAP": sum(aps) / len(aps),
        "mINP": sum(inps) / len(inps),
        "cmc": cmc,
        "queries": len(aps),
        "skipped": len(q_pids) - len(aps),
    }


@pytest.mark.parametrize("seed", range(8))
def test_matches_brute_force(seed):
    rng = np.random.default_rng(seed)
    n_q, n_g = int(rng.integers(5, 40)), int(rng.integers(10, 80))
    ids = int(rng.integers(3, 15))
    # Distances on a coarse grid so ties are common; some query ids never occur in the gallery.
    dist = rng.integers(0, 6, size=(n_q, n_g)).astype(np.float32) / 5
    q_pids = rng.integers(0, ids + 3, n_q)
    g_pids = rng.integers(0, ids, n_g)
    q_cams, g_cams = rng.integers(0, 3, n_q), rng.integers(0, 3, n_g)
    max_rank = int(rng.integers(1, 30))
    got = evaluate(dist, q_pids, g_pids, q_cams, g_cams, max_rank=max_rank)
    want = _brute(dist.tolist(), q_pids.tolist(), g_pids.tolist(), q_cams.tolist(), g_cams.tolist(), max_rank)
    assert got.queries == want["queries"] and got.skipped == want["skipped"]
    assert got.queries > 0
    assert got.mAP == pytest.approx(want["mAP"], abs=1e-12)
    assert got.mINP == pytest.approx(want["mINP"], abs=1e-12)
    assert len(got.cmc) == max_rank
    np.testing.assert_allclose(got.cmc, want["cmc"], atol=1e-12)
    full = _brute(dist.tolist(), q_pids.tolist(), g_pids.tolist(), q_cams.tolist(), g_cams.tolist(), 10)
    assert (got.rank1, got.rank5, got.rank10) == pytest.approx(
        (full["cmc"][0], full["cmc"][4], full["cmc"][9]), abs=1e-12
    )


def test_string_ids_match_int_ids():
    rng = np.random.default_rng(11)
    dist = rng.random((20, 50))
    q, g = rng.integers(0, 8, 20), rng.integers(0, 8, 50)
    qc, gc = rng.integers(0, 2, 20), rng.integers(0, 2, 50)
    as_int = evaluate(dist, q, g, qc, gc)
    as_str = evaluate(
        dist, [f"p{x}" for x in q], [f"p{x}" for x in g], [f"c{x}" for x in qc], [f"c{x}" for x in gc]
    )
    assert as_int.as_dict() == as_str.as_dict()


def test_hand_checked_single_query():
    # Matches (id 7, other camera) at ranks 2 and 4 of the ranking.
    dist = np.array([[0.1, 0.2, 0.3, 0.4, 0.5, 0.6]])
    g_pids = [1, 7, 2, 7, 3, 4]
    r = evaluate(dist, [7], g_pids, [0], [1] * 6, max_rank=6)
    assert r.mAP == pytest.approx((1 / 2 + 2 / 4) / 2)  # 0.5
    assert r.mINP == pytest.approx(2 / 4)
    assert (r.rank1, r.rank5, r.rank10) == (0.0, 1.0, 1.0)
    np.testing.assert_array_equal(r.cmc, [0, 1, 1, 1, 1, 1])
    assert (r.queries, r.skipped) == (1, 0)


def test_two_queries_exact():
    dist = np.array([[0.9, 0.1, 0.5], [0.2, 0.3, 0.1]])
    # q0 (id 1): matches at gallery 0 and 2 -> ranks 3 and 2 -> positions 2, 3 -> AP (1/2 + 2/3)/2, INP 2/3.
    # q1 (id 2): match at gallery 1 -> order g2, g0, g1 -> rank 3 -> AP 1/3, INP 1/3.
    r = evaluate(dist, [1, 2], [1, 2, 1], [0, 0], [1, 1, 1], max_rank=3)
    assert r.mAP == pytest.approx(((1 / 2 + 2 / 3) / 2 + 1 / 3) / 2)
    assert r.mINP == pytest.approx((2 / 3 + 1 / 3) / 2)
    np.testing.assert_allclose(r.cmc, [0.0, 0.5, 1.0])


def test_same_id_same_camera_is_excluded():
    # Gallery 0 is the same person on the query's own camera: excluded, so the true match (other camera)
    # moves up to rank 1. Gallery 2 is a different person on the same camera and stays in.
    dist = np.array([[0.0, 0.5, 0.3]])
    r = evaluate(dist, ["a"], ["a", "a", "b"], [1], [1, 2, 1])
    assert r.rank1 == 0.0  # "b" at 0.3 still comes first
    assert r.mAP == pytest.approx(0.5)
    r = evaluate(np.array([[0.0, 0.2, 0.3]]), ["a"], ["a", "a", "b"], [1], [1, 2, 1])
    assert r.rank1 == 1.0 and r.mAP == 1.0 and r.mINP == 1.0


def test_query_with_only_same_camera_matches_is_skipped():
    dist = np.array([[0.1, 0.2], [0.1, 0.2]])
    r = evaluate(dist, [1, 2], [1, 2], [0, 0], [0, 1])
    assert (r.queries, r.skipped) == (1, 1)
    assert r.rank1 == 0.0 and r.mAP == 0.5  # query 2: match at rank 2


def test_ties_broken_by_gallery_order():
    dist = np.zeros((1, 4))
    r = evaluate(dist, [5], [0, 5, 1, 5], [0], [1] * 4)
    assert r.mAP == pytest.approx((1 / 2 + 2 / 4) / 2)
    assert r.mINP == pytest.approx(0.5)


def test_no_valid_query_gives_zeros():
    r = evaluate(np.ones((2, 3)), [9, 8], [1, 2, 3], [0, 0], [1, 1, 1], max_rank=5)
    assert (r.queries, r.skipped, r.mAP, r.rank1) == (0, 2, 0.0, 0.0)
    assert r.cmc.shape == (5,)


def test_as_dict_is_json_safe():
    r = evaluate(np.array([[0.1, 0.2]]), [np.int64(1)], [1, 2], [0], [1, 1])
    d = r.as_dict()
    assert set(d) == {"rank1", "rank5", "rank10", "mAP", "mINP", "queries"}
    assert json.loads(json.dumps(d)) == d


def test_average_of_two_directions():
    a = RetrievalMetrics(1.0, 1.0, 1.0, 0.8, 0.6, 10, 1, np.array([1.0, 1.0]))
    b = RetrievalMetrics(0.5, 0.7, 0.9, 0.4, 0.2, 30, 0, np.array([0.5, 0.6]))
    m = average([a, b])
    assert (m.rank1, m.rank5, m.rank10) == pytest.approx((0.75, 0.85, 0.95))
    assert (m.mAP, m.mINP) == pytest.approx((0.6, 0.4))
    assert (m.queries, m.skipped) == (40, 1)
    np.testing.assert_allclose(m.cmc, [0.75, 0.8])
    assert average([a]).as_dict() == a.as_dict()
    with pytest.raises(ValueError):
        average([])
    with pytest.raises(ValueError):
        average([a, RetrievalMetrics(0, 0, 0, 0, 0, 1, 0, np.zeros(3))])


def test_rejects_bad_input():
    with pytest.raises(ValueError):
        evaluate(np.array([[np.nan, 0.1]]), [1], [1, 2], [0], [1, 1])
    with pytest.raises(ValueError):
        evaluate(np.zeros((2, 2)), [1], [1, 2], [0], [1, 1])
    with pytest.raises(ValueError):
        evaluate(np.zeros(3), [1], [1, 2, 3], [0], [1, 1, 1])


def test_large_is_fast():
    import time

    rng = np.random.default_rng(0)
    n = 3000
    dist = rng.random((n, n), dtype=np.float32)
    pids, cams = rng.integers(0, 600, n), rng.integers(0, 6, n)
    start = time.perf_counter()
    r = evaluate(dist, pids, pids[::-1].copy(), cams, cams[::-1].copy())
    assert time.perf_counter() - start < 5.0
    assert r.queries > 0
