"""The left part of the pair view: query crop, per-stripe bars, candidate crop, with captions.

Holds what the pair view gives it (images, captions, the stripe-similarity diagonal, the
highlighted stripes), answers geometry questions (`stripe_rect`, `bar_rect`, `stripe_at`),
reports the stripe under the mouse (`hovered`) and shows tooltips. Layout is computed by
`pair_layout`, painting done by `pair_painting`.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QEvent, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QFont, QHelpEvent, QImage, QMouseEvent, QPainter, QPaintEvent, QPixmap
from PySide6.QtWidgets import QToolTip, QWidget

from reid_desktop.ui.review.drawing_helpers import format_value
from reid_desktop.ui.review.pair_layout import (
    SIDES,
    PairLayout,
    bars_width,
    canvas_fonts,
    caption_height,
    compute_layout,
    image_aspects,
    stripe_band,
)
from reid_desktop.ui.review.pair_painting import (
    paint_bars,
    paint_captions,
    paint_crop,
    paint_empty,
    paint_guides,
    paint_highlight,
)


class _PairCanvas(QWidget):
    """Paints the two crops, their captions and the per-stripe bars."""

    hovered = Signal(int)  # stripe index under the mouse, -1 when none

    MARGIN = 8.0
    GAP = 12.0

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.images: dict[str, QImage | None] = {"query": None, "candidate": None}
        self.captions: dict[str, str] = {"query": "", "candidate": ""}
        self.diag: np.ndarray | None = None
        self.k = 0
        self.empty = True
        self.hi: tuple[int, int] = (-1, -1)
        self._hover = -1
        self._pixmaps: dict[str, tuple[tuple, QPixmap]] = {}
        self.setMouseTracking(True)

    # --------------------------------------------------------------------------- metrics
    def _fonts(self) -> tuple[QFont, QFont, QFont]:
        return canvas_fonts(self.font())

    def width_for_height(self, h: float) -> float:
        a = image_aspects(self.images)
        fonts = self._fonts()
        crop_h = max(16.0, h - 2 * self.MARGIN - caption_height(fonts))
        bars_w = bars_width(self.k, fonts, self.width(), self.GAP, widest=True)[2]
        fixed = 2 * self.MARGIN + 2 * self.GAP + bars_w
        return fixed + crop_h * (a["query"] + a["candidate"])

    def compute_layout(self) -> PairLayout:
        return compute_layout(
            self.width(),
            self.height(),
            self.k,
            image_aspects(self.images),
            self._fonts(),
            self.MARGIN,
            self.GAP,
        )

    def stripe_rect(self, side: str, i: int) -> QRectF:
        if side not in SIDES:
            raise ValueError(f"side must be one of {SIDES}, not {side!r}")
        if not 0 <= i < self.k:
            raise IndexError(f"no stripe {i} (K = {self.k})")
        r = self.compute_layout().crops[side]
        return stripe_band(r, i, self.k)

    def bar_rect(self, i: int) -> QRectF:
        if not 0 <= i < self.k:
            raise IndexError(f"no stripe {i} (K = {self.k})")
        lay = self.compute_layout()
        band = stripe_band(lay.crops["query"], i, self.k)
        return QRectF(lay.track.left(), band.top(), lay.track.width(), band.height())

    def stripe_at(self, pos: QPointF) -> int:
        if self.empty or self.k == 0:
            return -1
        lay = self.compute_layout()
        q, c = lay.crops["query"], lay.crops["candidate"]
        if not (q.top() <= pos.y() < q.bottom() and q.left() <= pos.x() < c.right()):
            return -1
        return min(self.k - 1, int((pos.y() - q.top()) / q.height() * self.k))

    # ------------------------------------------------------------------------------ events
    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        self._set_hover(self.stripe_at(event.position()))
        super().mouseMoveEvent(event)

    def leaveEvent(self, event: QEvent) -> None:
        self._set_hover(-1)
        super().leaveEvent(event)

    def _set_hover(self, i: int) -> None:
        if i != self._hover:
            self._hover = i
            self.hovered.emit(int(i))

    def event(self, e: QEvent) -> bool:
        if e.type() == QEvent.ToolTip and not self.empty:
            he: QHelpEvent = e  # type: ignore[assignment]
            pos = QPointF(he.pos())
            lay = self.compute_layout()
            for side in SIDES:
                if lay.captions[side].contains(pos) or lay.roles[side].contains(pos):
                    QToolTip.showText(he.globalPos(), self.captions[side], self)
                    return True
            i = self.stripe_at(pos)
            if i >= 0 and self.diag is not None:
                text = f"stripe {i + 1}: cosine {format_value(self.diag[i])}"
                QToolTip.showText(he.globalPos(), text, self)
                return True
            QToolTip.hideText()
            e.ignore()
            return True
        return super().event(e)

    def changeEvent(self, event: QEvent) -> None:
        if event.type() in (QEvent.FontChange, QEvent.PaletteChange):
            self.update()
        super().changeEvent(event)

    # ----------------------------------------------------------------------------- painting
    def paintEvent(self, event: QPaintEvent) -> None:
        p = QPainter(self)
        p.setRenderHint(QPainter.Antialiasing, True)
        p.setRenderHint(QPainter.TextAntialiasing, True)
        p.setRenderHint(QPainter.SmoothPixmapTransform, True)
        pal = self.palette()
        if self.empty:
            paint_empty(p, QRectF(self.rect()), pal, self.font())
        else:
            lay = self.compute_layout()
            fonts = self._fonts()
            diag = self.diag if self.k else None  # bars (and their scale) only with stripes
            paint_guides(p, lay, self.k, pal)
            for side in SIDES:
                r = lay.crops[side]
                paint_crop(p, r, self._pixmap(side, r), pal, self.font())
            paint_captions(p, lay, self.captions, fonts, pal, with_scale=diag is not None)
            if diag is not None:
                paint_bars(p, lay, diag, self.k, self.hi, pal, fonts[2])
            paint_highlight(p, lay, self.hi, self.k, pal)
        p.end()

    def _pixmap(self, side: str, rect: QRectF) -> QPixmap | None:
        """The image of `side` scaled to `rect` at the screen's pixel ratio, cached per size."""
        img = self.images[side]
        if img is None or img.isNull():
            return None
        dpr = self.devicePixelRatioF()
        w, h = max(1, round(rect.width() * dpr)), max(1, round(rect.height() * dpr))
        key = (img.cacheKey(), w, h, dpr)
        cached = self._pixmaps.get(side)
        if cached is not None and cached[0] == key:
            return cached[1]
        # Crops are small; one smooth scale per resize is cheap (and cached until the next one).
        pm = QPixmap.fromImage(img.scaled(w, h, Qt.IgnoreAspectRatio, Qt.SmoothTransformation))
        pm.setDevicePixelRatio(dpr)
        self._pixmaps[side] = (key, pm)
        return pm
