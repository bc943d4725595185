"""What the Models tab does: import, switch, embed and fine-tune encoders.

It talks to the window through a Workspace and signals, never by reaching into it."""

from __future__ import annotations

import html
import logging
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QMessageBox

from reid_desktop.core.encoders.contract import ContractError
from reid_desktop.core.encoders.preprocess_options import PreprocessOptions, describe
from reid_desktop.core.encoders.registry import register_encoder
from reid_desktop.core.jobs import CancelToken, Progress
from reid_desktop.store import EncoderRecord, Project
from reid_desktop.ui.common.messages import show_error
from reid_desktop.ui.common.workspace import Workspace

if TYPE_CHECKING:
    from reid_desktop.ui.encoders.finetune_dialog import FineTuneDialog

log = logging.getLogger(__name__)


def import_job(project_path: Path, src: Path, dst: Path, preprocess: PreprocessOptions, token: CancelToken):
    from reid_desktop.core.encoders.importer import import_model

    yield Progress(0, None, f"Importing {src.name} and checking it on this project's crops…")
    with Project.open(project_path, read_only=True) as project:
        probe = list(project.crops.paths([c.id for c in project.crops.all()[:16]]).values()) or None
    return import_model(src, dst, preprocess, probe_images=probe)


class EncoderActions(QObject):
    activated = Signal(int)  # encoder id, now the project's active encoder
    embedRequested = Signal(int)  # encoder id whose missing embeddings should be computed
    listChanged = Signal()  # an encoder was added without changing the active one

    def __init__(self, workspace: Workspace) -> None:
        super().__init__(workspace.parent)
        self.ws = workspace
        self.dialog: FineTuneDialog | None = None  # the fine-tune dialog while it exists

    def stop_training(self) -> None:
        """Closing the project (or the app) cancels a running fine-tune; nothing is activated."""
        if self.dialog is not None:
            self.dialog.cancel()
            self.dialog = None

    def encoders_dir(self) -> Path:
        path = self.ws.project.path
        d = path.with_name(path.stem + ".models")
        d.mkdir(exist_ok=True)
        return d

    def activate(self, encoder_id: int) -> None:
        self.ws.project.set_active_encoder(encoder_id)
        self.activated.emit(encoder_id)

    def embed(self, encoder_id: int) -> None:
        self.embedRequested.emit(encoder_id)

    def import_dialog(self) -> None:
        from reid_desktop.ui.encoders.import_dialog import ImportEncoderDialog

        dlg = ImportEncoderDialog(self.ws.parent)
        if dlg.exec():
            self.import_encoder(Path(dlg.src.text()), dlg.name.text().strip(), dlg.options())

    def import_encoder(self, src: Path, name: str, options: PreprocessOptions) -> None:
        """Import in the background, register, then ask whether to use it now (default: yes)."""
        dst = self.encoders_dir() / f"{name}.onnx"
        taken = None
        if self.ws.project.encoders.by_name(name) is not None:
            taken = f"The project already has a model named {name}; choose another name."
        elif dst.exists():
            taken = f"{dst.name} already exists in {dst.parent}; choose another name."
        if taken:
            show_error(self.ws.parent, "Import model", taken)
            return
        path = self.ws.project.path
        self.ws.run_job(
            "Importing model",
            lambda t: import_job(path, src, dst, options, t),
            lambda rep: self._imported(rep, name),
        )

    def _imported(self, report, name: str) -> None:
        project = self.ws.project
        try:
            encoder = register_encoder(project, report.dst, name, activate=False)
        except ContractError as exc:
            show_error(self.ws.parent, "Import model", str(exc))
            return
        current = project.active_encoder_id
        current_name = project.encoders.get(current).name if current is not None else ""
        use = current is None or self._ask_to_switch(encoder, current_name)
        text = f"Imported <b>{html.escape(name)}</b> ({html.escape(describe(report.info.preprocess))}); "
        text += (
            "it is now the active model."
            if use
            else f"the active model is still {html.escape(current_name)}."
        )
        text += "".join(f"<br>Warning: {html.escape(w)}" for w in report.warnings)
        self.ws.notify(text, "warning" if report.warnings else "info")
        if use:
            self.activate(encoder.id)
        else:
            self.listChanged.emit()

    def _ask_to_switch(self, encoder: EncoderRecord, current: str) -> bool:
        missing = len(self.ws.project.embeddings.missing_crop_ids(encoder.id))
        ans = QMessageBox.question(
            self.ws.parent,
            "Use the imported model?",
            f"Make {encoder.name} the active model instead of {current}?\n\n"
            f"Its embeddings for {missing:,} crops are computed next (in the background, can be "
            "cancelled). You can switch back in the Models tab at any time; decisions are kept.",
            QMessageBox.Yes | QMessageBox.No,
            QMessageBox.Yes,
        )
        return ans == QMessageBox.Yes

    def fine_tune(self) -> None:
        from reid_desktop.ui.encoders.finetune_dialog import FineTuneDialog

        if self.dialog is not None and self.dialog.running():
            self.dialog.show()  # one training run at a time
            self.dialog.raise_()
            return
        dlg = FineTuneDialog(self.ws.project, self.ws.parent)
        dlg.modelReady.connect(lambda path: self.use_trained(path, dlg.run_id))
        dlg.open()
        self.dialog = dlg

    def use_trained(self, onnx_path: str, run_id: int | None = None) -> None:
        """Register and activate a fine-tuned encoder; its training run (if any) points at it."""
        p = Path(onnx_path)
        try:
            encoder = register_encoder(self.ws.project, p, f"ft-{p.parent.name}")
        except ContractError as exc:
            show_error(self.ws.parent, "Fine-tuned model", str(exc))
            return
        if run_id is not None:
            run = self.ws.project.training_runs.get(run_id)
            self.ws.project.training_runs.finish(run_id, run.status, run.metrics, encoder.id)
        self.activate(encoder.id)
