"""Geometry of the pair canvas: where the two crops, the per-stripe bar column and the captions go.

Crops keep their aspect ratio and share one displayed height, so stripe i of both crops and bar i
occupy the same vertical band (`stripe_band`). Everything here is a function of the canvas size,
its fonts, K and the crops' aspect ratios; nothing is painted.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from PySide6.QtCore import QRectF
from PySide6.QtGui import QFont, QFontMetricsF, QImage

from reid_desktop.ui.review.drawing_helpers import scaled_font

SIDES = ("query", "candidate")
PLACEHOLDER_ASPECT = 0.5  # width / height used for a missing (null) image


@dataclass(frozen=True)
class PairLayout:
    crops: dict[str, QRectF]
    track: QRectF  # bar track (x extent of the bars, y extent of the crops)
    value_x: float
    value_w: float
    captions: dict[str, QRectF]  # caption line above each crop
    roles: dict[str, QRectF]  # small "QUERY" / "CANDIDATE" line above the caption
    header: QRectF  # "PER STRIPE" over the bars
    ticks: QRectF  # −1 · 0 · 1 scale over the bars


def canvas_fonts(base: QFont) -> tuple[QFont, QFont, QFont]:
    """Role line ("QUERY"), caption, and small (bar values, scale) fonts derived from `base`."""
    role = scaled_font(base, 0.78, bold=True)
    role.setLetterSpacing(QFont.PercentageSpacing, 108)
    return role, QFont(base), scaled_font(base, 0.88)


def caption_height(fonts: tuple[QFont, QFont, QFont]) -> float:
    """Height of the role line plus the caption line above the crops."""
    role, cap, _ = fonts
    return QFontMetricsF(role).height() + 2 + QFontMetricsF(cap).height() + 6


def bars_width(
    k: int, fonts: tuple[QFont, QFont, QFont], canvas_width: float, gap: float, widest: bool = False
) -> tuple[float, float, float]:
    """track width, value column width, whole bar column width (0 without stripes).

    The track narrows (down to ~3 text lines) when the canvas is narrow, leaving the crops room.
    """
    if k == 0:
        return 0.0, 0.0, 2 * gap
    _, cap, small = fonts
    fh = QFontMetricsF(cap).height()
    track = round(fh * 5.5) if widest else round(min(fh * 5.5, max(fh * 3.4, canvas_width * 0.15)))
    value = math.ceil(QFontMetricsF(small).horizontalAdvance("\u22120.00") + 4)
    return track, value, track + 6 + value


def image_aspects(images: dict[str, QImage | None]) -> dict[str, float]:
    """width / height of each side's image (PLACEHOLDER_ASPECT for a missing one)."""
    out = {}
    for side, img in images.items():
        ok = img is not None and not img.isNull()
        out[side] = img.width() / img.height() if ok else PLACEHOLDER_ASPECT
    return out


def compute_layout(
    width: float,
    height: float,
    k: int,
    aspects: dict[str, float],
    fonts: tuple[QFont, QFont, QFont],
    margin: float,
    gap: float,
) -> PairLayout:
    m, g = margin, gap
    a = aspects
    track_w, value_w, bars_w = bars_width(k, fonts, width, gap)
    top = round(m + caption_height(fonts))
    by_h = height - top - m
    by_w = (width - 2 * m - 2 * g - bars_w) / (a["query"] + a["candidate"])
    crop_h = max(16, math.floor(min(by_h, by_w)))
    # Exact widths (the aspect ratio is kept to well under a pixel); positions on whole pixels.
    qw = a["query"] * crop_h
    cw = a["candidate"] * crop_h
    content = qw + g + bars_w + g + cw
    x0 = round(max(m, (width - content) / 2))
    q = QRectF(x0, top, qw, crop_h)
    bars_x = round(x0 + qw + g)
    c = QRectF(round(bars_x + bars_w + g), top, cw, crop_h)
    track = QRectF(bars_x, top, track_w, crop_h)
    role_font, cap_font, small = fonts
    rh = QFontMetricsF(role_font).height()
    ch = QFontMetricsF(cap_font).height()
    role_y, cap_y = m, m + rh + 2
    ticks = QRectF(bars_x - g / 2, cap_y, track_w + g, ch)
    # Captions may overhang their crop symmetrically, never into the bar column nor its scale
    # (the "−1" label sits centred on the track's left end, half of it left of the bars).
    left_of_scale = min([bars_x - 6.0] + [r.left() - 6 for _t, r in scale_ticks(track, ticks, small)])
    caps, roles = {}, {}
    for side, r, lo, hi in (
        ("query", q, m, left_of_scale),
        ("candidate", c, bars_x + bars_w + 6, width - m),
    ):
        room = min(r.center().x() - lo, hi - r.center().x())
        half = min(max(r.width() / 2, room), hi - r.center().x())  # over the crop, short of `hi`
        caps[side] = QRectF(r.center().x() - half, cap_y, 2 * half, ch)
        roles[side] = QRectF(r.center().x() - half, role_y, 2 * half, rh)
    header = QRectF(bars_x - g / 2, role_y, bars_w + g, rh)
    return PairLayout(
        {"query": q, "candidate": c}, track, bars_x + track_w + 6, value_w, caps, roles, header, ticks
    )


def scale_ticks(track: QRectF, ticks: QRectF, small: QFont) -> list[tuple[str, QRectF]]:
    """The −1 · 0 · 1 labels over the bar track: −1 at its left end, 0 in the middle, 1 at its
    right end, each in the rectangle it is drawn in."""
    fm = QFontMetricsF(small)
    out = []
    for text, x in (("\u22121", track.left()), ("0", track.center().x()), ("1", track.right())):
        w = fm.horizontalAdvance(text)
        out.append((text, QRectF(x - w / 2 - 1, ticks.top(), w + 2, ticks.height())))
    return out


def stripe_band(r: QRectF, i: int, k: int) -> QRectF:
    """Band of stripe i of K on the crop drawn in `r`; the K bands tile `r` exactly."""
    y0 = r.top() + r.height() * i / k
    y1 = r.top() + r.height() * (i + 1) / k if i + 1 < k else r.bottom()
    return QRectF(r.left(), y0, r.width(), y1 - y0)
