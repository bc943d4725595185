"""List model of crops for the thumbnail grid, over plain dataclasses."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QAbstractListModel, QModelIndex, QPersistentModelIndex, Qt

from reid_desktop.store import Camera, Crop, Project
from reid_desktop.ui.crops.thumbnails import ThumbnailCache

CropIdRole = Qt.UserRole + 1
PathRole = Qt.UserRole + 2


@dataclass(frozen=True)
class CropItem:
    crop_id: int
    camera: str
    rel_path: str
    path: str  # absolute, for decoding
    width: int
    height: int
    status: str
    gt_person: str | None = None

    @property
    def name(self) -> str:
        return Path(self.rel_path).name


def crop_items(project: Project, camera_id: int | None = None) -> list[CropItem]:
    cams: dict[int, Camera] = {c.id: c for c in project.cameras.all()}
    crops: list[Crop] = project.crops.all() if camera_id is None else project.crops.for_camera(camera_id)
    paths = project.crops.paths(c.id for c in crops)
    return [
        CropItem(
            c.id,
            cams[c.camera_id].name,
            c.rel_path,
            str(paths[c.id]),
            c.width,
            c.height,
            c.status,
            c.gt_person,
        )
        for c in crops
    ]


class CropListModel(QAbstractListModel):
    def __init__(self, thumbnails: ThumbnailCache | None = None, parent=None) -> None:
        super().__init__(parent)
        self._items: list[CropItem] = []
        self._row_of: dict[str, int] = {}
        self._thumbs = thumbnails
        if thumbnails is not None:
            thumbnails.ready.connect(self._on_thumbnail)

    def set_items(self, items: list[CropItem]) -> None:
        self.beginResetModel()
        self._items = items
        self._row_of = {it.path: i for i, it in enumerate(items)}
        self.endResetModel()

    def item(self, row: int) -> CropItem:
        return self._items[row]

    def items(self) -> list[CropItem]:
        return list(self._items)

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self._items)

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.DisplayRole):
        if not index.isValid() or not 0 <= index.row() < len(self._items):
            return None
        it = self._items[index.row()]
        if role == Qt.DisplayRole:
            return it.name
        if role == Qt.ToolTipRole:
            gt = f"\nground truth person: {it.gt_person}" if it.gt_person else ""
            return f"{it.camera}/{it.rel_path}\n{it.width}×{it.height} px{gt}"
        if role == Qt.DecorationRole and self._thumbs is not None:
            return self._thumbs.get(it.path) or self._thumbs.placeholder
        if role == CropIdRole:
            return it.crop_id
        if role == PathRole:
            return it.path
        return None

    def _on_thumbnail(self, path: str) -> None:
        row = self._row_of.get(path)
        if row is not None:
            idx = self.index(row)
            self.dataChanged.emit(idx, idx, [Qt.DecorationRole])
