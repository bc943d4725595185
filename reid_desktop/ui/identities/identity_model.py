"""Table model of identities: label, crop count, and one coverage column per camera."""

from __future__ import annotations

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QColor

from reid_desktop.core.identities.curation import IdentityRow

RowRole = Qt.UserRole + 1


class IdentityTableModel(QAbstractTableModel):
    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self._rows: list[IdentityRow] = []
        self._cameras: list[str] = []

    def set_rows(self, rows: list[IdentityRow], cameras: list[str]) -> None:
        self.beginResetModel()
        self._rows, self._cameras = list(rows), list(cameras)
        self.endResetModel()

    def row(self, i: int) -> IdentityRow:
        return self._rows[i]

    def rows(self) -> list[IdentityRow]:
        return list(self._rows)

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else 2 + len(self._cameras)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.DisplayRole):
        if orientation == Qt.Horizontal and role == Qt.DisplayRole:
            return ("Identity", "Crops", *self._cameras)[section]
        return None

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.DisplayRole):
        if not index.isValid():
            return None
        r = self._rows[index.row()]
        col = index.column()
        if role == RowRole:
            return r
        if role == Qt.DisplayRole:
            if col == 0:
                return ("⚠ " if r.contradictions else "") + r.label
            if col == 1:
                return len(r.crops)
            n = r.cameras.get(self._cameras[col - 2], 0)
            return "●" * min(n, 3) + (f"+{n - 3}" if n > 3 else "") if n else "–"
        if role == Qt.ToolTipRole:
            if col == 0:
                extra = (
                    f"\n{r.contradictions} contradiction(s): crops declared different"
                    if r.contradictions
                    else ""
                )
                return f"{r.label}\n{r.notes}{extra}".strip()
            if col >= 2:
                return f"{self._cameras[col - 2]}: {r.cameras.get(self._cameras[col - 2], 0)} crop(s)"
        if role == Qt.ForegroundRole and col == 0 and r.contradictions:
            return QColor("#a03000")
        if role == Qt.TextAlignmentRole and col >= 1:
            return int(Qt.AlignCenter)
        if role == Qt.UserRole:  # sort key
            return (
                (r.label.lower(), len(r.crops))[min(col, 1)]
                if col < 2
                else r.cameras.get(self._cameras[col - 2], 0)
            )
        return None
