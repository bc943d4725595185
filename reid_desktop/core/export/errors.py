"""Why an export cannot run or stopped; every message is one line for the CLI and the UI to show.

All are `ExportError` (a ValueError), so catching that one type is enough:

- `ExportConflict`: files of the export exist and overwriting was not allowed; nothing was written.
- `ExportLinkError`: a symbolic link inside the folder where the export would write; nothing was
  written through it (DESIGN §7).
- `ExportWriteError`: writing failed part-way (an OSError); `ExportDiskFull` when the disk or the
  quota is full. The message says which file, why, and what the folder holds now: the images
  already written are whole, no temp file is left, and the index files were not written.
"""

from __future__ import annotations

import errno
from collections.abc import Iterable
from pathlib import Path

from reid_desktop.core.export.nofollow import LinkFound

# ENOSPC: no space left; EDQUOT: quota exceeded; EFBIG: file size limit (e.g. FAT32, RLIMIT_FSIZE).
DISK_FULL = {errno.ENOSPC, errno.EFBIG} | ({errno.EDQUOT} if hasattr(errno, "EDQUOT") else set())
INDEX_FILES = ("identities.csv", "decisions.json")


class ExportError(ValueError):
    """The export cannot run as asked; str(exc) says why and what to do."""


class ExportConflict(ExportError):
    """Files of the export already exist and overwriting was not allowed. Nothing was written."""

    def __init__(self, paths: Iterable[Path]) -> None:
        self.paths = sorted(paths)
        shown = ", ".join(str(p) for p in self.paths[:3]) + (" ..." if len(self.paths) > 3 else "")
        super().__init__(
            f"{len(self.paths)} file(s) of the export already exist ({shown}); "
            "choose an empty folder or allow overwriting"
        )


class ExportLinkError(ExportError):
    """A symbolic link inside the export folder where the export would write; nothing was written."""

    def __init__(self, out_dir: Path, links: list[Path]) -> None:
        self.links = links
        first = LinkFound(links[0]).strerror
        more = f" (and {len(links) - 1} more)" if len(links) > 1 else ""
        super().__init__(
            f"{first}{more}: the export writes only into real folders inside {out_dir} and never "
            "follows links; remove the link or choose another folder"
        )


class ExportWriteError(ExportError):
    """Writing stopped part-way; `written` of `total` images are in the folder, each whole."""

    reason = "could not write"
    advice = "fix that, then export again allowing overwrite"

    def __init__(self, out_dir: Path, exc: OSError, written: int, total: int, index: list[str]) -> None:
        self.out_dir, self.errno, self.written, self.total = Path(out_dir), exc.errno, written, total
        self.path = Path(exc.filename) if exc.filename else self.out_dir
        missing = [n for n in INDEX_FILES if n not in index]
        if not missing:
            idx = "both index files were written"
        elif index:
            idx = f"{index[0]} was written but {missing[0]} was not"
        else:
            idx = " and ".join(missing) + " were not written"
        super().__init__(
            f"{self.reason} ({exc.strerror or exc}) while writing {self.path}: {written} of {total} "
            f"images are in the export folder {out_dir}, each complete, {idx}, and no partial file "
            f"was left; {self.advice}"
        )


class ExportDiskFull(ExportWriteError):
    """The disk (or quota, or file size limit) is full; see ExportWriteError."""

    reason = "disk full"
    advice = "free some space, then export again allowing overwrite"


def write_failure(
    exc: OSError, out_dir: Path, written: int, total: int, index: list[str]
) -> ExportWriteError:
    """The ExportWriteError (ExportDiskFull for a full disk) for an OSError raised while writing."""
    cls = ExportDiskFull if exc.errno in DISK_FULL else ExportWriteError
    return cls(out_dir, exc, written, total, index)
