"""Which folders a scan covers: user-chosen folders resolved into camera sources."""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from .layouts import LAYOUTS, detect_layout, expand_camera_folders


@dataclass(frozen=True)
class Source:
    root: Path
    layout: str  # "folders" (one camera) or "market" (cameras from names)


def plan_sources(folders: Iterable[str | os.PathLike[str]], layout: str = "auto") -> list[Source]:
    """Resolve user-chosen folders into scan sources; raises ValueError for unusable folders."""
    if layout not in LAYOUTS:
        raise ValueError(f"layout must be one of {LAYOUTS}, not {layout!r}")
    sources: list[Source] = []
    for folder in folders:
        root = Path(os.path.normpath(Path(folder).expanduser().absolute()))
        if not root.is_dir():
            raise ValueError(f"{root} is not a folder")
        chosen = detect_layout(root) if layout == "auto" else layout
        if chosen == "market":
            sources.append(Source(root, "market"))
            continue
        sources += [Source(p, "folders") for p in expand_camera_folders(root)]
    return list(dict.fromkeys(sources))
