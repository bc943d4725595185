"""The review screen's header: how far the work is (crops alone, identities, merges left), what
was decided and how scores are calibrated, the floor the operator sets, and the model in use."""

from __future__ import annotations

import html

from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QDoubleSpinBox, QHBoxLayout, QLabel, QSizePolicy, QVBoxLayout, QWidget

from reid_desktop.core.review.session import ReviewStats


def elastic(label: QLabel, name: str) -> QLabel:
    """Long text must never widen the window: the label takes the width it is given."""
    label.setObjectName(name)
    label.setSizePolicy(QSizePolicy.Ignored, QSizePolicy.Preferred)
    label.setMinimumWidth(1)
    return label


class FloorKeys(QObject):
    """Keys typed into the floor box belong to the box: the review screen's one-key shortcuts
    (Enter merges, S, D, digits, arrows) are its children's shortcuts too, and would otherwise
    fire while the operator types a floor. Enter and Tab apply the typed floor, Esc puts the
    old one back; after each the keys go back to the review (`released`)."""

    released = Signal()

    def eventFilter(self, box: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.ShortcutOverride and self._typed(event):
            event.accept()  # deliver it to the box as a key press, not as a shortcut
            return True
        if event.type() == QEvent.KeyPress:
            if event.key() == Qt.Key_Escape:
                box.setValue(box.value())  # drop what was typed: the box shows the floor in force
                self.released.emit()
                return True
            if event.key() in (Qt.Key_Tab, Qt.Key_Backtab):
                self.released.emit()  # leaving the box applies what was typed (keyboard tracking off)
                return True
        return False

    @staticmethod
    def _typed(event: QKeyEvent) -> bool:
        """Plain or shifted keys, but not function keys (F1 help works everywhere) nor Ctrl/Alt
        chords (Ctrl+2 still changes tab)."""
        chord = event.modifiers() & (Qt.ControlModifier | Qt.AltModifier | Qt.MetaModifier)
        return not chord and not Qt.Key_F1 <= event.key() <= Qt.Key_F35


class ReviewHeader(QWidget):
    floorChanged = Signal(float)
    floorDone = Signal()  # Enter, Tab or Esc in the floor box: the keys go back to the review

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
        # A floor applies once typed out (Enter, Tab, leaving the box), not at each digit: "0.15"
        # would otherwise pass through 1.00 and rebuild the queue three times.
        self.floor.setKeyboardTracking(False)
        self.floor.valueChanged.connect(self.floorChanged.emit)
        self._floor_keys = FloorKeys(self)
        self.floor.installEventFilter(self._floor_keys)
        self._floor_keys.released.connect(self.floorDone.emit)
        self.floor.editingFinished.connect(self._floor_entered)
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

    def _floor_entered(self) -> None:
        if self.floor.hasFocus():  # Enter; when focus went elsewhere, it stays where it went
            self.floorDone.emit()

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
