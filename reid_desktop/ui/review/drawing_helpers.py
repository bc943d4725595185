"""Drawing helpers shared by the stripe heatmap and the pair view.

The diverging colour map (blue −1 → near-white 0 → red +1), the black/white text colour that
reads best on a given cell colour, number formatting for cells and bars, and font scaling.
"""

from __future__ import annotations

import math

from PySide6.QtGui import QColor, QFont

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
    text = f"{v:.2f}"
    return "0.00" if text == "-0.00" else text.replace("-", "\u2212")


def format_compact(v: float) -> str:
    """Two decimals without the leading zero (".59", "−.05") for small cells."""
    if not math.isfinite(v):
        return "–"
    text = f"{v:.2f}"
    if abs(v) >= 0.995:
        return "1" if v > 0 else "\u22121"
    if text in ("-0.00", "0.00"):  # a tiny negative rounds to zero: no sign on ".00"
        return ".00"
    return text.replace("0.", ".", 1).replace("-", "\u2212")
