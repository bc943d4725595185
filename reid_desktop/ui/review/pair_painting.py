"""Painting of the pair canvas: crops, captions, stripe guides, per-stripe bars and the highlight.

Plain functions of a painter and a `PairLayout`; `_PairCanvas` owns the state and calls them in
order. Bars run from −1 (left end of the track) through 0 (middle) to 1 and use the heatmap's
diverging colour map.
"""

from __future__ import annotations

import math

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QFontMetricsF, QPainter, QPalette, QPen, QPixmap

from reid_desktop.ui.review.drawing_helpers import diverging_color, format_value, scaled_font
from reid_desktop.ui.review.pair_layout import SIDES, PairLayout, scale_ticks, stripe_band

EMPTY_TITLE = "No pair selected"
EMPTY_DETAIL = "Pick a candidate to compare its crops with the anchor's, stripe by stripe."


def paint_empty(p: QPainter, rect: QRectF, palette: QPalette, font: QFont) -> None:
    """EMPTY_TITLE over EMPTY_DETAIL, centred in `rect`."""
    r = rect.adjusted(24, 24, -24, -24)
    title = scaled_font(font, 1.35, bold=True)
    detail = QFont(font)
    flags = Qt.AlignHCenter | Qt.TextWordWrap
    p.setFont(title)
    tr = p.boundingRect(r, flags, EMPTY_TITLE)
    p.setFont(detail)
    dr = p.boundingRect(r, flags, EMPTY_DETAIL)
    y = r.top() + max(0.0, (r.height() - tr.height() - 8 - dr.height()) / 2)
    p.setFont(title)
    p.setPen(palette.color(QPalette.WindowText))
    p.drawText(QRectF(r.left(), y, r.width(), tr.height()), flags, EMPTY_TITLE)
    p.setFont(detail)
    p.setPen(palette.color(QPalette.PlaceholderText))
    p.drawText(QRectF(r.left(), y + tr.height() + 8, r.width(), dr.height()), flags, EMPTY_DETAIL)


def paint_crop(p: QPainter, r: QRectF, pixmap: QPixmap | None, palette: QPalette, font: QFont) -> None:
    """The crop scaled into `r` (or "image unavailable"), framed."""
    if pixmap is None:
        p.fillRect(r, palette.color(QPalette.AlternateBase))
        p.setPen(palette.color(QPalette.PlaceholderText))
        p.setFont(scaled_font(font, 0.9))
        p.drawText(r.adjusted(4, 4, -4, -4), Qt.AlignCenter | Qt.TextWordWrap, "image unavailable")
    else:
        p.drawPixmap(r.topLeft(), pixmap)
    p.setPen(QPen(palette.color(QPalette.Mid), 1))
    p.setBrush(Qt.NoBrush)
    p.drawRect(r.adjusted(-0.5, -0.5, 0.5, 0.5))


def paint_guides(p: QPainter, lay: PairLayout, k: int, palette: QPalette) -> None:
    """Faint stripe boundaries from the query crop to the candidate crop, behind the bars."""
    if k < 2:
        return
    q, c = lay.crops["query"], lay.crops["candidate"]
    colour = QColor(palette.color(QPalette.Mid))
    colour.setAlpha(110)
    p.setPen(QPen(colour, 1, Qt.DotLine))
    for i in range(1, k):
        y = round(q.top() + q.height() * i / k) + 0.5
        p.drawLine(QPointF(q.right() + 1, y), QPointF(c.left() - 1, y))
    solid = QColor(palette.color(QPalette.Mid))
    p.setPen(QPen(solid, 1))
    for i in range(1, k):
        y = q.top() + q.height() * i / k
        p.drawLine(QPointF(q.right() + 1, y), QPointF(q.right() + 5, y))
        p.drawLine(QPointF(c.left() - 5, y), QPointF(c.left() - 1, y))


def paint_captions(
    p: QPainter,
    lay: PairLayout,
    captions: dict[str, str],
    fonts: tuple[QFont, QFont, QFont],
    palette: QPalette,
    with_scale: bool,
) -> None:
    """Role line and caption over each crop; with `with_scale`, "PER STRIPE" and −1 · 0 · 1 too."""
    role_font, cap_font, small = fonts
    for side in SIDES:
        p.setFont(role_font)
        p.setPen(palette.color(QPalette.PlaceholderText))
        rr = lay.roles[side]
        fm = QFontMetricsF(role_font)
        p.drawText(
            rr, Qt.AlignHCenter | Qt.AlignBottom, fm.elidedText(side.upper(), Qt.ElideRight, rr.width())
        )
        p.setFont(cap_font)
        p.setPen(palette.color(QPalette.WindowText))
        cr = lay.captions[side]
        text = QFontMetricsF(cap_font).elidedText(captions[side], Qt.ElideMiddle, cr.width())
        p.drawText(cr, Qt.AlignHCenter | Qt.AlignBottom, text)
    if not with_scale:
        return
    p.setFont(role_font)
    p.setPen(palette.color(QPalette.PlaceholderText))
    fm = QFontMetricsF(role_font)
    p.drawText(
        lay.header,
        Qt.AlignHCenter | Qt.AlignBottom,
        fm.elidedText("PER STRIPE", Qt.ElideRight, lay.header.width()),
    )
    # Scale over the track: −1 at the left end, 0 in the middle, 1 at the right end.
    p.setFont(small)
    for text, rect in scale_ticks(lay.track, lay.ticks, small):
        p.drawText(rect, Qt.AlignHCenter | Qt.AlignBottom, text)


def paint_bars(
    p: QPainter,
    lay: PairLayout,
    diag: np.ndarray,
    k: int,
    hi: tuple[int, int],
    palette: QPalette,
    small: QFont,
) -> None:
    """One bar per stripe (cosine of query stripe i and candidate stripe i) with its value."""
    sfm = QFontMetricsF(small)
    t = lay.track
    zero = t.center().x()
    half = t.width() / 2
    track_bg = QColor(palette.color(QPalette.Mid))
    track_bg.setAlpha(40)
    p.fillRect(t, track_bg)
    hi_rows = {r for r in hi if r >= 0}
    accent = QColor(palette.color(QPalette.Highlight))
    for i in range(k):
        band = stripe_band(lay.crops["query"], i, k)
        row = QRectF(t.left(), band.top(), t.width(), band.height())
        if i in hi_rows:
            a = QColor(accent)
            a.setAlpha(45)
            p.fillRect(QRectF(row.left(), row.top(), lay.value_x + lay.value_w - row.left(), row.height()), a)
        v = float(diag[i])
        inset = min(2.0, band.height() * 0.12)
        if math.isfinite(v):
            length = max(-1.0, min(1.0, v)) * half
            bar = QRectF(min(zero, zero + length), row.top() + inset, abs(length), row.height() - 2 * inset)
            fill = diverging_color(v)
            p.setPen(QPen(fill.darker(135), 1))
            p.setBrush(fill)
            p.drawRect(bar)
        if row.height() >= sfm.height() * 0.7:
            f = QFont(small)
            f.setBold(i in hi_rows)
            p.setFont(f)
            p.setPen(palette.color(QPalette.WindowText))
            p.drawText(
                QRectF(lay.value_x, row.top(), lay.value_w, row.height()),
                Qt.AlignLeft | Qt.AlignVCenter | Qt.TextDontClip,
                format_value(v),
            )
    p.setPen(QPen(palette.color(QPalette.Mid), 1))
    p.drawLine(QPointF(zero, t.top()), QPointF(zero, t.bottom()))


def paint_highlight(p: QPainter, lay: PairLayout, hi: tuple[int, int], k: int, palette: QPalette) -> None:
    """Tint and outline query stripe i and candidate stripe j of `hi` = (i, j)."""
    i, j = hi
    if i < 0 or k == 0:
        return
    accent = QColor(palette.color(QPalette.Highlight))
    fill = QColor(accent)
    fill.setAlpha(70)
    for side, s in (("query", i), ("candidate", j)):
        band = stripe_band(lay.crops[side], s, k)
        p.fillRect(band, fill)
        p.setBrush(Qt.NoBrush)
        p.setPen(QPen(QColor(255, 255, 255, 230), 1.5))
        p.drawRect(band.adjusted(1.5, 1.5, -1.5, -1.5))
        p.setPen(QPen(accent, 2.5))
        p.drawRect(band.adjusted(-0.5, -0.5, 0.5, 0.5))
