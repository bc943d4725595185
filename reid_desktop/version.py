"""What this copy is: the version, and for an installed bundle what it was built as
(build-info.json, written by packaging/reid-desktop.spec) and where its licence texts are.
Used by every program's --version and by Help → About."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from reid_desktop import __version__


def bundle_dir() -> Path | None:
    """The bundle's support folder (_internal/) when running frozen, else None."""
    frozen = getattr(sys, "_MEIPASS", None)
    return Path(frozen) if frozen else None


def build_info() -> dict:
    """{"flavour": "cpu"|"cuda", "built": date, "torch": …, "onnxruntime": …} for a bundle; {} when
    running from Python (a checkout or a pip install) or when the file is unreadable."""
    where = bundle_dir()
    if where is None:
        return {}
    try:
        return json.loads((where / "build-info.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def version_text(program: str) -> str:
    """One line, e.g. `reid 0.1.0 (cpu bundle, built 2026-12-01)` or `reid 0.1.0 (Python 3.11.7)`."""
    info = build_info()
    if info:
        return f"{program} {__version__} ({info.get('flavour', '?')} bundle, built {info.get('built', '?')})"
    return f"{program} {__version__} (Python {'.'.join(map(str, sys.version_info[:3]))})"


def licences_dir() -> Path | None:
    """The bundle's licence texts (THIRD-PARTY-NOTICES.txt and one folder per component)."""
    where = bundle_dir()
    folder = where / "licenses" if where else None
    return folder if folder is not None and folder.is_dir() else None
