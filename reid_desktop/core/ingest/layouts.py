"""How camera, frame, time and ground-truth person are read from folder layouts and names."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

IMAGE_EXTENSIONS = {".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff"}
LAYOUTS = ("auto", "folders", "market")

# 0002_c1s1_000451_03.jpg: person 2, camera 1, sequence 1, frame 451, box 3 (person -1 = junk).
MARKET_RE = re.compile(r"^(?P<pid>-?\d+)_c(?P<cam>\d+)(?:s(?P<seq>\d+))?_(?P<frame>\d+)(?:_\d+)?\.")
TIME_RE = re.compile(
    r"(?<!\d)(20\d{2}|19\d{2})-?(\d{2})-?(\d{2})[T_\- ]?(\d{2})[-:.]?(\d{2})[-:.]?(\d{2})(?!\d)"
)


@dataclass(frozen=True)
class NameInfo:
    camera: str | None = None
    frame: int | None = None
    timestamp: str | None = None
    gt_person: str | None = None


def parse_market(name: str) -> NameInfo | None:
    m = MARKET_RE.match(name)
    if not m:
        return None
    return NameInfo(camera=f"c{int(m['cam'])}", frame=int(m["frame"]), gt_person=str(int(m["pid"])))


def parse_generic(name: str) -> NameInfo:
    """The time from common surveillance export names, when one is there. No frame: only a
    layout that defines a frame field (Market-1501) gives frames; guessing one from a name read
    hashes like `f4bc44e6b681` as frame 4, and identity review trusts frames."""
    timestamp = None
    if m := TIME_RE.search(name):
        y, mo, d, h, mi, s = m.groups()
        if 1 <= int(mo) <= 12 and 1 <= int(d) <= 31 and int(h) < 24 and int(mi) < 60 and int(s) < 61:
            timestamp = f"{y}-{mo}-{d}T{h}:{mi}:{s}"
    return NameInfo(timestamp=timestamp)


def is_image_name(name: str) -> bool:
    return Path(name).suffix.lower() in IMAGE_EXTENSIONS


def _direct_images(folder: Path) -> list[str]:
    try:
        return [e.name for e in folder.iterdir() if is_image_name(e.name)]
    except OSError:
        return []


def detect_layout(folder: Path) -> str:
    """'market' when most image names (here or in the standard subfolders) follow Market-1501."""
    names = _direct_images(folder)
    for sub in ("bounding_box_train", "bounding_box_test", "query", "gt_bbox"):
        names += _direct_images(folder / sub)
    if not names:
        return "folders"
    sample = names[:500]
    hits = sum(1 for n in sample if MARKET_RE.match(n))
    return "market" if hits >= 0.8 * len(sample) else "folders"


def expand_camera_folders(folder: Path) -> list[Path]:
    """A folder with images is one camera; a folder holding only sub-folders is a set of cameras."""
    if _direct_images(folder):
        return [folder]
    try:
        subs = sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))
    except OSError:
        return [folder]
    return subs or [folder]


def hidden_subfolders(folder: Path) -> list[str]:
    """Names of the sub-folders starting with "." (.thumbnails, .git, or a camera folder hidden by
    mistake): `expand_camera_folders` leaves them out, and the scan lists them with the reason."""
    try:
        return sorted(p.name for p in folder.iterdir() if p.name.startswith(".") and p.is_dir())
    except OSError:
        return []
