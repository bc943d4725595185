"""The crop browser: cameras on the left, a thumbnail grid of their crops on the right."""

from __future__ import annotations

from collections.abc import Iterable

from PySide6.QtCore import QEvent, QItemSelectionModel, QSize, QSortFilterProxyModel, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListView,
    QPushButton,
    QSlider,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from reid_desktop.core.identities.links import LinkGraph
from reid_desktop.store import Project
from reid_desktop.ui.crops.camera_model import CameraIdRole, CameraListModel
from reid_desktop.ui.crops.crop_model import CropListModel, crop_items
from reid_desktop.ui.crops.thumbnails import ThumbnailCache


class CropBrowser(QWidget):
    countsChanged = Signal(str)
    addFoldersRequested = Signal()

    def __init__(self, thumbnails: ThumbnailCache, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._project: Project | None = None
        self._only: set[int] | None = None  # crops picked elsewhere (the map's lasso), else all
        self._unfiltered = 0
        self.cameras = CameraListModel(self)
        self.crops = CropListModel(thumbnails, self)
        self.proxy = QSortFilterProxyModel(self)
        self.proxy.setSourceModel(self.crops)
        self.proxy.setFilterCaseSensitivity(Qt.CaseInsensitive)

        self.camera_view = QListView()
        self.camera_view.setObjectName("cameraList")
        self.camera_view.setModel(self.cameras)
        self.camera_view.setSpacing(3)
        self.camera_view.setMinimumWidth(190)
        self.camera_view.selectionModel().currentChanged.connect(lambda *_: self._load_crops())

        self.grid = QListView()
        self.grid.setObjectName("cropGrid")
        self.grid.setModel(self.proxy)
        self.grid.setViewMode(QListView.IconMode)
        self.grid.setResizeMode(QListView.Adjust)
        self.grid.setMovement(QListView.Static)
        self.grid.setUniformItemSizes(True)  # keeps layout O(1) per item with 10,000 crops
        self.grid.setLayoutMode(QListView.Batched)
        self.grid.setBatchSize(500)
        self.grid.setSelectionMode(QListView.ExtendedSelection)
        self.grid.setWordWrap(False)
        self.grid.setTextElideMode(Qt.ElideMiddle)

        self.filter = QLineEdit(placeholderText="Filter crops by file name…  (Ctrl+F)")
        self.filter.setClearButtonEnabled(True)
        self.filter.textChanged.connect(self._on_filter)
        self.status_filter = QComboBox()
        self.status_filter.setObjectName("decidedFilter")
        self.status_filter.addItems(["All crops", "In an identity", "Not in an identity yet"])
        self.status_filter.currentIndexChanged.connect(lambda _i: self._load_crops())
        self.zoom = QSlider(Qt.Horizontal)
        self.zoom.setRange(48, 192)
        self.zoom.setValue(96)
        self.zoom.setFixedWidth(140)
        self.zoom.setToolTip("Thumbnail size (Ctrl+= / Ctrl+-)")
        self.zoom.valueChanged.connect(self._apply_zoom)
        self.count_label = QLabel()
        # A new project has nothing to browse: say what to do first.
        self.empty_hint = QWidget()
        self.empty_hint.setObjectName("cropsEmptyHint")
        hint_text = QLabel(
            "<b>No crops yet.</b> Add one folder per camera (several at once, or drop them on the "
            "dialog): <b>Cameras → Add Camera Folders…</b> (Ctrl+Shift+A)."
        )
        hint_text.setWordWrap(True)
        hint_button = QPushButton("Add Camera Folders…")
        hint_button.clicked.connect(self.addFoldersRequested.emit)
        hl = QHBoxLayout(self.empty_hint)
        hl.addWidget(hint_text, 1)
        hl.addWidget(hint_button)
        self.empty_hint.hide()
        self.count_label.linkActivated.connect(lambda _link: self.show_crops(None))

        top = QHBoxLayout()
        top.addWidget(self.filter, 1)
        top.addWidget(self.status_filter)
        top.addWidget(QLabel("Size"))
        top.addWidget(self.zoom)
        right = QVBoxLayout()
        right.setContentsMargins(0, 0, 0, 0)
        right.addLayout(top)
        right.addWidget(self.empty_hint)
        right.addWidget(self.grid, 1)
        right.addWidget(self.count_label)
        right_w = QWidget()
        right_w.setLayout(right)

        split = QSplitter()
        split.addWidget(self.camera_view)
        split.addWidget(right_w)
        split.setStretchFactor(1, 1)
        split.setSizes([220, 900])
        lay = QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(split)
        self._apply_zoom(self.zoom.value())
        self.grid.viewport().installEventFilter(self)  # resized: the columns fill the new width

    def set_project(self, project: Project | None) -> None:
        self._project = project
        self._only = None
        self.refresh()

    def refresh(self) -> None:
        """Reload cameras and crops from the project, keeping the selected camera."""
        current = self.selected_camera_id()
        stats = self._project.cameras.stats() if self._project else []
        self.cameras.set_stats(stats)
        self.empty_hint.setVisible(
            self._project is not None and not any(s.present + s.missing for s in stats)
        )
        row = 0
        for i, s in enumerate(stats, 1):
            if s.camera.id == current:
                row = i
        self.camera_view.selectionModel().setCurrentIndex(
            self.cameras.index(row), QItemSelectionModel.ClearAndSelect
        )
        self._load_crops()

    def selected_camera_id(self) -> int | None:
        idx = self.camera_view.currentIndex()
        return idx.data(CameraIdRole) if idx.isValid() else None

    def select_camera_row(self, row: int) -> None:
        self.camera_view.setCurrentIndex(self.cameras.index(row))

    def _load_crops(self) -> None:
        items = crop_items(self._project, self.selected_camera_id()) if self._project else []
        mode = self.status_filter.currentIndex()
        if mode and self._project is not None:
            linked = {
                c
                for members in LinkGraph(self._project.decisions.active()).components().values()
                for c in members
            }
            items = [it for it in items if (it.crop_id in linked) == (mode == 1)]
        self._unfiltered = len(items)
        if self._only is not None:
            items = [it for it in items if it.crop_id in self._only]
        self.crops.set_items(items)
        self._update_count()

    def _on_filter(self, text: str) -> None:
        self.proxy.setFilterFixedString(text)
        self._update_count()

    def _update_count(self) -> None:
        shown, total = self.proxy.rowCount(), self.crops.rowCount()
        text = f"{total:,} crops" if shown == total else f"{shown:,} of {total:,} crops shown"
        self.count_label.setText(text)
        if self._only is not None:
            self.count_label.setText(
                f"{shown:,} of {self._unfiltered:,} crops · selected on the map · <a href='all'>show all</a>"
            )
        self.countsChanged.emit(text)

    def show_crops(self, crop_ids: Iterable[int] | None, current: int | None = None) -> None:
        """Show only these crops, of every camera (None: all again), and select `current`.
        Nothing the operator typed earlier may hide what was asked for: a selection or a crop to
        show clears the name and status filters."""
        self._only = None if crop_ids is None else set(crop_ids)
        if current is not None or crop_ids is not None:
            self.filter.clear()
            self.status_filter.setCurrentIndex(0)
        if self.camera_view.currentIndex().row() != 0:
            self.select_camera_row(0)  # reloads the crops
        else:
            self._load_crops()
        if current is not None:
            rows = [r for r in range(self.crops.rowCount()) if self.crops.item(r).crop_id == current]
            if rows:
                idx = self.proxy.mapFromSource(self.crops.index(rows[0]))
                self.grid.setCurrentIndex(idx)
                self.grid.scrollTo(idx, QListView.PositionAtCenter)
                # The grid lays its items out once it is shown: scroll again after that.
                QTimer.singleShot(0, lambda: self._scroll_to(idx))

    def _scroll_to(self, idx) -> None:
        if idx.isValid() and self.grid.currentIndex() == idx:
            self.grid.scrollTo(idx, QListView.PositionAtCenter)

    def _apply_zoom(self, width: int) -> None:
        self.grid.setIconSize(QSize(width, width * 2))
        self._cell = QSize(width + 24, width * 2 + 28)
        self._fill_width()

    def _fill_width(self) -> None:
        """Share the spare width among the columns, so no empty strip is left on the right."""
        avail = self.grid.viewport().width()
        columns = max(1, avail // self._cell.width())
        cell = QSize(max(self._cell.width(), avail // columns), self._cell.height())
        if cell != self.grid.gridSize():
            self.grid.setGridSize(cell)

    def eventFilter(self, watched, event) -> bool:
        if watched is self.grid.viewport() and event.type() == QEvent.Resize:
            self._fill_width()
        return super().eventFilter(watched, event)

    def zoom_by(self, step: int) -> None:
        self.zoom.setValue(self.zoom.value() + step)
