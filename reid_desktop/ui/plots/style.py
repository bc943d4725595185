"""One look for every plot: light background, readable axes, a fixed palette, hover read-outs."""

from __future__ import annotations

from collections.abc import Callable

import pyqtgraph as pg
from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QColor, QFont

pg.setConfigOptions(antialias=True, background="w", foreground="#333333")

LOSS = "#3b6fb6"
MAP = "#c8532a"
RANK1 = "#2a8c5a"
SAME = "#2a8c5a"
DIFFERENT = "#c0392b"
CALIBRATION = "#222222"
FLOOR = "#7b3fa0"
MODELS = ("#3b6fb6", "#c8532a", "#2a8c5a", "#7b3fa0")  # model A, B… in comparisons
MUTED = "#888888"


def brush(colour: str, alpha: int = 255) -> QColor:
    c = QColor(colour)
    c.setAlpha(alpha)
    return c


def style_plot(p: pg.PlotItem, title: str = "", x: str = "", y: str = "") -> pg.PlotItem:
    """Labelled axes, a light grid and a title; mouse zoom/pan and right-click export stay
    pyqtgraph's."""
    if title:
        p.setTitle(title, size="10pt", bold=True)
    font = QFont()
    font.setPointSize(9)
    for name, text in (("bottom", x), ("left", y)):
        ax = p.getAxis(name)
        ax.setTickFont(font)
        ax.enableAutoSIPrefix(False)  # "score (x0.001)" reads as a bug
        if text:
            ax.setLabel(text, **{"font-size": "9pt"})
    p.getAxis("left").setWidth(56)  # stacked plots line up
    p.showGrid(x=True, y=True, alpha=0.2)
    return p


def new_plot(title: str = "", x: str = "", y: str = "") -> pg.PlotWidget:
    w = pg.PlotWidget()
    style_plot(w.getPlotItem(), title, x, y)
    w.setMinimumSize(260, 180)
    return w


def marker_line(pos: float | None, colour: str, text: str, at: float = 0.92) -> pg.InfiniteLine:
    """A dashed vertical marker with its label at height `at` (0 bottom … 1 top)."""
    line = pg.InfiniteLine(
        pos=0.0 if pos is None else pos,
        angle=90,
        pen=pg.mkPen(colour, width=1.5, style=Qt.DashLine),
        label=text,
        labelOpts={"position": at, "color": colour, "fill": brush("#ffffff", 200), "movable": False},
    )
    line.setVisible(pos is not None)
    line.setZValue(5)
    return line


class IntegerAxis(pg.AxisItem):
    """An axis of whole numbers (epochs, ranks): no ticks at 0.5."""

    def tickSpacing(self, minVal: float, maxVal: float, size: float):  # noqa: N802 (Qt naming)
        levels = [(max(1.0, float(sp)), off) for sp, off in super().tickSpacing(minVal, maxVal, size)]
        return [lv for i, lv in enumerate(levels) if lv not in levels[:i]]  # 1 may repeat


class HoverReadout:
    """Follows the mouse over one or more x-linked plots: a vertical line in each, snapped by
    `lookup`, and a text box (in the plot under the cursor) with what `lookup(x)` returns.
    `lookup` gets the cursor's x in data units and returns (x to mark, text) or None."""

    def __init__(self, plots: list[pg.PlotItem], lookup: Callable[[float], tuple[float, str] | None]) -> None:
        self.plots = plots
        self.lookup = lookup
        self.lines = [pg.InfiniteLine(angle=90, pen=pg.mkPen("#999999", width=1)) for _ in plots]
        self.texts = [
            pg.TextItem(color="#222222", fill=brush("#ffffff", 230), border=pg.mkPen("#bbbbbb"))
            for _ in plots
        ]
        for p, line, text in zip(plots, self.lines, self.texts, strict=True):
            for item in (line, text):
                item.setZValue(20)
                item.hide()
                p.addItem(item, ignoreBounds=True)
        self.last: str = ""  # the text shown, for tests
        plots[0].scene().sigMouseMoved.connect(self.move)

    def move(self, scene_pos: QPointF) -> None:
        under = [i for i, p in enumerate(self.plots) if p.vb.sceneBoundingRect().contains(scene_pos)]
        if not under:
            self.hide()
            return
        vb = self.plots[under[0]].vb
        pt = vb.mapSceneToView(scene_pos)
        hit = self.lookup(pt.x())
        if hit is None:
            self.hide()
            return
        x, text = hit
        self.last = text
        for line in self.lines:
            line.setPos(x)
            line.show()
        for i, box in enumerate(self.texts):
            box.setVisible(i == under[0])
        box = self.texts[under[0]]
        box.setText(text)
        (x0, x1), (y0, y1) = vb.viewRange()
        # Keep the box inside the plot: anchor it on the side away from the nearer edge.
        right = pt.x() > (x0 + x1) / 2
        top = pt.y() > (y0 + y1) / 2
        box.setAnchor((1.0 if right else 0.0, 0.0 if top else 1.0))
        box.setPos(pt.x(), pt.y())

    def hide(self) -> None:
        for item in (*self.lines, *self.texts):
            item.hide()
