"""Opening, creating and locking a .reidproj project file."""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
import stat
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

from sqlite_utils import Database

from .errors import (
    NotAProjectError,
    ProjectError,
    ProjectExistsError,
    ReadOnlyProjectError,
    SchemaTooNewError,
)
from .schema import APPLICATION_ID, SCHEMA_VERSION, migrations

log = logging.getLogger(__name__)

SUFFIX = ".reidproj"
SQLITE_HEADER = b"SQLite format 3\x00"
BUSY_TIMEOUT_MS = 15_000


def utc_now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


def _inspect_existing(path: Path) -> None:
    """Refuse files we must not touch. Reads the SQLite header bytes only: even a read-only
    connection would leave -wal/-shm files beside a file we then refuse."""
    if path.is_dir():
        raise NotAProjectError(f"{path} is a folder, not a project file.")
    try:
        with path.open("rb") as fh:
            header = fh.read(100)
    except OSError as exc:
        raise ProjectError(f"Cannot read {path}: {exc.strerror or exc}.") from exc
    if len(header) < 100 or not header.startswith(SQLITE_HEADER):
        raise NotAProjectError(f"{path.name} is not a reid-desktop project (not a SQLite file).")
    schema_cookie = int.from_bytes(header[40:44], "big")
    version = int.from_bytes(header[60:64], "big")
    app_id = int.from_bytes(header[68:72], "big")
    if app_id != APPLICATION_ID and (schema_cookie or version):
        raise NotAProjectError(
            f"{path.name} is a SQLite database of another program, not a reid-desktop project."
        )
    _refuse_newer(path, version)


def _refuse_newer(path: Path, version: int) -> None:
    if version > SCHEMA_VERSION:
        raise SchemaTooNewError(
            f"{path.name} was saved by a newer reid-desktop (schema {version}; this version "
            f"understands up to {SCHEMA_VERSION}). Update reid-desktop to open it; the file was "
            "left unchanged."
        )


def _check_writable(path: Path) -> None:
    st = path.stat()
    # Root ignores permission bits, so honour a file the user explicitly marked read-only.
    if not os.access(path, os.W_OK) or not st.st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH):
        raise ReadOnlyProjectError(
            f"{path.name} is read-only, so decisions could not be saved. Make it writable or "
            "copy it to a writable folder; the file was left unchanged."
        )
    if not os.access(path.parent, os.W_OK):
        raise ReadOnlyProjectError(
            f"The folder {path.parent} is read-only; a project needs to write a journal beside "
            "its file. Copy the project to a writable folder."
        )


class Connection:
    """A configured sqlite-utils Database plus a write-transaction helper."""

    def __init__(self, path: Path) -> None:
        self.path = path
        conn = sqlite3.connect(str(path), timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
        self.db = Database(conn)
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        conn.execute("PRAGMA foreign_keys = ON")
        mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if str(mode).lower() != "wal":
            log.warning("journal_mode is %s, not WAL; concurrent writers will wait longer", mode)
        conn.execute("PRAGMA synchronous = NORMAL")

    @contextlib.contextmanager
    def write(self) -> Iterator[Database]:
        """One write transaction; BEGIN IMMEDIATE so a second writer waits instead of failing."""
        conn = self.db.conn
        if conn.in_transaction:
            with self.db.atomic():
                yield self.db
            return
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield self.db
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    def migrate(self) -> None:
        with self.write() as db:
            # The header read earlier can lag a WAL that was never checkpointed: check again.
            _refuse_newer(self.path, db.execute("PRAGMA user_version").fetchone()[0])
            migrations.apply(db)
            db.execute(f"PRAGMA application_id = {APPLICATION_ID}")
            db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    def close(self) -> None:
        self.db.close()


def open_connection(path: str | os.PathLike[str], *, create: bool) -> Connection:
    """Open (or create) a project file after checking it is safe to write."""
    p = Path(path).expanduser().absolute()
    if create:
        if p.exists():
            raise ProjectExistsError(f"{p} already exists; open it instead of creating it.")
        if p.suffix != SUFFIX:
            p = p.with_name(p.name + SUFFIX)
            if p.exists():
                raise ProjectExistsError(f"{p} already exists; open it instead of creating it.")
        if not p.parent.is_dir():
            raise ProjectError(f"The folder {p.parent} does not exist.")
        if not os.access(p.parent, os.W_OK):
            raise ReadOnlyProjectError(f"Cannot create a project in read-only folder {p.parent}.")
    else:
        if not p.exists():
            raise ProjectError(f"No project file at {p}.")
        _inspect_existing(p)
        _check_writable(p)
    try:
        conn = Connection(p)
    except sqlite3.DatabaseError as exc:
        raise NotAProjectError(f"{p.name} is damaged or not a SQLite database ({exc}).") from exc
    try:
        conn.migrate()
    except ProjectError:
        conn.close()
        raise
    except sqlite3.DatabaseError as exc:
        conn.close()
        raise ProjectError(f"Cannot prepare {p.name}: {exc}.") from exc
    return conn
