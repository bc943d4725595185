"""Re-ID retrieval metrics (CMC, mAP, mINP) with the Market-1501 protocol.

For each query the gallery is ranked by ascending distance. Gallery entries with the same person id and
the same camera as the query are excluded (they are trivially easy near-duplicates); the remaining
entries with the query's person id are its true matches. Queries without any true match left are
skipped and reported in `skipped`.

With the true matches of a query at 1-based positions r_1 < r_2 < ... < r_n of the filtered ranking:

    AP   = (1/n) * sum_i  i / r_i           (mean of the precision at each true match)
    INP  = n / r_n                          (Ye et al. 2020: matches / position of the hardest match)
    CMC[k] = 1  if r_1 <= k + 1  else 0     (0-based k)

mAP, mINP and the CMC curve are the means over the valid queries. Ties in distance are broken by gallery
order (as a stable argsort would), so results are deterministic.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

log = logging.getLogger(__name__)

_REPORTED_RANKS = (1, 5, 10)


@dataclass(frozen=True)
class RetrievalMetrics:
    rank1: float
    rank5: float
    rank10: float
    mAP: float
    mINP: float
    queries: int  # queries that had at least one valid true match
    skipped: int  # queries without any valid match (excluded from the averages)
    cmc: np.ndarray  # CMC curve, length max_rank

    def as_dict(self) -> dict:
        return {
            "rank1": float(self.rank1),
            "rank5": float(self.rank5),
            "rank10": float(self.rank10),
            "mAP": float(self.mAP),
            "mINP": float(self.mINP),
            "queries": int(self.queries),
        }


def _codes(q: Sequence | np.ndarray, g: Sequence | np.ndarray, what: str) -> tuple[np.ndarray, np.ndarray]:
    """Map query and gallery labels (str or int) onto shared integer codes: int compares are far cheaper
    than string compares in the per-query loop."""
    qa, ga = np.asarray(q), np.asarray(g)
    if qa.ndim != 1 or ga.ndim != 1:
        raise ValueError(f"{what} must be 1-D")
    try:
        _, inv = np.unique(np.concatenate([qa, ga]), return_inverse=True)
    except TypeError as exc:  # e.g. mixing str and int labels in an object array
        raise ValueError(f"{what} mix incomparable types") from exc
    inv = inv.reshape(-1)
    return inv[: len(qa)], inv[len(qa) :]


def match_positions(d: np.ndarray, match: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """0-based positions of the true matches in the filtered ranking of one query, ascending.

    Position of match m = #{kept j : d_j < d_m} + #{kept j : d_j == d_m, j < m}. Only entries no farther
    than the hardest match can precede a match, so only those are sorted, not the whole gallery.
    """
    m_idx = np.flatnonzero(match)
    dm = d[m_idx]
    cand_mask = keep & (d <= dm.max())
    cand = np.sort(d[cand_mask])
    lo = np.searchsorted(cand, dm, side="left")
    hi = np.searchsorted(cand, dm, side="right")
    pos = lo.astype(np.int64)
    tied = np.flatnonzero(hi - lo > 1)  # the match itself is always counted once
    if tied.size:
        cidx = np.flatnonzero(cand_mask)
        cval = d[cidx]
        for t in tied:
            pos[t] += np.count_nonzero((cval == dm[t]) & (cidx < m_idx[t]))
    return np.sort(pos)


def evaluate(
    dist: np.ndarray,
    q_pids: Sequence | np.ndarray,
    g_pids: Sequence | np.ndarray,
    q_cams: Sequence | np.ndarray,
    g_cams: Sequence | np.ndarray,
    max_rank: int = 50,
) -> RetrievalMetrics:
    """Market-1501 style evaluation of a Q x G distance matrix (smaller = more similar).

    Person ids and cameras may be strings or ints. Returns zeros with `queries == 0` when no query has a
    valid match. Cost is O(Q * G) plus sorting the entries ahead of each query's hardest match.
    """
    dist = np.asarray(dist)
    if dist.ndim != 2:
        raise ValueError(f"dist must be a Q x G matrix, got shape {dist.shape}")
    if max_rank < 1:
        raise ValueError("max_rank must be >= 1")
    n_q, n_g = dist.shape
    qp, gp = _codes(q_pids, g_pids, "person ids")
    qc, gc = _codes(q_cams, g_cams, "cameras")
    if len(qp) != n_q or len(qc) != n_q or len(gp) != n_g or len(gc) != n_g:
        raise ValueError(f"label lengths do not match dist shape {dist.shape}")
    if np.issubdtype(dist.dtype, np.floating) and np.isnan(dist).any():
        raise ValueError("dist contains NaN")

    # CMC needs at least rank 10 internally so rank10 is defined even for a short max_rank.
    length = max(max_rank, _REPORTED_RANKS[-1])
    first_hits = np.zeros(length + 1, dtype=np.int64)  # last bin: first match beyond `length`
    ap_sum = inp_sum = 0.0
    valid = 0
    for i in range(n_q):
        same_pid = gp == qp[i]
        same_cam = gc == qc[i]
        match = same_pid & ~same_cam
        if not match.any():
            continue
        pos = match_positions(dist[i], match, ~(same_pid & same_cam))
        ranks = pos + 1.0
        n = len(pos)
        ap_sum += float(np.mean(np.arange(1, n + 1) / ranks))
        inp_sum += n / ranks[-1]
        first_hits[min(pos[0], length)] += 1
        valid += 1

    skipped = n_q - valid
    if skipped:
        log.info("evaluate: %d of %d queries have no valid true match and were skipped", skipped, n_q)
    if valid == 0:
        log.warning("evaluate: no query has a valid true match; metrics are zero")
        return RetrievalMetrics(0.0, 0.0, 0.0, 0.0, 0.0, 0, skipped, np.zeros(max_rank))
    cmc = np.cumsum(first_hits[:length]) / valid
    return RetrievalMetrics(
        rank1=float(cmc[0]),
        rank5=float(cmc[4]),
        rank10=float(cmc[9]),
        mAP=ap_sum / valid,
        mINP=inp_sum / valid,
        queries=valid,
        skipped=skipped,
        cmc=cmc[:max_rank],
    )


def average(results: list[RetrievalMetrics]) -> RetrievalMetrics:
    """Unweighted mean of the metrics (e.g. both directions of a two-camera set); query counts are
    summed. All results must share the CMC length."""
    if not results:
        raise ValueError("average() needs at least one result")
    lengths = {len(r.cmc) for r in results}
    if len(lengths) != 1:
        raise ValueError(f"CMC curves differ in length: {sorted(lengths)}")

    def mean(name: str) -> float:
        return float(np.mean([getattr(r, name) for r in results]))

    return RetrievalMetrics(
        rank1=mean("rank1"),
        rank5=mean("rank5"),
        rank10=mean("rank10"),
        mAP=mean("mAP"),
        mINP=mean("mINP"),
        queries=sum(r.queries for r in results),
        skipped=sum(r.skipped for r in results),
        cmc=np.mean([r.cmc for r in results], axis=0),
    )
