"""List model of cameras with their crop counts; row 0 is 'All cameras'."""

from __future__ import annotations

from PySide6.QtCore import QAbstractListModel, QModelIndex, QPersistentModelIndex, Qt

from reid_desktop.core.names import plural
from reid_desktop.store import CameraStats

CameraIdRole = Qt.UserRole + 1


__all__ = ["CameraIdRole", "CameraListModel", "plural"]


class CameraListModel(QAbstractListModel):
    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self._stats: list[CameraStats] = []

    def set_stats(self, stats: list[CameraStats]) -> None:
        self.beginResetModel()
        self._stats = list(stats)
        self.endResetModel()

    def stats(self) -> list[CameraStats]:
        return list(self._stats)

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self._stats) + 1

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.DisplayRole):
        if not index.isValid():
            return None
        row = index.row()
        if row == 0:
            total = sum(s.present for s in self._stats)
            if role == Qt.DisplayRole:
                return f"All cameras\n{plural(total, 'crop')}"
            if role == CameraIdRole:
                return None
            return None
        s = self._stats[row - 1]
        if role == Qt.DisplayRole:
            extra = []
            if s.missing:
                extra.append(f"{s.missing:,} missing")
            if s.skipped:
                extra.append(f"{s.skipped:,} skipped")
            tail = f" · {' · '.join(extra)}" if extra else ""
            return f"{s.camera.name}\n{plural(s.present, 'crop')}{tail}"
        if role == Qt.ToolTipRole:
            return f"{s.camera.root}\nlayout: {s.camera.layout}\nadded {s.camera.added_at[:19]}"
        if role == CameraIdRole:
            return s.camera.id
        return None
