"""K×K stripe-similarity heatmap: cell (i, j) = cosine of query stripe i and candidate stripe j.

The widget keeps the matrix, sizes the grid and turns hovering into `cellHovered`; the painting
is in `heatmap_painting`. The diverging colour map shared with the pair view's per-stripe bars
lives in `drawing_helpers`; its names are re-exported here.
"""

from __future__ import annotations

import math

import numpy as np
from PySide6.QtCore import QEvent, QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QFont, QFontMetricsF, QMouseEvent, QPainter, QPaintEvent
from PySide6.QtWidgets import QSizePolicy, QToolTip, QWidget

from reid_desktop.ui.review.drawing_helpers import (
    DARK_TEXT,
    LIGHT_TEXT,
    NAN_RGB,
    diverging_color,
    diverging_rgb,
    format_compact,
    format_value,
    relative_luminance,
    scaled_font,
    text_color_for,
)
from reid_desktop.ui.review.heatmap_painting import (
    NO_STRIPES_DETAIL,
    NO_STRIPES_MESSAGE,
    GridGeometry,
    paint_axis_titles,
    paint_cell_outline,
    paint_cells,
    paint_labels,
    paint_legend,
    paint_no_stripes,
    paint_values,
)

__all__ = [
    "DARK_TEXT",
    "LIGHT_TEXT",
    "NAN_RGB",
    "NO_STRIPES_DETAIL",
    "NO_STRIPES_MESSAGE",
    "StripeHeatmap",
    "diverging_color",
    "diverging_rgb",
    "format_compact",
    "format_value",
    "relative_luminance",
    "scaled_font",
    "text_color_for",
]


class StripeHeatmap(QWidget):
    """Heatmap of a K×K stripe matrix on a fixed [-1, 1] diverging scale.

    `cellHovered(i, j)` is emitted when the mouse enters cell (i, j) and `(-1, -1)` when it
    leaves the grid. `set_highlight(i, j)` outlines a cell without emitting.
    """

    cellHovered = Signal(int, int)

    _PAD = 3.0

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._m: np.ndarray | None = None
        self._hi: tuple[int, int] = (-1, -1)
        self.setMouseTracking(True)
        self.setAttribute(Qt.WA_Hover, True)
        sp = QSizePolicy(QSizePolicy.Preferred, QSizePolicy.Preferred)
        sp.setHeightForWidth(True)
        self.setSizePolicy(sp)
        self.setAccessibleName("Stripe similarity heatmap")

    # ----------------------------------------------------------------------------- public API
    def set_matrix(self, m: np.ndarray | None) -> None:
        if m is None:
            self._m = None
        else:
            arr = np.array(m, dtype=np.float64, copy=True)
            if arr.ndim != 2 or arr.shape[0] != arr.shape[1] or arr.shape[0] < 1:
                raise ValueError(f"stripe matrix must be K×K, got shape {arr.shape}")
            self._m = arr
        self._hi = (-1, -1)
        self.updateGeometry()
        self.update()

    def matrix(self) -> np.ndarray | None:
        return None if self._m is None else self._m.copy()

    def k(self) -> int:
        return 0 if self._m is None else int(self._m.shape[0])

    def message(self) -> str:
        """The message drawn instead of the grid ("" while a matrix is shown)."""
        return NO_STRIPES_MESSAGE if self._m is None else ""

    def set_highlight(self, i: int, j: int) -> None:
        k = self.k()
        new = (i, j) if 0 <= i < k and 0 <= j < k else (-1, -1)
        if new != self._hi:
            self._hi = new
            self.update()

    def highlighted(self) -> tuple[int, int]:
        return self._hi

    def cell_rect(self, i: int, j: int) -> QRectF:
        """Rectangle of cell (row i = query stripe, column j = candidate stripe), widget coords."""
        g = self._geometry()
        if g is None or not (0 <= i < g.k and 0 <= j < g.k):
            raise IndexError(f"no cell ({i}, {j})")
        return QRectF(g.x0 + j * g.cell, g.y0 + i * g.cell, g.cell, g.cell)

    def cell_at(self, pos: QPointF) -> tuple[int, int]:
        g = self._geometry()
        if g is None:
            return (-1, -1)
        col = math.floor((pos.x() - g.x0) / g.cell)
        row = math.floor((pos.y() - g.y0) / g.cell)
        if 0 <= row < g.k and 0 <= col < g.k:
            return (row, col)
        return (-1, -1)

    # ------------------------------------------------------------------------------- sizing
    def _label_font(self) -> QFont:
        return scaled_font(self.font(), 0.9)

    def _margins(self, k: int) -> tuple[float, float, float, float]:
        """left, top, right, bottom space around the grid (labels, titles, legend)."""
        fm = QFontMetricsF(self._label_font())
        h = fm.height()
        left = h + 4 + fm.horizontalAdvance(f"Q{k}") + 5
        top = h + 2 + h + 3
        right = 12 + self._bar_width(fm) + 4 + max(fm.horizontalAdvance(s) for s in ("\u22121", "0", "1"))
        bottom = math.ceil(h / 2) + 1
        p = self._PAD
        return left + p, top + p, right + p, bottom + p

    @staticmethod
    def _bar_width(fm: QFontMetricsF) -> float:
        return max(8.0, round(fm.height() * 0.75))

    def _cell_hint(self) -> float:
        return math.ceil(QFontMetricsF(self._label_font()).height() * 2.4)

    def sizeHint(self) -> QSize:
        k = self.k() or 8
        left, top, right, bottom = self._margins(k)
        side = max(8 * self._cell_hint(), k * 12)
        return QSize(math.ceil(left + side + right), math.ceil(top + side + bottom))

    def minimumSizeHint(self) -> QSize:
        k = self.k() or 8
        left, top, right, bottom = self._margins(k)
        side = max(96, k * 5)
        return QSize(math.ceil(left + side + right), math.ceil(top + side + bottom))

    def hasHeightForWidth(self) -> bool:
        return True

    def heightForWidth(self, w: int) -> int:
        k = self.k()
        if k == 0:
            return math.ceil(QFontMetricsF(self.font()).height() * 5)
        left, top, right, bottom = self._margins(k)
        cell = max(1, math.floor((w - left - right) / k))
        return math.ceil(top + cell * k + bottom)

    def _geometry(self) -> GridGeometry | None:
        k = self.k()
        if k == 0:
            return None
        left, top, right, bottom = self._margins(k)
        avail_w = self.width() - left - right
        avail_h = self.height() - top - bottom
        cell = max(1, math.floor(min(avail_w, avail_h) / k))
        side = cell * k
        # Top-left aligned: the grid sits under its title in the pair view.
        x0 = round(left)
        y0 = round(top)
        fm = QFontMetricsF(self._label_font())
        bar = QRectF(x0 + side + 12, y0, self._bar_width(fm), side)
        return GridGeometry(x0, y0, cell, k, bar)

    # ------------------------------------------------------------------------------ events
    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        self._hover_to(self.cell_at(event.position()), event)
        super().mouseMoveEvent(event)

    def leaveEvent(self, event: QEvent) -> None:
        self._hover_to((-1, -1), None)
        super().leaveEvent(event)

    def _hover_to(self, cell: tuple[int, int], event: QMouseEvent | None) -> None:
        if cell == self._hi:
            return
        self._hi = cell
        self.update()
        i, j = cell
        if event is not None and i >= 0 and self._m is not None:
            text = f"query stripe {i + 1} × candidate stripe {j + 1}: {format_value(self._m[i, j])}"
            QToolTip.showText(event.globalPosition().toPoint(), text, self, self.cell_rect(i, j).toRect())
        else:
            QToolTip.hideText()
        self.cellHovered.emit(int(i), int(j))

    def changeEvent(self, event: QEvent) -> None:
        if event.type() in (QEvent.FontChange, QEvent.PaletteChange):
            self.updateGeometry()
            self.update()
        super().changeEvent(event)

    # ----------------------------------------------------------------------------- painting
    def paintEvent(self, event: QPaintEvent) -> None:
        p = QPainter(self)
        p.setRenderHint(QPainter.Antialiasing, True)
        p.setRenderHint(QPainter.TextAntialiasing, True)
        g = self._geometry()
        if g is None or self._m is None:
            paint_no_stripes(p, QRectF(self.rect()), self.palette(), self.font())
        else:
            self._paint_grid(p, g)
        p.end()

    def _paint_grid(self, p: QPainter, g: GridGeometry) -> None:
        assert self._m is not None
        pal, lfont = self.palette(), self._label_font()
        left_m, _, right_m, _ = self._margins(g.k)
        paint_cells(p, g, self._m, pal)
        paint_values(p, g, self._m, self.font())
        paint_labels(p, g, self._hi, pal, lfont)
        paint_axis_titles(p, g, pal, lfont, (left_m, right_m))
        paint_cell_outline(p, g, self._hi)
        paint_legend(p, g, pal, lfont)
