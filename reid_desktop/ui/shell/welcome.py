"""The page shown when no project is open: create, open, or pick a recent project."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)


class WelcomePage(QWidget):
    newRequested = Signal()
    openRequested = Signal()
    recentChosen = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        title = QLabel("<h1>reid-desktop</h1>")
        sub = QLabel(
            "Turn folders of person crops from several cameras into verified identities.<br>"
            "Start a project, then add one folder per camera."
        )
        sub.setStyleSheet("color: #555;")
        new = QPushButton("New project…  (Ctrl+N)")
        new.setObjectName("newProjectButton")
        new.clicked.connect(self.newRequested)
        open_ = QPushButton("Open project…  (Ctrl+O)")
        open_.clicked.connect(self.openRequested)
        for b in (new, open_):
            b.setMinimumHeight(36)
        self.recent = QListWidget()
        self.recent.setObjectName("recentList")
        self.recent.setMaximumHeight(220)
        self.recent.itemActivated.connect(lambda it: self.recentChosen.emit(it.data(Qt.UserRole)))
        self.recent_label = QLabel("<b>Recent projects</b>")

        col = QVBoxLayout()
        col.addWidget(title)
        col.addWidget(sub)
        col.addSpacing(12)
        col.addWidget(new)
        col.addWidget(open_)
        col.addSpacing(16)
        col.addWidget(self.recent_label)
        col.addWidget(self.recent)
        box = QWidget()
        box.setLayout(col)
        box.setFixedWidth(560)
        box.setSizePolicy(box.sizePolicy().horizontalPolicy(), QSizePolicy.Maximum)
        outer = QVBoxLayout(self)
        outer.addStretch(1)
        outer.addWidget(box, 0, Qt.AlignHCenter)
        outer.addStretch(2)

    def set_recent(self, paths: list[str]) -> None:
        self.recent.clear()
        for p in paths:
            item = QListWidgetItem(f"{Path(p).name}    —    {Path(p).parent}")
            item.setData(Qt.UserRole, p)
            item.setToolTip(p)
            self.recent.addItem(item)
        self.recent_label.setVisible(bool(paths))
        self.recent.setVisible(bool(paths))
