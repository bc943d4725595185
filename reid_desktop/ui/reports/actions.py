"""Model reports, comparisons and training-run replays, opened from the Models tab and menu.

Reports are computed by a background job (its own read-only connection, progress, Cancel); the
windows are modeless so an analyst can keep several open next to the main window."""

from __future__ import annotations

import logging

from PySide6.QtCore import QObject, Qt
from PySide6.QtWidgets import QComboBox, QDialog, QDialogButtonBox, QFormLayout, QLabel, QWidget

from reid_desktop.core.identities.curation import count_identities
from reid_desktop.core.reports.model_report import model_reports_job
from reid_desktop.store import EncoderRecord
from reid_desktop.ui.common.messages import show_error
from reid_desktop.ui.common.workspace import Workspace
from reid_desktop.ui.reports.report_dialog import ModelReportDialog
from reid_desktop.ui.reports.runs_dialog import TrainingRunsDialog

log = logging.getLogger(__name__)


class ComparePicker(QDialog):
    """Which two models: A (e.g. before a fine-tune) and B (after)."""

    def __init__(self, encoders: list[EncoderRecord], a: int, b: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Compare models")
        self.a, self.b = QComboBox(), QComboBox()
        for combo, chosen in ((self.a, a), (self.b, b)):
            for e in encoders:
                combo.addItem(e.name, e.id)
            combo.setCurrentIndex(max(0, combo.findData(chosen)))
        self.buttons = QDialogButtonBox(QDialogButtonBox.Ok | QDialogButtonBox.Cancel)
        self.buttons.button(QDialogButtonBox.Ok).setText("Compare")
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        self.a.currentIndexChanged.connect(self._check)
        self.b.currentIndexChanged.connect(self._check)
        form = QFormLayout(self)
        form.addRow(QLabel("Both are measured on the confirmed identities; Δ is B − A."))
        form.addRow("Model A (before):", self.a)
        form.addRow("Model B (after):", self.b)
        form.addRow(self.buttons)
        self._check()

    def _check(self) -> None:
        self.buttons.button(QDialogButtonBox.Ok).setEnabled(self.a.currentData() != self.b.currentData())

    def chosen(self) -> list[int]:
        return [self.a.currentData(), self.b.currentData()]


class ReportActions(QObject):
    def __init__(self, workspace: Workspace) -> None:
        super().__init__(workspace.parent)
        self.ws = workspace
        self.windows: list[QDialog] = []  # open report windows (modeless)

    def _ready(self) -> bool:
        p = self.ws.project
        if p is None:
            return False
        if not p.encoders.all():
            show_error(self.ws.parent, "Model report", "The project has no model yet: open Review first.")
            return False
        if count_identities(p) == 0:
            show_error(
                self.ws.parent,
                "Model report",
                "No confirmed identities yet: the report measures a model on the people operators "
                "confirmed. Judge some pairs in Review (S = same) first.",
            )
            return False
        return True

    def report(self, encoder_id: int | None = None) -> None:
        """The report of one model (the active one by default)."""
        if not self._ready():
            return
        eid = encoder_id if encoder_id is not None else self.ws.project.active_encoder_id
        if eid is None:
            eid = self.ws.project.encoders.all()[-1].id
        self.run([eid])

    def compare(self, encoder_id: int | None = None) -> None:
        """Pick two models (B defaults to `encoder_id`, else the newest), then report both."""
        if not self._ready():
            return
        p = self.ws.project
        encoders = p.encoders.all()
        if len(encoders) < 2:
            show_error(
                self.ws.parent,
                "Compare models",
                "Comparing needs two models: import or fine-tune another first.",
            )
            return
        b = encoder_id if encoder_id is not None else encoders[-1].id
        others = [e.id for e in encoders if e.id != b]
        a = p.active_encoder_id if p.active_encoder_id in others else others[-1]
        picker = ComparePicker(encoders, a, b, self.ws.parent)
        if picker.exec():
            self.run(picker.chosen())

    def run(self, encoder_ids: list[int]) -> None:
        path = self.ws.project.path
        title = "Comparing models" if len(encoder_ids) > 1 else "Model report"
        self.ws.run_job(title, lambda token: model_reports_job(path, encoder_ids, token), self._show)

    def _show(self, reports) -> ModelReportDialog:
        dlg = ModelReportDialog(reports, self.ws.parent)
        self._keep(dlg)
        return dlg

    def runs(self) -> TrainingRunsDialog | None:
        p = self.ws.project
        if p is None:
            return None
        dlg = TrainingRunsDialog(
            p.training_runs.all(), {e.id: e.name for e in p.encoders.all()}, self.ws.parent
        )
        dlg.compareRequested.connect(self.compare)
        self._keep(dlg)
        return dlg

    def _keep(self, dlg: QDialog) -> None:
        dlg.setAttribute(Qt.WA_DeleteOnClose)
        self.windows.append(dlg)
        dlg.destroyed.connect(lambda *_: self.windows.remove(dlg) if dlg in self.windows else None)
        dlg.show()

    def close_all(self) -> None:
        """The project closed: its report windows go with it."""
        for dlg in list(self.windows):
            dlg.close()
        self.windows.clear()
