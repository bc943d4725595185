"""Side-by-side view of a query crop and a candidate crop with per-stripe similarity.

    ┌ QUERY ───────┐   PER STRIPE    ┌ CANDIDATE ───┐   P(same) 0.91 · cosine 0.74
    │ cam1/0a.jpg  │  −1    0    1   │ cam2/7b.jpg  │   8×8 stripe similarity
    │ ┌──────────┐ │       ███  0.61 │ ┌──────────┐ │   ┌──────────────┐
    │ │  query   │ │       ██   0.58 │ │candidate │ │   │   heatmap    │
    │ │   crop   │ │       ▌    0.10 │ │   crop   │ │   └──────────────┘
    │ └──────────┘ │       ███  0.64 │ └──────────┘ │   cell i,j = cosine of …

Crops keep their aspect ratio and share one displayed height, so stripe i of both crops and
bar i occupy the same vertical band. Hovering heatmap cell (i, j) outlines query stripe i and
candidate stripe j. Everything here is painting of data the caller already has: images are
decoded and matrices computed elsewhere (off the GUI thread).

This module arranges the parts: the crops-and-bars canvas (`pair_canvas`, laid out by
`pair_layout`, painted by `pair_painting`), the score text and the heatmap (`heatmap_widget`).
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QEvent, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QFontMetricsF, QImage, QPalette, QResizeEvent
from PySide6.QtWidgets import QLabel, QSizePolicy, QWidget

from reid_desktop.ui.review.drawing_helpers import scaled_font
from reid_desktop.ui.review.heatmap_widget import StripeHeatmap
from reid_desktop.ui.review.pair_canvas import _PairCanvas
from reid_desktop.ui.review.pair_layout import SIDES
from reid_desktop.ui.review.pair_painting import EMPTY_DETAIL, EMPTY_TITLE

__all__ = ["EMPTY_DETAIL", "EMPTY_TITLE", "LEGEND_TEXT", "SIDES", "PairView"]

LEGEND_TEXT = "cell i,j = cosine of query stripe i and candidate stripe j"


class PairView(QWidget):
    """Query and candidate crops, per-stripe bars, score text and the K×K stripe heatmap."""

    highlightChanged = Signal(int, int)  # (query stripe, candidate stripe); (-1, -1) = none

    MARGIN = 8.0
    SPACING = 16.0

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._hi: tuple[int, int] = (-1, -1)
        self._score = ""
        self.canvas = _PairCanvas(self)
        self.canvas.hovered.connect(lambda i: self.highlight(i, i))
        self.score_label = QLabel(self)
        self.score_label.setObjectName("pairScore")
        self.score_label.setWordWrap(True)
        self.score_label.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.title_label = QLabel(self)
        self.title_label.setObjectName("pairHeatmapTitle")
        self.heatmap = StripeHeatmap(self)
        self.heatmap.cellHovered.connect(self.highlight)
        self.legend_label = QLabel(LEGEND_TEXT, self)
        self.legend_label.setObjectName("pairHeatmapLegend")
        self.legend_label.setWordWrap(True)
        self.legend_label.setForegroundRole(QPalette.PlaceholderText)
        self._apply_fonts()
        self.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Expanding)
        self.clear()

    # ----------------------------------------------------------------------------- public API
    def set_pair(
        self,
        query: QImage,
        candidate: QImage,
        matrix: np.ndarray | None,
        query_caption: str,
        candidate_caption: str,
        score_text: str,
    ) -> None:
        self.heatmap.set_matrix(matrix)  # validates (K×K) before anything changes
        c = self.canvas
        c.images = {"query": QImage(query), "candidate": QImage(candidate)}
        c.captions = {"query": query_caption, "candidate": candidate_caption}
        c.k = self.heatmap.k()
        c.diag = None if matrix is None else np.diag(np.asarray(matrix, dtype=np.float64)).copy()
        c.empty = False
        c._pixmaps.clear()
        self._score = score_text
        self.score_label.setText(score_text)
        self.score_label.setToolTip(score_text)
        self.score_label.setVisible(bool(score_text))
        k = c.k
        self.title_label.setText(f"{k}\u00d7{k} stripe similarity" if k else "Stripe similarity")
        self.legend_label.setVisible(k > 0)
        for w in (self.title_label, self.heatmap):
            w.show()
        self._set_hi((-1, -1))
        self._relayout()
        c.update()

    def clear(self) -> None:
        c = self.canvas
        c.images = {"query": None, "candidate": None}
        c.captions = {"query": "", "candidate": ""}
        c.diag, c.k, c.empty = None, 0, True
        c._pixmaps.clear()
        self.heatmap.set_matrix(None)
        self._score = ""
        self.score_label.clear()
        for w in (self.score_label, self.title_label, self.heatmap, self.legend_label):
            w.hide()
        self._set_hi((-1, -1))
        self._relayout()
        c.update()

    def is_empty(self) -> bool:
        return self.canvas.empty

    def k(self) -> int:
        return self.canvas.k

    def score_text(self) -> str:
        return self._score

    def highlight(self, i: int, j: int) -> None:
        """Outline query stripe i and candidate stripe j (and heatmap cell (i, j)); -1 clears."""
        k = self.canvas.k
        self._set_hi((i, j) if 0 <= i < k and 0 <= j < k else (-1, -1))

    def highlighted(self) -> tuple[int, int]:
        return self._hi

    def crop_rect(self, side: str) -> QRectF:
        """Where the crop of `side` ("query" / "candidate") is drawn, in this widget's coordinates."""
        if side not in SIDES:
            raise ValueError(f"side must be one of {SIDES}, not {side!r}")
        if self.canvas.empty:
            return QRectF()
        return self.canvas.compute_layout().crops[side].translated(self.canvas.pos())

    def stripe_rect(self, side: str, i: int) -> QRectF:
        """Band of stripe i on the displayed crop of `side`, in this widget's coordinates."""
        return self.canvas.stripe_rect(side, i).translated(self.canvas.pos())

    def bar_rect(self, i: int) -> QRectF:
        """Row of similarity bar i (the bar's full track), in this widget's coordinates."""
        return self.canvas.bar_rect(i).translated(self.canvas.pos())

    # -------------------------------------------------------------------------------- internals
    def _set_hi(self, hi: tuple[int, int]) -> None:
        self.heatmap.set_highlight(*hi)
        if hi == self._hi:
            return
        self._hi = hi
        self.canvas.hi = hi
        self.canvas.update()
        self.highlightChanged.emit(int(hi[0]), int(hi[1]))

    def _fit_score_font(self, width: int) -> None:
        """Largest score font that keeps the score on one line; else one line per "·" part."""
        text = self._score
        chosen, shown = scaled_font(self.font(), 1.2, bold=True), text
        for factor in (1.5, 1.4, 1.3, 1.2):
            f = scaled_font(self.font(), factor, bold=True)
            if QFontMetricsF(f).horizontalAdvance(text) <= width - 2:
                chosen = f
                break
        else:
            parts = [t.strip() for t in text.split("\u00b7")]
            f = scaled_font(self.font(), 1.3, bold=True)
            if len(parts) > 1 and all(QFontMetricsF(f).horizontalAdvance(t) <= width - 2 for t in parts):
                chosen, shown = f, "\n".join(parts)
        if chosen != self.score_label.font():
            self.score_label.setFont(chosen)
        if shown != self.score_label.text():
            self.score_label.setText(shown)

    def _apply_fonts(self) -> None:
        self.score_label.setFont(scaled_font(self.font(), 1.5, bold=True))
        self.title_label.setFont(scaled_font(self.font(), 1.05, bold=True))
        self.legend_label.setFont(scaled_font(self.font(), 0.85))

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.FontChange:
            self._apply_fonts()
            self._relayout()
        super().changeEvent(event)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._relayout()

    def sizeHint(self) -> QSize:
        return QSize(900, 600)

    def minimumSizeHint(self) -> QSize:
        return QSize(480, 320)

    def _label_height(self, label: QLabel, w: int) -> int:
        if not label.isVisibleTo(self) or not label.text():
            return 0
        return label.heightForWidth(w) if label.wordWrap() else label.sizeHint().height()

    def _relayout(self) -> None:
        W, H = self.width(), self.height()
        m, sp = self.MARGIN, self.SPACING
        if self.canvas.empty:
            self.canvas.setGeometry(0, 0, W, H)
            return
        right_min = round(min(380.0, max(170.0, W * 0.35)))
        # Widest useful right column: the heatmap grid is limited by the height left for it.
        score_h = self._label_height(self.score_label, right_min)
        title_h = self._label_height(self.title_label, right_min)
        legend_h = self._label_height(self.legend_label, right_min)
        heat_h = H - 2 * m - score_h - 10 - title_h - 4 - legend_h - 6
        if self.heatmap.k():
            left, top, right, bottom = self.heatmap._margins(self.heatmap.k())
            right_max = max(right_min, round(left + right + max(0.0, heat_h - top - bottom)))
        else:
            right_max = max(right_min, 320)
        canvas_w = min(self.canvas.width_for_height(H), W - m - right_min - sp)
        right_w = int(min(W - m - canvas_w - sp, right_max))
        canvas_w = int(W - m - right_w - sp)
        self.canvas.setGeometry(0, 0, canvas_w, H)
        x = canvas_w + round(sp)
        y = round(m)
        self._fit_score_font(right_w)
        score_h = self._label_height(self.score_label, right_w)
        if score_h:
            self.score_label.setGeometry(x, y, right_w, score_h)
            y += score_h + 10
        title_h = self._label_height(self.title_label, right_w)
        self.title_label.setGeometry(x, y, right_w, title_h)
        y += title_h + 4
        legend_h = self._label_height(self.legend_label, right_w)
        room = H - m - y - (legend_h + 6 if legend_h else 0)
        hh = max(0, min(self.heatmap.heightForWidth(right_w), room))
        self.heatmap.setGeometry(x, y, right_w, hh)
        y += hh + 6
        if legend_h:
            self.legend_label.setGeometry(x, y, right_w, legend_h)
