"""The model report's plots: CMC curves (one per model) and, per model, the histograms of the
scores of "same" and "different" verdicts under P(same | score) and the score floor."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from reid_desktop.core.reports.model_report import CMC_RANKS, ModelReport, ScoreSummary
from reid_desktop.ui.plots.style import (
    CALIBRATION,
    DIFFERENT,
    FLOOR,
    MODELS,
    MUTED,
    SAME,
    HoverReadout,
    IntegerAxis,
    brush,
    marker_line,
    style_plot,
)

BINS = 30


class CmcPlot(QWidget):
    """CMC: the share of queries whose first true match is within the top k, k = 1 … 20."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.plot = pg.PlotWidget(axisItems={"bottom": IntegerAxis("bottom")})
        self.item = style_plot(self.plot.getPlotItem(), "CMC on the confirmed identities", "rank", "matched")
        self.item.setYRange(0, 1.05, padding=0)
        self.item.setXRange(1, CMC_RANKS, padding=0.02)
        self.item.getViewBox().setLimits(xMin=0, xMax=CMC_RANKS + 1, yMin=-0.05, yMax=1.1)
        self.legend = self.item.addLegend(
            offset=(-10, -10), labelTextSize="9pt", brush=brush("#ffffff", 230), pen=pg.mkPen("#cccccc")
        )
        self.curves: list[pg.PlotDataItem] = []
        self.reports: list[ModelReport] = []
        self.hover = HoverReadout([self.item], self._readout)
        self.empty = pg.TextItem("", color=MUTED, anchor=(0.5, 0.5))
        self.item.addItem(self.empty, ignoreBounds=True)
        self.empty.setPos(CMC_RANKS / 2, 0.5)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.plot)
        self.setMinimumSize(300, 220)

    def show_reports(self, reports: list[ModelReport]) -> None:
        for c in self.curves:
            self.item.removeItem(c)
        self.legend.clear()
        self.curves = []
        self.reports = list(reports)
        for i, r in enumerate(reports):
            cmc = r.cmc
            if not len(cmc):
                continue
            colour = MODELS[i % len(MODELS)]
            curve = self.item.plot(
                np.arange(1, len(cmc) + 1, dtype=float),
                cmc,
                pen=pg.mkPen(colour, width=2),
                symbol="o",
                symbolSize=5,
                symbolBrush=colour,
                symbolPen=None,
                name=f"{r.encoder_name}  (Rank-1 {cmc[0]:.3f})",
            )
            curve.report = r  # which model the curve draws, for tests
            self.curves.append(curve)
        self.empty.setText("" if self.curves else "No query has a confirmed match in another camera yet")
        # Good models sit near 1: start the axis just below the lowest point so differences show.
        low = min((float(c.report.cmc.min()) for c in self.curves), default=0.0)
        self.item.setYRange(max(0.0, np.floor((low - 0.05) * 20) / 20), 1.02, padding=0)

    def _readout(self, x: float) -> tuple[float, str] | None:
        k = int(round(x))
        rows = [(r.encoder_name, r.cmc[k - 1]) for r in self.reports if 1 <= k <= len(r.cmc)]
        if not rows:
            return None
        return float(k), f"Rank-{k}\n" + "\n".join(f"{name}: {v:.3f}" for name, v in rows)


class ScorePlot(QWidget):
    """The share of the "same" and of the "different" verdicts at each score (each class sums to
    100%: operators judge far more of one kind, and counts would flatten the other), the calibrated
    P(same | score) over them (right axis, 0–1) and the score floor."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._top = 0.0  # the tallest bar (share of verdicts, %)
        self.plot = pg.PlotWidget()
        self.item = style_plot(self.plot.getPlotItem(), "", "cosine score", "share of verdicts (%)")
        self.item.showAxis("right")
        right = self.item.getAxis("right")
        right.setLabel("P(same | score)", **{"font-size": "9pt"})
        right.setWidth(48)
        # A second view box on the right axis, x-linked, so probabilities keep their 0–1 scale.
        self.prob = pg.ViewBox(enableMouse=False)
        self.item.scene().addItem(self.prob)
        right.linkToView(self.prob)
        self.prob.setXLink(self.item)
        self.prob.setYRange(0, 1.05, padding=0)
        self.item.vb.sigResized.connect(self._sync)
        self.same_hist = pg.PlotCurveItem(fillLevel=0, brush=brush(SAME, 70), pen=SAME)
        self.diff_hist = pg.PlotCurveItem(fillLevel=0, brush=brush(DIFFERENT, 70), pen=DIFFERENT)
        self.item.addItem(self.same_hist)
        self.item.addItem(self.diff_hist)  # usually the fewer: drawn on top
        self.cal_curve = pg.PlotCurveItem(pen=pg.mkPen(CALIBRATION, width=2))
        self.prob.addItem(self.cal_curve)
        self.floor_line = marker_line(None, FLOOR, "", at=0.04)
        self.item.addItem(self.floor_line, ignoreBounds=True)
        self.legend = self.item.addLegend(
            offset=(10, 10), labelTextSize="9pt", brush=brush("#ffffff", 230), pen=pg.mkPen("#cccccc")
        )
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        self.summary.setStyleSheet(f"color: {MUTED};")
        self.scores: ScoreSummary | None = None
        self.edges = np.zeros(0)
        self.same_counts = self.diff_counts = np.zeros(0, np.int64)
        self.same_share = self.diff_share = np.zeros(0)
        self.hover = HoverReadout([self.item], self._readout)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.plot, 1)
        lay.addWidget(self.summary)
        self.setMinimumSize(300, 220)

    def _sync(self) -> None:
        self.prob.setGeometry(self.item.vb.sceneBoundingRect())
        self.prob.linkedViewChanged(self.item.vb, self.prob.XAxis)
        self._fit_y()

    def _fit_y(self) -> None:
        """Headroom above the tallest bar for the legend (top left, a fixed size in pixels), so
        the legend never hides a bar whatever the plot's height."""
        height = self.item.vb.sceneBoundingRect().height()
        if self._top <= 0 or height <= 0 or not hasattr(self, "legend"):
            return
        needed = self.legend.boundingRect().height() + 10 + 8  # its offset, then a gap
        share = min(0.6, needed / height)
        self.item.setYRange(0, self._top / (1.0 - share), padding=0)

    def show_scores(self, s: ScoreSummary, title: str = "") -> None:
        self.scores = s
        self.item.setTitle(title, size="10pt", bold=True)
        self.edges = np.linspace(float(s.curve_x[0]), float(s.curve_x[-1]), BINS + 1)
        self.same_counts = np.histogram(s.same, self.edges)[0]
        self.diff_counts = np.histogram(s.different, self.edges)[0]
        self.same_share = 100.0 * self.same_counts / max(1, len(s.same))
        self.diff_share = 100.0 * self.diff_counts / max(1, len(s.different))
        self.same_hist.setData(self.edges, self.same_share, stepMode="center")
        self.diff_hist.setData(self.edges, self.diff_share, stepMode="center")
        self.legend.clear()
        self.legend.addItem(self.same_hist, f"“same” ({len(s.same):,} verdicts)")
        self.legend.addItem(self.diff_hist, f"“different” ({len(s.different):,})")
        if s.curve_p is not None:
            self.legend.addItem(self.cal_curve, "P(same | score)")
        if s.curve_p is not None:
            self.cal_curve.setData(s.curve_x, s.curve_p)
        else:
            self.cal_curve.setData([], [])
        self.floor_line.setVisible(s.floor is not None)
        if s.floor is not None:
            self.floor_line.setPos(s.floor)
            self.floor_line.label.setFormat(f"{s.floor_label}: {s.floor:.2f}")
        top = max(1.0, float(max(self.same_share.max(initial=0), self.diff_share.max(initial=0))))
        self.item.setXRange(self.edges[0], self.edges[-1], padding=0.02)
        self._top = top
        self._fit_y()
        self.summary.setText(
            f"{len(s.same)} “same” and {len(s.different)} “different” verdicts scored by this model · "
            f"{s.calibration}"
        )
        self._sync()

    def _readout(self, x: float) -> tuple[float, str] | None:
        if self.scores is None or not len(self.edges) or not self.edges[0] <= x <= self.edges[-1]:
            return None
        i = min(int(np.searchsorted(self.edges, x, side="right")) - 1, BINS - 1)
        lo, hi = self.edges[i], self.edges[i + 1]
        text = f"score {lo:.2f} – {hi:.2f}\n{self.same_counts[i]} same · {self.diff_counts[i]} different"
        if self.scores.curve_p is not None:
            text += f"\nP(same | {x:.2f}) = {np.interp(x, self.scores.curve_x, self.scores.curve_p):.2f}"
        return x, text
