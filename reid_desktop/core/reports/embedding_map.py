"""The embedding map: every crop of one model placed in 2-D, labelled by its confirmed identity.

Two projections of the unit global features:
- PCA (numpy, always): the plane of the two largest principal components. Fast at any size,
  but identities overlap in two linear axes.
- t-SNE (openTSNE, the optional `maps` extra) when it is installed and the collection has at most
  MAX_TSNE crops: it keeps each crop's neighbours together, so identities form islands.
  Measured with `bench/bench_embedding_map.py --projection` on 2 CPU cores at load average 6–7:
  PKU dev, 800 Intel features: a crop's nearest neighbour in the plane is of its own person for
  100% of crops with t-SNE (3.5 s) vs 14% with PCA; 5,000 synthetic crops take 41 s.
  openTSNE reports progress and stops when asked, so the job shows a bar and Cancel.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import threading
import time
from dataclasses import dataclass

import numpy as np

from reid_desktop.core.identities.curation import identity_rows
from reid_desktop.core.jobs import CancelToken, Job, Progress, project_job
from reid_desktop.core.retrieval.matching import l2n
from reid_desktop.store import Project

log = logging.getLogger(__name__)

MAX_TSNE = 5000  # above this t-SNE takes minutes on a workstation CPU: the map stays PCA
PCA_FIT = 4000  # rows the PCA axes are fitted on
METHODS = {"pca": "PCA", "tsne": "t-SNE"}


def tsne_available() -> bool:
    return importlib.util.find_spec("openTSNE") is not None


def methods_for(n: int) -> list[str]:
    """Projections offered for n crops: PCA always, t-SNE when installed and n is small enough."""
    return ["pca", "tsne"] if tsne_available() and n <= MAX_TSNE else ["pca"]


def pca_2d(x: np.ndarray, fit_at_most: int = PCA_FIT) -> tuple[np.ndarray, float]:
    """(N×2 coordinates on the first two principal components, share of the variance they hold).

    The axes are fitted on at most `fit_at_most` evenly spaced rows (a covariance from 4,000 rows
    is as good as from 20,000 for drawing), by randomised subspace iteration: a few products with
    a 10-column block instead of a D×D eigenproblem (1280-d features made that take seconds).
    Signs are fixed (largest loading positive) so the same data always gives the same picture."""
    x = np.asarray(x, np.float32)
    if len(x) < 2:
        return np.zeros((len(x), 2), np.float32), 0.0
    fit = x[np.linspace(0, len(x) - 1, min(len(x), fit_at_most)).astype(np.int64)]
    mean = fit.mean(axis=0)
    fc = (fit - mean).astype(np.float64)
    k = min(10, *fc.shape)
    q = np.linalg.qr(fc @ np.random.default_rng(0).normal(size=(fc.shape[1], k)))[0]
    for _ in range(6):  # power iterations sharpen the leading directions
        q = np.linalg.qr(fc @ (fc.T @ q))[0]
    _u, sing, vt = np.linalg.svd(q.T @ fc, full_matrices=False)
    top = vt[:2].T
    top = top * np.sign(top[np.abs(top).argmax(axis=0), np.arange(top.shape[1])])
    total = float((fc * fc).sum())
    share = float((sing[:2] ** 2).sum() / total) if total > 0 else 0.0
    xy = (x - mean) @ top.astype(np.float32)
    if xy.shape[1] < 2:  # one-dimensional features
        xy = np.pad(xy, ((0, 0), (0, 2 - xy.shape[1])))
    return xy.astype(np.float32), share


def tsne_2d(x: np.ndarray, cancel: CancelToken, seed: int = 0) -> Job[np.ndarray]:
    """t-SNE with openTSNE, run on a helper thread so this job can report progress and stop it."""
    from openTSNE import TSNE

    every = 25
    total = 250 + 500  # openTSNE's early-exaggeration and main iterations
    state = {"calls": 0, "result": None, "error": None}

    def tick(_iteration: int, _error: float, _embedding) -> bool:
        state["calls"] += 1
        return cancel.cancelled  # True stops openTSNE at once

    def fit() -> None:
        try:
            tsne = TSNE(
                n_jobs=max(1, (os.cpu_count() or 2) - 1),  # leave a core to the window
                random_state=seed,
                callbacks=tick,
                callbacks_every_iters=every,
                negative_gradient_method="bh" if len(x) < 2000 else "fft",
            )
            state["result"] = np.asarray(tsne.fit(np.asarray(x, np.float64)), np.float32)
        except Exception as exc:  # re-raised on the job's thread
            state["error"] = exc

    yield Progress(0, total, "t-SNE: finding each crop's neighbours…")
    worker = threading.Thread(target=fit, name="tsne", daemon=True)
    worker.start()
    while worker.is_alive():
        worker.join(0.1)
        done = min(state["calls"] * every, total)
        msg = "t-SNE: finding each crop's neighbours…" if done == 0 else f"t-SNE: iteration {done} of {total}"
        yield Progress(done, total, msg)
    if state["error"] is not None:
        raise state["error"]
    cancel.raise_if_cancelled()
    yield Progress(total, total, "t-SNE: done")
    return state["result"]


@dataclass(frozen=True)
class EmbeddingMap:
    encoder_name: str
    crop_ids: np.ndarray  # N
    xy: np.ndarray  # N×2
    identity: np.ndarray  # N: identity key (smallest crop id), −1 when in no identity
    camera: np.ndarray  # N: camera ids
    paths: list[str]  # N: crop files, for thumbnails
    names: list[str]  # N: "camera/file" for tooltips
    labels: dict[int, str]  # identity key -> its name or ID-xxxx
    camera_names: dict[int, str]
    method: str  # "pca" or "tsne"
    seconds: float  # time spent projecting
    note: str  # what the projection says about itself, for the user

    def __len__(self) -> int:
        return len(self.crop_ids)


def embedding_map(
    project: Project, encoder_id: int, method: str = "pca", cancel: CancelToken | None = None
) -> Job[EmbeddingMap]:
    cancel = cancel or CancelToken()
    encoder = project.encoders.get(encoder_id)
    yield Progress(0, None, f"Loading the embeddings of {encoder.name}…")
    ids, cams, glob, _stripes = project.embeddings.load_all(encoder_id)
    if method not in methods_for(len(ids)):
        why = "is not installed" if not tsne_available() else f"is limited to {MAX_TSNE:,} crops"
        raise ValueError(f"{METHODS.get(method, method)} {why}; the map can use PCA")
    rows = identity_rows(project)
    key_of = {c: r.key for r in rows for c in r.crops}
    identity = np.array([key_of.get(int(c), -1) for c in ids], np.int64)
    paths = project.crops.paths(ids.tolist())
    camera_names = {c.id: c.name for c in project.cameras.all()}
    cancel.raise_if_cancelled()
    t0 = time.perf_counter()
    feats = l2n(glob) if len(glob) else glob
    if method == "tsne":
        xy = yield from tsne_2d(feats, cancel)
        note = f"t-SNE of {len(ids):,} crops: neighbours stay together; distances between islands mean little"
    else:
        yield Progress(0, None, f"PCA of {len(ids):,} embeddings…")
        xy, share = pca_2d(feats)
        note = f"PCA: the two axes hold {share:.0%} of the variance of {len(ids):,} embeddings"
    seconds = time.perf_counter() - t0
    log.info("embedding map: %s of %d crops in %.2f s", method, len(ids), seconds)
    return EmbeddingMap(
        encoder_name=encoder.name,
        crop_ids=ids,
        xy=np.asarray(xy, np.float32).reshape(-1, 2),
        identity=identity,
        camera=cams,
        paths=[str(paths.get(int(c), "")) for c in ids],
        names=[
            f"{camera_names.get(int(cam), '?')}/{paths[int(c)].name}" if int(c) in paths else f"crop {c}"
            for c, cam in zip(ids, cams, strict=True)
        ],
        labels={r.key: r.label for r in rows},
        camera_names=camera_names,
        method=method,
        seconds=seconds,
        note=note,
    )


def embedding_map_job(path, encoder_id: int, method: str, cancel: CancelToken) -> Job[EmbeddingMap]:
    """The map on a read-only connection of its own (for a worker thread)."""
    return project_job(path, lambda p: embedding_map(p, encoder_id, method, cancel), read_only=True)


def inside_polygon(xy: np.ndarray, polygon: np.ndarray) -> np.ndarray:
    """Mask of the points inside a closed polygon (even-odd rule, vectorised over the points):
    what a lasso on the map selects."""
    xy = np.asarray(xy, np.float64).reshape(-1, 2)
    poly = np.asarray(polygon, np.float64).reshape(-1, 2)
    inside = np.zeros(len(xy), bool)
    if len(poly) < 3:
        return inside
    x, y = xy[:, 0], xy[:, 1]
    for (x1, y1), (x2, y2) in zip(poly, np.roll(poly, -1, axis=0), strict=True):
        crosses = (y1 > y) != (y2 > y)  # this edge spans the point's height
        with np.errstate(divide="ignore", invalid="ignore"):
            at = x1 + (y - y1) * (x2 - x1) / (y2 - y1)
        inside ^= crosses & (x < at)
    return inside
