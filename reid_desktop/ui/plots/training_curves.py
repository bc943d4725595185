"""Training curves: the loss (every logged step, and its mean per epoch) over the held-out
Rank-1 and mAP per epoch, one epoch axis for both, the kept epoch marked, values on hover."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from reid_desktop.core.reports.training_curves import TrainingCurves
from reid_desktop.ui.plots.style import (
    LOSS,
    MAP,
    MUTED,
    RANK1,
    HoverReadout,
    IntegerAxis,
    brush,
    marker_line,
    style_plot,
)


class TrainingCurvesPlot(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.curves = TrainingCurves()
        # One graphics view for both panels: they share the space instead of each demanding it.
        self.view = pg.GraphicsLayoutWidget()
        self.loss_plot = style_plot(
            self.view.addPlot(row=0, col=0, axisItems={"bottom": IntegerAxis("bottom")}), y="training loss"
        )
        self.eval_plot = style_plot(
            self.view.addPlot(row=1, col=0, axisItems={"bottom": IntegerAxis("bottom")}),
            x="epoch",
            y="held-out",
        )
        self.eval_plot.setXLink(self.loss_plot)
        self.eval_plot.setYRange(0, 1.08, padding=0)
        self.eval_plot.getViewBox().setLimits(yMin=-0.05, yMax=1.1)
        self.loss_plot.getAxis("bottom").setStyle(showValues=False)
        self.step_curve = self.loss_plot.plot(pen=pg.mkPen(brush(LOSS, 90), width=1), name="loss per step")
        self.epoch_loss_curve = self.loss_plot.plot(
            pen=pg.mkPen(LOSS, width=2), symbol="o", symbolSize=6, symbolBrush=LOSS, symbolPen=None
        )
        self.map_curve = self.eval_plot.plot(
            pen=pg.mkPen(MAP, width=2), symbol="o", symbolSize=7, symbolBrush=MAP, symbolPen=None, name="mAP"
        )
        self.rank1_curve = self.eval_plot.plot(
            pen=pg.mkPen(RANK1, width=2, style=Qt.DashLine),
            symbol="s",
            symbolSize=6,
            symbolBrush=RANK1,
            symbolPen=None,
            name="Rank-1",
        )
        self.best_star = pg.ScatterPlotItem(
            symbol="star", size=18, brush=brush("#f2c200"), pen=pg.mkPen("#7a6000")
        )
        self.eval_plot.addItem(self.best_star)
        self.best_lines = [marker_line(None, MUTED, ""), marker_line(None, MUTED, "", at=0.1)]
        self.loss_plot.addItem(self.best_lines[0], ignoreBounds=True)
        self.eval_plot.addItem(self.best_lines[1], ignoreBounds=True)
        self.waiting = pg.TextItem("Waiting for the first training steps…", color=MUTED, anchor=(0.5, 0.5))
        self.loss_plot.addItem(self.waiting, ignoreBounds=True)
        self.hover = HoverReadout([self.loss_plot, self.eval_plot], self._readout)
        # New epochs widen the view until the user zooms or pans; the "A" button follows again.
        self.follow = True
        for p in (self.loss_plot, self.eval_plot):
            p.getViewBox().sigRangeChangedManually.connect(self._stop_following)
            p.autoBtn.clicked.connect(self._follow_again)
        # The key sits above the plots: inside, it would hide the last (usually best) epochs.
        self.key = QLabel(
            f"<span style='color:{LOSS}'>━ loss per logged step&nbsp; ● mean per epoch</span>"
            f"&nbsp;&nbsp;&nbsp;<span style='color:{MAP}'>● held-out mAP</span>"
            f"&nbsp;&nbsp;&nbsp;<span style='color:{RANK1}'>■ Rank-1</span>"
            "&nbsp;&nbsp;&nbsp;<span style='color:#7a6000'>★ the epoch kept</span>"
        )
        self.note = QLabel()
        self.note.setWordWrap(True)
        self.note.setStyleSheet(f"color: {MUTED};")
        self.note.hide()
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(0)
        lay.addWidget(self.key)
        lay.addWidget(self.view, 1)
        lay.addWidget(self.note)
        self.setMinimumSize(420, 240)

    def show_curves(self, c: TrainingCurves) -> None:
        self.curves = c
        self.step_curve.setData(c.step_x, c.step_loss)
        self.epoch_loss_curve.setData(c.loss_epochs, c.epoch_loss)
        self.map_curve.setData(c.eval_epochs.astype(float), c.mAP)
        ok = np.isfinite(c.rank1)
        self.rank1_curve.setData(c.eval_epochs[ok].astype(float), c.rank1[ok])
        best_map = c.value_at_best("mAP")
        if best_map is not None:
            self.best_star.setData([float(c.best_epoch)], [best_map])
        else:
            self.best_star.setData([], [])
        text = f"kept: epoch {c.best_epoch}" if best_map is not None else ""
        for line in self.best_lines:
            line.setVisible(best_map is not None)
            if best_map is not None:
                line.setPos(float(c.best_epoch))
        self.best_lines[1].label.setFormat(text)
        self.best_lines[0].label.setFormat("")
        self.waiting.setVisible(c.empty)
        last = max([1.0, *c.step_x.tolist(), *c.eval_epochs.astype(float).tolist()])
        if self.follow:
            self.loss_plot.setXRange(0, last, padding=0.03)
        if c.empty:
            self.loss_plot.setYRange(0, 1)
            self.waiting.setPos(last / 2, 0.5)
        elif self.follow:  # setYRange above fixed the axis: let it fit the losses (often > 1)
            self.loss_plot.enableAutoRange(axis="y")
        self.note.setText(c.note)
        self.note.setVisible(bool(c.note))

    def _stop_following(self, *_args) -> None:
        self.follow = False

    def _follow_again(self, *_args) -> None:
        self.follow = True
        self.show_curves(self.curves)

    def _readout(self, x: float) -> tuple[float, str] | None:
        c = self.curves
        epochs = np.unique(np.concatenate([c.eval_epochs.astype(float), c.loss_epochs]))
        if not len(epochs):
            return None
        e = float(epochs[np.abs(epochs - x).argmin()])
        if abs(e - x) > 0.5:
            return None
        parts = [f"epoch {e:.0f}" + (" (before training)" if e == 0 else "")]
        hit = np.flatnonzero(c.loss_epochs == e)
        if len(hit):
            parts.append(f"mean loss {c.epoch_loss[hit[0]]:.4f}")
        hit = np.flatnonzero(c.eval_epochs == e)
        if len(hit):
            i = hit[0]
            parts.append(
                f"mAP {c.mAP[i]:.3f}" + (f" · Rank-1 {c.rank1[i]:.3f}" if np.isfinite(c.rank1[i]) else "")
            )
        if c.best_epoch is not None and e == c.best_epoch:
            parts.append("★ the epoch kept")
        return e, "\n".join(parts)
