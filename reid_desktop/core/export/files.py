"""Writing the export's files: every file goes through a temp file and a rename (complete or absent),
only into real folders inside the export folder (links are refused, never followed, see
`nofollow`), and each crop is re-encoded as a plain 8-bit RGB JPEG.
"""

from __future__ import annotations

import contextlib
import io
import logging
from collections.abc import Iterator
from pathlib import Path

from reid_desktop.core.export.errors import ExportConflict, ExportLinkError
from reid_desktop.core.export.nofollow import LinkFound, RealDir
from reid_desktop.core.export.plan import SPLIT_DIRS, ExportItem
from reid_desktop.core.imaging import BadImage, load_rgb

log = logging.getLogger("reid_desktop.core.export.market")

JPEG_QUALITY = 95


class ExportFolders:
    """The export folder and its three split folders, opened once as real folders (created if
    missing). Every write, replacement and removal goes through them by name."""

    def __init__(self, out_dir: Path, root: RealDir, splits: dict[str, RealDir]) -> None:
        self.out_dir, self.root, self.splits = out_dir, root, splits

    def folder_of(self, path: Path) -> RealDir:
        """The open folder that holds `path` (a file directly in the export or a split folder)."""
        if path.parent == self.out_dir:
            return self.root
        for d in self.splits.values():
            if path.parent == d.path:
                return d
        raise ValueError(f"{path} is not a file of the export in {self.out_dir}")

    def write(self, data: bytes, dst: Path, overwrite: bool, sync: bool = False) -> None:
        write_atomic(data, dst, overwrite, sync, folder=self.folder_of(dst))

    def remove(self, path: Path) -> bool:
        try:
            return self.folder_of(path).unlink(path.name)
        except LinkFound as exc:
            raise ExportLinkError(self.out_dir, [exc.path]) from None


@contextlib.contextmanager
def open_folders(out_dir: Path) -> Iterator[ExportFolders]:
    """Open (create) the export folder and its split folders; ExportLinkError for a link in the way."""
    out_dir = Path(out_dir)
    with contextlib.ExitStack() as stack:
        try:
            root = stack.enter_context(RealDir.open_root(out_dir))
            splits = {s: stack.enter_context(root.subdir(d)) for s, d in SPLIT_DIRS.items()}
        except LinkFound as exc:
            raise ExportLinkError(out_dir, [exc.path]) from None
        yield ExportFolders(out_dir, root, splits)


def write_atomic(
    data: bytes, dst: Path, overwrite: bool, sync: bool = False, *, folder: RealDir | None = None
) -> None:
    """Write via a hidden temp file in dst's folder and rename, so dst is complete or absent.

    `folder`: dst's folder already opened (the export's); without it dst's folder is opened here.
    Raises ExportConflict if dst exists and not `overwrite`, ExportLinkError if dst is a link, and
    OSError (with dst as its file name) when writing fails; the temp file is removed in every case.
    """
    dst = Path(dst)
    with contextlib.ExitStack() as stack:
        try:
            if folder is None:
                folder = stack.enter_context(RealDir.open_root(dst.parent))
            folder.write_atomic(dst.name, data, overwrite=overwrite, sync=sync)
        except FileExistsError:  # appeared since the plan was checked
            raise ExportConflict([dst]) from None
        except LinkFound as exc:
            raise ExportLinkError(dst.parent, [exc.path]) from None
        except OSError as exc:
            if exc.errno is None:
                raise
            raise OSError(exc.errno, exc.strerror, str(dst)) from exc  # name dst, not the temp file


def write_image(item: ExportItem, folders: ExportFolders, overwrite: bool) -> str | None:
    """Re-encode one crop as an 8-bit RGB JPEG; returns why the source could not be read, or None."""
    try:
        img = load_rgb(item.source)  # EXIF-rotated, CMYK, 16-bit, alpha -> plain RGB
    except (BadImage, OSError) as exc:
        return str(exc)
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=JPEG_QUALITY)  # no EXIF copied: pixels are already upright
    folders.write(buf.getvalue(), item.target, overwrite)
    return None
