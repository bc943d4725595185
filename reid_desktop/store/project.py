"""Opening, creating and locking a .reidproj project file."""

from __future__ import annotations

import contextlib
import logging
import os
import re
import shutil
import sqlite3
import stat
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

try:
    import resource
except ImportError:  # Windows
    resource = None  # type: ignore[assignment]

from sqlite_utils import Database

from reid_desktop.store.errors import (
    DiskFullError,
    NotAProjectError,
    ProjectError,
    ProjectExistsError,
    ReadOnlyProjectError,
)
from reid_desktop.store.schema import APPLICATION_ID, SCHEMA_VERSION, migrations
from reid_desktop.store.vetting import FileState, has_wal_content, refuse_newer, sqlite_uri, vet, wal_path

log = logging.getLogger(__name__)

SUFFIX = ".reidproj"
BUSY_TIMEOUT_MS = 15_000


def utc_now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


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


def translate(exc: sqlite3.Error, path: Path) -> ProjectError | None:
    """One readable sentence for a failure of the file or the disk (None for other errors, such as
    constraint violations, which are the caller's business)."""
    if isinstance(exc, sqlite3.IntegrityError | sqlite3.ProgrammingError | sqlite3.InterfaceError):
        return None
    text = str(exc)
    no_room = "full" in text or ("disk I/O error" in text and _out_of_room(path))
    if isinstance(exc, sqlite3.OperationalError) and no_room:
        return DiskFullError(
            f"Cannot save to {path.name}: the disk is full. Free some space and try again; "
            "everything saved before is kept."
        )
    if "malformed" in text or "not a database" in text:
        return NotAProjectError(f"{path.name} is damaged ({text}).")
    if "readonly" in text or "read-only" in text:
        return ReadOnlyProjectError(f"Cannot save to {path.name}: {text}.")
    if "disk I/O error" in text:
        return ProjectError(f"Cannot read or write {path.name}: disk I/O error (is the disk full?).")
    if "locked" in text or "busy" in text:
        return ProjectError(f"{path.name} is busy in another program for too long ({text}); try again.")
    return None


def _out_of_room(path: Path) -> bool:
    """An I/O error on write is a full disk when the folder has next to no free space, or a
    file-size limit (ulimit -f) is in force."""
    with contextlib.suppress(OSError):
        if shutil.disk_usage(path.parent).free < 1 << 20:
            return True
    return resource is not None and resource.getrlimit(resource.RLIMIT_FSIZE)[0] != -1


class Connection:
    """A configured sqlite-utils Database plus a write-transaction helper."""

    def __init__(self, path: Path, *, read_only: bool = False) -> None:
        self.path = path
        self.read_only = read_only
        conn = _connect_read_only(path) if read_only else _connect(str(path))
        self.db = Database(conn)
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        conn.execute("PRAGMA foreign_keys = ON")
        if read_only:
            conn.execute("PRAGMA query_only = ON")
            return
        mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if str(mode).lower() != "wal":
            log.warning("journal_mode is %s, not WAL; concurrent writers will wait longer", mode)
        conn.execute("PRAGMA synchronous = NORMAL")

    @contextlib.contextmanager
    def write(self) -> Iterator[Database]:
        """One write transaction; BEGIN IMMEDIATE so a second writer waits instead of failing."""
        if self.read_only:
            raise ReadOnlyProjectError(f"{self.path.name} is open read-only; nothing can be saved.")
        conn = self.db.conn
        if conn.in_transaction:
            with self.db.atomic():
                yield self.db
            return
        try:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield self.db
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
        except sqlite3.Error as exc:
            if conn.in_transaction:
                with contextlib.suppress(sqlite3.Error):
                    conn.execute("ROLLBACK")
            raise (translate(exc, self.path) or exc) from exc

    def migrate(self, state: FileState | None = None) -> None:
        """Bring the file to this release's schema; writes nothing when it is already there."""
        if state is not None and not state.needs_migration and not migrations.pending(self.db):
            return
        with self.write() as db:
            # The vetting snapshot can lag another process's commit: check again under the lock.
            refuse_newer(self.path, db.execute("PRAGMA user_version").fetchone()[0])
            migrations.apply(db)
            db.execute(f"PRAGMA application_id = {APPLICATION_ID}")
            db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    def close(self) -> None:
        self.db.close()


def _connect(target: str, *, uri: bool = False) -> sqlite3.Connection:
    return sqlite3.connect(target, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None, uri=uri)


def _connect_read_only(path: Path) -> sqlite3.Connection:
    """Reads without creating or changing any file. A project closed cleanly has no -wal: its main
    file is read as immutable (works on full disks and read-only media). Otherwise mode=ro takes
    part in WAL locking; where it cannot (no room for the -shm index, read-only media) and no WAL
    content is pending, the main file alone is read the same way."""
    immutable = sqlite_uri(path, mode="ro", immutable="1")
    if not wal_path(path).exists():
        return _connect(immutable, uri=True)
    try:
        conn = _connect(sqlite_uri(path, mode="ro"), uri=True)
        conn.execute("PRAGMA schema_version").fetchone()
        return conn
    except sqlite3.OperationalError as exc:
        if has_wal_content(path):
            raise ProjectError(f"Cannot read {path.name}: {exc}.") from exc
        log.info("reading %s as immutable (%s)", path, exc)
        return _connect(immutable, uri=True)


def _with_suffix(path: Path) -> Path:
    return path if path.suffix == SUFFIX else path.with_name(path.name + SUFFIX)


def _create(p: Path) -> None:
    """Initialise the file under a temporary name, then link it into place: a killed creation
    leaves no half-made project at the user's path."""
    if not p.parent.is_dir():
        raise ProjectError(f"The folder {p.parent} does not exist.")
    if not os.access(p.parent, os.W_OK):
        raise ReadOnlyProjectError(f"Cannot create a project in read-only folder {p.parent}.")
    _remove_stale_creations(p)
    tmp = p.with_name(f".{p.name}.creating-{os.getpid()}")
    try:
        conn = _connect(str(tmp))
        try:
            db = Database(conn)
            with db.atomic():
                migrations.apply(db)
                db.execute(f"PRAGMA application_id = {APPLICATION_ID}")
                db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            conn.execute("PRAGMA journal_mode = WAL")
        finally:
            conn.close()
        try:
            os.link(tmp, p)  # fails if something appeared at p meanwhile: never replaces a file
        except FileExistsError:
            raise ProjectExistsError(f"{p} already exists; open it instead of creating it.") from None
        except OSError:  # file systems without hard links
            if p.exists():
                raise ProjectExistsError(f"{p} already exists; open it instead of creating it.") from None
            os.rename(tmp, p)
    except sqlite3.Error as exc:
        raise (translate(exc, p) or ProjectError(f"Cannot create {p.name}: {exc}.")) from exc
    finally:
        for leftover in [tmp] + [tmp.with_name(tmp.name + s) for s in ("-journal", "-wal", "-shm")]:
            with contextlib.suppress(FileNotFoundError):
                leftover.unlink()


def _remove_stale_creations(p: Path) -> None:
    """Temporary files of creations whose process died (a kill, a power cut): the file and the
    journal SQLite kept beside it."""
    pattern = re.compile(rf"^\.{re.escape(p.name)}\.creating-(\d+)(-journal|-wal|-shm)?$")
    for old in p.parent.glob(f".{p.name}.creating-*"):
        m = pattern.match(old.name)
        if m and not _alive(int(m.group(1))):
            with contextlib.suppress(OSError):
                old.unlink()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True


def open_connection(
    path: str | os.PathLike[str], *, create: bool = False, read_only: bool = False
) -> Connection:
    """Open (or create) a project file after checking it is safe to use.

    read_only: for commands that only look; never writes, so it works on full disks and
    read-only media, and refuses nothing that a writer would accept except unfinished files."""
    p = Path(path).expanduser().absolute()
    if create:
        for candidate in (p, _with_suffix(p)):
            if candidate.exists() or candidate.is_symlink():
                raise ProjectExistsError(f"{candidate} already exists; open it instead of creating it.")
        p = _with_suffix(p)
        _create(p)
        state = None
    else:
        if not p.exists():
            raise ProjectError(f"No project file at {p}.")
        state = vet(p)
        if state.empty and p.suffix != SUFFIX:
            raise NotAProjectError(f"{p.name} is an empty file, not a reid-desktop project.")
        if read_only and state.empty:
            raise ProjectError(
                f"{p.name} is an empty project file (its creation was interrupted); open it in the "
                "app or run `reid ingest` on it to initialise it."
            )
        if read_only and state.needs_migration:
            raise ProjectError(
                f"{p.name} uses an older schema ({state.user_version}); open it once in the app "
                "or with a writing command to upgrade it."
            )
        if not read_only:
            _check_writable(p)
            if state.empty:
                log.warning("%s is empty (an interrupted creation); initialising it", p)
    try:
        conn = Connection(p, read_only=read_only)
    except sqlite3.DatabaseError as exc:
        raise NotAProjectError(f"{p.name} is damaged or not a SQLite database ({exc}).") from exc
    if read_only:
        return conn
    try:
        conn.migrate(state)
    except ProjectError:
        conn.close()
        raise
    except sqlite3.DatabaseError as exc:
        conn.close()
        raise (translate(exc, p) or ProjectError(f"Cannot prepare {p.name}: {exc}.")) from exc
    return conn
