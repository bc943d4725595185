"""The embedding map widget: one point per crop, coloured by identity (grey when in none) or by
camera; hover shows the crop's thumbnail and name, a click activates it, a lasso selects.

Drawing stays fast at 20,000 crops: all points are one scatter item (pyqtgraph renders each
distinct colour once and blits it), and hover is a vectorised nearest-point search in pixels
(`bench/bench_embedding_map.py` measures both).
"""

from __future__ import annotations

from typing import Protocol

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QSize, Qt, Signal
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QFrame, QLabel, QVBoxLayout, QWidget

from reid_desktop.core.reports.embedding_map import EmbeddingMap, inside_polygon
from reid_desktop.ui.plots.style import brush

# Distinct colours (Kelly's list, minus white/black/grey); identities cycle through them.
PALETTE = (
    "#e6194b", "#3cb44b", "#4363d8", "#f58231", "#911eb4", "#42d4f4", "#f032e6", "#bfef45",
    "#469990", "#9a6324", "#800000", "#808000", "#000075", "#fabed4", "#ffd8b1", "#aaffc3",
    "#dcbeff", "#e6c300", "#005f73", "#ae2012",
)  # fmt: skip
UNLABELLED = "#b5b5b5"
HOVER_PIXELS = 10  # the cursor picks the nearest point within this many pixels
THUMB = QSize(80, 160)


class ThumbnailSource(Protocol):
    """What the map needs of a thumbnail cache: `get` returns an icon or None (and starts the
    decode); `ready(path)` fires when it is decoded."""

    ready: Signal

    def get(self, path: str) -> QIcon | None: ...


def colour_slots(keys: np.ndarray) -> np.ndarray:
    """Palette slot of each point: keys in sorted order take the colours in turn (cycling);
    −1 (no identity) stays −1, drawn grey."""
    keys = np.asarray(keys, np.int64)
    uniq = np.unique(keys[keys >= 0])
    return np.where(keys >= 0, np.searchsorted(uniq, keys) % len(PALETTE), -1)


class _MapViewBox(pg.ViewBox):
    """Zoom and pan as usual; a left drag draws a lasso in lasso mode or with Shift held."""

    def __init__(self, owner: EmbeddingMapPlot) -> None:
        super().__init__(lockAspect=True)
        self.owner = owner

    def mouseDragEvent(self, ev, axis=None) -> None:  # noqa: N802 (Qt naming)
        lasso = self.owner.lasso_mode or bool(ev.modifiers() & Qt.ShiftModifier)
        if ev.button() != Qt.LeftButton or not lasso:
            super().mouseDragEvent(ev, axis)
            return
        ev.accept()
        if ev.isStart():
            self.owner.lasso_points = [self.mapToView(ev.buttonDownPos())]
            self.owner.hide_hover()
        self.owner.lasso_points.append(self.mapToView(ev.pos()))
        self.owner.draw_lasso()
        if ev.isFinish():
            self.owner.finish_lasso()


class EmbeddingMapPlot(QWidget):
    cropActivated = Signal(int)  # a point was clicked
    selectionChanged = Signal(object)  # list of crop ids (empty: cleared)

    def __init__(self, thumbnails: ThumbnailSource | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.thumbnails = thumbnails
        self.map: EmbeddingMap | None = None
        self.colour_by = "identity"
        self.lasso_mode = False
        self.lasso_points: list[QPointF] = []
        self.selected = np.zeros(0, np.int64)  # point indices
        self.hovered: int | None = None
        self.vb = _MapViewBox(self)
        self.plot = pg.PlotWidget(viewBox=self.vb)
        self.plot.getPlotItem().hideButtons()
        for name in ("left", "bottom"):
            self.plot.getPlotItem().getAxis(name).enableAutoSIPrefix(False)
        self._grey_brush = pg.mkBrush(brush(UNLABELLED, 160))
        self._brushes = [pg.mkBrush(brush(c, 220)) for c in PALETTE]
        self.points = pg.ScatterPlotItem(pen=None)
        self.plot.addItem(self.points)
        self.order = np.zeros(0, np.int64)  # point i of the map is drawn as item point where order == i
        self.selection_ring = pg.ScatterPlotItem(size=11, pen=pg.mkPen("#111111", width=1.2), brush=None)
        self.hover_ring = pg.ScatterPlotItem(size=16, pen=pg.mkPen("#111111", width=2), brush=None)
        self.lasso_line = pg.PlotCurveItem(pen=pg.mkPen("#111111", width=1.5, style=Qt.DashLine))
        for item in (self.selection_ring, self.hover_ring, self.lasso_line):
            item.setZValue(30)
            self.plot.addItem(item, ignoreBounds=True)
        self.tip = QFrame(self.plot)
        self.tip.setObjectName("mapHover")
        self.tip.setStyleSheet("#mapHover { background: white; border: 1px solid #999; }")
        self.tip_image = QLabel()
        self.tip_image.setFixedSize(THUMB)
        self.tip_image.setAlignment(Qt.AlignCenter)
        self.tip_text = QLabel()
        self.tip_text.setStyleSheet("color: #222;")
        tl = QVBoxLayout(self.tip)
        tl.setContentsMargins(4, 4, 4, 4)
        tl.addWidget(self.tip_image, 0, Qt.AlignHCenter)
        tl.addWidget(self.tip_text)
        self.tip.hide()
        self.tip.setAttribute(Qt.WA_TransparentForMouseEvents)
        self.plot.scene().sigMouseMoved.connect(self.hover_at)
        self.plot.scene().sigMouseClicked.connect(self._clicked)
        if thumbnails is not None:
            thumbnails.ready.connect(self._thumbnail_ready)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.plot)
        self.setMinimumSize(320, 240)
        self.setFocusPolicy(Qt.StrongFocus)

    # ---- data ----------------------------------------------------------------------------------
    def show_map(self, m: EmbeddingMap | None) -> None:
        self.map = m
        self.selected = np.zeros(0, np.int64)
        self.selection_ring.setData([], [])
        self.hide_hover()
        self._draw()
        if m is not None and len(m):
            self.vb.autoRange(padding=0.04)

    def set_colour_by(self, what: str) -> None:
        self.colour_by = what
        self._draw()

    def colour_keys(self) -> np.ndarray:
        """The key each point is coloured by (−1 = grey)."""
        m = self.map
        if m is None:
            return np.zeros(0, np.int64)
        return m.camera.astype(np.int64) if self.colour_by == "camera" else m.identity

    def _draw(self) -> None:
        m = self.map
        if m is None or not len(m):
            self.points.setData([], [])
            self.order = np.zeros(0, np.int64)
            return
        slots = colour_slots(self.colour_keys())
        # Grey first so coloured points sit on top; one item, so a repaint walks one list.
        self.order = np.argsort(slots >= 0, kind="stable")
        s = slots[self.order]
        brushes = [self._grey_brush if k < 0 else self._brushes[k] for k in s.tolist()]
        self.points.setData(
            m.xy[self.order, 0], m.xy[self.order, 1], size=np.where(s < 0, 5, 7), brush=brushes, pen=None
        )
        # PCA axes mean something (principal components); t-SNE coordinates do not: no axes.
        item = self.plot.getPlotItem()
        for name, label in (("bottom", "PC 1"), ("left", "PC 2")):
            item.setLabel(name, label)  # (shows the axis: hide it after, for t-SNE)
            item.showAxis(name, m.method == "pca")

    # ---- hover and click -------------------------------------------------------------------------
    def nearest(self, view_pos: QPointF) -> int | None:
        """The point nearest to a position in data units, if within HOVER_PIXELS on screen."""
        m = self.map
        if m is None or not len(m):
            return None
        px, py = self.vb.viewPixelSize()
        if not (px > 0 and py > 0):
            return None
        dx = (m.xy[:, 0] - view_pos.x()) / px
        dy = (m.xy[:, 1] - view_pos.y()) / py
        d2 = dx * dx + dy * dy
        i = int(np.argmin(d2))
        return i if d2[i] <= HOVER_PIXELS**2 else None

    def hover_at(self, scene_pos: QPointF) -> None:
        if not self.vb.sceneBoundingRect().contains(scene_pos):
            self.hide_hover()
            return
        i = self.nearest(self.vb.mapSceneToView(scene_pos))
        if i is None:
            self.hide_hover()
            return
        if i != self.hovered:
            self.hovered = i
            m = self.map
            self.hover_ring.setData([float(m.xy[i, 0])], [float(m.xy[i, 1])])
            self.tip_text.setText(self.describe(i))
            self._show_thumbnail()
        self._place_tip(self.plot.mapFromScene(scene_pos))

    def describe(self, i: int) -> str:
        m = self.map
        key = int(m.identity[i])
        who = m.labels.get(key, f"ID-{key:04d}") if key >= 0 else "not in an identity"
        return f"{m.names[i]}\n{who}"

    def _show_thumbnail(self) -> None:
        path = self.map.paths[self.hovered] if self.hovered is not None else ""
        icon = self.thumbnails.get(path) if (self.thumbnails is not None and path) else None
        if icon is None:
            self.tip_image.setText("…")
            self.tip_image.setPixmap(QIcon().pixmap(1, 1))
        else:
            self.tip_image.setPixmap(icon.pixmap(THUMB))

    def _thumbnail_ready(self, path: str) -> None:
        if self.hovered is not None and self.map is not None and self.map.paths[self.hovered] == path:
            self._show_thumbnail()

    def _place_tip(self, at) -> None:
        self.tip.adjustSize()
        x, y = at.x() + 16, at.y() + 16
        if x + self.tip.width() > self.plot.width():
            x = at.x() - 16 - self.tip.width()
        if y + self.tip.height() > self.plot.height():
            y = max(0, self.plot.height() - self.tip.height())
        self.tip.move(int(x), int(y))
        self.tip.show()
        self.tip.raise_()

    def hide_hover(self) -> None:
        self.hovered = None
        self.hover_ring.setData([], [])
        self.tip.hide()

    def _clicked(self, ev) -> None:
        if ev.button() != Qt.LeftButton or self.map is None:
            return
        i = self.nearest(self.vb.mapSceneToView(ev.scenePos()))
        if i is not None:
            self.cropActivated.emit(int(self.map.crop_ids[i]))

    # ---- lasso -------------------------------------------------------------------------------------
    def draw_lasso(self) -> None:
        pts = self.lasso_points + self.lasso_points[:1]
        self.lasso_line.setData([p.x() for p in pts], [p.y() for p in pts])

    def finish_lasso(self) -> None:
        polygon = np.array([(p.x(), p.y()) for p in self.lasso_points])
        self.lasso_points = []
        self.lasso_line.setData([], [])
        if self.map is not None and len(polygon) >= 3:
            self.select(np.flatnonzero(inside_polygon(self.map.xy, polygon)))
        self.plot.setFocus()  # so Enter / Esc act on the selection just drawn

    def select(self, indices: np.ndarray) -> None:
        self.selected = np.asarray(indices, np.int64)
        m = self.map
        if m is None:
            return
        self.selection_ring.setData(m.xy[self.selected, 0], m.xy[self.selected, 1])
        self.selectionChanged.emit([int(c) for c in m.crop_ids[self.selected]])

    def clear_selection(self) -> None:
        self.select(np.zeros(0, np.int64))

    def keyPressEvent(self, event) -> None:  # noqa: N802 (Qt naming)
        if event.key() == Qt.Key_Escape and len(self.selected):
            self.clear_selection()
            return
        super().keyPressEvent(event)
