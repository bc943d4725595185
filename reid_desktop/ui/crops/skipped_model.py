"""Table model of files a scan refused, with the reason."""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, Qt

from reid_desktop.store import SkippedFile
from reid_desktop.ui.common.table_model import RowTableModel

HEADERS = ("File", "Reason", "Folder")


class SkippedTableModel(RowTableModel[SkippedFile]):
    headers = HEADERS

    def __init__(self, items: list[SkippedFile] | None = None, parent=None) -> None:
        super().__init__(items or [], parent)

    def set_items(self, items: list[SkippedFile]) -> None:
        self.set_rows(items)

    def items(self) -> list[SkippedFile]:
        return list(self.rows)

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.DisplayRole):
        if not index.isValid():
            return None
        it = self.rows[index.row()]
        if role in (Qt.DisplayRole, Qt.ToolTipRole):
            return (it.path, it.reason, it.source_root)[index.column()]
        return None
