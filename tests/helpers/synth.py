"""Synthetic person crops drawn with numpy/PIL: a head, a torso and legs in per-person colours."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image


def person_crop(person: int, variant: int, seed: int = 0, size: tuple[int, int] = (48, 128)) -> Image.Image:
    w, h = size
    rng = np.random.default_rng(person * 1000 + variant * 7 + seed)
    colours = np.random.default_rng(person).integers(30, 230, size=(3, 3))
    img = np.full((h, w, 3), 90 + 20 * (seed % 3), np.uint8)
    bands = [(0.05, 0.22, 0), (0.22, 0.58, 1), (0.58, 0.98, 2)]
    for top, bottom, c in bands:
        y0, y1 = int(top * h), int(bottom * h)
        x0, x1 = int(0.2 * w), int(0.8 * w)
        img[y0:y1, x0:x1] = colours[c]
    noise = rng.integers(-12, 12, size=img.shape)
    return Image.fromarray(np.clip(img.astype(int) + noise, 0, 255).astype(np.uint8))


def make_camera_folder(folder: Path, people: int, per_person: int, seed: int) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for p in range(people):
        for v in range(per_person):
            person_crop(p, v, seed).save(folder / f"p{p:03d}_v{v}_s{seed}.jpg", quality=92)
    return folder


def labelled_folder(root: Path, people: int = 6, per_cam: int = 2) -> Path:
    """`people` synthetic people in cam1/ and cam2/, `per_cam` crops each, with ground_truth.csv
    (what `reid-train --data` and `reid eval` read)."""
    rows = ["file,person_id,camera"]
    for cam, seed in (("cam1", 1), ("cam2", 2)):
        (root / cam).mkdir(parents=True, exist_ok=True)
        for p in range(people):
            for v in range(per_cam):
                name = f"{cam}/p{p}_{v}.jpg"
                person_crop(p, v, seed=seed).save(root / name)
                rows.append(f"{name},{p},{cam}")
    (root / "ground_truth.csv").write_text("\n".join(rows) + "\n")
    return root
