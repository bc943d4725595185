"""Recently opened projects, remembered in QSettings."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSettings

KEY = "recentProjects"
LIMIT = 10


class RecentProjects:
    def __init__(self, settings: QSettings) -> None:
        self._s = settings

    def paths(self) -> list[str]:
        value = self._s.value(KEY, [])
        if isinstance(value, str):  # QSettings returns a bare string for one-element lists
            value = [value]
        return [p for p in (value or []) if isinstance(p, str)]

    def existing(self) -> list[str]:
        return [p for p in self.paths() if Path(p).is_file()]

    def add(self, path: str | Path) -> None:
        p = str(Path(path).absolute())
        items = [p] + [x for x in self.paths() if x != p]
        self._s.setValue(KEY, items[:LIMIT])
        self._s.sync()

    def remove(self, path: str | Path) -> None:
        p = str(Path(path).absolute())
        self._s.setValue(KEY, [x for x in self.paths() if x != p])
        self._s.sync()
