"""Decide whether a file may be opened as a project, without changing it.

DESIGN §7: SQLite's POSIX locks belong to the process, and closing *any* descriptor of the file drops
them all, including those of connections that are open in this process. So the file is never
opened with plain file I/O: every look goes through SQLite, whose unix VFS shares one descriptor set
per file inside the process and defers closes while locks are held.
"""

from __future__ import annotations

import contextlib
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from reid_desktop.store.errors import NotAProjectError, ProjectError, SchemaTooNewError
from reid_desktop.store.schema import APPLICATION_ID, MIGRATION_NAMES, SCHEMA_VERSION


@dataclass(frozen=True)
class FileState:
    """What a vetted project file holds, read without writing anything."""

    user_version: int
    application_id: int
    empty: bool  # a zero-byte file: a creation that never finished

    @property
    def needs_migration(self) -> bool:
        return self.empty or self.user_version < SCHEMA_VERSION or self.application_id != APPLICATION_ID


def wal_path(path: Path) -> Path:
    return path.with_name(path.name + "-wal")


def has_wal_content(path: Path) -> bool:
    try:
        return wal_path(path).stat().st_size > 0
    except OSError:
        return False


def sqlite_uri(path: Path, **params: str) -> str:
    query = "&".join(f"{k}={v}" for k, v in params.items())
    return path.absolute().as_uri() + (f"?{query}" if query else "")


@contextlib.contextmanager
def snapshot(path: Path):
    """A read-only connection that sees committed WAL content when there is any, else the main file
    alone (immutable: no -wal/-shm created, works on full disks and read-only media)."""
    uri = sqlite_uri(path, mode="ro") if has_wal_content(path) else sqlite_uri(path, mode="ro", immutable="1")
    conn = sqlite3.connect(uri, uri=True, isolation_level=None)
    try:
        yield conn
    finally:
        conn.close()


def vet(path: Path) -> FileState:
    """Refuse files that must not be opened (not SQLite, another program's database, a newer
    schema); never writes, so a refused file, its -wal and -shm are left exactly as they were."""
    if path.is_dir():
        raise NotAProjectError(f"{path} is a folder, not a project file.")
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise ProjectError(f"Cannot read {path}: {exc.strerror or exc}.") from exc
    if size == 0 and not has_wal_content(path):
        return FileState(0, 0, empty=True)
    try:
        with snapshot(path) as conn:
            cookie = conn.execute("PRAGMA schema_version").fetchone()[0]
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            app_id = conn.execute("PRAGMA application_id").fetchone()[0]
            applied = _applied_migrations(conn) if app_id == APPLICATION_ID else []
    except sqlite3.DatabaseError as exc:
        text = str(exc)
        if "not a database" in text or "malformed" in text:
            raise NotAProjectError(
                f"{path.name} is not a reid-desktop project (not a SQLite file, or damaged)."
            ) from exc
        raise ProjectError(f"Cannot read {path.name}: {text}.") from exc
    if app_id != APPLICATION_ID and (cookie or version):
        raise NotAProjectError(
            f"{path.name} is a SQLite database of another program, not a reid-desktop project."
        )
    refuse_newer(path, version, applied)
    return FileState(version, app_id, empty=False)


def _applied_migrations(conn: sqlite3.Connection) -> list[str]:
    row = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = '_sqlite_migrations'"
    ).fetchone()
    if row is None:
        return []
    return [r[0] for r in conn.execute("SELECT name FROM _sqlite_migrations ORDER BY id")]


def refuse_newer(path: Path, version: int, applied: list[str] = ()) -> None:
    """PRAGMA user_version is the schema version; a migration name this release does not know
    means the same thing (a newer or diverging release wrote the file)."""
    unknown = [n for n in applied if n not in MIGRATION_NAMES]
    if version > SCHEMA_VERSION or unknown:
        what = f"schema {version}" if version > SCHEMA_VERSION else f"migration {unknown[0]}"
        raise SchemaTooNewError(
            f"{path.name} was saved by a newer reid-desktop ({what}; this version understands up "
            f"to schema {SCHEMA_VERSION}). Update reid-desktop to open it; the file was left unchanged."
        )
