"""K×K stripe-similarity heatmap: cell (i, j) = cosine of query stripe i and candidate stripe j.

Also home of the diverging colour map shared with the pair view's per-stripe bars.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import QEvent, QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import (
    QColor,
    QFont,
    QFontMetricsF,
    QLinearGradient,
    QMouseEvent,
    QPainter,
    QPaintEvent,
    QPalette,
    QPen,
)
from PySide6.QtWidgets import QSizePolicy, QToolTip, QWidget

NO_STRIPES_MESSAGE = "No stripe features for this model"
NO_STRIPES_DETAIL = "It outputs only a global embedding, so stripes cannot be compared."

# ColorBrewer RdBu (11 classes), reversed so that -1 is blue and +1 is red; near-white at 0.
# Designed as a perceptually balanced diverging scheme (and colour-blind safe).
_STOPS: tuple[tuple[int, int, int], ...] = (
    (0x05, 0x30, 0x61),
    (0x21, 0x66, 0xAC),
    (0x43, 0x93, 0xC3),
    (0x92, 0xC5, 0xDE),
    (0xD1, 0xE5, 0xF0),
    (0xF7, 0xF7, 0xF7),
    (0xFD, 0xDB, 0xC7),
    (0xF4, 0xA5, 0x82),
    (0xD6, 0x60, 0x4D),
    (0xB2, 0x18, 0x2B),
    (0x67, 0x00, 0x1F),
)
NAN_RGB = (170, 170, 170)
DARK_TEXT = QColor(20, 20, 20)
LIGHT_TEXT = QColor(255, 255, 255)


def diverging_rgb(value: float, vmin: float = -1.0, vmax: float = 1.0) -> tuple[int, int, int]:
    """Blue (vmin) → near-white (midpoint) → red (vmax); clamps outside, grey for NaN."""
    if value is None or not math.isfinite(value):
        return NAN_RGB
    t = (float(value) - vmin) / (vmax - vmin)
    t = min(1.0, max(0.0, t)) * (len(_STOPS) - 1)
    k = min(int(t), len(_STOPS) - 2)
    f = t - k
    a, b = _STOPS[k], _STOPS[k + 1]
    return tuple(round(a[c] + (b[c] - a[c]) * f) for c in range(3))  # type: ignore[return-value]


def diverging_color(value: float, vmin: float = -1.0, vmax: float = 1.0) -> QColor:
    return QColor(*diverging_rgb(value, vmin, vmax))


def relative_luminance(rgb: tuple[int, int, int]) -> float:
    def lin(c: int) -> float:
        s = c / 255.0
        return s / 12.92 if s <= 0.04045 else ((s + 0.055) / 1.055) ** 2.4

    r, g, b = (lin(c) for c in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def text_color_for(rgb: tuple[int, int, int]) -> QColor:
    """Black or white, whichever has the higher WCAG contrast against `rgb`."""
    # Equal contrast against black and white at L ≈ 0.179.
    return DARK_TEXT if relative_luminance(rgb) > 0.179 else LIGHT_TEXT


def scaled_font(base: QFont, factor: float, bold: bool = False) -> QFont:
    f = QFont(base)
    if f.pointSizeF() > 0:
        f.setPointSizeF(max(1.0, f.pointSizeF() * factor))
    elif f.pixelSize() > 0:
        f.setPixelSize(max(1, round(f.pixelSize() * factor)))
    if bold:
        f.setBold(True)
    return f


def format_value(v: float) -> str:
    if not math.isfinite(v):
        return "–"
    return f"{v:.2f}".replace("-", "\u2212")


def format_compact(v: float) -> str:
    """Two decimals without the leading zero (".59", "−.05") for small cells."""
    if not math.isfinite(v):
        return "–"
    text = f"{v:.2f}"
    if abs(v) >= 0.995:
        return "1" if v > 0 else "\u22121"
    return text.replace("0.", ".", 1).replace("-", "\u2212")


@dataclass(frozen=True)
class _Geometry:
    x0: float  # grid top-left, widget coordinates
    y0: float
    cell: float
    k: int
    bar: QRectF  # colour legend bar


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

    def grid_rect(self) -> QRectF:
        g = self._geometry()
        if g is None:
            return QRectF()
        return QRectF(g.x0, g.y0, g.cell * g.k, g.cell * g.k)

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

    def _geometry(self) -> _Geometry | None:
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
        return _Geometry(x0, y0, cell, k, bar)

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
            self._paint_message(p)
        else:
            self._paint_grid(p, g)
        p.end()

    def _paint_message(self, p: QPainter) -> None:
        pal = self.palette()
        r = QRectF(self.rect()).adjusted(4, 4, -4, -4)
        pen = QPen(pal.color(QPalette.Mid), 1, Qt.DashLine)
        p.setPen(pen)
        p.setBrush(Qt.NoBrush)
        p.drawRoundedRect(r, 6, 6)
        inner = r.adjusted(10, 8, -10, -8)
        title = scaled_font(self.font(), 1.0, bold=True)
        detail = scaled_font(self.font(), 0.9)
        flags = Qt.AlignHCenter | Qt.TextWordWrap
        p.setFont(title)
        t_rect = p.boundingRect(inner, flags, NO_STRIPES_MESSAGE)
        p.setFont(detail)
        d_rect = p.boundingRect(inner, flags, NO_STRIPES_DETAIL)
        total = t_rect.height() + 4 + d_rect.height()
        y = inner.top() + max(0.0, (inner.height() - total) / 2)
        p.setPen(pal.color(QPalette.WindowText))
        p.setFont(title)
        p.drawText(QRectF(inner.left(), y, inner.width(), t_rect.height()), flags, NO_STRIPES_MESSAGE)
        if total <= inner.height():
            p.setPen(pal.color(QPalette.PlaceholderText))
            p.setFont(detail)
            p.drawText(
                QRectF(inner.left(), y + t_rect.height() + 4, inner.width(), d_rect.height()),
                flags,
                NO_STRIPES_DETAIL,
            )

    def _paint_grid(self, p: QPainter, g: _Geometry) -> None:
        assert self._m is not None
        pal = self.palette()
        k, cell = g.k, g.cell
        side = cell * k
        gap = 1.0 if cell >= 8 else 0.0

        # Cells.
        p.setPen(Qt.NoPen)
        p.fillRect(QRectF(g.x0, g.y0, side, side), pal.color(QPalette.Window))
        for i in range(k):
            for j in range(k):
                rgb = diverging_rgb(self._m[i, j])
                p.fillRect(QRectF(g.x0 + j * cell, g.y0 + i * cell, cell - gap, cell - gap), QColor(*rgb))

        # Values inside cells when they fit ("0.59", else the compact ".59").
        vfont = scaled_font(self.font(), 0.82)
        vfm = QFontMetricsF(vfont)
        inner = cell - gap
        fmt = None
        if inner >= vfm.height() + 2:
            if inner >= vfm.horizontalAdvance("\u22120.00") + 4:
                fmt = format_value
            elif inner >= vfm.horizontalAdvance("\u2212.00") + 1:
                fmt = format_compact
        if fmt is not None:
            p.setFont(vfont)
            for i in range(k):
                for j in range(k):
                    v = self._m[i, j]
                    p.setPen(text_color_for(diverging_rgb(v)))
                    p.drawText(QRectF(g.x0 + j * cell, g.y0 + i * cell, inner, inner), Qt.AlignCenter, fmt(v))

        # Labels.
        lfont = self._label_font()
        fm = QFontMetricsF(lfont)
        hi_i, hi_j = self._hi
        text_c = pal.color(QPalette.WindowText)
        accent = pal.color(QPalette.Highlight)
        label_w = fm.horizontalAdvance(f"Q{k}")
        col_top = g.y0 - 3 - fm.height()
        # Label boxes are one text line tall (centred on their row / column) so nothing is clipped.
        rows = [
            (
                i,
                QRectF(
                    g.x0 - 5 - label_w - 2,
                    g.y0 + (i + 0.5) * cell - gap / 2 - fm.height() / 2,
                    label_w + 2,
                    fm.height(),
                ),
                Qt.AlignRight | Qt.AlignVCenter,
                f"Q{i + 1}",
            )
            for i in range(k)
        ]
        col_w = fm.horizontalAdvance(f"C{k}") + 2
        cols = [
            (
                j,
                QRectF(g.x0 + j * cell + (cell - gap - col_w) / 2, col_top, col_w, fm.height()),
                Qt.AlignHCenter | Qt.AlignBottom,
                f"C{j + 1}",
            )
            for j in range(k)
        ]
        for labels, hi in ((rows, hi_i), (cols, hi_j)):
            # Highlighted label first; then every label that does not collide with one already drawn.
            order = sorted(labels, key=lambda t, hi=hi: t[0] != hi)
            taken: list[QRectF] = []
            for idx, rect, flags, text in order:
                box = rect.adjusted(-1, -1, 1, 1)
                if any(box.intersects(t) for t in taken):
                    continue
                taken.append(box)
                self._label(p, lfont, idx == hi, text_c, accent, rect, flags | Qt.TextDontClip, text)

        # Axis titles.
        p.setFont(lfont)
        p.setPen(pal.color(QPalette.PlaceholderText))
        # Titles may overhang the grid into the label / legend margins.
        left_m, _, right_m, _ = self._margins(k)
        tw = side + 2 * min(left_m, right_m) - 8
        top_title = fm.elidedText("candidate stripe", Qt.ElideRight, tw)
        p.drawText(
            QRectF(g.x0 + side / 2 - tw / 2, col_top - 2 - fm.height(), tw, fm.height()),
            Qt.AlignCenter,
            top_title,
        )
        p.save()
        left_title_x = g.x0 - 5 - label_w - 4 - fm.height()
        p.translate(left_title_x, g.y0 + side)
        p.rotate(-90)
        p.drawText(
            QRectF(0, 0, side, fm.height()),
            Qt.AlignCenter,
            fm.elidedText("query stripe", Qt.ElideRight, side),
        )
        p.restore()

        # Outline of the hovered / highlighted cell: dark outside, light inside (visible on any colour).
        if hi_i >= 0:
            r = QRectF(g.x0 + hi_j * cell, g.y0 + hi_i * cell, cell - gap, cell - gap)
            p.setBrush(Qt.NoBrush)
            p.setPen(QPen(QColor(0, 0, 0), 2.5))
            p.drawRect(r.adjusted(-1, -1, 1, 1))
            p.setPen(QPen(QColor(255, 255, 255), 1.2))
            p.drawRect(r.adjusted(0.8, 0.8, -0.8, -0.8))

        self._paint_legend(p, g, lfont, fm)

    @staticmethod
    def _label(
        p: QPainter,
        font: QFont,
        hi: bool,
        colour: QColor,
        accent: QColor,
        rect: QRectF,
        flags: Qt.AlignmentFlag,
        text: str,
    ) -> None:
        f = QFont(font)
        f.setBold(hi)
        p.setFont(f)
        p.setPen(accent if hi else colour)
        p.drawText(rect, flags, text)

    def _paint_legend(self, p: QPainter, g: _Geometry, font: QFont, fm: QFontMetricsF) -> None:
        pal = self.palette()
        bar = g.bar
        grad = QLinearGradient(bar.topLeft(), bar.bottomLeft())
        n = 20
        for s in range(n + 1):
            t = s / n
            grad.setColorAt(t, diverging_color(1.0 - 2.0 * t))
        p.setPen(QPen(pal.color(QPalette.Mid), 1))
        p.setBrush(grad)
        p.drawRect(bar)
        p.setFont(font)
        for v, y in ((1, bar.top()), (0, bar.center().y()), (-1, bar.bottom())):
            p.setPen(QPen(pal.color(QPalette.WindowText), 1))
            p.drawLine(QPointF(bar.right(), y), QPointF(bar.right() + 3, y))
            text = "0" if v == 0 else ("1" if v > 0 else "\u22121")
            p.drawText(
                QRectF(bar.right() + 5, y - fm.height() / 2, 40, fm.height()),
                Qt.AlignLeft | Qt.AlignVCenter,
                text,
            )
