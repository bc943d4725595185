"""A small live plot: training loss (left axis) and held-out mAP per epoch (right axis)."""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QPainter, QPainterPath, QPen
from PySide6.QtWidgets import QWidget

LOSS = QColor("#3b6fb6")
MAP = QColor("#c8532a")


class TrainingPlot(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.losses: list[tuple[float, float]] = []
        self.maps: list[tuple[float, float]] = []  # (t, mAP)
        self.setMinimumSize(420, 200)

    def set_data(self, losses: list[tuple[float, float]], maps: list[tuple[float, float]]) -> None:
        self.losses, self.maps = list(losses), list(maps)
        self.update()

    def paintEvent(self, _event) -> None:
        p = QPainter(self)
        p.setRenderHint(QPainter.Antialiasing)
        p.fillRect(self.rect(), self.palette().base())
        fm = p.fontMetrics()
        plot = QRectF(self.rect()).adjusted(
            fm.horizontalAdvance("0.000") + 12, 24, -fm.horizontalAdvance("0.00") - 14, -fm.height() - 10
        )
        p.setPen(QPen(self.palette().mid().color()))
        p.drawRect(plot)
        p.setPen(self.palette().text().color())
        p.drawText(QRectF(plot.left(), 2, plot.width(), 20), Qt.AlignLeft | Qt.AlignVCenter, "training loss")
        p.setPen(MAP)
        p.drawText(
            QRectF(plot.left(), 2, plot.width(), 20), Qt.AlignRight | Qt.AlignVCenter, "held-out mAP ●"
        )
        ts = [t for t, _ in self.losses] + [t for t, _ in self.maps]
        if not ts:
            p.setPen(self.palette().mid().color())
            p.drawText(plot, Qt.AlignCenter, "Waiting for the first training steps…")
            return
        t1 = max(max(ts), 1.0)
        x = lambda t: plot.left() + plot.width() * t / t1  # noqa: E731
        p.setPen(self.palette().text().color())
        p.drawText(
            QRectF(plot.left(), plot.bottom() + 4, plot.width(), fm.height()),
            Qt.AlignRight,
            f"{t1 / 60:.1f} min",
        )
        if self.losses:
            lo, hi = min(v for _, v in self.losses), max(v for _, v in self.losses)
            hi = hi if hi > lo else lo + 1
            y = lambda v: plot.bottom() - plot.height() * (v - lo) / (hi - lo)  # noqa: E731
            path = QPainterPath(QPointF(x(self.losses[0][0]), y(self.losses[0][1])))
            for t, v in self.losses[1:]:
                path.lineTo(x(t), y(v))
            p.setPen(QPen(LOSS, 1.6))
            p.drawPath(path)
            p.setPen(LOSS)
            p.drawText(QRectF(0, plot.top() - 6, plot.left() - 4, fm.height()), Qt.AlignRight, f"{hi:.2f}")
            p.drawText(
                QRectF(0, plot.bottom() - fm.height() + 6, plot.left() - 4, fm.height()),
                Qt.AlignRight,
                f"{lo:.2f}",
            )
        if self.maps:
            ym = lambda v: plot.bottom() - plot.height() * v  # noqa: E731  mAP on a fixed 0..1 axis
            p.setPen(QPen(MAP, 2))
            pts = [QPointF(x(t), ym(v)) for t, v in self.maps]
            for a, b in zip(pts, pts[1:], strict=False):
                p.drawLine(a, b)
            p.setBrush(MAP)
            for pt in pts:
                p.drawEllipse(pt, 3.5, 3.5)
            p.setPen(MAP)
            p.drawText(QRectF(plot.right() + 4, plot.top() - 6, 60, fm.height()), Qt.AlignLeft, "1.0")
            p.drawText(
                QRectF(plot.right() + 4, plot.bottom() - fm.height() + 6, 60, fm.height()),
                Qt.AlignLeft,
                "0.0",
            )
            last = self.maps[-1][1]
            if min(abs(ym(last) - plot.top()), abs(ym(last) - plot.bottom())) < fm.height():
                p.end()  # the axis label already says it; overlapping text would say neither
                return
            p.drawText(
                QRectF(plot.right() + 4, ym(last) - fm.height() / 2, 60, fm.height()),
                Qt.AlignLeft,
                f"{last:.2f}",
            )
        p.end()
