"""A dismissible message bar above the workspace (no modal pop-ups for routine results).

Information closes by itself after INFO_SECONDS (the pointer resting on it holds it open), so a
"Scan finished" line does not stay for the whole session. Warnings and errors stay until the
operator dismisses them or the next message (a new scan's result, say) replaces them."""

from __future__ import annotations

from PySide6.QtCore import QTimer, Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QWidget

STYLES = {
    "info": "background:#e6f0fb; color:#123; border:1px solid #9bbbe0;",
    "warning": "background:#fff4d6; color:#3a2a00; border:1px solid #e0c060;",
    "error": "background:#fbe6e6; color:#400; border:1px solid #e09b9b;",
}
INFO_SECONDS = 15


class Banner(QFrame):
    actionTriggered = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("banner")
        self.kind = "info"
        self.label = QLabel()
        self.label.setWordWrap(True)
        self.action = QPushButton()
        self.action.clicked.connect(self.actionTriggered)
        close = QPushButton("✕")
        close.setFlat(True)
        close.setFixedWidth(28)
        close.setToolTip("Dismiss")
        close.clicked.connect(self.hide)
        self.timer = QTimer(self)
        self.timer.setSingleShot(True)
        self.timer.setInterval(INFO_SECONDS * 1000)
        self.timer.timeout.connect(self.hide)
        lay = QHBoxLayout(self)
        lay.setContentsMargins(10, 6, 6, 6)
        lay.addWidget(self.label, 1)
        lay.addWidget(self.action)
        lay.addWidget(close)
        self.hide()

    def show_message(self, text: str, kind: str = "info", action: str = "") -> None:
        self.kind = kind
        self.setStyleSheet(f"QFrame#banner {{{STYLES[kind]} border-radius:4px;}}")
        self.label.setText(text)
        self.action.setText(action)
        self.action.setVisible(bool(action))
        self.show()
        self.timer.stop()
        if kind == "info":
            self.timer.start()

    def enterEvent(self, event) -> None:  # being read: hold it open
        self.timer.stop()
        super().enterEvent(event)

    def leaveEvent(self, event) -> None:
        if self.kind == "info" and self.isVisible():
            self.timer.start()
        super().leaveEvent(event)
