"""Choosing the identity to merge with: every other identity with a thumbnail, its size and
cameras, filtered as you type."""

from __future__ import annotations

from PySide6.QtCore import QSize, QSortFilterProxyModel, Qt, Signal
from PySide6.QtGui import QStandardItem, QStandardItemModel
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QLineEdit, QListView, QVBoxLayout, QWidget

from reid_desktop.core.identities.curation import IdentityRow
from reid_desktop.ui.crops.thumbnails import ThumbnailCache

RowIndexRole = Qt.UserRole + 1


class MergeDialog(QDialog):
    chosen = Signal(object)  # the IdentityRow picked

    def __init__(
        self,
        row: IdentityRow,
        others: list[IdentityRow],
        first_paths: dict[int, str],
        thumbnails: ThumbnailCache,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"Merge {row.label} with…")
        self.others = others
        self._thumbs = thumbnails
        self._paths = first_paths
        self.model = QStandardItemModel(self)
        for i, r in enumerate(others):
            cams = " · ".join(f"{c} ×{n}" for c, n in sorted(r.cameras.items()))
            it = QStandardItem(f"{r.label}\n{len(r.crops)} crops · {cams}")
            it.setEditable(False)
            it.setData(i, RowIndexRole)
            it.setToolTip(r.notes or r.label)
            self.model.appendRow(it)
        self._refresh_icons()
        thumbnails.ready.connect(lambda _p: self._refresh_icons())
        self.proxy = QSortFilterProxyModel(self)
        self.proxy.setSourceModel(self.model)
        self.proxy.setFilterCaseSensitivity(Qt.CaseInsensitive)
        self.filter = QLineEdit(placeholderText="Filter by name…")
        self.filter.textChanged.connect(self.proxy.setFilterFixedString)
        self.list = QListView()
        self.list.setObjectName("mergeChoices")
        self.list.setModel(self.proxy)
        self.list.setIconSize(QSize(32, 64))
        self.list.setSpacing(2)
        self.list.doubleClicked.connect(lambda _i: self.accept())
        if self.proxy.rowCount():
            self.list.setCurrentIndex(self.proxy.index(0, 0))
        buttons = QDialogButtonBox(QDialogButtonBox.Ok | QDialogButtonBox.Cancel)
        buttons.button(QDialogButtonBox.Ok).setText("Merge")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        lay = QVBoxLayout(self)
        lay.addWidget(QLabel(f"Merge <b>{row.label}</b> ({len(row.crops)} crops) with:"))
        lay.addWidget(self.filter)
        lay.addWidget(self.list, 1)
        lay.addWidget(buttons)
        self.resize(420, 480)

    def _refresh_icons(self) -> None:
        for i, r in enumerate(self.others):
            path = self._paths.get(r.key, "")
            icon = (self._thumbs.get(path) if path else None) or self._thumbs.placeholder
            self.model.item(i).setIcon(icon)

    def current(self) -> IdentityRow | None:
        idx = self.list.currentIndex()
        return self.others[idx.data(RowIndexRole)] if idx.isValid() else None

    def accept(self) -> None:
        row = self.current()
        super().accept()
        if row is not None:
            self.chosen.emit(row)
