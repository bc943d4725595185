"""The report of skipped files: filterable table, copy and CSV export."""

from __future__ import annotations

import csv
from pathlib import Path

from PySide6.QtCore import QSortFilterProxyModel, Qt
from PySide6.QtGui import QGuiApplication, QKeySequence
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from reid_desktop.store import SkippedFile
from reid_desktop.ui.crops.skipped_model import SkippedTableModel


class SkippedFilesDialog(QDialog):
    def __init__(self, items: list[SkippedFile], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Skipped files")
        self.resize(900, 480)
        self.model = SkippedTableModel(items, self)
        self.proxy = QSortFilterProxyModel(self)
        self.proxy.setSourceModel(self.model)
        self.proxy.setFilterKeyColumn(-1)
        self.proxy.setFilterCaseSensitivity(Qt.CaseInsensitive)

        reasons = {}
        for it in items:
            key = it.reason.split(" (")[0]
            reasons[key] = reasons.get(key, 0) + 1
        summary = ", ".join(f"{n} × {r}" for r, n in sorted(reasons.items(), key=lambda x: -x[1]))
        if items:
            files = "1 file was" if len(items) == 1 else f"{len(items):,} files were"
            header = QLabel(
                f"<b>{files}</b> not added as crops. Nothing else was affected; "
                f"fix or remove them and re-scan (F5).<br><span style='color:gray'>{summary}</span>"
            )
        else:
            header = QLabel("Every file found in the camera folders was added as a crop.")
        self.header = header
        header.setWordWrap(True)
        self.filter = QLineEdit(placeholderText="Filter by name or reason…")
        self.filter.textChanged.connect(self.proxy.setFilterFixedString)

        self.table = QTableView()
        self.table.setModel(self.proxy)
        self.table.setSortingEnabled(True)
        self.table.setAlternatingRowColors(True)
        self.table.setSelectionBehavior(QTableView.SelectRows)
        self.table.verticalHeader().hide()
        self.table.setWordWrap(False)
        self.table.setTextElideMode(Qt.ElideMiddle)
        hh = self.table.horizontalHeader()
        hh.setSectionResizeMode(0, QHeaderView.Interactive)
        hh.setSectionResizeMode(1, QHeaderView.Stretch)
        hh.resizeSection(0, 280)

        buttons = QDialogButtonBox(QDialogButtonBox.Close)
        self.copy_button = buttons.addButton("Copy", QDialogButtonBox.ActionRole)
        self.copy_button.setShortcut(QKeySequence.Copy)
        self.export_button = buttons.addButton("Export CSV…", QDialogButtonBox.ActionRole)
        self.copy_button.clicked.connect(self.copy_to_clipboard)
        self.export_button.clicked.connect(self._ask_export)
        buttons.rejected.connect(self.reject)

        top = QHBoxLayout()
        top.addWidget(self.filter)
        layout = QVBoxLayout(self)
        layout.addWidget(header)
        layout.addLayout(top)
        layout.addWidget(self.table)
        layout.addWidget(buttons)

    def visible_items(self) -> list[SkippedFile]:
        rows = [self.proxy.mapToSource(self.proxy.index(r, 0)).row() for r in range(self.proxy.rowCount())]
        items = self.model.items()
        return [items[r] for r in rows]

    def copy_to_clipboard(self) -> None:
        text = "\n".join(f"{i.source_root}/{i.path}\t{i.reason}" for i in self.visible_items())
        QGuiApplication.clipboard().setText(text)

    def export_csv(self, path: str | Path) -> None:
        with open(path, "w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh)
            w.writerow(["folder", "file", "reason", "seen_at"])
            for i in self.visible_items():
                w.writerow([i.source_root, i.path, i.reason, i.seen_at])

    def _ask_export(self) -> None:
        path, _ = QFileDialog.getSaveFileName(
            self, "Export skipped files", "skipped-files.csv", "CSV files (*.csv)"
        )
        if path:
            self.export_csv(path)
