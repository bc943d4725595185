"""The models screen: registered encoders, which is active, on which provider, import, switch
(re-embeds only what is missing) and fine-tune."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, Qt, Signal
from PySide6.QtGui import QAction, QFont, QKeySequence
from PySide6.QtWidgets import (
    QHBoxLayout,
    QHeaderView,
    QInputDialog,
    QLabel,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from reid_desktop.core.encoders.preprocess_options import describe
from reid_desktop.core.encoders.registry import recorded_preprocess
from reid_desktop.core.encoders.runtime import PROVIDER_LABELS, available_providers
from reid_desktop.store import EncoderRecord, Project
from reid_desktop.ui.common.table_model import RowTableModel

HEADERS = ("", "Model", "Embedded", "Source", "Preprocessing", "Held-out mAP", "Added")
PREPROCESS_COLUMN = 4


class EncoderTableModel(RowTableModel[tuple[EncoderRecord, int]]):
    """Rows: (encoder, how many crops it has embedded)."""

    headers = HEADERS

    def __init__(self, parent=None) -> None:
        super().__init__((), parent)
        self._active: int | None = None
        self._total = 0

    def set_rows(
        self, rows: list[tuple[EncoderRecord, int]], active: int | None = None, total: int = 0
    ) -> None:
        self._active, self._total = active, total
        super().set_rows(rows)

    def encoder_at(self, row: int) -> EncoderRecord:
        return self.rows[row][0]

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.DisplayRole):
        if not index.isValid():
            return None
        m, n = self.rows[index.row()]
        prov = m.metadata.get("reid.provenance", {}) if isinstance(m.metadata, dict) else {}
        active = m.id == self._active
        if role == Qt.DisplayRole:
            col = index.column()
            if col == 0:
                return "●" if active else ""
            if col == 1:
                return m.name
            if col == 2:
                return f"{n:,} / {self._total:,}"
            if col == 3:
                if prov.get("recipe"):
                    return f"reid-train · {prov['recipe']}"
                return prov.get("importer", "") and f"imported from {prov.get('source', '?')}"
            if col == PREPROCESS_COLUMN:
                pre = recorded_preprocess(m)
                return describe(pre) if pre is not None else "not recorded"
            if col == 5:
                before, after = prov.get("before") or {}, prov.get("after") or {}
                if after:
                    return f"{before.get('mAP', 0):.3f} → {after.get('mAP', 0):.3f}"
                return "–"
            if col == 6:
                return m.created_at[:16].replace("T", " ")
        if role == Qt.FontRole and active:
            f = QFont()
            f.setBold(True)
            return f
        if role == Qt.ToolTipRole:
            if index.column() == PREPROCESS_COLUMN:
                return "What each crop becomes before the model sees it, as recorded when it was added"
            return m.file
        return None


class EncodersView(QWidget):
    activateRequested = Signal(int)
    embedRequested = Signal(int)
    importRequested = Signal()
    fineTuneRequested = Signal()
    reportRequested = Signal(object)  # the selected encoder's id, None: the active one
    compareRequested = Signal(object)  # the selected encoder's id (model B), or None
    runsRequested = Signal()
    renameRequested = Signal(int, str)  # encoder id, the new name the operator typed

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.project: Project | None = None
        self.model = EncoderTableModel(self)
        self.table = QTableView()
        self.table.setObjectName("modelTable")
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QTableView.SelectRows)
        self.table.setSelectionMode(QTableView.SingleSelection)
        self.table.verticalHeader().hide()
        header = self.table.horizontalHeader()
        for col in (1, 3):
            header.setSectionResizeMode(col, QHeaderView.ResizeToContents)
        header.setSectionResizeMode(PREPROCESS_COLUMN, QHeaderView.Stretch)  # the longest text
        self.table.setColumnWidth(0, 28)
        self.table.doubleClicked.connect(lambda idx: self._emit_selected(self.activateRequested))
        # F2 or the table's context menu renames the selected model (names are unique).
        self.rename_action = QAction("Rename…", self.table)
        self.rename_action.setShortcut(QKeySequence("F2"))
        self.rename_action.setShortcutContext(Qt.WidgetWithChildrenShortcut)
        self.rename_action.triggered.connect(lambda _checked=False: self.rename_selected())
        self.table.addAction(self.rename_action)
        self.table.setContextMenuPolicy(Qt.ActionsContextMenu)
        providers = [PROVIDER_LABELS.get(p, p) for p in available_providers()]
        self.provider = QLabel(
            f"Inference runs on <b>{providers[0]}</b> (available here: {', '.join(providers)})."
        )
        self.info = QLabel()
        self.info.setWordWrap(True)
        row = QHBoxLayout()
        for text, slot in (
            ("Activate", lambda: self._emit_selected(self.activateRequested)),
            ("Embed missing crops", lambda: self._emit_selected(self.embedRequested)),
            ("Import model…", self.importRequested.emit),
            ("Fine-tune…", self.fineTuneRequested.emit),
            ("Report…", lambda: self.reportRequested.emit(self._selected_id())),
            ("Compare…", lambda: self.compareRequested.emit(self._selected_id())),
            ("Training runs…", self.runsRequested.emit),
        ):
            b = QPushButton(text)
            b.clicked.connect(slot)
            row.addWidget(b)
        row.addStretch()
        lay = QVBoxLayout(self)
        lay.addWidget(self.provider)
        lay.addWidget(self.table, 1)
        lay.addWidget(self.info)
        lay.addLayout(row)

    def _emit_selected(self, signal) -> None:
        idx = self.table.currentIndex()
        if idx.isValid():
            signal.emit(self.model.encoder_at(idx.row()).id)

    def rename_selected(self, name: str | None = None) -> None:
        """Ask for the selected model's new name (starting from the current one)."""
        idx = self.table.currentIndex()
        if not idx.isValid():
            return
        encoder = self.model.encoder_at(idx.row())
        if name is None:
            name, ok = QInputDialog.getText(self, "Rename model", "Name:", text=encoder.name)
            if not ok:
                return
        if name.strip() and name.strip() != encoder.name:
            self.renameRequested.emit(encoder.id, name.strip())

    def _selected_id(self) -> int | None:
        idx = self.table.currentIndex()
        return self.model.encoder_at(idx.row()).id if idx.isValid() else None

    def set_project(self, project: Project | None) -> None:
        self.project = project
        self.reload()

    def reload(self) -> None:
        p = self.project
        if p is None:
            self.model.set_rows([], None, 0)
            self.info.setText("")
            return
        total = p.crops.count()
        rows = [(m, p.embeddings.count(m.id)) for m in p.encoders.all()]
        selected = self._selected_id()
        self.model.set_rows(rows, p.active_encoder_id, total)
        for i, (m, _) in enumerate(rows):  # a refresh keeps the operator's selection
            if m.id == selected:
                self.table.selectRow(i)
        active = next((m for m, _ in rows if m.id == p.active_encoder_id), None)
        self.info.setText(
            f"Active: <b>{active.name}</b> — {Path(active.file).name}. Switching models re-embeds only "
            "crops that have no embedding for the new model; every model's embeddings are kept."
            if active
            else "No active model yet: the default encoder is added when you open Review."
        )
