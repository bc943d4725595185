"""Fine-tune: say what will happen, run `reid-train` in a QProcess, stream its events into a live
plot and a progress bar with ETA, allow Cancel, then offer to activate the new model."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from PySide6.QtCore import QProcess, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from reid_desktop.core.identities.curation import identity_rows
from reid_desktop.core.reports.training_curves import TrainingCurves
from reid_desktop.core.training.launcher import trainer_command
from reid_desktop.core.training.monitor import TrainingMonitor
from reid_desktop.store import Project
from reid_desktop.ui.plots.training_curves import TrainingCurvesPlot

RECIPES = {  # mirrors trainer/recipes.py without importing torch into the app
    "baseline": "CE + batch-hard triplet: the strong simple reference",
    "contrastive": "method A: CE + supervised MoCo InfoNCE + person-structure loss on stripes",
    "inherent": "method B: softmax + compact − scatter “inherent code”",
    "cosine-slice": "method C: cosine softmax on the global and stripe slices",
}


def plan_text(project: Project, holdout: float = 0.3) -> tuple[str, bool]:
    rows = [r for r in identity_rows(project) if not r.contradictions and len(r.crops) >= 2]
    crops = sum(len(r.crops) for r in rows)
    held = max(2, round(holdout * len(rows))) if rows else 0
    ok = len(rows) - held >= 2 and held >= 2
    text = (
        f"<b>{len(rows)}</b> confirmed identities with <b>{crops}</b> crops. "
        f"<b>{held}</b> identities ({holdout:.0%}) are held out, never trained on, and measure "
        "Rank-1/mAP before and after; the rest train."
    )
    if not ok:
        text += (
            "<br><span style='color:#a03000'>Not enough yet: confirm at least 7 identities "
            "(two crops each) in Review.</span>"
        )
    return text, ok


class FineTuneDialog(QDialog):
    modelReady = Signal(str)  # path of the new encoder.onnx, when the user activates it

    def __init__(
        self, project: Project, parent: QWidget | None = None, program: list[str] | None = None
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Fine-tune the encoder")
        self.resize(640, 560)
        self.project = project
        self.program = program or trainer_command()
        self.proc: QProcess | None = None
        self.monitor = TrainingMonitor()
        self.out_dir: Path | None = None
        self.run_id: int | None = None  # the training_runs row of this dialog's run
        self._shown = False
        self.recipe = QComboBox()
        for name, desc in RECIPES.items():
            self.recipe.addItem(f"{name} — {desc}", name)
        self.minutes = QSpinBox()
        self.minutes.setRange(1, 600)
        self.minutes.setValue(10)
        self.minutes.setSuffix(" min")
        plan, self.plan_ok = plan_text(project)
        self.plan = QLabel(plan)
        self.plan.setWordWrap(True)
        form = QFormLayout()
        form.addRow("Recipe:", self.recipe)
        form.addRow("Time budget:", self.minutes)
        self.plot = TrainingCurvesPlot()
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.status = QLabel("Ready. The active model stays untouched until you activate the result.")
        self.status.setWordWrap(True)
        self.result = QLabel()
        self.result.setWordWrap(True)
        self.buttons = QDialogButtonBox()
        self.start_button = self.buttons.addButton("Start", QDialogButtonBox.AcceptRole)
        self.cancel_button = self.buttons.addButton("Cancel training", QDialogButtonBox.RejectRole)
        self.activate_button = self.buttons.addButton("Activate && re-score", QDialogButtonBox.ApplyRole)
        self.close_button: QPushButton = self.buttons.addButton(QDialogButtonBox.Close)
        self.start_button.clicked.connect(self.start)
        self.cancel_button.clicked.connect(self.cancel)
        self.activate_button.clicked.connect(self._activate)
        self.close_button.clicked.connect(self.close)
        self.start_button.setEnabled(self.plan_ok and self.program is not None)
        if self.program is None:
            self.status.setText(
                "The trainer is not installed with this copy of reid-desktop: install "
                "“reid-desktop[train]” (PyTorch) to fine-tune."
            )
        self.cancel_button.hide()
        self.activate_button.hide()
        lay = QVBoxLayout(self)
        lay.addLayout(form)
        lay.addWidget(self.plan)
        lay.addWidget(self.plot, 1)
        lay.addWidget(self.progress)
        lay.addWidget(self.status)
        lay.addWidget(self.result)
        lay.addWidget(self.buttons)

    def output_dir(self) -> Path:
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        base = self.project.path.with_name(self.project.path.stem + ".models")
        base.mkdir(exist_ok=True)
        return base / f"{stamp}-{self.recipe.currentData()}"

    def start(self) -> None:
        self.out_dir = self.output_dir()
        self.monitor = TrainingMonitor(minutes=self.minutes.value())
        args = [
            "--project",
            str(self.project.path),
            "--recipe",
            self.recipe.currentData(),
            "--minutes",
            str(self.minutes.value()),
            "--out",
            str(self.out_dir),
        ]
        self.proc = QProcess(self)
        self.proc.setProgram(self.program[0])
        self.proc.setArguments([*self.program[1:], *args])
        self.proc.readyReadStandardOutput.connect(self._read)
        self.proc.finished.connect(self._finished)
        self.proc.errorOccurred.connect(self._proc_error)
        self.run_id = self.project.training_runs.start(
            self.recipe.currentData(), {"minutes": self.minutes.value(), "out": str(self.out_dir)}
        ).id
        self._shown = False
        for w in (self.recipe, self.minutes, self.start_button):
            w.setEnabled(False)
        self.cancel_button.show()
        self.status.setText("Starting the trainer…")
        self.proc.start()  # last: a failure to start is reported through errorOccurred

    def feed(self, text: str) -> None:
        """Events from the trainer (also used by tests replaying recorded runs)."""
        for ev in self.monitor.feed(text):
            if ev.type == "start":
                self.status.setText(
                    f"Training {ev['train_ids']} identities ({ev['train_crops']} crops) on "
                    f"{ev.get('device', 'cpu')}; {ev['holdout_ids']} held out."
                )
            elif ev.type == "eval":
                self.status.setText(
                    f"Epoch {ev['epoch']}: held-out Rank-1 {ev['rank1']:.3f} · mAP "
                    f"{ev['mAP']:.3f}" + self._eta()
                )
        m = self.monitor
        self.progress.setValue(int(1000 * m.fraction()))
        self.plot.show_curves(TrainingCurves.from_monitor(m))
        if m.done is not None and not self._shown:
            self._shown = True
            self._show_result()

    def _eta(self) -> str:
        eta = self.monitor.eta_seconds
        return f" · about {eta / 60:.0f} min left" if eta else ""

    def _read(self) -> None:
        self.feed(bytes(self.proc.readAllStandardOutput()).decode("utf-8", "replace"))

    def _show_result(self) -> None:
        d = self.monitor.done
        b, a = d["before"], d["after"]
        self.result.setText(
            "<table cellpadding=4><tr><th></th><th>Rank-1</th><th>Rank-5</th><th>mAP</th></tr>"
            f"<tr><td>before</td><td>{b['rank1']:.3f}</td><td>{b['rank5']:.3f}</td><td>{b['mAP']:.3f}</td></tr>"
            f"<tr><td><b>after</b></td><td><b>{a['rank1']:.3f}</b></td><td><b>{a['rank5']:.3f}</b></td>"
            f"<td><b>{a['mAP']:.3f}</b></td></tr></table>"
        )
        emb = a.get("embedding", "global")
        how = "stripe embedding (centred, projected stripes)" if emb == "stripes" else "global feature"
        self.status.setText(
            f"Finished: best epoch {d.get('best_epoch')} using the {how}; model saved in {d['out']}."
        )
        if self.run_id is not None:
            curve = self.plot.curves.to_record()  # replayed later from the Models tab
            self.project.training_runs.finish(
                self.run_id, "done", {"before": b, "after": a, "out": d["out"], "curve": curve}
            )
        self.activate_button.show()
        self.cancel_button.hide()

    def _finished(self, code: int, _status) -> None:
        self._read()
        m = self.monitor
        if m.done is None:
            why = m.error or f"the trainer stopped (exit code {code})"
            if self.run_id is not None:
                status = "cancelled" if m.cancelled else "failed"
                self.project.training_runs.finish(self.run_id, status, {"error": why})
            self.status.setText(
                ("Cancelled: " if m.cancelled else "Training failed: ")
                + why
                + " The active model is unchanged."
            )
            self.cancel_button.hide()
            for w in (self.recipe, self.minutes, self.start_button):
                w.setEnabled(True)

    def _proc_error(self, err) -> None:
        if self.proc is not None and self.proc.state() == QProcess.NotRunning and self.monitor.done is None:
            self.status.setText(f"Could not run the trainer: {self.proc.errorString()}")
            if self.run_id is not None:
                self.project.training_runs.finish(self.run_id, "failed", {"error": self.proc.errorString()})
                self.run_id = None
            for w in (self.recipe, self.minutes, self.start_button):
                w.setEnabled(True)
            self.cancel_button.hide()

    def running(self) -> bool:
        return self.proc is not None and self.proc.state() != QProcess.NotRunning

    def reject(self) -> None:  # Esc / Close: never leave a trainer running unseen
        self.cancel()
        super().reject()

    def cancel(self) -> None:
        if self.proc is not None and self.proc.state() != QProcess.NotRunning:
            self.status.setText("Cancelling…")
            self.proc.terminate()  # the trainer turns SIGTERM into a clean cancel
            if not self.proc.waitForFinished(15_000):
                self.proc.kill()

    def _activate(self) -> None:
        if self.monitor.done is not None:
            self.modelReady.emit(str(Path(self.monitor.done["out"]) / "encoder.onnx"))
            self.accept()

    def closeEvent(self, event) -> None:
        self.cancel()
        super().closeEvent(event)
