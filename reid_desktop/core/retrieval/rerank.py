"""k-reciprocal re-ranking (Zhong et al., CVPR 2017, "Re-ranking person re-identification with k-reciprocal
encoding").

All N = Q + G probes and gallery entries are treated as one collection with distance matrix D (N x N,
built from q_q, q_g and g_g). Steps, with i, j indices into the collection:

1. Normalise: D'[i, j] = D[j, i] / max_k D[k, i]  (per-column max, then transposed, as the reference
   implementation does; for a symmetric D this is each row divided by its own max).
2. N(i, k) = the k + 1 nearest entries of i under D' (i itself included); ties go to the lower index.
   R(i, k) = { j in N(i, k) : i in N(j, k) }   (k-reciprocal neighbours).
3. Expansion: R*(i) = R(i, k1) united with R(c, round(k1/2)) for every c in R(i, k1) with
   |R(c, round(k1/2)) & R(i, k1)| > 2/3 |R(c, round(k1/2))|.
4. Gaussian-kernel encoding: V[i, j] = exp(-D'[i, j]) / sum_{l in R*(i)} exp(-D'[i, l]) for j in R*(i),
   else 0.
5. Local query expansion (k2 > 1): V[i] <- mean of V[l] over the k2 nearest l of i (N(i, k2 - 1)).
6. Jaccard distance: d_J(i, j) = 1 - sum_l min(V[i, l], V[j, l]) / sum_l max(V[i, l], V[j, l]); every row
   of V sums to 1, so the denominator is 2 - sum_l min(...).
7. Final: d*(q, g) = (1 - lambda) * d_J(q, g) + lambda * D'(q, g).

Inputs must already be the paper's d(p, g) = squared distance, e.g. 2 - 2 cos for L2-normalised
features; unlike the reference code this does not square them again.

Complexity: time O(N^2 log k) for the neighbour lists plus O(N * k1 * k1/2) for the sets, plus the
Jaccard step O(sum over columns l of |{q: V[q, l] > 0}| * |{g: V[g, l] > 0}|), roughly O(N * (k2 * k1)^2)
on well-clustered data. Memory O(N^2): the peak is about seven N x N float32 matrices (measured ~450 MB
at N = 4,000; ~11 GB at N = 20,000), so it is meant for collections up to about 20k entries. Measured
~0.7-1.6 s for 2,000 queries x 2,000 gallery and ~7.5 s for 5,000 x 5,000 on a 2-core machine.
"""

from __future__ import annotations

import logging
import time

import numpy as np

log = logging.getLogger(__name__)

# Upper bound on query-gallery pairs accumulated at once in the Jaccard step; bounds temporary memory.
_PAIR_BUDGET = 4_000_000


def _nearest(dist: np.ndarray, k: int) -> np.ndarray:
    """Indices of the k smallest entries of each row, ascending, ties to the lower index: identical to
    np.argsort(dist, kind="stable")[:, :k] but O(N^2) instead of sorting every full row."""
    n = dist.shape[1]
    k = min(k, n)
    if k == n:
        return np.argsort(dist, axis=1, kind="stable")
    kth = np.partition(dist, k - 1, axis=1)[:, k - 1 : k]
    below = dist < kth
    tie = dist == kth
    chosen = below | tie
    # Rows with more ties at the k-th value than free slots keep only the lowest-index ties, as a stable
    # sort would; such rows are rare, so only they pay for the cumulative count.
    need = k - below.sum(axis=1)
    over = np.flatnonzero(tie.sum(axis=1) > need)
    if over.size:
        t = tie[over]
        chosen[over] = below[over] | (t & (np.cumsum(t, axis=1) <= need[over, None]))
    idx = np.nonzero(chosen)[1].reshape(-1, k)  # ascending index within each row
    order = np.argsort(np.take_along_axis(dist, idx, axis=1), axis=1, kind="stable")
    return np.take_along_axis(idx, order, axis=1)


def _reciprocal(ranks: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """R(i, k) for every i as a padded index matrix (N x (k+1)) and its validity mask."""
    fwd = ranks[:, : k + 1]
    rows = np.arange(len(ranks))[:, None, None]
    ok = (ranks[fwd, : k + 1] == rows).any(axis=2)  # is i among the k+1 nearest of each j in N(i, k)?
    return fwd, ok


def _jaccard(v: np.ndarray, n_q: int) -> np.ndarray:
    """d_J between the first n_q rows of V and the rest, touching only pairs that share a non-zero column:
    sum_l min(V[q, l], V[g, l]) accumulates, per column l, over its non-zero query and gallery rows."""
    n_g = len(v) - n_q
    g_col, g_row = np.nonzero(v[n_q:].T)  # gallery non-zeros grouped by column
    g_val = v[n_q:].T[g_col, g_row]
    g_count = np.bincount(g_col, minlength=v.shape[1])
    g_start = np.concatenate([[0], np.cumsum(g_count)[:-1]])

    # Pairs each query row generates: sum over its non-zero columns of that column's gallery count.
    pairs = (v[:n_q] > 0).astype(np.float32) @ g_count.astype(np.float32)
    overlap = np.zeros((n_q, n_g), dtype=np.float64)
    a = 0
    while a < n_q:
        # Grow the block while both the pair count and the dense block stay within the budget.
        fits = np.cumsum(pairs[a:]) <= _PAIR_BUDGET
        b = a + max(1, min(int(fits.sum()), _PAIR_BUDGET // max(1, n_g)))
        q_col, q_row = np.nonzero(v[a:b].T)
        q_val = v[a:b].T[q_col, q_row]
        reps = g_count[q_col]
        total = int(reps.sum())
        if total == 0:
            a = b
            continue
        # Pair every query non-zero in column l with every gallery non-zero in column l.
        src = np.repeat(np.arange(len(q_col)), reps)
        offs = np.arange(total) - np.repeat(np.cumsum(reps) - reps, reps)
        g_idx = g_start[q_col][src] + offs
        mins = np.minimum(q_val[src], g_val[g_idx])
        flat = q_row[src].astype(np.int64) * n_g + g_row[g_idx]
        overlap[a:b] += np.bincount(flat, weights=mins, minlength=(b - a) * n_g).reshape(b - a, n_g)
        a = b
    return (1.0 - overlap / (2.0 - overlap)).astype(np.float32)


def k_reciprocal(
    q_g: np.ndarray,
    q_q: np.ndarray,
    g_g: np.ndarray,
    k1: int = 20,
    k2: int = 6,
    lambda_value: float = 0.3,
) -> np.ndarray:
    """Re-ranked Q x G distance from query-gallery, query-query and gallery-gallery distances."""
    q_g, q_q, g_g = (np.asarray(m, dtype=np.float32) for m in (q_g, q_q, g_g))
    n_q, n_g = q_g.shape
    if q_q.shape != (n_q, n_q) or g_g.shape != (n_g, n_g):
        raise ValueError(f"shapes do not fit: q_g {q_g.shape}, q_q {q_q.shape}, g_g {g_g.shape}")
    if n_q == 0 or n_g == 0:
        return np.zeros((n_q, n_g), dtype=np.float32)
    if k1 < 1 or k2 < 1:
        raise ValueError("k1 and k2 must be >= 1")
    if not 0.0 <= lambda_value <= 1.0:
        raise ValueError("lambda_value must lie in [0, 1]")
    for m in (q_g, q_q, g_g):
        if not np.isfinite(m).all():
            raise ValueError("distances must be finite")
    started = time.perf_counter()

    dist = np.block([[q_q, q_g], [q_g.T, g_g]])
    col_max = dist.max(axis=0)
    col_max[col_max <= 0] = 1.0  # an all-zero column stays zero instead of becoming NaN
    dist /= col_max
    dist = np.ascontiguousarray(dist.T)
    if lambda_value == 1.0:
        return dist[:n_q, n_q:].copy()
    n = len(dist)

    k_half = int(np.around(k1 / 2.0))  # the reference's rounding (banker's: 2.5 -> 2)
    ranks = _nearest(dist, max(k1 + 1, k2))
    r_idx, r_ok = _reciprocal(ranks, k1)
    h_idx, h_ok = _reciprocal(ranks, k_half)

    rows = np.arange(n)
    in_r = np.zeros((n, n), dtype=bool)
    in_r[np.repeat(rows, r_ok.sum(axis=1)), r_idx[r_ok]] = True
    # For every candidate c in R(i, k1): |R(c, k1/2) & R(i, k1)| against 2/3 |R(c, k1/2)|.
    cand_h_idx, cand_h_ok = h_idx[r_idx], h_ok[r_idx]  # n x (k1+1) x (k_half+1)
    common = (in_r[rows[:, None, None], cand_h_idx] & cand_h_ok).sum(axis=2)
    accept = r_ok & (common > (2.0 / 3.0) * cand_h_ok.sum(axis=2))
    expanded = in_r.copy()
    take = accept[:, :, None] & cand_h_ok
    expanded[np.broadcast_to(rows[:, None, None], take.shape)[take], cand_h_idx[take]] = True
    del in_r

    v = np.exp(-dist)
    v *= expanded
    del expanded
    # R*(i) normally holds i itself; a row can only be empty with many exact duplicates, keep it zero.
    v /= np.maximum(v.sum(axis=1, keepdims=True), np.float32(1e-12))

    if k2 > 1:
        n_qe = min(k2, ranks.shape[1])  # a collection smaller than k2 averages over all of it
        qe = np.zeros_like(v)
        for t in range(n_qe):
            qe += v[ranks[:, t]]
        v = qe / np.float32(n_qe)
    del ranks

    jaccard = _jaccard(v, n_q)
    final = (1.0 - lambda_value) * jaccard + lambda_value * dist[:n_q, n_q:]
    log.debug("k-reciprocal re-ranking of %d x %d took %.2fs", n_q, n_g, time.perf_counter() - started)
    return final.astype(np.float32)
