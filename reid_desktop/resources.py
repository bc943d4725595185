"""Where bundled resources (icons, the default encoder) live: the frozen bundle, the installed
package (a wheel carries them as reid_desktop/_resources, see setup.py), or the checkout."""

from __future__ import annotations

import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent


def resources_dir() -> Path:
    frozen = getattr(sys, "_MEIPASS", None)
    if frozen:
        return Path(frozen) / "resources"
    installed = PACKAGE / "_resources"
    if installed.is_dir():
        return installed
    return PACKAGE.parent / "resources"  # a checkout or an editable install


def resource(*parts: str) -> Path:
    return resources_dir().joinpath(*parts)
