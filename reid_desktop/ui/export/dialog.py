"""Export confirmed identities as a Market-1501 folder, with a CSV and the decision audit trail.
Shows the plan before writing and never overwrites without asking."""

from __future__ import annotations

import html
from pathlib import Path

from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QLabel,
    QMessageBox,
    QSpinBox,
    QWidget,
)

from reid_desktop.core.export.market import ExportError, plan_export
from reid_desktop.store import Project
from reid_desktop.ui.common.forms import PathField


def _choose_folder(parent: QWidget, current: str) -> str:
    return QFileDialog.getExistingDirectory(parent, "Export folder", str(Path(current).parent))


class ExportDialog(QDialog):
    def __init__(self, project: Project, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Export identities (Market-1501)")
        self.project = project
        self.overwrite = False
        self.out = PathField(_choose_folder, str(project.path.with_name(project.path.stem + "-market1501")))
        self.ratio = QDoubleSpinBox()
        self.ratio.setRange(0.0, 1.0)
        self.ratio.setSingleStep(0.1)
        self.ratio.setValue(0.5)
        self.seed = QSpinBox()
        self.seed.setRange(0, 1_000_000)
        self.plan = QLabel()
        self.plan.setWordWrap(True)
        self.out.textChanged.connect(lambda _t: self.refresh())
        self.ratio.valueChanged.connect(lambda _v: self.refresh())
        self.seed.valueChanged.connect(lambda _v: self.refresh())
        self.buttons = QDialogButtonBox(QDialogButtonBox.Ok | QDialogButtonBox.Cancel)
        self.buttons.button(QDialogButtonBox.Ok).setText("Export")
        self.buttons.accepted.connect(self._accept)
        self.buttons.rejected.connect(self.reject)
        form = QFormLayout(self)
        form.addRow("Folder:", self.out)
        form.addRow("Test share of identities:", self.ratio)
        form.addRow("Split seed:", self.seed)
        form.addRow(self.plan)
        form.addRow(self.buttons)
        self.refresh()

    def refresh(self):
        try:
            plan = plan_export(
                self.project, Path(self.out.text()), test_ratio=self.ratio.value(), seed=self.seed.value()
            )
        except ExportError as exc:
            self.plan.setText(f"<span style='color:#a00'>{html.escape(str(exc))}</span>")
            self.buttons.button(QDialogButtonBox.Ok).setEnabled(False)
            return None
        text = (
            f"<b>{plan.identities}</b> identities, <b>{plan.crops}</b> crops → "
            f"bounding_box_train/ ({plan.train_ids} identities), query/ ({plan.query}) and "
            f"bounding_box_test/ ({plan.gallery}), plus identities.csv and decisions.json."
        )
        if plan.contradicted:
            text += f"<br>{len(plan.contradicted)} identities with contradictions are left out."
        for w in plan.warnings:
            text += f"<br><span style='color:#a05000'>{html.escape(w)}</span>"
        if plan.conflicts:
            n = len(plan.conflicts)
            text += f"<br><span style='color:#a05000'>{n} existing file(s) would be replaced.</span>"
        self.plan.setText(text)
        self.buttons.button(QDialogButtonBox.Ok).setEnabled(plan.identities > 0)
        return plan

    def _accept(self) -> None:
        plan = self.refresh()
        if plan is None:
            return
        if plan.conflicts:
            ans = QMessageBox.question(
                self,
                "Replace files?",
                f"{len(plan.conflicts)} files already exist in {plan.out_dir}. Replace them?",
            )
            if ans != QMessageBox.Yes:
                return
            self.overwrite = True
        self.accept()

    def options(self) -> dict:
        return {
            "out_dir": Path(self.out.text()),
            "test_ratio": self.ratio.value(),
            "seed": self.seed.value(),
            "overwrite": self.overwrite,
        }
