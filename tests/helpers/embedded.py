"""Projects with stored embeddings but no image files: for reports and maps, which read
embeddings (an encoder is only run for crops that lack one)."""

from __future__ import annotations

import numpy as np

from reid_desktop.store import Project


def embedded_project(
    project: Project,
    *,
    people: int = 6,
    per_camera: int = 2,
    cameras: int = 2,
    dim: int = 16,
    noise: float = 0.6,
    seed: int = 0,
    root: str = "/nonexistent",
) -> tuple[int, dict[tuple[int, int, int], int]]:
    """Cameras cam1…, crops `p{person}_v{variant}.jpg` (gt_person set) and one encoder whose
    embedding of a crop is its person's centre plus noise. Returns (encoder id, {(person,
    camera index, variant): crop id})."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(people, dim))
    ids: dict[tuple[int, int, int], int] = {}
    for c in range(cameras):
        cam = project.cameras.add(f"cam{c + 1}", f"{root}/cam{c + 1}", "folders")
        rows = [
            {
                "camera_id": cam.id,
                "rel_path": f"p{p:03d}_v{v}.jpg",
                "sha256": f"{c}-{p}-{v}",
                "width": 48,
                "height": 128,
                "size_bytes": 1,
                "mtime_ns": 0,
                "gt_person": str(p),
            }
            for p in range(people)
            for v in range(per_camera)
        ]
        project.crops.insert_many(rows)
        for crop in project.crops.for_camera(cam.id):
            p, v = int(crop.rel_path[1:4]), int(crop.rel_path[6])
            ids[(p, c, v)] = crop.id
    enc = project.encoders.add("synthetic", "/nonexistent/synthetic.onnx", "0" * 64)
    project.set_active_encoder(enc.id)
    items = []
    for (p, _c, _v), crop_id in sorted(ids.items()):
        vec = (centres[p] + noise * rng.normal(size=dim)).astype(np.float32)
        items.append((crop_id, vec, None))
    project.embeddings.put_many(enc.id, items)
    return enc.id, ids


def confirm_people(
    project: Project,
    ids: dict[tuple[int, int, int], int],
    people: list[int],
    *,
    different: int = 0,
    seed: int = 0,
) -> None:
    """Join every crop of each listed person with "same" decisions, and record `different`
    "different" verdicts between random crops of two listed people."""
    by_person: dict[int, list[int]] = {}
    for (p, _c, _v), crop in sorted(ids.items()):
        if p in people:
            by_person.setdefault(p, []).append(crop)
    with project.write():
        for crops in by_person.values():
            for a, b in zip(crops, crops[1:], strict=False):
                project.decisions.record(a, b, "same", operator="test")
        rng = np.random.default_rng(seed)
        keys = sorted(by_person)
        for _ in range(different):
            pa, pb = rng.choice(keys, 2, replace=False)
            a, b = rng.choice(by_person[int(pa)]), rng.choice(by_person[int(pb)])
            project.decisions.record(int(a), int(b), "different", operator="test")
