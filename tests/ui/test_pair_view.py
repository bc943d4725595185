"""Pair view and stripe heatmap: colour map, hover → highlight, stripe/bar geometry, no stretching."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QEvent, QMetaMethod, QPoint, Qt
from PySide6.QtGui import QColor, QImage
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from reid_desktop.ui.review.heatmap_widget import (
    NAN_RGB,
    NO_STRIPES_MESSAGE,
    StripeHeatmap,
    diverging_rgb,
    format_compact,
    text_color_for,
)
from reid_desktop.ui.review.pair_view import PairView, _PairCanvas


def _image(w: int, h: int, rgb=(200, 60, 60)) -> QImage:
    img = QImage(w, h, QImage.Format_RGB32)
    img.fill(QColor(*rgb))
    return img


def _matrix(k: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    m = rng.uniform(-0.1, 0.3, (k, k))
    m[np.diag_indices(k)] = rng.uniform(0.5, 0.7, k)
    return m


@pytest.fixture
def view(qtbot):
    def make(k: int | None = 8, size=(900, 600), q=(48, 128), c=(64, 128)) -> PairView:
        pv = PairView()
        qtbot.addWidget(pv)
        pv.resize(*size)
        pv.set_pair(
            _image(*q),
            _image(*c, rgb=(60, 90, 200)),
            None if k is None else _matrix(k),
            "cam1/0001.jpg",
            "cam2/0002.jpg",
            "P(same) 0.91 · cosine 0.74",
        )
        pv.show()
        qtbot.waitExposed(pv)
        return pv

    return make


# ------------------------------------------------------------------------------- colour map
def test_colour_map_endpoints_midpoint_and_clamping():
    assert diverging_rgb(-1.0) == (0x05, 0x30, 0x61)  # dark blue
    assert diverging_rgb(0.0) == (0xF7, 0xF7, 0xF7)  # near-white
    assert diverging_rgb(1.0) == (0x67, 0x00, 0x1F)  # dark red
    assert diverging_rgb(-7) == diverging_rgb(-1) and diverging_rgb(3) == diverging_rgb(1)
    assert diverging_rgb(float("nan")) == NAN_RGB
    for v in (-0.9, -0.5, -0.2):
        r, g, b = diverging_rgb(v)
        assert b > r  # negative is blue
    for v in (0.2, 0.5, 0.9):
        r, g, b = diverging_rgb(v)
        assert r > b  # positive is warm
    # Lightness falls monotonically away from 0 on both sides.
    lum = [sum(diverging_rgb(v)) for v in np.linspace(0, 1, 11)]
    assert lum == sorted(lum, reverse=True)
    lum = [sum(diverging_rgb(v)) for v in np.linspace(0, -1, 11)]
    assert lum == sorted(lum, reverse=True)


def test_text_contrast_and_compact_format():
    assert text_color_for(diverging_rgb(0.0)).lightness() < 60  # dark text on light cells
    assert text_color_for(diverging_rgb(1.0)).lightness() > 200  # light text on dark cells
    assert text_color_for(diverging_rgb(-1.0)).lightness() > 200
    assert format_compact(0.594) == ".59" and format_compact(-0.05) == "\u2212.05"
    assert format_compact(1.0) == "1"


def test_values_that_round_to_zero_carry_no_minus_sign():
    from reid_desktop.ui.review.drawing_helpers import format_value

    assert format_compact(-0.001) == ".00" and format_compact(0.004) == ".00"
    assert format_value(-0.004) == "0.00" and format_value(-0.006) == "\u22120.01"


# ---------------------------------------------------------------------------------- heatmap
def test_heatmap_without_matrix_shows_message(qtbot):
    h = StripeHeatmap()
    qtbot.addWidget(h)
    h.resize(300, 200)
    h.set_matrix(None)
    assert h.message() == NO_STRIPES_MESSAGE and h.k() == 0
    with pytest.raises(IndexError):
        h.cell_rect(0, 0)
    assert not h.grab().isNull()
    h.set_matrix(_matrix(8))
    assert h.message() == "" and h.k() == 8
    with pytest.raises(ValueError):
        h.set_matrix(np.zeros((3, 4)))


@pytest.mark.parametrize("k", [4, 8, 16])
def test_heatmap_cells_are_square_inside_and_painted_with_the_colour_map(qtbot, k):
    h = StripeHeatmap()
    qtbot.addWidget(h)
    h.resize(h.sizeHint())
    m = _matrix(k)
    m[0, k - 1] = -0.8
    m[1, 1] = float("nan")
    h.set_matrix(m)
    img = h.grab().toImage()
    bounds = h.rect()
    for i, j in ((0, 0), (0, k - 1), (k - 1, 0), (1, 1)):
        r = h.cell_rect(i, j)
        assert r.width() == pytest.approx(r.height()) and r.width() >= 5
        assert bounds.contains(r.toRect())
        px = img.pixelColor(QPoint(int(r.left()) + 1, int(r.top()) + 1))
        assert (px.red(), px.green(), px.blue()) == diverging_rgb(m[i, j])
    assert h.cell_at(h.cell_rect(2, 3).center()) == (2, 3)


def test_heatmap_hover_emits_cell_and_leave_emits_minus_one(qtbot):
    h = StripeHeatmap()
    qtbot.addWidget(h)
    h.resize(360, 320)
    h.set_matrix(_matrix(8))
    h.show()
    qtbot.waitExposed(h)
    with qtbot.waitSignal(h.cellHovered, timeout=1000) as sig:
        QTest.mouseMove(h, h.cell_rect(5, 2).center().toPoint())
    assert sig.args == [5, 2] and h.highlighted() == (5, 2)
    with qtbot.waitSignal(h.cellHovered, timeout=1000) as sig:
        QApplication.sendEvent(h, QEvent(QEvent.Leave))
    assert sig.args == [-1, -1] and h.highlighted() == (-1, -1)


# -------------------------------------------------------------------------------- pair view
@pytest.mark.parametrize("k", [4, 8, 16])
def test_hovering_a_heatmap_cell_highlights_both_stripes(view, qtbot, k):
    pv = view(k)
    i, j = k - 1, 1
    with qtbot.waitSignal(pv.highlightChanged, timeout=1000) as sig:
        QTest.mouseMove(pv.heatmap, pv.heatmap.cell_rect(i, j).center().toPoint())
    assert sig.args == [i, j]
    assert pv.highlighted() == (i, j) and pv.heatmap.highlighted() == (i, j)
    QApplication.sendEvent(pv.heatmap, QEvent(QEvent.Leave))
    assert pv.highlighted() == (-1, -1)


def test_highlight_api_and_hovering_a_stripe(view, qtbot):
    pv = view(8)
    seen = []
    pv.highlightChanged.connect(lambda a, b: seen.append((a, b)))
    pv.highlight(3, 3)
    assert pv.highlighted() == (3, 3) and pv.heatmap.highlighted() == (3, 3)
    pv.highlight(-1, 2)
    assert pv.highlighted() == (-1, -1)
    pv.highlight(2, 99)  # out of range clears too
    assert pv.highlighted() == (-1, -1)
    assert seen == [(3, 3), (-1, -1)]
    # Pointing at stripe 5 of either crop (or its bar) highlights stripe 5 on both.
    band = pv.stripe_rect("candidate", 5).translated(-pv.canvas.pos())
    QTest.mouseMove(pv.canvas, QPoint(1, 1))  # from elsewhere: an earlier test may have left the cursor there
    QTest.mouseMove(pv.canvas, band.center().toPoint())
    assert pv.highlighted() == (5, 5)


@pytest.mark.parametrize("size", [(900, 600), (600, 400)])
@pytest.mark.parametrize("k", [4, 8, 16])
def test_stripe_bands_tile_the_crop_and_bars_align(view, k, size):
    pv = view(k, size)
    bounds = pv.rect()
    for side in ("query", "candidate"):
        crop = pv.crop_rect(side)
        assert bounds.contains(crop.toRect())
        bands = [pv.stripe_rect(side, i) for i in range(k)]
        assert bands[0].top() == pytest.approx(crop.top())
        assert bands[-1].bottom() == pytest.approx(crop.bottom())
        assert sum(b.height() for b in bands) == pytest.approx(crop.height())
        for a, b in zip(bands, bands[1:], strict=False):
            assert b.top() == pytest.approx(a.bottom(), abs=1e-9)  # no gaps, no overlaps
        for b in bands:
            assert b.left() == crop.left() and b.width() == crop.width()
    for i in range(k):
        bar, q, c = pv.bar_rect(i), pv.stripe_rect("query", i), pv.stripe_rect("candidate", i)
        assert bar.top() == pytest.approx(q.top()) == pytest.approx(c.top())
        assert bar.height() == pytest.approx(q.height()) == pytest.approx(c.height())
        # The bar column sits between the crops, clear of both.
        assert pv.crop_rect("query").right() < bar.left() < bar.right() < pv.crop_rect("candidate").left()
    with pytest.raises(IndexError):
        pv.stripe_rect("query", k)
    with pytest.raises(ValueError):
        pv.stripe_rect("gallery", 0)


@pytest.mark.parametrize("size", [(900, 600), (600, 400), (1400, 500)])
@pytest.mark.parametrize("q,c", [((48, 128), (64, 128)), ((128, 128), (40, 150)), ((200, 120), (60, 200))])
def test_crops_keep_their_aspect_ratio(view, size, q, c):
    pv = view(8, size, q, c)
    for side, (w, h) in (("query", q), ("candidate", c)):
        r = pv.crop_rect(side)
        assert r.width() > 0 and r.height() > 0
        assert (r.width() / r.height()) == pytest.approx(w / h, rel=0.01)
        assert pv.rect().contains(r.toRect())
    qr, cr = pv.crop_rect("query"), pv.crop_rect("candidate")
    assert qr.top() == cr.top() and qr.height() == cr.height()
    # Large: crops take most of the height when the view is not too narrow.
    if size == (900, 600) and q == (48, 128):
        assert qr.height() > 0.75 * size[1]
    # The heatmap never overlaps the crops.
    assert pv.heatmap.geometry().left() > cr.right()


def test_pair_without_stripe_matrix(view):
    pv = view(None)
    assert pv.k() == 0 and pv.heatmap.message() == NO_STRIPES_MESSAGE
    assert pv.heatmap.isVisible()
    with pytest.raises(IndexError):
        pv.stripe_rect("query", 0)
    pv.highlight(0, 0)
    assert pv.highlighted() == (-1, -1)
    assert not pv.grab().isNull()


def test_clear_shows_empty_state(view):
    pv = view(8)
    pv.highlight(2, 2)
    pv.clear()
    assert pv.is_empty() and pv.k() == 0 and pv.highlighted() == (-1, -1)
    assert not pv.heatmap.isVisible() and not pv.score_label.isVisible()
    assert pv.crop_rect("query").isEmpty()
    assert not pv.grab().isNull()
    pv.set_pair(_image(48, 128), _image(48, 128), _matrix(4), "a", "b", "P(same) 0.5")
    assert not pv.is_empty() and pv.k() == 4 and pv.heatmap.isVisible()
    assert pv.score_text() == "P(same) 0.5"


def test_no_signal_carries_a_bool():
    """PySide6 refcount bug: never emit Python bools through our signals."""
    for cls in (StripeHeatmap, PairView, _PairCanvas):
        mo = cls.staticMetaObject
        for n in range(mo.methodOffset(), mo.methodCount()):
            method = mo.method(n)
            if method.methodType() == QMetaMethod.Signal:
                assert b"bool" not in [bytes(t) for t in method.parameterTypes()], method.methodSignature()


def test_demo_renders(tmp_path, qapp):
    import importlib.util

    tool = Path(__file__).resolve().parents[2] / "tools" / "demo_pair_view.py"
    spec = importlib.util.spec_from_file_location("demo_pair_view", tool)
    demo_pair_view = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(demo_pair_view)

    out = tmp_path / "pair.png"
    assert demo_pair_view.main([str(out), "--size", "600x400"]) == 0
    img = QImage(str(out))
    assert img.width() == 600 and img.height() == 400
    m = demo_pair_view.demo_matrix(8)
    assert m.shape == (8, 8) and m[3, 3] == pytest.approx(0.1)
    assert all(0.5 < m[i, i] < 0.7 for i in range(8) if i != 3)


@pytest.mark.parametrize("width", [420, 520, 900])
def test_a_long_query_caption_never_runs_into_the_scale_over_the_bars(view, width):
    """At 1366×768 "cam1/8144…f353b.jpg" ended 4 px before the "−1" label, reading as one word:
    a caption keeps the same 6 px clear of the scale as of the bars."""
    from PySide6.QtCore import QRectF
    from PySide6.QtGui import QFontMetricsF

    from reid_desktop.ui.review.pair_layout import scale_ticks

    pv = view(8, size=(width, 420))
    pv.canvas.captions = {"query": "cam1/8144a0c9e2f353b.jpg", "candidate": "cam1/94f0efaa40a8.jpg"}
    lay = pv.canvas.compute_layout()
    _role, cap, small = pv.canvas._fonts()
    box = lay.captions["query"]
    shown = QFontMetricsF(cap).elidedText(pv.canvas.captions["query"], Qt.ElideMiddle, box.width())
    w = QFontMetricsF(cap).horizontalAdvance(shown)
    text = QRectF(box.center().x() - w / 2, box.top(), w, box.height())  # drawn centred in its box
    for label, rect in scale_ticks(lay.track, lay.ticks, small):
        assert not text.adjusted(0, 0, 6, 0).intersects(rect), (label, text, rect)
