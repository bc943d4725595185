"""Cross-camera matching over cached embeddings: top-k candidates and K×K stripe matrices.

Global vectors rank (cosine); stripes explain. Raw stripe cosines of post-ReLU features are
uniformly high (0.88–0.98 for anyone, DESIGN.md §3), so stripes are centred on the collection's
mean stripe vector before normalising: then the same person sits near 0.6 and strangers near 0.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from reid_desktop.store import Project


def l2n(x: np.ndarray, axis: int = -1) -> np.ndarray:
    n = np.linalg.norm(x, axis=axis, keepdims=True)
    return (x / np.maximum(n, 1e-12)).astype(np.float32, copy=False)


@dataclass(frozen=True)
class Candidate:
    crop_id: int
    score: float  # cosine of the global embeddings


class GalleryIndex:
    """All embeddings of one model, normalised, in memory. Build with `from_project`."""

    def __init__(
        self, crop_ids: np.ndarray, cameras: np.ndarray, glob: np.ndarray, stripes: np.ndarray | None
    ) -> None:
        self.crop_ids = np.asarray(crop_ids, dtype=np.int64)
        self.cameras = np.asarray(cameras, dtype=np.int64)
        self.feats = l2n(np.asarray(glob, dtype=np.float32))
        self._row = {int(c): i for i, c in enumerate(self.crop_ids)}
        self.stripes: np.ndarray | None = None
        if stripes is not None and len(stripes):
            centred = stripes - stripes.mean(axis=0, keepdims=True)
            self.stripes = l2n(centred, axis=2)  # N×K×d

    @classmethod
    def from_project(cls, project: Project, encoder_id: int) -> GalleryIndex:
        return cls(*project.embeddings.load_all(encoder_id))

    def __len__(self) -> int:
        return len(self.crop_ids)

    def __contains__(self, crop_id: int) -> bool:
        return int(crop_id) in self._row

    def row(self, crop_id: int) -> int:
        try:
            return self._row[int(crop_id)]
        except KeyError:
            raise KeyError(f"crop {crop_id} has no embedding for this model") from None

    def scores(self, crop_id: int) -> np.ndarray:
        return self.feats @ self.feats[self.row(crop_id)]

    def topk(self, crop_id: int, k: int = 50, *, same_camera: bool = False) -> list[Candidate]:
        """The k best candidates for a crop, excluding itself and (by default) its own camera."""
        r = self.row(crop_id)
        s = self.feats @ self.feats[r]
        mask = np.zeros(len(s), bool) if same_camera else self.cameras == self.cameras[r]
        mask[r] = True
        s = np.where(mask, -np.inf, s)
        k = min(k, int((~mask).sum()))
        if k <= 0:
            return []
        part = np.argpartition(-s, k - 1)[:k]
        order = part[np.lexsort((self.crop_ids[part], -s[part]))]  # score desc, then id: stable
        return [Candidate(int(self.crop_ids[i]), float(s[i])) for i in order]

    def stripe_matrix(self, a: int, b: int) -> np.ndarray:
        """K×K matrix: cell (i, j) = cosine of centred stripe i of crop a and stripe j of crop b."""
        if self.stripes is None:
            raise ValueError("this model has no stripe features")
        return self.stripes[self.row(a)] @ self.stripes[self.row(b)].T

    def cross_camera_topk(
        self, k: int, block: int = 2048, sample: int = 512
    ) -> tuple[np.ndarray, np.ndarray]:
        """Top-k other-camera neighbours of every row: (N×k row indices, N×k scores; -inf where a
        row has fewer than k), blocked so memory stays at block×N.

        A full argpartition per row dominated (seconds for 10,000 crops). Instead each row's k-th
        best score among `sample` random columns is a lower bound on its true k-th best; only
        columns above it (a handful) are sorted exactly. Rows the sample cannot bound fall back to
        argpartition, so the result is exact either way.
        """
        n = len(self)
        k = max(1, min(k, n - 1))
        idx = np.zeros((n, k), np.int64)
        val = np.full((n, k), -np.inf, np.float32)
        # Work in camera order: a row's own-camera columns are then one contiguous slice to mask.
        perm = np.argsort(self.cameras, kind="stable")
        feats, cams = self.feats[perm], self.cameras[perm]
        bounds = {
            c: (lo, hi)
            for c, lo, hi in zip(
                *np.unique(cams, return_index=True),
                np.append(np.unique(cams, return_index=True)[1][1:], n),
                strict=True,
            )
        }
        cols = np.random.default_rng(0).choice(n, size=min(sample, n), replace=False)
        for start in range(0, n, block):
            stop = min(start + block, n)
            s = feats[start:stop] @ feats.T
            for c in np.unique(cams[start:stop]):
                rlo, rhi = bounds[c]
                s[max(rlo, start) - start : min(rhi, stop) - start, rlo:rhi] = -np.inf
            thr = np.partition(s[:, cols], -k, axis=1)[:, -k] if len(cols) >= k else np.full(len(s), -np.inf)
            bounded = np.isfinite(thr)
            if bounded.all():
                r, c = np.nonzero(s >= thr[:, None])
                v = s[r, c]
                rows_b = np.arange(len(s))
            else:
                rows_b = np.flatnonzero(bounded)
                r, c = np.nonzero(s[rows_b] >= thr[rows_b, None])
                v = s[rows_b[r], c]
            if len(r):
                order = np.lexsort((perm[c], -v, r))  # by row, score desc, then original index
                r, c, v = r[order], c[order], v[order]
                first = np.searchsorted(r, np.arange(len(rows_b)))
                rank = np.arange(len(r)) - first[r]
                keep = rank < k
                out_rows = perm[start + rows_b[r[keep]]]
                idx[out_rows, rank[keep]] = perm[c[keep]]
                val[out_rows, rank[keep]] = v[keep]
            for i in np.flatnonzero(~bounded):  # too few other-camera columns in the sample
                row = s[i]
                kk = min(k, int(np.isfinite(row).sum()))
                if kk == 0:
                    continue
                part = np.argpartition(-row, kk - 1)[:kk]
                part = part[np.lexsort((perm[part], -row[part]))]
                idx[perm[start + i], :kk] = perm[part]
                val[perm[start + i], :kk] = row[part]
        return idx, val
