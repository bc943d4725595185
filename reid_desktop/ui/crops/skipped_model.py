"""Table model of files a scan refused, with the reason."""

from __future__ import annotations

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt

from reid_desktop.store import SkippedFile

HEADERS = ("File", "Reason", "Folder")


class SkippedTableModel(QAbstractTableModel):
    def __init__(self, items: list[SkippedFile] | None = None, parent=None) -> None:
        super().__init__(parent)
        self._items = list(items or [])

    def set_items(self, items: list[SkippedFile]) -> None:
        self.beginResetModel()
        self._items = list(items)
        self.endResetModel()

    def items(self) -> list[SkippedFile]:
        return list(self._items)

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self._items)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(HEADERS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.DisplayRole):
        if role == Qt.DisplayRole and orientation == Qt.Horizontal:
            return HEADERS[section]
        return None

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.DisplayRole):
        if not index.isValid():
            return None
        it = self._items[index.row()]
        if role in (Qt.DisplayRole, Qt.ToolTipRole):
            return (it.path, it.reason, it.source_root)[index.column()]
        return None
