"""The per-crop review queue the app used before identity review, kept here only as the baseline
the operator benchmark measures against in the same run (the app no longer ships it).

Order: mutual cross-camera nearest neighbours first, then the most uncertain pairs, computed once
from the top-k cross-camera neighbours of every crop; pairs already decided, inside one identity,
between identities declared different, and repeat pairs between two identities are left out. One
decision ("same" / "different") per pair: one action each.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from reid_desktop.core.identities.links import LinkGraph
from reid_desktop.core.retrieval.matching import GalleryIndex


@dataclass(frozen=True)
class Pair:
    query: int  # crop ids
    candidate: int
    score: float  # raw cosine
    kind: str  # "mutual" or "uncertain"


def build_queue(
    index: GalleryIndex,
    links: LinkGraph,
    *,
    k: int = 5,
    calibrate: Callable[[np.ndarray], np.ndarray] | None = None,
) -> list[Pair]:
    if len(index) < 2:
        return []
    nn_idx, nn_val = index.cross_camera_topk(k)
    ids = index.crop_ids
    n = len(ids)
    top1 = nn_idx[:, 0]
    rows = np.repeat(np.arange(n), nn_idx.shape[1])
    cols = nn_idx.reshape(-1)
    vals = nn_val.reshape(-1)
    ok = np.isfinite(vals)
    rows, cols, vals = rows[ok], cols[ok], vals[ok]
    lo, hi = np.minimum(rows, cols), np.maximum(rows, cols)
    _, first_idx = np.unique(lo * n + hi, return_index=True)
    rows, cols, vals = lo[first_idx], hi[first_idx], vals[first_idx]
    mutual = (top1[rows] == cols) & (top1[cols] == rows)
    seen_components: set[tuple[int, int]] = set()
    first: list[Pair] = []
    rest: list[tuple[float, Pair]] = []
    probs = calibrate(vals) if calibrate is not None else None
    order = np.lexsort((cols, rows, -vals))
    for j in order:
        a, b = int(ids[rows[j]]), int(ids[cols[j]])
        if LinkGraph.key(a, b) in links.decided:
            continue
        ca, cb = links.component(a), links.component(b)
        if ca == cb or links.forbidden(a, b):
            continue
        comp = LinkGraph.key(ca, cb)
        if comp in seen_components:
            continue
        seen_components.add(comp)
        if mutual[j]:
            first.append(Pair(a, b, float(vals[j]), "mutual"))
        else:
            uncertainty = abs(float(probs[j]) - 0.5) if probs is not None else -float(vals[j])
            rest.append((uncertainty, Pair(a, b, float(vals[j]), "uncertain")))
    rest.sort(key=lambda t: (t[0], t[1].query, t[1].candidate))
    return first + [p for _, p in rest]


def open_pair(links: LinkGraph, p: Pair) -> bool:
    """Still worth asking: not decided, not already one identity, not declared different."""
    a, b = p.query, p.candidate
    return LinkGraph.key(a, b) not in links.decided and not links.linked(a, b) and not links.forbidden(a, b)
