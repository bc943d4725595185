"""Synthetic people for identity-review tests: crop rows in a project plus embeddings that cluster
by person (no images, no encoder), and a ground-truth oracle."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from reid_desktop.core.jobs import run_job
from reid_desktop.core.retrieval.matching import GalleryIndex
from reid_desktop.core.retrieval.neighbours import CropSimilarity, Params, build_similarity
from reid_desktop.store import Project

SMALL = Params(k1=6, k2=3, width=10)  # neighbour lists for a few dozen crops


@dataclass
class People:
    index: GalleryIndex
    similarity: CropSimilarity
    person: dict[int, int]  # crop id -> person
    encoder_id: int

    def same(self, a: int, b: int) -> bool:
        return self.person[a] == self.person[b]

    def fully_grouped(self, identities: dict[int, tuple[int, ...]] | list[tuple[int, ...]]) -> int:
        """People whose crops are exactly one identity."""
        groups = identities.values() if isinstance(identities, dict) else identities
        size: dict[int, int] = {}
        for p in self.person.values():
            size[p] = size.get(p, 0) + 1
        done = 0
        for crops in groups:
            who = {self.person[c] for c in crops}
            if len(who) == 1 and len(crops) == size[next(iter(who))]:
                done += 1
        return done


def add_people(
    project: Project,
    people: int = 6,
    per_camera: int = 3,
    cameras: int = 2,
    *,
    noise: float = 0.35,
    dim: int = 16,
    seed: int = 0,
    params: Params = SMALL,
    frames: bool = False,
) -> People:
    """`people` persons seen `per_camera` times in each camera; embeddings are a per-person
    centre plus noise (and a per-camera shift, as real cameras have)."""
    rng = np.random.default_rng(seed)
    cams = [
        project.cameras.add(f"cam{c + 1}", f"/nowhere/cam{c + 1}", "folders", source_key=str(c))
        for c in range(cameras)
    ]
    rows = []
    for cam in cams:
        for p in range(people):
            for v in range(per_camera):
                rows.append(
                    {
                        "camera_id": cam.id,
                        "rel_path": f"p{p:02d}_v{v}.jpg",
                        "sha256": f"{cam.id}-{p}-{v}",
                        "width": 48,
                        "height": 128,
                        "size_bytes": 1,
                        "mtime_ns": 1,
                        "gt_person": str(p),
                        "frame": (1000 * p + v) if frames else None,
                    }
                )
    project.crops.insert_many(rows)
    crops = project.crops.all()
    centres = rng.normal(size=(people, dim))
    cam_shift = {cam.id: rng.normal(size=dim) * 0.3 for cam in cams}
    feats = np.stack(
        [centres[int(c.gt_person)] + cam_shift[c.camera_id] + rng.normal(size=dim) * noise for c in crops]
    )
    stripes = rng.normal(size=(len(crops), 4, 8)).astype(np.float32)
    index = GalleryIndex(
        np.array([c.id for c in crops]),
        np.array([c.camera_id for c in crops]),
        feats.astype(np.float32),
        stripes,
    )
    frame_arr = np.array([np.nan if c.frame is None else c.frame for c in crops]) if frames else None
    sim = run_job(build_similarity(index.feats, index.cameras, frame_arr, params))
    encoder = project.encoders.add("synthetic", "/nowhere/m.onnx", "sha", {})
    return People(index, sim, {c.id: int(c.gt_person) for c in crops}, encoder.id)
