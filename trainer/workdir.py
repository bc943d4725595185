"""The run's temp folder beside --out, and removal of the ones that killed runs left behind.

A run builds its outputs in ``.{out}.reid-train-{host}-{pid}-{random}`` next to --out and renames it
to --out at the end, so --out is absent or complete. A run killed with SIGKILL (or a power cut)
cannot remove that folder; the next run in the same parent folder does, via `clean_stale`, but
only a folder for which all of these hold:

- its name has exactly this pattern (older ``.out.xxxxxxxx`` folders and anything else are left);
- it was made on this host (``host`` = first 8 hex digits of the SHA-1 of the host name);
- its PID is not a running process here;
- no process holds the exclusive flock that a live run keeps on the folder (where flock exists).

The lock is on the folder itself, so it survives the final rename and needs no extra file, and the
kernel drops it however the process ends. A reused PID only delays the clean-up.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import re
import secrets
import shutil
import socket
from pathlib import Path

try:
    import fcntl
except ImportError:  # Windows: no flock; clean-up is then skipped altogether (see clean_stale)
    fcntl = None  # type: ignore[assignment]

log = logging.getLogger(__name__)

HOST = hashlib.sha1(socket.gethostname().encode("utf-8", "replace")).hexdigest()[:8]
TAG = "reid-train"
PATTERN = re.compile(rf"^\.(?P<out>.+)\.{TAG}-(?P<host>[0-9a-f]{{8}})-(?P<pid>\d+)-[0-9a-f]{{6}}$")


class Workdir:
    """A run's temp folder, locked for as long as the run holds this object."""

    def __init__(self, path: Path, fd: int | None) -> None:
        self.path, self._fd = path, fd
        self._released = False

    @classmethod
    def create(cls, out: Path) -> Workdir:
        """Make and lock the temp folder for `out` (in out's parent, which must exist)."""
        out = Path(out)
        path = out.parent / f".{out.name}.{TAG}-{HOST}-{os.getpid()}-{secrets.token_hex(3)}"
        path.mkdir(mode=0o700)
        fd = None
        if fcntl is not None:
            fd = os.open(path, os.O_RDONLY)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # a new folder: nobody else holds it
            except OSError as exc:  # no flock here: the PID in the name still protects the run
                log.info("%s: cannot lock (%s); a later run will not remove it", path, exc)
                os.close(fd)
                fd = None
        return cls(path, fd)

    def release(self) -> None:
        """Drop the lock (after the folder became --out, or was removed)."""
        self._released = True
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def discard(self) -> None:
        """Remove the folder if it is still there (a failed or cancelled run), then unlock. A
        released folder (a finished run that could not be published) is kept."""
        if self._released:
            return
        shutil.rmtree(self.path, ignore_errors=True)
        self.release()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)  # POSIX only: signal 0 checks existence (on Windows it would send Ctrl+C)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process
    return True


def _lock(path: Path) -> int | None:
    """An fd holding the folder's flock, or None when another process holds it or it cannot be
    taken (e.g. a file system without flock: then nothing is removed)."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        return None
    return fd


def clean_stale(parent: Path) -> list[Path]:
    """Remove the temp folders in `parent` left by dead runs (rules in the module docstring)."""
    if fcntl is None or not hasattr(os, "kill"):
        return []
    removed = []
    try:
        entries = list(Path(parent).iterdir())
    except OSError:
        return []
    for p in sorted(entries):
        m = PATTERN.match(p.name)
        if m is None or p.is_symlink() or not p.is_dir():
            continue
        pid = int(m["pid"])
        if m["host"] != HOST:
            log.info("%s: left by a run on another host; not removed", p)
            continue
        if pid == os.getpid() or _alive(pid):
            continue
        fd = _lock(p)
        if fd is None:
            continue
        try:
            size = sum(f.stat().st_size for f in p.rglob("*") if f.is_file() and not f.is_symlink())
            shutil.rmtree(p)
        except OSError as exc:
            log.warning("could not remove %s, left by a killed run: %s", p, exc)
            continue
        finally:
            with contextlib.suppress(OSError):
                os.close(fd)
        log.warning("removed %s (%.1f MB), left by a run that was killed (pid %d)", p, size / 1e6, pid)
        removed.append(p)
    return removed
