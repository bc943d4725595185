"""Encoder models and their cached embeddings (compact float32 BLOBs)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

import numpy as np

from reid_desktop.store.project import Connection, utc_now
from reid_desktop.store.records import EncoderRecord


class EncoderRepo:
    def __init__(self, conn: Connection) -> None:
        self._c = conn

    def add(self, name: str, file: str, sha256: str, metadata: dict[str, Any] | None = None) -> EncoderRecord:
        with self._c.write() as db:
            cur = db.execute(
                "INSERT INTO models (name, file, sha256, metadata, created_at) VALUES (?, ?, ?, ?, ?)",
                [name, file, sha256, json.dumps(metadata or {}, sort_keys=True), utc_now()],
            )
        return self.get(cur.lastrowid)

    def get(self, encoder_id: int) -> EncoderRecord:
        row = self._c.db.execute(
            "SELECT id, name, file, sha256, metadata, created_at FROM models WHERE id = ?",
            [encoder_id],
        ).fetchone()
        if row is None:
            raise KeyError(f"no model with id {encoder_id}")
        return EncoderRecord(row[0], row[1], row[2], row[3], json.loads(row[4]), row[5])

    def by_name(self, name: str) -> EncoderRecord | None:
        row = self._c.db.execute("SELECT id FROM models WHERE name = ?", [name]).fetchone()
        return self.get(row[0]) if row else None

    def all(self) -> list[EncoderRecord]:
        ids = [r[0] for r in self._c.db.execute("SELECT id FROM models ORDER BY id")]
        return [self.get(i) for i in ids]

    def rename(self, encoder_id: int, name: str) -> EncoderRecord:
        """Names are unique in a project: a taken or empty name raises ValueError (one line)."""
        name = name.strip()
        if not name:
            raise ValueError("a model needs a name")
        other = self.by_name(name)
        if other is not None and other.id != encoder_id:
            raise ValueError(f"the project already has a model named {name}; choose another name")
        self.get(encoder_id)  # KeyError for an unknown model
        with self._c.write() as db:
            db.execute("UPDATE models SET name = ? WHERE id = ?", [name, encoder_id])
        return self.get(encoder_id)


class EmbeddingRepo:
    """Embeddings keyed by (crop, model): global vector D and optional K×d stripe vectors."""

    def __init__(self, conn: Connection) -> None:
        self._c = conn

    def put_many(self, encoder_id: int, items: Iterable[tuple[int, np.ndarray, np.ndarray | None]]) -> int:
        now = utc_now()
        rows = []
        for crop_id, glob, stripes in items:
            g = np.ascontiguousarray(glob, dtype="<f4").reshape(-1)
            s = None if stripes is None else np.ascontiguousarray(stripes, dtype="<f4")
            k, d = (0, 0) if s is None else s.shape
            rows.append(
                (crop_id, encoder_id, g.size, g.tobytes(), k, d, None if s is None else s.tobytes(), now)
            )
        with self._c.write() as db:
            db.conn.executemany(
                "INSERT OR REPLACE INTO embeddings (crop_id, model_id, dim, global_vec, stripes, "
                "stripe_dim, stripe_vecs, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                rows,
            )
        return len(rows)

    def get(self, crop_id: int, encoder_id: int) -> tuple[np.ndarray, np.ndarray | None] | None:
        row = self._c.db.execute(
            "SELECT global_vec, stripes, stripe_dim, stripe_vecs FROM embeddings "
            "WHERE crop_id = ? AND model_id = ?",
            [crop_id, encoder_id],
        ).fetchone()
        if row is None:
            return None
        glob = np.frombuffer(row[0], dtype="<f4")
        stripes = None if row[3] is None else np.frombuffer(row[3], dtype="<f4").reshape(row[1], row[2])
        return glob, stripes

    def missing_crop_ids(self, encoder_id: int) -> list[int]:
        rows = self._c.db.execute(
            "SELECT c.id FROM crops c LEFT JOIN embeddings e ON e.crop_id = c.id AND e.model_id = ? "
            "WHERE c.status = 'present' AND e.crop_id IS NULL ORDER BY c.id",
            [encoder_id],
        )
        return [r[0] for r in rows]

    def load_all(self, encoder_id: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]:
        """(crop_ids, camera_ids, N×D global, N×K×d stripes or None) of present crops, in one query."""
        rows = self._c.db.execute(
            "SELECT e.crop_id, c.camera_id, e.dim, e.global_vec, e.stripes, e.stripe_dim, e.stripe_vecs "
            "FROM embeddings e JOIN crops c ON c.id = e.crop_id "
            "WHERE e.model_id = ? AND c.status = 'present' ORDER BY e.crop_id",
            [encoder_id],
        ).fetchall()
        if not rows:
            return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros((0, 0), np.float32), None
        ids = np.fromiter((r[0] for r in rows), np.int64, len(rows))
        cams = np.fromiter((r[1] for r in rows), np.int64, len(rows))
        dim = rows[0][2]
        glob = np.frombuffer(b"".join(r[3] for r in rows), dtype="<f4").reshape(len(rows), dim)
        stripes = None
        k, d = rows[0][4], rows[0][5]
        if k and all(r[6] is not None and r[4] == k for r in rows):
            stripes = np.frombuffer(b"".join(r[6] for r in rows), dtype="<f4").reshape(len(rows), k, d)
        return ids, cams, glob, stripes

    def fingerprint(self, encoder_id: int) -> str:
        """Changes whenever the set of embeddings of a model (or of present crops) changes."""
        n, last = self._c.db.execute(
            "SELECT count(*), max(e.created_at) FROM embeddings e JOIN crops c ON c.id = e.crop_id "
            "WHERE e.model_id = ? AND c.status = 'present'",
            [encoder_id],
        ).fetchone()
        return f"{encoder_id}:{n}:{last}"

    def count(self, encoder_id: int | None = None) -> int:
        if encoder_id is None:
            return self._c.db.execute("SELECT count(*) FROM embeddings").fetchone()[0]
        return self._c.db.execute(
            "SELECT count(*) FROM embeddings WHERE model_id = ?", [encoder_id]
        ).fetchone()[0]
