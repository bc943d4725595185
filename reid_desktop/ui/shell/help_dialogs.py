"""Keyboard shortcut list (built from the window's actions) and the About box."""

from __future__ import annotations

from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QMessageBox, QVBoxLayout, QWidget


def shortcuts_dialog(parent: QWidget, actions: list[QAction]) -> QDialog:
    rows = []
    for a in actions:
        keys = a.shortcut().toString(QKeySequence.NativeText)
        if keys:
            rows.append(f"<tr><td><b>{keys}</b></td><td>&nbsp;&nbsp;{a.text().replace('&', '')}</td></tr>")
    dlg = QDialog(parent)
    dlg.setWindowTitle("Keyboard shortcuts")
    label = QLabel("<table>" + "".join(sorted(set(rows))) + "</table>")
    buttons = QDialogButtonBox(QDialogButtonBox.Close)
    buttons.rejected.connect(dlg.reject)
    lay = QVBoxLayout(dlg)
    lay.addWidget(label)
    lay.addWidget(buttons)
    return dlg


def about_dialog(parent: QWidget, version: str) -> QMessageBox:
    return QMessageBox(
        QMessageBox.Information,
        "About reid-desktop",
        f"<b>reid-desktop {version}</b><br>Offline cross-camera person re-identification "
        "review.<br>Everything runs on this workstation; nothing is sent anywhere.",
        QMessageBox.Ok,
        parent,
    )
