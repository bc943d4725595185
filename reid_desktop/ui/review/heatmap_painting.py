"""Painting of the stripe heatmap: coloured cells with values, Q/C labels, axis titles, the
highlighted cell, the colour legend, and the message shown when a model has no stripes.

Plain functions of a painter and the grid geometry; `StripeHeatmap` owns the state and calls them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QFontMetricsF, QLinearGradient, QPainter, QPalette, QPen

from reid_desktop.ui.review.drawing_helpers import (
    diverging_color,
    diverging_rgb,
    format_compact,
    format_value,
    scaled_font,
    text_color_for,
)

NO_STRIPES_MESSAGE = "No stripe features for this model"
NO_STRIPES_DETAIL = "It outputs only a global embedding, so stripes cannot be compared."


@dataclass(frozen=True)
class GridGeometry:
    x0: float  # grid top-left, widget coordinates
    y0: float
    cell: float
    k: int
    bar: QRectF  # colour legend bar

    @property
    def gap(self) -> float:
        """Space left between neighbouring cells (none when cells are tiny)."""
        return 1.0 if self.cell >= 8 else 0.0


def paint_no_stripes(p: QPainter, rect: QRectF, palette: QPalette, font: QFont) -> None:
    """Dashed box with NO_STRIPES_MESSAGE and, when it fits, NO_STRIPES_DETAIL under it."""
    r = rect.adjusted(4, 4, -4, -4)
    pen = QPen(palette.color(QPalette.Mid), 1, Qt.DashLine)
    p.setPen(pen)
    p.setBrush(Qt.NoBrush)
    p.drawRoundedRect(r, 6, 6)
    inner = r.adjusted(10, 8, -10, -8)
    title = scaled_font(font, 1.0, bold=True)
    detail = scaled_font(font, 0.9)
    flags = Qt.AlignHCenter | Qt.TextWordWrap
    p.setFont(title)
    t_rect = p.boundingRect(inner, flags, NO_STRIPES_MESSAGE)
    p.setFont(detail)
    d_rect = p.boundingRect(inner, flags, NO_STRIPES_DETAIL)
    total = t_rect.height() + 4 + d_rect.height()
    y = inner.top() + max(0.0, (inner.height() - total) / 2)
    p.setPen(palette.color(QPalette.WindowText))
    p.setFont(title)
    p.drawText(QRectF(inner.left(), y, inner.width(), t_rect.height()), flags, NO_STRIPES_MESSAGE)
    if total <= inner.height():
        p.setPen(palette.color(QPalette.PlaceholderText))
        p.setFont(detail)
        p.drawText(
            QRectF(inner.left(), y + t_rect.height() + 4, inner.width(), d_rect.height()),
            flags,
            NO_STRIPES_DETAIL,
        )


def paint_cells(p: QPainter, g: GridGeometry, m: np.ndarray, palette: QPalette) -> None:
    k, cell, gap = g.k, g.cell, g.gap
    side = cell * k
    p.setPen(Qt.NoPen)
    p.fillRect(QRectF(g.x0, g.y0, side, side), palette.color(QPalette.Window))
    for i in range(k):
        for j in range(k):
            rgb = diverging_rgb(m[i, j])
            p.fillRect(QRectF(g.x0 + j * cell, g.y0 + i * cell, cell - gap, cell - gap), QColor(*rgb))


def paint_values(p: QPainter, g: GridGeometry, m: np.ndarray, font: QFont) -> None:
    """Values inside cells when they fit ("0.59", else the compact ".59")."""
    k, cell = g.k, g.cell
    vfont = scaled_font(font, 0.82)
    vfm = QFontMetricsF(vfont)
    inner = cell - g.gap
    fmt = None
    if inner >= vfm.height() + 2:
        if inner >= vfm.horizontalAdvance("\u22120.00") + 4:
            fmt = format_value
        elif inner >= vfm.horizontalAdvance("\u2212.00") + 1:
            fmt = format_compact
    if fmt is None:
        return
    p.setFont(vfont)
    for i in range(k):
        for j in range(k):
            v = m[i, j]
            p.setPen(text_color_for(diverging_rgb(v)))
            p.drawText(QRectF(g.x0 + j * cell, g.y0 + i * cell, inner, inner), Qt.AlignCenter, fmt(v))


def paint_labels(p: QPainter, g: GridGeometry, hi: tuple[int, int], palette: QPalette, lfont: QFont) -> None:
    """Q1…QK down the left and C1…CK along the top; the highlighted row/column in bold accent."""
    k, cell, gap = g.k, g.cell, g.gap
    fm = QFontMetricsF(lfont)
    hi_i, hi_j = hi
    text_c = palette.color(QPalette.WindowText)
    accent = palette.color(QPalette.Highlight)
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
    for labels, hi_idx in ((rows, hi_i), (cols, hi_j)):
        # Highlighted label first; then every label that does not collide with one already drawn.
        order = sorted(labels, key=lambda t, hi_idx=hi_idx: t[0] != hi_idx)
        taken: list[QRectF] = []
        for idx, rect, flags, text in order:
            box = rect.adjusted(-1, -1, 1, 1)
            if any(box.intersects(t) for t in taken):
                continue
            taken.append(box)
            _label(p, lfont, idx == hi_idx, text_c, accent, rect, flags | Qt.TextDontClip, text)


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


def paint_axis_titles(
    p: QPainter, g: GridGeometry, palette: QPalette, lfont: QFont, side_margins: tuple[float, float]
) -> None:
    """Axis titles: "candidate stripe" over the column labels, "query stripe" (rotated) at the left.

    `side_margins` = (left, right) space beside the grid, into which the titles may overhang.
    """
    k, cell = g.k, g.cell
    side = cell * k
    fm = QFontMetricsF(lfont)
    label_w = fm.horizontalAdvance(f"Q{k}")
    col_top = g.y0 - 3 - fm.height()
    p.setFont(lfont)
    p.setPen(palette.color(QPalette.PlaceholderText))
    left_m, right_m = side_margins
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


def paint_cell_outline(p: QPainter, g: GridGeometry, hi: tuple[int, int]) -> None:
    """Outline of the hovered / highlighted cell: dark outside, light inside (visible on any colour)."""
    hi_i, hi_j = hi
    if hi_i < 0:
        return
    cell, gap = g.cell, g.gap
    r = QRectF(g.x0 + hi_j * cell, g.y0 + hi_i * cell, cell - gap, cell - gap)
    p.setBrush(Qt.NoBrush)
    p.setPen(QPen(QColor(0, 0, 0), 2.5))
    p.drawRect(r.adjusted(-1, -1, 1, 1))
    p.setPen(QPen(QColor(255, 255, 255), 1.2))
    p.drawRect(r.adjusted(0.8, 0.8, -0.8, -0.8))


def paint_legend(p: QPainter, g: GridGeometry, palette: QPalette, font: QFont) -> None:
    """Vertical colour bar right of the grid, ticked at 1, 0 and −1."""
    fm = QFontMetricsF(font)
    bar = g.bar
    grad = QLinearGradient(bar.topLeft(), bar.bottomLeft())
    n = 20
    for s in range(n + 1):
        t = s / n
        grad.setColorAt(t, diverging_color(1.0 - 2.0 * t))
    p.setPen(QPen(palette.color(QPalette.Mid), 1))
    p.setBrush(grad)
    p.drawRect(bar)
    p.setFont(font)
    for v, y in ((1, bar.top()), (0, bar.center().y()), (-1, bar.bottom())):
        p.setPen(QPen(palette.color(QPalette.WindowText), 1))
        p.drawLine(QPointF(bar.right(), y), QPointF(bar.right() + 3, y))
        text = "0" if v == 0 else ("1" if v > 0 else "\u22121")
        p.drawText(
            QRectF(bar.right() + 5, y - fm.height() / 2, 40, fm.height()),
            Qt.AlignLeft | Qt.AlignVCenter,
            text,
        )
