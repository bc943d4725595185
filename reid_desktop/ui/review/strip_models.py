"""Item models of the identity review: the strip of candidate identities (checkable: ticked ones
merge on Enter, unticked ones get no verdict) and the strip of one identity's crops. Plain
dataclasses in, testable without a window; thumbnails arrive from the shared ThumbnailCache."""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import (
    QAbstractListModel,
    QEvent,
    QModelIndex,
    QPersistentModelIndex,
    QRect,
    QRectF,
    QSize,
    Qt,
    Signal,
)
from PySide6.QtGui import QColor, QIcon, QPainter, QPen
from PySide6.QtWidgets import (
    QApplication,
    QListView,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionButton,
    QStyleOptionViewItem,
)

from reid_desktop.core.names import plural
from reid_desktop.ui.crops.thumbnails import ThumbnailCache

KeyRole = Qt.UserRole + 1
PICK_COLOUR = QColor("#2e7d32")  # ticked: will merge


@dataclass(frozen=True)
class StripCrop:
    crop_id: int
    path: str
    caption: str  # "cam1/00474b7626b0.jpg"
    best: bool = False  # one of the pair shown in the pair view


@dataclass(frozen=True)
class StripCandidate:
    key: int
    path: str  # its crop of the best-matching pair: the thumbnail
    label: str  # "ID-0042" or the identity's name
    cameras: str  # "cam1 ×3 · cam2 ×2"
    size: int
    score: float
    prob: float | None


class _ThumbModel(QAbstractListModel):
    def __init__(self, thumbnails: ThumbnailCache | None, parent=None) -> None:
        super().__init__(parent)
        self._thumbs = thumbnails
        self._paths: list[str] = []
        if thumbnails is not None:
            thumbnails.ready.connect(self._on_thumb)

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self._paths)

    def _icon(self, path: str):
        if self._thumbs is None:
            return None
        return self._thumbs.get(path) or self._thumbs.placeholder

    def _on_thumb(self, path: str) -> None:
        for i, p in enumerate(self._paths):
            if p == path:
                idx = self.index(i)
                self.dataChanged.emit(idx, idx, [Qt.DecorationRole])


class CropStripModel(_ThumbModel):
    def __init__(self, thumbnails: ThumbnailCache | None = None, parent=None) -> None:
        super().__init__(thumbnails, parent)
        self._items: list[StripCrop] = []

    def set_items(self, items: list[StripCrop]) -> None:
        self.beginResetModel()
        self._items = list(items)
        self._paths = [it.path for it in self._items]
        self.endResetModel()

    def items(self) -> list[StripCrop]:
        return list(self._items)

    def row_of(self, crop_id: int) -> int:
        return next((i for i, it in enumerate(self._items) if it.crop_id == crop_id), -1)

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.DisplayRole):
        if not index.isValid() or not 0 <= index.row() < len(self._items):
            return None
        it = self._items[index.row()]
        if role == Qt.DecorationRole:
            return self._icon(it.path)
        if role == Qt.ToolTipRole:
            return it.caption + ("\n(the pair shown on the right)" if it.best else "")
        if role == Qt.DisplayRole:
            return "▲" if it.best else ""
        if role == Qt.TextAlignmentRole:
            return int(Qt.AlignHCenter | Qt.AlignTop)
        if role == KeyRole:
            return it.crop_id
        return None


class CandidateStripModel(_ThumbModel):
    """Candidates with a tick each. `toggled(key, ticked)` fires for every change the operator
    makes (clicks on the box or `toggle`), which the screen counts as an action."""

    toggled = Signal(int, bool)

    def __init__(self, thumbnails: ThumbnailCache | None = None, parent=None) -> None:
        super().__init__(thumbnails, parent)
        self._items: list[StripCandidate] = []
        self._ticked: list[bool] = []

    def set_items(self, items: list[StripCandidate], ticked: list[bool]) -> None:
        self.beginResetModel()
        self._items = list(items)
        self._ticked = list(ticked)
        self._paths = [it.path for it in self._items]
        self.endResetModel()

    def item(self, row: int) -> StripCandidate:
        return self._items[row]

    def items(self) -> list[StripCandidate]:
        return list(self._items)

    def ticked(self) -> list[int]:
        return [it.key for it, t in zip(self._items, self._ticked, strict=True) if t]

    def unticked(self) -> list[int]:
        return [it.key for it, t in zip(self._items, self._ticked, strict=True) if not t]

    def is_ticked(self, row: int) -> bool:
        return self._ticked[row]

    def toggle(self, row: int) -> None:
        if 0 <= row < len(self._items):
            self.setData(
                self.index(row), Qt.Unchecked if self._ticked[row] else Qt.Checked, Qt.CheckStateRole
            )

    def flags(self, index: QModelIndex | QPersistentModelIndex) -> Qt.ItemFlags:
        if not index.isValid():
            return Qt.NoItemFlags
        return Qt.ItemIsEnabled | Qt.ItemIsSelectable | Qt.ItemIsUserCheckable

    def setData(self, index: QModelIndex | QPersistentModelIndex, value, role: int = Qt.EditRole) -> bool:
        if role != Qt.CheckStateRole or not index.isValid():
            return False
        row = index.row()
        state = Qt.CheckState(value) if not isinstance(value, Qt.CheckState) else value
        ticked = state == Qt.Checked
        if ticked == self._ticked[row]:
            return False
        self._ticked[row] = ticked
        self.dataChanged.emit(index, index, [Qt.CheckStateRole, Qt.DisplayRole, Qt.ForegroundRole])
        self.toggled.emit(self._items[row].key, ticked)
        return True

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.DisplayRole):
        if not index.isValid() or not 0 <= index.row() < len(self._items):
            return None
        row = index.row()
        it = self._items[row]
        if role == Qt.DisplayRole:
            key = f"{row + 1} · " if row < 9 else ""  # keys 1-9 tick candidates
            value = f"{it.prob:.2f}" if it.prob is not None else f"{it.score:.2f}"
            return f"{key}{value}" + (f" ×{it.size}" if it.size > 1 else "")
        if role == Qt.CheckStateRole:
            return Qt.Checked if self._ticked[row] else Qt.Unchecked
        if role == Qt.ForegroundRole and self._ticked[row]:
            return PICK_COLOUR
        if role == Qt.ToolTipRole:
            p = f"P(same) {it.prob:.2f} · " if it.prob is not None else ""
            return f"{it.label} · {plural(it.size, 'crop')} · {it.cameras}\n{p}group score {it.score:.3f}"
        if role == Qt.DecorationRole:
            return self._icon(it.path)
        if role == KeyRole:
            return it.key
        return None


class CandidateDelegate(QStyledItemDelegate):
    """A candidate cell: thumbnail with its tick box in the corner, "n · P" below in full width.
    Clicking the box ticks; clicking elsewhere makes it the current candidate."""

    BOX = 18

    def _box(self, rect: QRect) -> QRect:
        return QRect(rect.left() + 3, rect.top() + 3, self.BOX, self.BOX)

    def paint(self, p: QPainter, option: QStyleOptionViewItem, index: QModelIndex) -> None:
        r = option.rect.adjusted(2, 2, -2, -2)
        ticked = index.data(Qt.CheckStateRole) == Qt.Checked
        current = bool(option.state & QStyle.State_Selected)
        p.save()
        p.setRenderHint(QPainter.Antialiasing)
        if ticked:
            p.fillRect(r, QColor(46, 125, 50, 40))
        if current or ticked:
            p.setPen(QPen(option.palette.highlight().color() if current else PICK_COLOUR, 2))
            p.drawRoundedRect(QRectF(r).adjusted(1, 1, -1, -1), 4, 4)
        fm = option.fontMetrics
        text_h = fm.height() + 4
        icon = index.data(Qt.DecorationRole)
        if isinstance(icon, QIcon):
            area = QRect(r.left(), r.top() + 4, r.width(), r.height() - text_h - 6)
            icon.paint(p, area, Qt.AlignCenter)
        box = QStyleOptionButton()
        box.rect = self._box(option.rect)
        box.state = QStyle.State_Enabled | (QStyle.State_On if ticked else QStyle.State_Off)
        style = option.widget.style() if option.widget else QApplication.style()
        style.drawPrimitive(QStyle.PE_IndicatorCheckBox, box, p, option.widget)
        p.setPen(PICK_COLOUR if ticked else option.palette.text().color())
        text = fm.elidedText(str(index.data(Qt.DisplayRole) or ""), Qt.ElideRight, r.width() - 4)
        p.drawText(QRect(r.left(), r.bottom() - text_h, r.width(), text_h), Qt.AlignCenter, text)
        p.restore()

    def sizeHint(self, option: QStyleOptionViewItem, index: QModelIndex) -> QSize:
        view = option.widget
        return view.gridSize() if isinstance(view, QListView) else QSize(92, 116)

    def editorEvent(self, event, model, option: QStyleOptionViewItem, index: QModelIndex) -> bool:
        if (
            event.type() == QEvent.MouseButtonRelease
            and event.button() == Qt.LeftButton
            and self._box(option.rect).contains(event.position().toPoint())
        ):
            checked = index.data(Qt.CheckStateRole) == Qt.Checked
            return model.setData(index, Qt.Unchecked if checked else Qt.Checked, Qt.CheckStateRole)
        return False
