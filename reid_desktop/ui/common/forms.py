"""Small pieces the dialogs' forms share: a path field with Browse…, and the red reason line."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QLineEdit, QPushButton, QWidget

# The path field grows with its text up to max_width (px), so a typical path is read whole.
MAX_PATH_WIDTH = 600
MIN_PATH_WIDTH = 260


class PathField(QWidget):
    """A path in a line edit with a Browse… button. `choose(parent, current)` returns the chosen
    path, or '' when the operator cancels. The whole path stays readable: the field widens to
    fit it (up to max_width) and its tooltip shows it in full."""

    textChanged = Signal(str)

    def __init__(
        self,
        choose: Callable[[QWidget, str], str],
        text: str = "",
        parent: QWidget | None = None,
        *,
        max_width: int = MAX_PATH_WIDTH,
    ) -> None:
        super().__init__(parent)
        self._choose = choose
        self._max_width = max_width
        self.edit = QLineEdit(text)
        self.edit.textChanged.connect(self._changed)
        self.browse = QPushButton("Browse…")
        self.browse.clicked.connect(self._browse)
        lay = QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.edit, 1)
        lay.addWidget(self.browse)
        self._changed(text)

    def text(self) -> str:
        return self.edit.text()

    def setText(self, text: str) -> None:
        self.edit.setText(text)  # a path too long to show keeps its end (the folder) in view

    def _changed(self, text: str) -> None:
        self.edit.setToolTip(text)
        wanted = self.edit.fontMetrics().horizontalAdvance(text) + 16
        self.edit.setMinimumWidth(max(MIN_PATH_WIDTH, min(self._max_width, wanted)))
        self.textChanged.emit(text)

    def _browse(self) -> None:
        chosen = self._choose(self, self.text())
        if chosen:
            self.setText(chosen)


def error_label() -> QLabel:
    """Where a form says, in one line, why it cannot go on."""
    label = QLabel()
    label.setObjectName("formError")
    label.setStyleSheet("color: #a00;")
    label.setWordWrap(True)
    return label
