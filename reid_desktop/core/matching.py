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

    def __init__(self, crop_ids: np.ndarray, cameras: np.ndarray, glob: np.ndarray,
                 stripes: np.ndarray | None) -> None:
        self.crop_ids = np.asarray(crop_ids, dtype=np.int64)
        self.cameras = np.asarray(cameras, dtype=np.int64)
        self.feats = l2n(np.asarray(glob, dtype=np.float32))
        self._row = {int(c): i for i, c in enumerate(self.crop_ids)}
        self.stripes: np.ndarray | None = None
        if stripes is not None and len(stripes):
            centred = stripes - stripes.mean(axis=0, keepdims=True)
            self.stripes = l2n(centred, axis=2)  # N×K×d

    @classmethod
    def from_project(cls, project: Project, model_id: int) -> GalleryIndex:
        return cls(*project.embeddings.load_all(model_id))

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

    def cross_camera_topk(self, k: int, block: int = 2048) -> tuple[np.ndarray, np.ndarray]:
        """Top-k other-camera neighbours of every row: (N×k row indices, N×k scores), blocked so
        memory stays at block×N."""
        n = len(self)
        k = max(1, min(k, n - 1))
        idx = np.zeros((n, k), np.int64)
        val = np.full((n, k), -np.inf, np.float32)
        for start in range(0, n, block):
            s = self.feats[start : start + block] @ self.feats.T
            same = self.cameras[start : start + block, None] == self.cameras[None, :]
            s[same] = -np.inf
            part = np.argpartition(-s, k - 1, axis=1)[:, :k]
            ps = np.take_along_axis(s, part, 1)
            order = np.argsort(-ps, axis=1, kind="stable")
            idx[start : start + block] = np.take_along_axis(part, order, 1)
            val[start : start + block] = np.take_along_axis(ps, order, 1)
        return idx, val
