"""Crop rows without image files, for tests of decisions, identities and review logic."""

from __future__ import annotations

from reid_desktop.store import Project


def add_crops(
    project: Project, n: int, camera: str = "cam1", layout: str = "folders", frames: bool = False
) -> list[int]:
    """n crops in `camera` (created when missing), named 0.jpg…; returns their ids in order."""
    cam = project.cameras.by_name(camera) or project.cameras.add(camera, f"/nowhere/{camera}", layout)
    start = len(project.crops.for_camera(cam.id, include_missing=True))
    project.crops.insert_many(
        {
            "camera_id": cam.id,
            "rel_path": f"{i}.jpg",
            "sha256": f"{camera}-{i}",
            "width": 1,
            "height": 1,
            "size_bytes": 1,
            "mtime_ns": 1,
            "frame": i if frames else None,
        }
        for i in range(start, start + n)
    )
    return [c.id for c in project.crops.for_camera(cam.id, include_missing=True)][start:]
