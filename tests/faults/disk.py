"""A disk that fills up: a real small tmpfs where this user may mount one, else a file-size limit
(RLIMIT_FSIZE, with SIGXFSZ ignored) on the processes a test starts; both make writes fail."""

from __future__ import annotations

import contextlib
import os
import resource
import shutil
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path

BIN = Path(sys.executable).parent


def tmpfs_available() -> bool:
    return sys.platform.startswith("linux") and os.geteuid() == 0 and shutil.which("mount") is not None


class TinyDisk:
    def __init__(self, folder: Path, kind: str) -> None:
        self.folder = folder
        self.kind = kind
        self._limit: int | None = None

    def fill(self, room: int = 0) -> None:
        """Leave only `room` bytes for the next commands (tmpfs: a filler file; rlimit: a cap on
        file size just above the largest file there now)."""
        if self.kind == "rlimit":
            sizes = [p.stat().st_size for p in self.folder.iterdir() if p.is_file()]
            self._limit = max(sizes, default=0) + room
            return
        filler = self.folder / f".filler-{uuid.uuid4().hex}"
        fd = os.open(filler, os.O_WRONLY | os.O_CREAT)
        try:
            for chunk in (1 << 20, 4096, 1):  # big writes, then top up the last pages
                with contextlib.suppress(OSError):
                    while os.write(fd, b"\0" * chunk):
                        pass
        finally:
            os.close(fd)
        if room:
            size = filler.stat().st_size
            os.truncate(filler, max(0, size - room))

    def free(self) -> None:
        self._limit = None
        for f in self.folder.glob(".filler-*"):
            f.unlink()

    def run(self, argv: Sequence[str], timeout: float = 120) -> subprocess.CompletedProcess[str]:
        """Run a command (`reid …`) with the disk as it is now."""
        limit = self._limit

        def cap() -> None:
            if limit is not None:
                signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
                resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

        cmd = [str(BIN / argv[0]), *map(str, argv[1:])]
        return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, preexec_fn=cap)


@contextlib.contextmanager
def tiny_disk(base: Path, kind: str, size_kib: int = 4096) -> Iterator[TinyDisk]:
    folder = base / f"disk-{kind}"
    folder.mkdir()
    if kind == "rlimit":
        yield TinyDisk(folder, kind)
        return
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size_kib}k", "tmpfs", str(folder)], check=True)
    try:
        yield TinyDisk(folder, kind)
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)
