"""A per-encoder blob the review code caches in the project (table `queue_cache`). What the blob
holds, its key and when it may be reused are the review code's business (core/review/cache.py)."""

from __future__ import annotations

from reid_desktop.store.project import Connection, utc_now


class ReviewCacheRepo:
    def __init__(self, conn: Connection) -> None:
        self._c = conn

    def get(self, encoder_id: int, key: str) -> bytes | None:
        row = self._c.db.execute(
            "SELECT pairs FROM queue_cache WHERE model_id = ? AND key = ?", [encoder_id, key]
        ).fetchone()
        return row[0] if row else None

    def put(self, encoder_id: int, key: str, blob: bytes) -> None:
        """Replace the encoder's cached blob (one per encoder)."""
        with self._c.write() as db:
            db.execute(
                "INSERT OR REPLACE INTO queue_cache (model_id, key, pairs, created_at) VALUES (?, ?, ?, ?)",
                [encoder_id, key, blob, utc_now()],
            )
