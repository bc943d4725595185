"""The strip of ranked candidates for the current query: number key, thumbnail, score."""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QAbstractListModel, QModelIndex, QPersistentModelIndex, Qt

from reid_desktop.ui.crops.thumbnails import ThumbnailCache

CropIdRole = Qt.UserRole + 1


@dataclass(frozen=True)
class CandidateItem:
    crop_id: int
    path: str
    camera: str
    score: float  # raw cosine
    prob: float | None  # calibrated P(same), None before calibration
    verdict: str | None = None  # an earlier decision on this pair, if any


class CandidateListModel(QAbstractListModel):
    def __init__(self, thumbnails: ThumbnailCache | None = None, parent=None) -> None:
        super().__init__(parent)
        self._items: list[CandidateItem] = []
        self._thumbs = thumbnails
        if thumbnails is not None:
            thumbnails.ready.connect(self._on_thumb)

    def set_items(self, items: list[CandidateItem]) -> None:
        self.beginResetModel()
        self._items = list(items)
        self.endResetModel()

    def item(self, row: int) -> CandidateItem:
        return self._items[row]

    def items(self) -> list[CandidateItem]:
        return list(self._items)

    def row_of(self, crop_id: int) -> int:
        for i, it in enumerate(self._items):
            if it.crop_id == crop_id:
                return i
        return -1

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self._items)

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.DisplayRole):
        if not index.isValid():
            return None
        it = self._items[index.row()]
        if role == Qt.DisplayRole:
            key = f"{index.row() + 1} · " if index.row() < 9 else ""  # keys 1-9 pick candidates
            value = f"{it.prob:.2f}" if it.prob is not None else f"{it.score:.2f}"
            mark = " •" if it.verdict else ""  # already decided
            return f"{key}{value}{mark}"
        if role == Qt.ToolTipRole:
            p = f"P(same) {it.prob:.2f} · " if it.prob is not None else ""
            return f"{it.camera}\n{p}cosine {it.score:.3f}" + (
                f"\ndecided: {it.verdict}" if it.verdict else ""
            )
        if role == Qt.DecorationRole and self._thumbs is not None:
            return self._thumbs.get(it.path) or self._thumbs.placeholder
        if role == CropIdRole:
            return it.crop_id
        return None

    def _on_thumb(self, path: str) -> None:
        for i, it in enumerate(self._items):
            if it.path == path:
                idx = self.index(i)
                self.dataChanged.emit(idx, idx, [Qt.DecorationRole])
