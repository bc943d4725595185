"""Fine-tune: say what will happen (which model it starts from, which recipe in plain words, the
training plan `reid-train` will follow), run it in a QProcess, stream its events into a live plot
and a progress bar with ETA, allow Cancel, then show before/after with what the figures rest on
and recommend activating the new model only when it is shown to be better than the start."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from PySide6.QtCore import QProcess, Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from reid_desktop.core.reports.training_curves import TrainingCurves
from reid_desktop.core.training.launcher import trainer_command, trainer_missing_reason
from reid_desktop.core.training.monitor import TrainingMonitor
from reid_desktop.core.training.plan import (
    COMPARABLE_HOLDOUT_IDS,
    DEFAULT_HOLDOUT,
    TrainingPlan,
    min_identities,
    project_plan,
)
from reid_desktop.core.training.recipes import DEFAULT_RECIPE, RECIPES
from reid_desktop.core.training.starts import start_choices
from reid_desktop.store import Project
from reid_desktop.ui.plots.training_curves import TrainingCurvesPlot

GOOD, WARN = "#1d6b2f", "#a03000"
# Measured (README, "fine-tune" row): `reid-train --minutes 8` from the default encoder on the PKU
# dev crops after 10 confirmed people, 2 busy CPU cores.
BUDGET_HINT = "8 min on 2 CPU cores: about 5 epochs (held-out mAP 0.44 → 0.60 with 10 people)"


def budget_hint(project: Project) -> str:
    """What a time budget gives: this project's last finished run if any, else the measured
    figure on the PKU data. The trainer stops at the budget and keeps its best epoch."""
    for run in reversed(project.training_runs.all()):
        evals = (run.metrics.get("curve") or {}).get("evals") or []
        minutes = run.params.get("minutes")
        if run.status == "done" and evals and minutes:
            epochs = max(int(e[0]) for e in evals)
            return f"your last run: {minutes} min gave {epochs} epoch{'s' if epochs != 1 else ''}"
    return BUDGET_HINT


def ended_text(cancelled: bool, why: str) -> str:
    """One sentence for a run that stopped without a model ('cancelled; nothing was written' from
    the trainer does not repeat 'cancelled'), then what it means for the active model."""
    why = why.strip().rstrip(".")
    if cancelled:
        if why.lower().startswith("cancelled"):
            why = why[len("cancelled") :].lstrip(";:, ")
        text = "Training cancelled" + (f"; {why}" if why else "")
    else:
        text = f"Training failed: {why}" if why else "Training failed"
    return text + ". The active model is unchanged."


def plan_text(plan: TrainingPlan) -> str:
    """The plan in an operator's words; every number is one `reid-train` reports in its plan event."""
    if plan.identities == 0:
        text = "No confirmed identities yet."
    else:
        share = plan.holdout_ids / plan.identities
        text = f"<b>{plan.identities}</b> confirmed identities with <b>{plan.crops}</b> crops" + (
            f": <b>{plan.train_ids}</b> train ({plan.train_crops} crops) and <b>{plan.holdout_ids}</b> "
            f"of {plan.identities} ({share:.0%}) are held out, never trained on, to measure "
            "Rank-1/mAP before and after."
            if plan.ok
            else "."
        )
    if plan.ok:
        within = plan.holdout_ids - plan.holdout_cross_camera_ids
        if within:
            text += (
                f" {within} held-out {'person was' if within == 1 else 'people were'} seen in one camera "
                "only: scored against their own other crops in that camera (near-duplicates left out)."
            )
    for why, n in plan.left_out.items():
        text += f"<br>{n} identit{'y' if n == 1 else 'ies'} left out ({why}"
        text += "; resolve them in Identities)." if why == "contradictions" else ")."
    if plan.weak_holdout:
        text += (
            f"<br><span style='color:{WARN}'>Only {plan.holdout_ids} held-out people: too few to tell "
            "the fine-tuned model from the start (Rank-1/mAP move in big steps or sit at 1.000). "
            f"Confirm about {min_identities(plan.holdout_frac, COMPARABLE_HOLDOUT_IDS)} identities "
            f"for {COMPARABLE_HOLDOUT_IDS} held out; you can still start.</span>"
        )
    if not plan.ok:
        text += (
            f"<br><span style='color:{WARN}'>Not enough yet: confirm at least "
            f"{min_identities(plan.holdout_frac)} identities (two crops each) in Review.</span>"
        )
    return text


def result_html(done: dict) -> str:
    """Before/after table, what the figures rest on, and the verdict against the start model."""
    b, a = done["before"], done["after"]
    html = (
        "<table cellpadding=3><tr><th></th><th>Rank-1</th><th>Rank-5</th><th>mAP</th></tr>"
        f"<tr><td>start model</td><td>{b['rank1']:.3f}</td><td>{b['rank5']:.3f}</td>"
        f"<td>{b['mAP']:.3f}</td></tr>"
        f"<tr><td><b>fine-tuned</b></td><td><b>{a['rank1']:.3f}</b></td><td><b>{a['rank5']:.3f}</b></td>"
        f"<td><b>{a['mAP']:.3f}</b></td></tr></table>"
    )
    if "queries" in a:
        html += f"Measured on {a['holdout_ids']} held-out people, {a['queries']} queries ({a['protocol']})"
        if "mAP_interval" in a:
            lo, hi = a["mAP_interval"]
            html += f"; fine-tuned mAP 95 % interval {lo:.3f}–{hi:.3f}"
        html += "."
    comp = done.get("comparison")
    if comp:
        colour = GOOD if comp["recommend"] == "activate" else WARN
        html += f"<br><span style='color:{colour}'><b>{comp['sentence']}</b></span>"
    return html


class FineTuneDialog(QDialog):
    modelReady = Signal(str)  # path of the new encoder.onnx, when the user activates it

    def __init__(
        self, project: Project, parent: QWidget | None = None, program: list[str] | None = None
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Fine-tune the encoder")
        self.resize(660, 660)  # fits a 1366×768 screen with the result table shown
        self.project = project
        self.program = program or trainer_command()
        self.proc: QProcess | None = None
        self.monitor = TrainingMonitor()
        self.out_dir: Path | None = None
        self.run_id: int | None = None  # the training_runs row of this dialog's run
        self._shown = False
        self.start_from = QComboBox()
        for choice in start_choices(project):
            self.start_from.addItem(choice.label, choice.init)
        self.recipe = QComboBox()
        for r in RECIPES.values():
            self.recipe.addItem(r.title + (" (recommended)" if r.name == DEFAULT_RECIPE else ""), r.name)
            self.recipe.setItemData(self.recipe.count() - 1, r.summary, Qt.ToolTipRole)
        self.recipe.setCurrentIndex(self.recipe.findData(DEFAULT_RECIPE))
        self.method = QLabel()
        self.method.setStyleSheet("color: palette(mid)")
        self.recipe.currentIndexChanged.connect(self._show_method)
        self._show_method()
        self.minutes = QSpinBox()
        self.minutes.setRange(1, 600)
        self.minutes.setValue(10)
        self.minutes.setSuffix(" min")
        self.budget_hint = QLabel(budget_hint(project))
        self.budget_hint.setStyleSheet("color: palette(mid)")
        self.budget_hint.setToolTip("The trainer stops when the budget is spent and keeps its best epoch.")
        budget = QHBoxLayout()
        budget.addWidget(self.minutes)
        budget.addWidget(self.budget_hint, 1)
        self.plan_data = project_plan(project, DEFAULT_HOLDOUT)
        self.plan_ok = self.plan_data.ok
        self.plan = QLabel(plan_text(self.plan_data))
        self.plan.setWordWrap(True)
        form = QFormLayout()
        form.addRow("Start from:", self.start_from)
        form.addRow("Recipe:", self.recipe)
        form.addRow("", self.method)
        form.addRow("Time budget:", budget)
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
            self.status.setText(trainer_missing_reason())
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

    def _show_method(self) -> None:
        r = RECIPES[self.recipe.currentData()]
        self.method.setText(f"method: {r.name} — {r.method}")

    def _inputs(self) -> tuple[QWidget, ...]:
        return (self.start_from, self.recipe, self.minutes, self.start_button)

    def output_dir(self) -> Path:
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        base = self.project.path.with_name(self.project.path.stem + ".models")
        base.mkdir(exist_ok=True)
        return base / f"{stamp}-{self.recipe.currentData()}"

    def trainer_args(self) -> list[str]:
        """`reid-train` arguments for the current choices (the plan's split, so the run follows
        exactly the plan shown)."""
        plan = self.plan_data
        return [
            "--project",
            str(self.project.path),
            "--init",
            self.start_from.currentData(),
            "--recipe",
            self.recipe.currentData(),
            "--minutes",
            str(self.minutes.value()),
            "--holdout-frac",
            str(plan.holdout_frac),
            "--seed",
            str(plan.seed),
            "--out",
            str(self.out_dir),
        ]

    def start(self) -> None:
        self.out_dir = self.output_dir()
        self.monitor = TrainingMonitor(minutes=self.minutes.value())
        args = self.trainer_args()
        self.proc = QProcess(self)
        self.proc.setProgram(self.program[0])
        self.proc.setArguments([*self.program[1:], *args])
        self.proc.readyReadStandardOutput.connect(self._read)
        self.proc.finished.connect(self._finished)
        self.proc.errorOccurred.connect(self._proc_error)
        self.run_id = self.project.training_runs.start(
            self.recipe.currentData(),
            {
                "minutes": self.minutes.value(),
                "out": str(self.out_dir),
                "init": self.start_from.currentData(),
            },
        ).id
        self._shown = False
        for w in self._inputs():
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
                    f"{ev.get('device', 'cpu')}, starting from {ev.get('init', 'the chosen model')}; "
                    f"{ev['holdout_ids']} held out."
                )
            elif ev.type == "eval":
                basis = ""
                if "queries" in ev.data:
                    basis = f" ({ev['holdout_ids']} people, {ev['queries']} queries)"
                what = "start model" if ev["epoch"] == 0 else f"epoch {ev['epoch']}"
                self.status.setText(
                    f"{what.capitalize()}: held-out Rank-1 {ev['rank1']:.3f} · mAP "
                    f"{ev['mAP']:.3f}{basis}" + self._eta() + self._saturated()
                )
        m = self.monitor
        self.progress.setValue(int(1000 * m.fraction()))
        self.plot.show_curves(TrainingCurves.from_monitor(m))
        if m.done is not None and not self._shown:
            self._shown = True
            self._show_result()

    def _saturated(self) -> str:
        """The start model already ranks every held-out query perfectly: no gain can show."""
        before = self.monitor.before
        if before and before.get("rank1") == 1.0 and before.get("mAP") == 1.0:
            return (
                ". The start model already scores 1.000 on the held-out people: this run cannot "
                "show an improvement (confirm more identities)."
            )
        return ""

    def _eta(self) -> str:
        eta = self.monitor.eta_seconds
        return f" · about {eta / 60:.0f} min left" if eta else ""

    def _read(self) -> None:
        self.feed(bytes(self.proc.readAllStandardOutput()).decode("utf-8", "replace"))

    def _show_result(self) -> None:
        d = self.monitor.done
        b, a = d["before"], d["after"]
        self.result.setText(result_html(d.data))
        emb = a.get("embedding", "global")
        how = "stripe embedding (centred, projected stripes)" if emb == "stripes" else "global feature"
        self.status.setText(
            f"Finished: best epoch {d.get('best_epoch')} using the {how}; model saved in {d['out']}."
        )
        if self.run_id is not None:
            curve = self.plot.curves.to_record()  # replayed later from the Models tab
            self.project.training_runs.finish(
                self.run_id,
                "done",
                {
                    "before": b,
                    "after": a,
                    "out": d["out"],
                    "curve": curve,
                    "comparison": d.get("comparison"),
                },
            )
        self.activate_button.show()
        self.cancel_button.hide()
        keep = (d.get("comparison") or {}).get("recommend") == "keep"
        self.activate_button.setText("Activate anyway && re-score" if keep else "Activate && re-score")
        self.close_button.setText("Keep the current model" if keep else "Close")
        (self.close_button if keep else self.activate_button).setDefault(True)

    def _finished(self, code: int, _status) -> None:
        self._read()
        m = self.monitor
        if m.done is None:
            why = m.error or f"the trainer stopped (exit code {code})"
            if self.run_id is not None:
                status = "cancelled" if m.cancelled else "failed"
                self.project.training_runs.finish(self.run_id, status, {"error": why})
            self.status.setText(ended_text(m.cancelled, why))
            self.cancel_button.hide()
            for w in self._inputs():
                w.setEnabled(True)

    def _proc_error(self, err) -> None:
        if self.proc is not None and self.proc.state() == QProcess.NotRunning and self.monitor.done is None:
            self.status.setText(f"Could not run the trainer: {self.proc.errorString()}")
            if self.run_id is not None:
                self.project.training_runs.finish(self.run_id, "failed", {"error": self.proc.errorString()})
                self.run_id = None
            for w in self._inputs():
                w.setEnabled(True)
            self.cancel_button.hide()

    def running(self) -> bool:
        return self.proc is not None and self.proc.state() != QProcess.NotRunning

    def reject(self) -> None:
        """Esc, Close and the window's ✕ (QDialog's closeEvent calls this): while training runs,
        ask first; stopping is exactly "Cancel training" (recorded as cancelled, nothing written)."""
        if self.running() and not self.confirm_stop():
            return  # keep training: the dialog stays
        self.cancel()
        super().reject()

    def confirm_stop(self) -> bool:
        box = QMessageBox(
            QMessageBox.Question,
            "Stop training?",
            "Training is running. Stop it and close?\n\nThe run so far is discarded; the active "
            "model is unchanged.",
            QMessageBox.NoButton,
            self,
        )
        stop = box.addButton("Stop && close", QMessageBox.DestructiveRole)
        keep = box.addButton("Keep training", QMessageBox.RejectRole)
        box.setDefaultButton(keep)
        box.setEscapeButton(keep)
        box.exec()
        return box.clickedButton() is stop

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
