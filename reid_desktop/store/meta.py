"""Small project-wide settings (active model, defaults) in the `meta` table."""

from __future__ import annotations

from reid_desktop.store.project import Connection


class MetaRepo:
    def __init__(self, conn: Connection) -> None:
        self._c = conn

    def get(self, key: str, default: str | None = None) -> str | None:
        row = self._c.db.execute("SELECT value FROM meta WHERE key = ?", [key]).fetchone()
        return row[0] if row else default

    def set(self, key: str, value: str | None) -> None:
        with self._c.write() as db:
            if value is None:
                db.execute("DELETE FROM meta WHERE key = ?", [key])
            else:
                db.execute(
                    "INSERT INTO meta (key, value) VALUES (?, ?) "
                    "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                    [key, value],
                )
