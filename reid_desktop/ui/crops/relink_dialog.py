"""Relink a camera folder that was moved: decisions stay attached to their crops."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QLabel,
    QWidget,
)

from reid_desktop.core.ingest.relink import RelinkError, relink
from reid_desktop.store import Project
from reid_desktop.ui.common.forms import PathField, error_label


def _choose_folder(parent: QWidget, current: str) -> str:
    return QFileDialog.getExistingDirectory(parent, "New location", current)


class RelinkDialog(QDialog):
    def __init__(self, project: Project, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Relink moved folder")
        self.project = project
        self.source = QComboBox()
        roots: dict[str, list[str]] = {}
        for cam in project.cameras.all():
            roots.setdefault(cam.root, []).append(cam.name)
        # Unreachable folders first: those are the ones that need relinking.
        for root in sorted(roots, key=lambda r: (Path(r).is_dir(), r)):
            state = "" if Path(root).is_dir() else "  (not found)"
            self.source.addItem(f"{', '.join(roots[root])} — {root}{state}", root)
        self.target = PathField(_choose_folder)
        self.error = error_label()
        buttons = QDialogButtonBox(QDialogButtonBox.Ok | QDialogButtonBox.Cancel)
        buttons.button(QDialogButtonBox.Ok).setText("Relink")
        buttons.accepted.connect(self._relink)
        buttons.rejected.connect(self.reject)
        form = QFormLayout(self)
        form.addRow(
            QLabel(
                "Point a camera folder at its new location. A sample of crops is "
                "checked by content before anything changes."
            )
        )
        form.addRow("Folder:", self.source)
        form.addRow("New location:", self.target)
        form.addRow(self.error)
        form.addRow(buttons)

    def _relink(self) -> None:
        try:
            rep = relink(self.project, self.source.currentData(), self.target.text().strip())
        except RelinkError as exc:
            self.error.setText(str(exc))
            return
        self.result_report = rep
        self.accept()
