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
    from reid_desktop.ui.encoders.import_dialog import ImportEncoderDialog

log = logging.getLogger(__name__)


def import_job(project_path: Path, src: Path, dst: Path, preprocess: PreprocessOptions, token: CancelToken):
    from reid_desktop.core.encoders.importer import import_model

    """The import report, or the one-line reason the model was refused (the dialog shows it)."""
    yield Progress(0, None, f"Importing {src.name} and checking it on this project's crops…")
    with Project.open(project_path, read_only=True) as project:
        probe = list(project.crops.paths([c.id for c in project.crops.all()[:16]]).values()) or None
    try:
        return import_model(src, dst, preprocess, probe_images=probe)
    except ContractError as exc:
        return str(exc)


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
        project = self.ws.project
        if encoder_id == project.active_encoder_id:
            name = project.encoders.get(encoder_id).name
            self.ws.status(f"{name} is already the active model.", 5000)
            return
        project.set_active_encoder(encoder_id)
        self.activated.emit(encoder_id)

    def rename(self, encoder_id: int, name: str) -> bool:
        """Give a registered model another name (names are unique in a project); True if renamed."""
        project = self.ws.project
        old = project.encoders.get(encoder_id).name
        name = name.strip()
        if not name or name == old:
            return False
        try:
            project.encoders.rename(encoder_id, name)
        except ValueError as exc:
            show_error(self.ws.parent, "Rename model", str(exc))
            return False
        self.ws.status(f"Renamed model {old} to {name}.", 5000)
        self.listChanged.emit()
        return True

    def embed(self, encoder_id: int) -> None:
        self.embedRequested.emit(encoder_id)

    def import_dialog(self) -> None:
        from reid_desktop.ui.encoders.import_dialog import ImportEncoderDialog

        dlg = ImportEncoderDialog(self.ws.parent)
        dlg.importRequested.connect(
            lambda: self.import_encoder(Path(dlg.src.text()), dlg.name.text().strip(), dlg.options(), dlg)
        )
        dlg.exec()

    def import_encoder(
        self, src: Path, name: str, options: PreprocessOptions, dlg: ImportEncoderDialog | None = None
    ) -> None:
        """Import in the background, register, then ask whether to use it now (default: yes).
        A refusal is shown in `dlg` (which stays open, as filled in), else in a message box;
        `dlg` is accepted once the model is registered."""

        def refuse(text: str) -> None:
            if dlg is not None:
                dlg.show_error(text)
            else:
                show_error(self.ws.parent, "Import model", text)

        dst = self.encoders_dir() / f"{name}.onnx"
        if self.ws.project.encoders.by_name(name) is not None:
            return refuse(f"The project already has a model named {name}; choose another name.")
        if dst.exists():
            return refuse(f"{dst.name} already exists in {dst.parent}; choose another name.")
        path = self.ws.project.path
        handle = self.ws.run_job(
            "Importing model",
            lambda t: import_job(path, src, dst, options, t),
            lambda rep: self._imported(rep, name, refuse, dlg),
        )
        if handle is None:
            return refuse("Another job is running; import when it has finished or been cancelled.")
        if dlg is not None:  # cancelled or failed: the form stays, Import can be pressed again
            handle.cancelled.connect(lambda: dlg.show_error("Import cancelled; nothing was added."))
            handle.failed.connect(lambda msg: dlg.show_error(f"Import failed: {msg}"))

    def _imported(self, report, name: str, refuse, dlg: ImportEncoderDialog | None = None) -> None:
        if isinstance(report, str):  # refused by the importer: say why, keep the form
            return refuse(report)
        project = self.ws.project
        try:
            encoder = register_encoder(project, report.dst, name, activate=False)
        except ContractError as exc:
            return refuse(str(exc))
        if dlg is not None:
            dlg.accept()
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
