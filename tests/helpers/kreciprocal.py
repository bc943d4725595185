"""k-reciprocal encoding straight from the paper's equations (Zhong et al. 2017), with loops and
Python sets: the slow reference both re-ranking tests compare against."""

from __future__ import annotations

import numpy as np


def slow_encoding(d: np.ndarray, k1: int, k2: int) -> np.ndarray:
    """V for an N×N matrix of (already normalised) distances: R(i, k1) expanded by R(c, k1/2),
    Gaussian weights exp(−d) over R*(i), averaged over the k2 nearest (stable order for ties)."""
    n = len(d)
    order = [list(np.argsort(d[i], kind="stable")) for i in range(n)]

    def nn(i, k):  # N(i, k): the k + 1 nearest, i itself included
        return set(order[i][: k + 1])

    def recip(i, k):
        return {j for j in nn(i, k) if i in nn(j, k)}

    half = int(np.around(k1 / 2.0))
    v = np.zeros((n, n))
    for i in range(n):
        r = recip(i, k1)
        r_star = set(r)
        for c in r:
            rc = recip(c, half)
            if len(rc & r) > 2.0 / 3.0 * len(rc):
                r_star |= rc
        weights = {j: np.exp(-float(d[i, j])) for j in r_star}
        total = sum(weights.values())
        for j, w in weights.items():
            v[i, j] = w / total
    if k2 > 1:
        v = np.array([np.mean([v[j] for j in order[i][:k2]], axis=0) for i in range(n)])
    return v
