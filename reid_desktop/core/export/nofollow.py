"""Writing inside a folder without following a symbolic link out of it (DESIGN §7).

`RealDir` is a folder opened once; files in it are created, replaced and removed by name only,
through a temp file and a rename, so a file is whole or absent. Where the OS offers it (Linux,
macOS) the folder is held open as a file descriptor and every operation is relative to it with
O_NOFOLLOW, so a link planted after the folder was checked is refused, never followed. Elsewhere
each name is checked with lstat just before use. A link in the way raises `LinkFound`.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import secrets
import stat
from pathlib import Path

log = logging.getLogger(__name__)

_FLAGS = ("O_NOFOLLOW", "O_DIRECTORY")
# os.replace takes the same dir fds as os.rename (renameat) but is not listed in supports_dir_fd.
DIR_FD = all(hasattr(os, f) for f in _FLAGS) and {os.open, os.rename, os.unlink, os.mkdir, os.stat} <= (
    os.supports_dir_fd
)


class LinkFound(OSError):
    """A symbolic link where a real folder or file is to be written; nothing was written through it."""

    def __init__(self, path: Path) -> None:
        try:
            target = os.readlink(path)
        except OSError:
            target = "?"
        super().__init__(errno.ELOOP, f"{path} is a symbolic link (to {target})", str(path))
        self.path, self.target = Path(path), str(target)


def find_links(paths: list[Path]) -> list[Path]:
    """The entries of `paths` that are symbolic links (dangling ones too), sorted."""
    return sorted(p for p in paths if p.is_symlink())


class RealDir:
    """A real folder; use `open_root` for the folder the user chose, then `subdir` for folders in it."""

    def __init__(self, path: Path, fd: int | None) -> None:
        self.path, self.fd = Path(path), fd

    @classmethod
    def open_root(cls, path: Path) -> RealDir:
        """The chosen folder (created if missing). A link naming it is the user's choice; links
        inside it are not."""
        path = Path(path)
        if path.is_symlink() and not path.exists():
            raise LinkFound(path)  # a dangling link: mkdir would fail or create the folder elsewhere
        path.mkdir(parents=True, exist_ok=True)
        return cls(path, os.open(path, os.O_RDONLY | os.O_DIRECTORY) if DIR_FD else None)

    def __enter__(self) -> RealDir:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None

    def lstat(self, name: str) -> os.stat_result | None:
        try:
            if self.fd is not None:
                return os.stat(name, dir_fd=self.fd, follow_symlinks=False)
            return os.lstat(self.path / name)
        except FileNotFoundError:
            return None

    def _refuse_link(self, name: str) -> os.stat_result | None:
        st = self.lstat(name)
        if st is not None and stat.S_ISLNK(st.st_mode):
            raise LinkFound(self.path / name)
        return st

    def subdir(self, name: str) -> RealDir:
        """The real folder `name` inside this one, created if missing; a link there is refused."""
        if self.fd is None:
            p = self.path / name
            self._refuse_link(name)
            p.mkdir(exist_ok=True)
            self._refuse_link(name)
            return RealDir(p, None)
        with contextlib.suppress(FileExistsError):
            os.mkdir(name, dir_fd=self.fd)
        try:
            fd = os.open(name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=self.fd)
        except OSError as exc:
            if exc.errno in (errno.ELOOP, errno.ENOTDIR):
                self._refuse_link(name)
            raise
        return RealDir(self.path / name, fd)

    def write_atomic(self, name: str, data: bytes, *, overwrite: bool, sync: bool = False) -> None:
        """Write `name` via a hidden temp file and a rename: whole or absent, never through a link.

        FileExistsError when `name` exists and not `overwrite`; the temp file is removed on any error.
        """
        tmp = f".{name}.{secrets.token_hex(4)}.tmp"
        try:
            if self.fd is not None:
                flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)
                fh = os.fdopen(os.open(tmp, flags, 0o666, dir_fd=self.fd), "wb")
            else:
                fh = open(self.path / tmp, "xb")  # noqa: SIM115  (closed by the with below)
            with fh:
                fh.write(data)
                if sync:
                    fh.flush()
                    os.fsync(fh.fileno())
            st = self._refuse_link(name)
            if st is not None and not overwrite:
                raise FileExistsError(errno.EEXIST, "exists", str(self.path / name))
            if self.fd is not None:
                os.replace(tmp, name, src_dir_fd=self.fd, dst_dir_fd=self.fd)
                if sync:
                    os.fsync(self.fd)  # the rename itself reaches the disk
            else:
                os.replace(self.path / tmp, self.path / name)
        except BaseException:
            self._discard(tmp)
            raise

    def unlink(self, name: str) -> bool:
        """Remove the file `name` (a link is removed itself, its target is untouched); False if absent."""
        try:
            if self.fd is not None:
                os.unlink(name, dir_fd=self.fd)
            else:
                os.unlink(self.path / name)
        except FileNotFoundError:
            return False
        return True

    def _discard(self, tmp: str) -> None:
        try:
            self.unlink(tmp)
        except OSError as exc:  # the original error matters more; say what is left behind
            log.warning("could not remove the temp file %s: %s", self.path / tmp, exc)
