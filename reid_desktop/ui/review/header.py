"""The review screen's header: how far the work is (crops alone, identities, merges left), what
was decided and how scores are calibrated, the floor the operator sets, and the model in use."""

from __future__ import annotations

import html

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QDoubleSpinBox, QHBoxLayout, QLabel, QSizePolicy, QVBoxLayout, QWidget

from reid_desktop.core.review.session import ReviewStats


def elastic(label: QLabel, name: str) -> QLabel:
    """Long text must never widen the window: the label takes the width it is given."""
    label.setObjectName(name)
    label.setSizePolicy(QSizePolicy.Ignored, QSizePolicy.Preferred)
    label.setMinimumWidth(1)
    return label


class ReviewHeader(QWidget):
    floorChanged = Signal(float)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.stats_label = elastic(QLabel(), "reviewStats")
        self.detail_label = elastic(QLabel(), "reviewDetail")  # decided and calibration, quieter
        self.detail_label.setStyleSheet("color: #666;")
        self.floor = QDoubleSpinBox()
        self.floor.setObjectName("reviewFloor")
        self.floor.setRange(0.0, 1.0)
        self.floor.setSingleStep(0.05)
        self.floor.setDecimals(2)
        self.floor.setPrefix("floor ")
        self.floor.setToolTip(
            "Proposals whose group score is below the floor are not offered. Raise it to stop "
            "earlier; lower it to see every remaining pair."
        )
        self.floor.setFocusPolicy(Qt.ClickFocus)  # review keys stay with the screen
        self.floor.valueChanged.connect(self.floorChanged.emit)
        self.model_label = QLabel()
        self.model_label.setObjectName("reviewModel")
        self.model_label.setStyleSheet("color: #555;")
        counts = QVBoxLayout()
        counts.setSpacing(0)
        counts.addWidget(self.stats_label)
        counts.addWidget(self.detail_label)
        lay = QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addLayout(counts, 1)
        lay.addWidget(self.floor)
        lay.addWidget(self.model_label)

    def set_floor(self, value: float) -> None:
        """Show the session's floor without echoing it back as a change."""
        self.floor.blockSignals(True)
        self.floor.setValue(value)
        self.floor.blockSignals(False)

    def show_stats(self, st: ReviewStats, calibrated: bool) -> None:
        left = (
            f"≈ <b>{st.expected_merges:,.0f}</b> merges left in {st.open_pairs:,} open pairs"
            if calibrated
            else f"{st.open_pairs:,} open pairs (merges left: once calibrated)"
        )
        self.stats_label.setText(
            f"<b>{st.alone:,}</b> crops alone · <b>{st.identities:,}</b> identities · {left} · "
            f"floor {st.floor:.2f}"
        )
        self.detail_label.setText(
            f"decided: {st.merged:,} same · {st.different:,} different · {st.unsure:,} can't tell · "
            f"P(same): {st.calibration}"
        )
        for label in (self.stats_label, self.detail_label):
            label.setToolTip(html.unescape(label.text().replace("<b>", "").replace("</b>", "")))

    def clear(self, model_text: str = "") -> None:
        self.model_label.setText(model_text)
        self.stats_label.setText("")
        self.detail_label.setText("")
