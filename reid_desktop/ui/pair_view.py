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
    QHelpEvent,
    QImage,
    QMouseEvent,
    QPainter,
    QPaintEvent,
    QPalette,
    QPen,
    QPixmap,
    QResizeEvent,
)
from PySide6.QtWidgets import QLabel, QSizePolicy, QToolTip, QWidget

from .heatmap_widget import (
    StripeHeatmap,
    diverging_color,
    format_value,
    scaled_font,
)

SIDES = ("query", "candidate")
EMPTY_TITLE = "No pair selected"
EMPTY_DETAIL = "Pick a query and one of its candidates to compare them stripe by stripe."
LEGEND_TEXT = "cell i,j = cosine of query stripe i and candidate stripe j"
_PLACEHOLDER_ASPECT = 0.5  # width / height used for a missing (null) image


@dataclass(frozen=True)
class _Layout:
    crops: dict[str, QRectF]
    track: QRectF  # bar track (x extent of the bars, y extent of the crops)
    value_x: float
    value_w: float
    captions: dict[str, QRectF]  # caption line above each crop
    roles: dict[str, QRectF]  # small "QUERY" / "CANDIDATE" line above the caption
    header: QRectF  # "PER STRIPE" over the bars
    ticks: QRectF  # −1 · 0 · 1 scale over the bars


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
        role = scaled_font(self.font(), 0.78, bold=True)
        role.setLetterSpacing(QFont.PercentageSpacing, 108)
        return role, QFont(self.font()), scaled_font(self.font(), 0.88)

    def _caption_height(self) -> float:
        role, cap, _ = self._fonts()
        return QFontMetricsF(role).height() + 2 + QFontMetricsF(cap).height() + 6

    def _bars_width(self, widest: bool = False) -> tuple[float, float, float]:
        """track width, value column width, whole bar column width (0 without stripes).

        The track narrows (down to ~3 text lines) when the canvas is narrow, leaving the crops room.
        """
        if self.k == 0:
            return 0.0, 0.0, 2 * self.GAP
        _, cap, small = self._fonts()
        fh = QFontMetricsF(cap).height()
        track = round(fh * 5.5) if widest else round(min(fh * 5.5, max(fh * 3.4, self.width() * 0.15)))
        value = math.ceil(QFontMetricsF(small).horizontalAdvance("\u22120.00") + 4)
        return track, value, track + 6 + value

    def _aspects(self) -> dict[str, float]:
        out = {}
        for side, img in self.images.items():
            ok = img is not None and not img.isNull()
            out[side] = img.width() / img.height() if ok else _PLACEHOLDER_ASPECT
        return out

    def width_for_height(self, h: float) -> float:
        a = self._aspects()
        crop_h = max(16.0, h - 2 * self.MARGIN - self._caption_height())
        fixed = 2 * self.MARGIN + 2 * self.GAP + self._bars_width(widest=True)[2]
        return fixed + crop_h * (a["query"] + a["candidate"])

    def compute_layout(self) -> _Layout:
        m, g = self.MARGIN, self.GAP
        a = self._aspects()
        track_w, value_w, bars_w = self._bars_width()
        top = round(m + self._caption_height())
        by_h = self.height() - top - m
        by_w = (self.width() - 2 * m - 2 * g - bars_w) / (a["query"] + a["candidate"])
        crop_h = max(16, math.floor(min(by_h, by_w)))
        # Exact widths (the aspect ratio is kept to well under a pixel); positions on whole pixels.
        qw = a["query"] * crop_h
        cw = a["candidate"] * crop_h
        content = qw + g + bars_w + g + cw
        x0 = round(max(m, (self.width() - content) / 2))
        q = QRectF(x0, top, qw, crop_h)
        bars_x = round(x0 + qw + g)
        c = QRectF(round(bars_x + bars_w + g), top, cw, crop_h)
        track = QRectF(bars_x, top, track_w, crop_h)
        role_font, cap_font, small = self._fonts()
        rh = QFontMetricsF(role_font).height()
        ch = QFontMetricsF(cap_font).height()
        role_y, cap_y = m, m + rh + 2
        # Captions may overhang their crop symmetrically, never into the bar column.
        caps, roles = {}, {}
        for side, r, lo, hi in (
            ("query", q, m, bars_x - 6),
            ("candidate", c, bars_x + bars_w + 6, self.width() - m),
        ):
            half = max(r.width() / 2, min(r.center().x() - lo, hi - r.center().x()))
            caps[side] = QRectF(r.center().x() - half, cap_y, 2 * half, ch)
            roles[side] = QRectF(r.center().x() - half, role_y, 2 * half, rh)
        header = QRectF(bars_x - g / 2, role_y, bars_w + g, rh)
        ticks = QRectF(bars_x - g / 2, cap_y, track_w + g, ch)
        return _Layout(
            {"query": q, "candidate": c}, track, bars_x + track_w + 6, value_w, caps, roles, header, ticks
        )

    def stripe_rect(self, side: str, i: int) -> QRectF:
        if side not in SIDES:
            raise ValueError(f"side must be one of {SIDES}, not {side!r}")
        if not 0 <= i < self.k:
            raise IndexError(f"no stripe {i} (K = {self.k})")
        r = self.compute_layout().crops[side]
        return self._band(r, i)

    def _band(self, r: QRectF, i: int) -> QRectF:
        y0 = r.top() + r.height() * i / self.k
        y1 = r.top() + r.height() * (i + 1) / self.k if i + 1 < self.k else r.bottom()
        return QRectF(r.left(), y0, r.width(), y1 - y0)

    def bar_rect(self, i: int) -> QRectF:
        if not 0 <= i < self.k:
            raise IndexError(f"no stripe {i} (K = {self.k})")
        lay = self.compute_layout()
        band = self._band(lay.crops["query"], i)
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

    # ----------------------------------------------------------------------------- painting
    def paintEvent(self, event: QPaintEvent) -> None:
        p = QPainter(self)
        p.setRenderHint(QPainter.Antialiasing, True)
        p.setRenderHint(QPainter.TextAntialiasing, True)
        p.setRenderHint(QPainter.SmoothPixmapTransform, True)
        if self.empty:
            self._paint_empty(p)
        else:
            lay = self.compute_layout()
            self._paint_guides(p, lay)
            for side in SIDES:
                self._paint_crop(p, side, lay)
            self._paint_captions(p, lay)
            if self.k and self.diag is not None:
                self._paint_bars(p, lay)
            self._paint_highlight(p, lay)
        p.end()

    def _paint_empty(self, p: QPainter) -> None:
        pal = self.palette()
        r = QRectF(self.rect()).adjusted(24, 24, -24, -24)
        title = scaled_font(self.font(), 1.35, bold=True)
        detail = QFont(self.font())
        flags = Qt.AlignHCenter | Qt.TextWordWrap
        p.setFont(title)
        tr = p.boundingRect(r, flags, EMPTY_TITLE)
        p.setFont(detail)
        dr = p.boundingRect(r, flags, EMPTY_DETAIL)
        y = r.top() + max(0.0, (r.height() - tr.height() - 8 - dr.height()) / 2)
        p.setFont(title)
        p.setPen(pal.color(QPalette.WindowText))
        p.drawText(QRectF(r.left(), y, r.width(), tr.height()), flags, EMPTY_TITLE)
        p.setFont(detail)
        p.setPen(pal.color(QPalette.PlaceholderText))
        p.drawText(QRectF(r.left(), y + tr.height() + 8, r.width(), dr.height()), flags, EMPTY_DETAIL)

    def _pixmap(self, side: str, rect: QRectF) -> QPixmap | None:
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

    def _paint_crop(self, p: QPainter, side: str, lay: _Layout) -> None:
        pal = self.palette()
        r = lay.crops[side]
        pm = self._pixmap(side, r)
        if pm is None:
            p.fillRect(r, pal.color(QPalette.AlternateBase))
            p.setPen(pal.color(QPalette.PlaceholderText))
            p.setFont(scaled_font(self.font(), 0.9))
            p.drawText(r.adjusted(4, 4, -4, -4), Qt.AlignCenter | Qt.TextWordWrap, "image unavailable")
        else:
            p.drawPixmap(r.topLeft(), pm)
        p.setPen(QPen(pal.color(QPalette.Mid), 1))
        p.setBrush(Qt.NoBrush)
        p.drawRect(r.adjusted(-0.5, -0.5, 0.5, 0.5))

    def _paint_guides(self, p: QPainter, lay: _Layout) -> None:
        """Faint stripe boundaries from the query crop to the candidate crop, behind the bars."""
        if self.k < 2:
            return
        q, c = lay.crops["query"], lay.crops["candidate"]
        colour = QColor(self.palette().color(QPalette.Mid))
        colour.setAlpha(110)
        p.setPen(QPen(colour, 1, Qt.DotLine))
        for i in range(1, self.k):
            y = round(q.top() + q.height() * i / self.k) + 0.5
            p.drawLine(QPointF(q.right() + 1, y), QPointF(c.left() - 1, y))
        solid = QColor(self.palette().color(QPalette.Mid))
        p.setPen(QPen(solid, 1))
        for i in range(1, self.k):
            y = q.top() + q.height() * i / self.k
            p.drawLine(QPointF(q.right() + 1, y), QPointF(q.right() + 5, y))
            p.drawLine(QPointF(c.left() - 5, y), QPointF(c.left() - 1, y))

    def _paint_captions(self, p: QPainter, lay: _Layout) -> None:
        pal = self.palette()
        role_font, cap_font, small = self._fonts()
        for side in SIDES:
            p.setFont(role_font)
            p.setPen(pal.color(QPalette.PlaceholderText))
            rr = lay.roles[side]
            fm = QFontMetricsF(role_font)
            p.drawText(
                rr, Qt.AlignHCenter | Qt.AlignBottom, fm.elidedText(side.upper(), Qt.ElideRight, rr.width())
            )
            p.setFont(cap_font)
            p.setPen(pal.color(QPalette.WindowText))
            cr = lay.captions[side]
            text = QFontMetricsF(cap_font).elidedText(self.captions[side], Qt.ElideMiddle, cr.width())
            p.drawText(cr, Qt.AlignHCenter | Qt.AlignBottom, text)
        if self.k == 0 or self.diag is None:
            return
        p.setFont(role_font)
        p.setPen(pal.color(QPalette.PlaceholderText))
        fm = QFontMetricsF(role_font)
        p.drawText(
            lay.header,
            Qt.AlignHCenter | Qt.AlignBottom,
            fm.elidedText("PER STRIPE", Qt.ElideRight, lay.header.width()),
        )
        # Scale over the track: −1 at the left end, 0 in the middle, 1 at the right end.
        p.setFont(small)
        sfm = QFontMetricsF(small)
        t = lay.track
        for v, x in ((-1, t.left()), (0, t.center().x()), (1, t.right())):
            text = "0" if v == 0 else ("1" if v > 0 else "\u22121")
            w = sfm.horizontalAdvance(text)
            p.drawText(
                QRectF(x - w / 2 - 1, lay.ticks.top(), w + 2, lay.ticks.height()),
                Qt.AlignHCenter | Qt.AlignBottom,
                text,
            )

    def _paint_bars(self, p: QPainter, lay: _Layout) -> None:
        assert self.diag is not None
        pal = self.palette()
        _, _, small = self._fonts()
        sfm = QFontMetricsF(small)
        t = lay.track
        zero = t.center().x()
        half = t.width() / 2
        track_bg = QColor(pal.color(QPalette.Mid))
        track_bg.setAlpha(40)
        p.fillRect(t, track_bg)
        hi_rows = {r for r in self.hi if r >= 0}
        accent = QColor(pal.color(QPalette.Highlight))
        for i in range(self.k):
            band = self._band(lay.crops["query"], i)
            row = QRectF(t.left(), band.top(), t.width(), band.height())
            if i in hi_rows:
                a = QColor(accent)
                a.setAlpha(45)
                p.fillRect(
                    QRectF(row.left(), row.top(), lay.value_x + lay.value_w - row.left(), row.height()), a
                )
            v = float(self.diag[i])
            inset = min(2.0, band.height() * 0.12)
            if math.isfinite(v):
                length = max(-1.0, min(1.0, v)) * half
                bar = QRectF(
                    min(zero, zero + length), row.top() + inset, abs(length), row.height() - 2 * inset
                )
                fill = diverging_color(v)
                p.setPen(QPen(fill.darker(135), 1))
                p.setBrush(fill)
                p.drawRect(bar)
            if row.height() >= sfm.height() * 0.7:
                f = QFont(small)
                f.setBold(i in hi_rows)
                p.setFont(f)
                p.setPen(pal.color(QPalette.WindowText))
                p.drawText(
                    QRectF(lay.value_x, row.top(), lay.value_w, row.height()),
                    Qt.AlignLeft | Qt.AlignVCenter | Qt.TextDontClip,
                    format_value(v),
                )
        p.setPen(QPen(pal.color(QPalette.Mid), 1))
        p.drawLine(QPointF(zero, t.top()), QPointF(zero, t.bottom()))

    def _paint_highlight(self, p: QPainter, lay: _Layout) -> None:
        i, j = self.hi
        if i < 0 or self.k == 0:
            return
        accent = QColor(self.palette().color(QPalette.Highlight))
        fill = QColor(accent)
        fill.setAlpha(70)
        for side, s in (("query", i), ("candidate", j)):
            band = self._band(lay.crops[side], s)
            p.fillRect(band, fill)
            p.setBrush(Qt.NoBrush)
            p.setPen(QPen(QColor(255, 255, 255, 230), 1.5))
            p.drawRect(band.adjusted(1.5, 1.5, -1.5, -1.5))
            p.setPen(QPen(accent, 2.5))
            p.drawRect(band.adjusted(-0.5, -0.5, 0.5, 0.5))

    def changeEvent(self, event: QEvent) -> None:
        if event.type() in (QEvent.FontChange, QEvent.PaletteChange):
            self.update()
        super().changeEvent(event)


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
