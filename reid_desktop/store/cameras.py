"""Cameras, crops and the skipped-file report."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from reid_desktop.store.project import Connection, utc_now
from reid_desktop.store.records import Camera, CameraStats, Crop, SkippedFile

CAMERA_COLUMNS = "id, name, root, layout, added_at, source_key"
CROP_COLUMNS = (
    "id, camera_id, rel_path, sha256, width, height, size_bytes, mtime_ns, frame, timestamp, "
    "gt_person, status"
)


def _crop(row: Sequence[Any]) -> Crop:
    return Crop(*row)


class CameraRepo:
    def __init__(self, conn: Connection) -> None:
        self._c = conn

    def add(self, name: str, root: str, layout: str, source_key: str = "") -> Camera:
        with self._c.write() as db:
            cur = db.execute(
                "INSERT INTO cameras (name, root, layout, source_key, added_at) VALUES (?, ?, ?, ?, ?)",
                [name, root, layout, source_key, utc_now()],
            )
            return self.get(cur.lastrowid)

    def get(self, camera_id: int) -> Camera:
        row = self._c.db.execute(f"SELECT {CAMERA_COLUMNS} FROM cameras WHERE id = ?", [camera_id]).fetchone()
        if row is None:
            raise KeyError(f"no camera with id {camera_id}")
        return Camera(*row)

    def by_name(self, name: str) -> Camera | None:
        row = self._c.db.execute(f"SELECT {CAMERA_COLUMNS} FROM cameras WHERE name = ?", [name]).fetchone()
        return Camera(*row) if row else None

    def all(self) -> list[Camera]:
        rows = self._c.db.execute(f"SELECT {CAMERA_COLUMNS} FROM cameras ORDER BY name").fetchall()
        return [Camera(*r) for r in rows]

    def set_root(self, old_root: str, new_root: str) -> int:
        """Point every camera of a source folder at its new location; returns how many."""
        with self._c.write() as db:
            cur = db.execute("UPDATE cameras SET root = ? WHERE root = ?", [new_root, old_root])
            db.execute("UPDATE skipped_files SET source_root = ? WHERE source_root = ?", [new_root, old_root])
            return cur.rowcount

    def rename(self, camera_id: int, name: str) -> None:
        with self._c.write() as db:
            db.execute("UPDATE cameras SET name = ? WHERE id = ?", [name, camera_id])

    def stats(self) -> list[CameraStats]:
        counts = {
            (cid, status): n
            for cid, status, n in self._c.db.execute(
                "SELECT camera_id, status, count(*) FROM crops GROUP BY camera_id, status"
            )
        }
        skipped = dict(
            self._c.db.execute("SELECT camera_id, count(*) FROM skipped_files GROUP BY camera_id").fetchall()
        )
        return [
            CameraStats(
                cam,
                counts.get((cam.id, "present"), 0),
                counts.get((cam.id, "missing"), 0),
                skipped.get(cam.id, 0),
            )
            for cam in self.all()
        ]


class CropRepo:
    def __init__(self, conn: Connection) -> None:
        self._c = conn

    def insert_many(self, crops: Iterable[dict[str, Any]]) -> int:
        """Insert new crops (dicts with Crop's fields, no id); returns how many were written."""
        now = utc_now()
        rows = [
            (
                c["camera_id"],
                c["rel_path"],
                c["sha256"],
                c["width"],
                c["height"],
                c["size_bytes"],
                c["mtime_ns"],
                c.get("frame"),
                c.get("timestamp"),
                c.get("gt_person"),
                now,
            )
            for c in crops
        ]
        with self._c.write() as db:
            db.conn.executemany(
                "INSERT INTO crops (camera_id, rel_path, sha256, width, height, size_bytes, "
                "mtime_ns, frame, timestamp, gt_person, added_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                rows,
            )
        return len(rows)

    def get(self, crop_id: int) -> Crop:
        row = self._c.db.execute(f"SELECT {CROP_COLUMNS} FROM crops WHERE id = ?", [crop_id]).fetchone()
        if row is None:
            raise KeyError(f"no crop with id {crop_id}")
        return _crop(row)

    def for_camera(self, camera_id: int, *, include_missing: bool = False) -> list[Crop]:
        where = "camera_id = ?" + ("" if include_missing else " AND status = 'present'")
        rows = self._c.db.execute(
            f"SELECT {CROP_COLUMNS} FROM crops WHERE {where} ORDER BY rel_path", [camera_id]
        )
        return [_crop(r) for r in rows]

    def all(self, *, include_missing: bool = False) -> list[Crop]:
        where = "" if include_missing else "WHERE status = 'present'"
        rows = self._c.db.execute(f"SELECT {CROP_COLUMNS} FROM crops {where} ORDER BY id")
        return [_crop(r) for r in rows]

    def paths(
        self, crop_ids: Iterable[int] | None = None, *, include_missing: bool = False
    ) -> dict[int, Path]:
        """crop id -> file path (camera folder / relative path): the one place that joins them."""
        where = "" if include_missing else "WHERE c.status = 'present'"
        rows = self._c.db.execute(
            f"SELECT c.id, m.root, c.rel_path FROM crops c JOIN cameras m ON m.id = c.camera_id {where}"
        )
        wanted = None if crop_ids is None else set(crop_ids)
        return {i: Path(root) / rel for i, root, rel in rows if wanted is None or i in wanted}

    def by_sha(self) -> dict[str, tuple[int, int, str, str]]:
        """sha256 -> (crop_id, camera_id, rel_path, status) of every known crop."""
        rows = self._c.db.execute("SELECT sha256, id, camera_id, rel_path, status FROM crops")
        return {sha: (i, cid, rel, st) for sha, i, cid, rel, st in rows}

    def relocate(self, moves: Iterable[dict[str, Any]]) -> None:
        """Point crops at the file they were renamed or moved to; ids (and decisions) stay."""
        with self._c.write() as db:
            db.conn.executemany(
                "UPDATE crops SET camera_id = :camera_id, rel_path = :rel_path, sha256 = :sha256, "
                "width = :width, height = :height, size_bytes = :size_bytes, "
                "mtime_ns = :mtime_ns, status = 'present' WHERE id = :id",
                list(moves),
            )

    def set_status(self, crop_ids: Iterable[int], status: str) -> None:
        with self._c.write() as db:
            db.conn.executemany("UPDATE crops SET status = ? WHERE id = ?", [(status, i) for i in crop_ids])

    def update_files(self, updates: Iterable[dict[str, Any]]) -> None:
        """Refresh size/mtime (and dims/hash) of crops whose file changed or came back."""
        with self._c.write() as db:
            db.conn.executemany(
                "UPDATE crops SET sha256 = :sha256, width = :width, height = :height, "
                "size_bytes = :size_bytes, mtime_ns = :mtime_ns, status = 'present' WHERE id = :id",
                list(updates),
            )

    def count(self, *, status: str = "present") -> int:
        return self._c.db.execute("SELECT count(*) FROM crops WHERE status = ?", [status]).fetchone()[0]


class SkippedRepo:
    """Files the last scan of a source folder refused, with the reason a user can act on."""

    def __init__(self, conn: Connection) -> None:
        self._c = conn

    def replace_for_root(self, source_root: str, items: Iterable[SkippedFile]) -> None:
        with self._c.write() as db:
            db.execute("DELETE FROM skipped_files WHERE source_root = ?", [source_root])
            db.conn.executemany(
                "INSERT INTO skipped_files (camera_id, source_root, path, reason, seen_at) "
                "VALUES (:camera_id, :source_root, :path, :reason, :seen_at)",
                [asdict(i) for i in items],
            )

    def all(self) -> list[SkippedFile]:
        rows = self._c.db.execute(
            "SELECT camera_id, source_root, path, reason, seen_at FROM skipped_files ORDER BY path"
        )
        return [SkippedFile(*r) for r in rows]
