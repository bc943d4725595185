"""Choose camera folders (several at once, or dropped from a file manager) and their layout."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

LAYOUT_CHOICES = (
    ("auto", "Detect automatically"),
    ("folders", "One folder per camera (folder name = camera)"),
    ("market", "Market-1501 names (camera read from each file name)"),
)


class AddFoldersDialog(QDialog):
    def __init__(self, parent: QWidget | None = None, start_dir: str = "") -> None:
        super().__init__(parent)
        self.setWindowTitle("Add camera folders")
        self.setAcceptDrops(True)
        self.resize(620, 380)
        self._start_dir = start_dir
        intro = QLabel(
            "Add one folder per camera, a folder that holds camera folders, or a Market-1501 "
            "folder. You can also drop folders here. Scanning runs in the background and can be "
            "cancelled; nothing already saved is lost."
        )
        intro.setWordWrap(True)
        self.list = QListWidget()
        self.list.setSelectionMode(QListWidget.ExtendedSelection)
        add = QPushButton("Add folders…")
        add.clicked.connect(self._browse)
        remove = QPushButton("Remove")
        remove.clicked.connect(self._remove_selected)
        side = QVBoxLayout()
        side.addWidget(add)
        side.addWidget(remove)
        side.addStretch()
        row = QHBoxLayout()
        row.addWidget(self.list)
        row.addLayout(side)
        self.layout_box = QComboBox()
        for key, label in LAYOUT_CHOICES:
            self.layout_box.addItem(label, key)
        form = QFormLayout()
        form.addRow("Layout:", self.layout_box)
        self.buttons = QDialogButtonBox(QDialogButtonBox.Ok | QDialogButtonBox.Cancel)
        self.buttons.button(QDialogButtonBox.Ok).setText("Scan")
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        lay = QVBoxLayout(self)
        lay.addWidget(intro)
        lay.addLayout(row)
        lay.addLayout(form)
        lay.addWidget(self.buttons)
        self._update_ok()

    def folders(self) -> list[str]:
        return [self.list.item(i).text() for i in range(self.list.count())]

    def layout_choice(self) -> str:
        return self.layout_box.currentData()

    def add_folder(self, folder: str) -> None:
        folder = str(Path(folder))
        if Path(folder).is_dir() and folder not in self.folders():
            self.list.addItem(folder)
        self._update_ok()

    def _update_ok(self) -> None:
        self.buttons.button(QDialogButtonBox.Ok).setEnabled(self.list.count() > 0)

    def folder_picker(self) -> QFileDialog:
        """A folder chooser that takes several folders at once (Ctrl/Shift-click): the native
        one picks a single folder."""
        dlg = QFileDialog(self, "Camera folders", self._start_dir)
        dlg.setFileMode(QFileDialog.Directory)
        dlg.setOption(QFileDialog.ShowDirsOnly, True)
        dlg.setOption(QFileDialog.DontUseNativeDialog, True)
        for view in dlg.findChildren(QAbstractItemView):
            if view.objectName() in ("listView", "treeView"):  # the folder lists, not the sidebar
                view.setSelectionMode(QAbstractItemView.ExtendedSelection)
        return dlg

    def _browse(self) -> None:
        dlg = self.folder_picker()
        if dlg.exec():
            self.add_chosen(dlg)

    def add_chosen(self, dlg: QFileDialog) -> None:
        """Every folder selected in the chooser."""
        chosen = dlg.selectedFiles()
        for folder in chosen:
            self.add_folder(folder)
        if chosen:
            self._start_dir = str(Path(chosen[0]).parent)

    def _remove_selected(self) -> None:
        for item in self.list.selectedItems():
            self.list.takeItem(self.list.row(item))
        self._update_ok()

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        for url in event.mimeData().urls():
            if url.isLocalFile():
                self.add_folder(url.toLocalFile())
        event.setDropAction(Qt.CopyAction)
        event.accept()
