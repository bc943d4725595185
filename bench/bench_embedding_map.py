"""Embedding map benchmark (offscreen): first draw and hover latency at 20,000 crops.

The map (EmbeddingMapPlot: grey + one scatter item per colour, identity colours, hover search in
pixels, thumbnail box) is timed against a baseline in the same process: a plain pyqtgraph scatter
of the same points in one colour (first draw), and that scatter's own `pointsAt` hit test (hover),
each followed by a synchronous repaint of the view. Synthetic embeddings: people of 16 crops,
60% of crops in an identity; projection by PCA (timed too).

`--projection` instead times PCA and t-SNE (openTSNE, when installed) on clustered features and
reports how often a point's nearest neighbour in the plane is of its own identity.

    python bench/bench_embedding_map.py [--n 20000] [--hovers 200] [--repeat 5]
    python bench/bench_embedding_map.py --projection [--sizes 800 2000 5000] [--project P.reidproj]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402
from PySide6.QtCore import QPointF  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from reid_desktop.core.jobs import CancelToken, run_job  # noqa: E402
from reid_desktop.core.reports.embedding_map import EmbeddingMap, pca_2d, tsne_2d, tsne_available  # noqa: E402
from reid_desktop.core.retrieval.matching import l2n  # noqa: E402


def clustered(n: int, dim: int = 256, per_person: int = 16, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    people = max(2, n // per_person)
    labels = rng.integers(0, people, n)
    x = rng.normal(size=(people, dim))[labels] + 0.8 * rng.normal(size=(n, dim))
    return l2n(x.astype(np.float32)), labels


def synthetic_map(n: int) -> tuple[EmbeddingMap, float]:
    feats, labels = clustered(n)
    t = time.perf_counter()
    xy, share = pca_2d(feats)
    t_pca = time.perf_counter() - t
    labelled = np.random.default_rng(1).random(n) < 0.6
    identity = np.where(labelled, labels, -1).astype(np.int64)
    m = EmbeddingMap(
        encoder_name="synthetic",
        crop_ids=np.arange(1, n + 1),
        xy=xy,
        identity=identity,
        camera=np.arange(n) % 2 + 1,
        paths=[f"/nonexistent/{i}.jpg" for i in range(n)],
        names=[f"cam{i % 2 + 1}/{i}.jpg" for i in range(n)],
        labels={int(k): f"ID-{k:04d}" for k in np.unique(identity[identity >= 0])},
        camera_names={1: "cam1", 2: "cam2"},
        method="pca",
        seconds=t_pca,
        note=f"PCA {share:.0%}",
    )
    return m, t_pca


def p95(xs: list[float]) -> float:
    return sorted(xs)[int(0.95 * (len(xs) - 1))]


def bench_draw(args) -> None:
    import pyqtgraph as pg

    from reid_desktop.ui.plots.embedding_map import EmbeddingMapPlot

    app = QApplication.instance() or QApplication([])
    m, t_pca = synthetic_map(args.n)
    rng = np.random.default_rng(2)
    targets = m.xy[rng.integers(0, len(m), args.hovers)] + rng.normal(scale=0.002, size=(args.hovers, 2))

    def plain():  # baseline: a plain scatter of the same points, one colour, pyqtgraph's hit test
        w = pg.PlotWidget()
        w.resize(1200, 800)
        w.show()
        app.processEvents()
        t = time.perf_counter()
        scatter = pg.ScatterPlotItem(m.xy[:, 0], m.xy[:, 1], size=7, pen=None, brush=pg.mkBrush("#3b6fb6"))
        w.addItem(scatter)
        w.getPlotItem().vb.autoRange(padding=0.04)
        w.viewport().repaint()
        return w, time.perf_counter() - t, lambda x, y: scatter.pointsAt(QPointF(x, y)), w.viewport()

    def mapped():
        w = EmbeddingMapPlot()
        w.resize(1200, 800)
        w.show()
        app.processEvents()
        t = time.perf_counter()
        w.show_map(m)
        w.plot.viewport().repaint()
        return (
            w,
            time.perf_counter() - t,
            lambda x, y: w.hover_at(w.vb.mapViewToScene(QPointF(x, y))),
            w.plot.viewport(),
        )

    results = {}
    for name, make in (("plain", plain), ("map", mapped)) * args.repeat:  # interleaved: load hits both
        w, first, hover_fn, viewport = make()
        times = []
        for x, y in targets:
            t = time.perf_counter()
            hover_fn(float(x), float(y))
            viewport.repaint()
            times.append(time.perf_counter() - t)
        w.close()
        results.setdefault(name, ([], []))
        results[name][0].append(first)
        results[name][1].extend(times)
    t_base, t_map = (statistics.median(results[k][0]) for k in ("plain", "map"))
    base_hover, hover = results["plain"][1], results["map"][1]

    print(f"crops: {args.n:,} ({len(m.labels):,} identities, {int((m.identity < 0).sum()):,} grey)")
    print(f"PCA projection:                      {t_pca * 1000:.0f} ms")
    print(f"first draw, map:                     {t_map * 1000:.0f} ms (median of {args.repeat})")
    print(f"first draw, plain scatter (base):    {t_base * 1000:.0f} ms")
    print(f"ratio map/plain (first draw):        {t_map / t_base:.2f}x")
    med, med_base = statistics.median(hover), statistics.median(base_hover)
    print(f"hover + repaint, map:                median {med * 1000:.1f} ms, p95 {p95(hover) * 1000:.1f} ms")
    print(
        f"pointsAt + repaint, plain (base):    median {med_base * 1000:.1f} ms, "
        f"p95 {p95(base_hover) * 1000:.1f} ms"
    )
    print(f"ratio map/plain (hover, median):     {med / med_base:.2f}x")


def nn_agreement(xy: np.ndarray, labels: np.ndarray, sample: int = 2000) -> float:
    """Share of (sampled) points whose nearest other point in the plane has their identity."""
    idx = np.random.default_rng(0).choice(len(xy), min(sample, len(xy)), replace=False)
    d = ((xy[idx, None, :] - xy[None, :, :]) ** 2).sum(-1)
    d[np.arange(len(idx)), idx] = np.inf
    return float((labels[d.argmin(axis=1)] == labels[idx]).mean())


def bench_projection(args) -> None:
    cases = [(f"synthetic {n:,}", *clustered(n)) for n in args.sizes]
    if args.project:
        from reid_desktop.store import Project

        with Project.open(args.project, read_only=True) as p:
            ids, _cams, glob, _ = p.embeddings.load_all(p.active_encoder_id)
            gt = {c.id: c.gt_person for c in p.crops.all()}
        labels = np.array([hash(gt.get(int(i))) for i in ids])
        cases.insert(0, (f"{args.project} ({len(ids)})", l2n(glob), labels))
    print(f"{'data':40s} {'method':6s} {'seconds':>8s} {'1-NN identity agreement':>24s}")
    for name, x, labels in cases:
        t = time.perf_counter()
        xy, _ = pca_2d(x)
        print(f"{name:40s} {'PCA':6s} {time.perf_counter() - t:8.2f} {nn_agreement(xy, labels):24.3f}")
        if tsne_available():
            t = time.perf_counter()
            xy = run_job(tsne_2d(x, CancelToken()))
            print(f"{name:40s} {'t-SNE':6s} {time.perf_counter() - t:8.2f} {nn_agreement(xy, labels):24.3f}")
    if not tsne_available():
        print("t-SNE: openTSNE is not installed (pip install 'reid-desktop[maps]')")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=20_000)
    ap.add_argument("--hovers", type=int, default=200)
    ap.add_argument("--repeat", type=int, default=5, help="first draws per widget (median reported)")
    ap.add_argument("--projection", action="store_true")
    ap.add_argument("--sizes", type=int, nargs="+", default=[800, 2000, 5000])
    ap.add_argument("--project", help="also project the active model's embeddings of this project")
    args = ap.parse_args()
    print(f"load average: {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
    if args.projection:
        bench_projection(args)
    else:
        bench_draw(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
