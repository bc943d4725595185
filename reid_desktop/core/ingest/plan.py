"""Which folders a scan covers: user-chosen folders resolved into camera sources."""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from reid_desktop.core.ingest.layouts import LAYOUTS, detect_layout, expand_camera_folders, hidden_subfolders
from reid_desktop.core.ingest.walk import HIDDEN_FOLDER, Refused
from reid_desktop.core.names import display_name

NOT_UTF8 = "folder name is not valid UTF-8; rename it"


def _utf8(path: Path) -> bool:
    try:
        str(path).encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


@dataclass(frozen=True)
class Source:
    root: Path
    layout: str  # "folders" (one camera) or "market" (cameras from names)


def plan_sources(folders: Iterable[str | os.PathLike[str]], layout: str = "auto") -> list[Source]:
    """Resolve user-chosen folders into scan sources; raises ValueError for unusable folders."""
    return plan_scan(folders, layout)[0]


def plan_scan(
    folders: Iterable[str | os.PathLike[str]], layout: str
) -> tuple[list[Source], dict[Path, list[Refused]]]:
    """Sources, and for each chosen folder expanded into camera folders, what it leaves out."""
    if layout not in LAYOUTS:
        raise ValueError(f"layout must be one of {LAYOUTS}, not {layout!r}")
    sources: list[Source] = []
    left_out: dict[Path, list[Refused]] = {}
    for folder in folders:
        root = Path(os.path.normpath(Path(folder).expanduser().absolute()))
        if not root.is_dir():
            raise ValueError(display_name(f"{root} is not a folder"))
        if not _utf8(root):
            raise ValueError(display_name(f"{root}: {NOT_UTF8}"))
        chosen = detect_layout(root) if layout == "auto" else layout
        if chosen == "market":
            sources.append(Source(root, "market"))
            continue
        cameras = expand_camera_folders(root)
        sources += [Source(p, "folders") for p in cameras if _utf8(p)]
        if cameras != [root]:  # a folder of camera folders: its hidden ones are listed, not scanned
            left_out[root] = [Refused(name, HIDDEN_FOLDER) for name in hidden_subfolders(root)]
            left_out[root] += [
                Refused(os.fsencode(p.name).decode("utf-8", "backslashreplace"), NOT_UTF8)
                for p in cameras
                if not _utf8(p)
            ]
    unique = list(dict.fromkeys(sources))
    roots = {s.root for s in unique}
    return unique, {k: v for k, v in left_out.items() if k not in roots}
