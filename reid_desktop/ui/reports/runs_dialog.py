"""Training runs recorded in the project, each replayed in the same plot the Fine-tune dialog
draws live."""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, Qt, Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QLabel,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from reid_desktop.core.reports.training_curves import curves_of_run
from reid_desktop.store import TrainingRun
from reid_desktop.ui.common.table_model import RowTableModel
from reid_desktop.ui.plots.training_curves import TrainingCurvesPlot

HEADERS = ("#", "Recipe", "Status", "Started", "Held-out mAP", "Model")


class RunTableModel(RowTableModel[TrainingRun]):
    headers = HEADERS

    def __init__(self, runs: list[TrainingRun], names: dict[int, str], parent=None) -> None:
        super().__init__(runs, parent)
        self.names = names  # encoder id -> name

    @property
    def runs(self) -> list[TrainingRun]:
        return self.rows

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.DisplayRole):
        if not index.isValid():
            return None
        r = self.runs[index.row()]
        if role == Qt.DisplayRole:
            before, after = r.metrics.get("before") or {}, r.metrics.get("after") or {}
            return (
                str(r.id),
                r.recipe,
                r.status,
                r.started_at[:16].replace("T", " "),
                f"{before.get('mAP', 0):.3f} → {after.get('mAP', 0):.3f}" if after else "–",
                self.names.get(r.encoder_id, "") if r.encoder_id is not None else "not activated",
            )[index.column()]
        if role == Qt.ToolTipRole:
            return r.metrics.get("error") or r.metrics.get("out") or r.params.get("out", "")
        return None


class TrainingRunsDialog(QDialog):
    compareRequested = Signal(int)  # the encoder a run produced

    def __init__(self, runs: list[TrainingRun], names: dict[int, str], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Training runs")
        self.model = RunTableModel(list(reversed(runs)), names, self)  # newest first
        self.table = QTableView()
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QTableView.SelectRows)
        self.table.setSelectionMode(QTableView.SingleSelection)
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeToContents)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.plot = TrainingCurvesPlot()
        self.empty = QLabel("No training runs yet: Models → Fine-tune… (Ctrl+T) starts one.")
        self.empty.setVisible(not runs)
        split = QSplitter(Qt.Vertical)
        split.addWidget(self.table)
        split.addWidget(self.plot)
        split.setStretchFactor(1, 3)
        self.buttons = QDialogButtonBox(QDialogButtonBox.Close)
        self.compare_button = self.buttons.addButton("Compare its model…", QDialogButtonBox.ActionRole)
        self.compare_button.clicked.connect(self._compare)
        self.buttons.rejected.connect(self.reject)
        lay = QVBoxLayout(self)
        lay.addWidget(self.empty)
        lay.addWidget(split, 1)
        lay.addWidget(self.buttons)
        self.table.selectionModel().currentRowChanged.connect(lambda cur, _prev: self.replay(cur.row()))
        if runs:
            self.table.selectRow(0)
        else:
            self.replay(-1)
        screen = QGuiApplication.primaryScreen().availableGeometry()
        self.resize(min(900, screen.width() - 40), min(680, screen.height() - 60))

    def replay(self, row: int) -> None:
        run = self.model.runs[row] if 0 <= row < len(self.model.runs) else None
        self.compare_button.setEnabled(run is not None and run.encoder_id is not None)
        if run is not None:
            self.plot.show_curves(curves_of_run(run))

    def _compare(self) -> None:
        row = self.table.currentIndex().row()
        if 0 <= row < len(self.model.runs) and self.model.runs[row].encoder_id is not None:
            self.compareRequested.emit(self.model.runs[row].encoder_id)
