"""Listing image files under a folder without tripping over symlink loops or odd names."""

from __future__ import annotations

import errno
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from reid_desktop.core.ingest.layouts import is_image_name
from reid_desktop.core.jobs import CancelToken

HIDDEN_FOLDER = 'hidden folder (name starts with "."), not scanned; rename it to scan it'


@dataclass(frozen=True)
class Listed:
    path: Path  # absolute
    rel_path: str  # posix, relative to the walked root


@dataclass(frozen=True)
class Refused:
    rel_path: str
    reason: str


def _rel(root: Path, path: Path) -> str:
    return path.relative_to(root).as_posix()


def _valid_name(rel: str) -> bool:
    try:
        rel.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def list_images(root: Path, cancel: CancelToken | None = None) -> tuple[list[Listed], list[Refused]]:
    """All image-named files under root (recursively), sorted, plus those refused with a reason.

    Directory symlinks are followed once: a link back to a folder already visited is a loop.
    """
    found: list[Listed] = []
    refused: list[Refused] = []
    seen_dirs: set[tuple[int, int]] = set()
    st = root.stat()
    seen_dirs.add((st.st_dev, st.st_ino))
    stack = [root]
    while stack:
        if cancel is not None:
            cancel.raise_if_cancelled()
        folder = stack.pop()
        try:
            entries = list(os.scandir(folder))
        except OSError as exc:
            refused.append(Refused(_rel(root, folder) or ".", f"cannot list folder: {exc.strerror}"))
            continue
        for entry in entries:
            path = Path(entry.path)
            rel = _rel(root, path)
            if not _valid_name(rel):
                if is_image_name(entry.name) or entry.is_dir(follow_symlinks=False):
                    safe = rel.encode("utf-8", "backslashreplace").decode("utf-8")
                    refused.append(Refused(safe, "file name is not valid UTF-8; rename it"))
                continue
            try:
                target = os.stat(path)
            except OSError as exc:
                if entry.is_symlink():
                    why = "symbolic link loop" if exc.errno == errno.ELOOP else "broken symbolic link"
                    if is_image_name(entry.name) or exc.errno == errno.ELOOP:
                        refused.append(Refused(rel, why))
                elif is_image_name(entry.name):
                    refused.append(Refused(rel, f"cannot read file: {exc.strerror}"))
                continue
            if stat.S_ISDIR(target.st_mode):
                if entry.name.startswith("."):  # .thumbnails, .git: listed, never scanned
                    refused.append(Refused(rel, HIDDEN_FOLDER))
                    continue
                key = (target.st_dev, target.st_ino)
                if key in seen_dirs:
                    if entry.is_symlink():
                        refused.append(Refused(rel, "symbolic link loop (folder already scanned)"))
                    continue
                seen_dirs.add(key)
                stack.append(path)
            elif is_image_name(entry.name):
                if entry.name.startswith("._"):
                    refused.append(Refused(rel, "macOS metadata file, not an image"))
                elif not stat.S_ISREG(target.st_mode):
                    refused.append(Refused(rel, "not a regular file"))
                else:
                    found.append(Listed(path, rel))
    found.sort(key=lambda f: f.rel_path)
    refused.sort(key=lambda r: r.rel_path)
    return found, refused
