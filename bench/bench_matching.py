"""Proposal latency: top-50 cross-camera candidates among 10,000 and 100,000 synthetic embeddings,
and building the old per-crop review queue for 10,000 crops (bench/baseline_pair_queue.py; identity
review's own figures are in bench/bench_proposals.py).

Baseline, in the same run: a naive full sort (np.argsort of every score) for the same query, so the
ratio shows what argpartition + masking buys.

    python bench/bench_matching.py
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))

from baseline_pair_queue import build_queue  # noqa: E402  (the per-crop queue the app used before)

from reid_desktop.core.identities.links import LinkGraph  # noqa: E402
from reid_desktop.core.retrieval.matching import GalleryIndex  # noqa: E402


def synthetic_index(n: int, dim: int = 256, people: int | None = None, seed: int = 0) -> GalleryIndex:
    rng = np.random.default_rng(seed)
    people = people or n // 8
    centres = rng.normal(size=(people, dim)).astype(np.float32)
    pid = rng.integers(0, people, n)
    feats = centres[pid] + 0.8 * rng.normal(size=(n, dim)).astype(np.float32)
    cams = rng.integers(0, 4, n)
    return GalleryIndex(np.arange(1, n + 1), cams, feats, None)


def timed(fn, repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return out


def main() -> int:
    for n in (10_000, 100_000):
        index = synthetic_index(n)
        queries = np.random.default_rng(1).integers(1, n + 1, 30)
        it = iter(queries.tolist() * 10)
        fast = timed(lambda: index.topk(next(it), 50), 30)

        def naive(q=int(queries[0])):
            r = index.row(q)
            s = index.feats @ index.feats[r]
            s[index.cameras == index.cameras[r]] = -np.inf
            return np.argsort(-s)[:50]

        base = timed(naive, 30)
        print(
            f"top-50 among {n:>7,}: median {statistics.median(fast) * 1000:6.2f} ms "
            f"(naive full sort {statistics.median(base) * 1000:6.2f} ms, "
            f"ratio {statistics.median(base) / statistics.median(fast):.2f}x)"
        )
    index = synthetic_index(10_000)
    t = time.perf_counter()
    queue = build_queue(index, LinkGraph(), k=5)
    t_queue = time.perf_counter() - t
    mutual = sum(p.kind == "mutual" for p in queue)
    print(
        f"review queue for 10,000 crops: {t_queue * 1000:.0f} ms, {len(queue):,} pairs "
        f"({mutual:,} mutual nearest neighbours first)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
