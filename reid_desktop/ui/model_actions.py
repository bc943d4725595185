"""What the Models tab and the Export menu do: import, switch, embed, fine-tune, export."""

from __future__ import annotations

import html
import logging
from pathlib import Path

from PySide6.QtCore import QObject

from reid_desktop.core.contract import ContractError
from reid_desktop.core.export import export_market
from reid_desktop.core.jobs import CancelToken, Progress
from reid_desktop.core.models import register_model
from reid_desktop.store import Project

from .messages import show_error

log = logging.getLogger(__name__)


def import_job(project_path: Path, src: Path, dst: Path, preprocess, token: CancelToken):
    from reid_desktop.core.embed import crop_paths
    from reid_desktop.core.model_import import import_model

    yield Progress(0, None, f"Importing {src.name} and checking it on this project's crops…")
    project = Project.open(project_path)
    try:
        probe = list(crop_paths(project, [c.id for c in project.crops.all()[:16]]).values()) or None
    finally:
        project.close()
    return import_model(src, dst, preprocess, probe_images=probe)


def export_job(project_path: Path, options: dict, token: CancelToken):
    project = Project.open(project_path)
    try:
        return (
            yield from export_market(
                project,
                options["out_dir"],
                test_ratio=options["test_ratio"],
                seed=options["seed"],
                overwrite=options["overwrite"],
                cancel=token,
            )
        )
    finally:
        project.close()


class ModelActions(QObject):
    def __init__(self, window) -> None:
        super().__init__(window)
        self.w = window

    def stop_training(self) -> None:
        """Closing the project (or the app) cancels a running fine-tune; nothing is activated."""
        if getattr(self, "dialog", None) is not None:
            self.dialog.cancel()
            self.dialog = None

    def models_dir(self) -> Path:
        d = self.w.project.path.with_name(self.w.project.path.stem + ".models")
        d.mkdir(exist_ok=True)
        return d

    def activate(self, model_id: int) -> None:
        self.w.project.set_active_model(model_id)
        self.w.models.reload()
        self.w.review.clear_session()
        missing = len(self.w.project.embeddings.missing_crop_ids(model_id))
        if missing:
            self.w.review_ctl.embed(model_id)  # only what this model lacks
        else:
            self.w.statusBar().showMessage("Model activated; every crop already has its embedding.", 5000)
            self.w.refresh_review_if_shown()

    def embed(self, model_id: int) -> None:
        self.w.review_ctl.embed(model_id)

    def import_dialog(self) -> None:
        from .import_dialog import ImportModelDialog

        dlg = ImportModelDialog(self.w)
        if not dlg.exec():
            return
        src = Path(dlg.src.text())
        name = dlg.name.text().strip()
        dst = self.models_dir() / f"{name}.onnx"
        if dst.exists():
            show_error(
                self.w, "Import model", f"{dst.name} already exists in {dst.parent}; choose another name."
            )
            return
        pre = dlg.preprocess() if dlg.size.text().strip() else None
        path = self.w.project.path
        self.w.run_job(
            "Importing model",
            lambda t: import_job(path, src, dst, pre, t),
            lambda rep: self._imported(rep, name),
        )

    def _imported(self, report, name: str) -> None:
        try:
            model = register_model(self.w.project, report.dst, name)
        except ContractError as exc:
            show_error(self.w, "Import model", str(exc))
            return
        if report.warnings:
            self.w.banner.show_message("Imported with warnings: " + "; ".join(report.warnings), "warning")
        self.activate(model.id)

    def fine_tune(self) -> None:
        from .finetune_dialog import FineTuneDialog

        if getattr(self, "dialog", None) is not None and self.dialog.running():
            self.dialog.show()  # one training run at a time
            self.dialog.raise_()
            return
        dlg = FineTuneDialog(self.w.project, self.w)
        dlg.modelReady.connect(self.use_trained)
        dlg.open()
        self.dialog = dlg

    def use_trained(self, onnx_path: str) -> None:
        p = Path(onnx_path)
        try:
            model = register_model(self.w.project, p, f"ft-{p.parent.name}")
        except ContractError as exc:
            show_error(self.w, "Fine-tuned model", str(exc))
            return
        run_id = getattr(getattr(self, "dialog", None), "run_id", None)
        if run_id is not None:
            run = self.w.project.training_runs.get(run_id)
            self.w.project.training_runs.finish(run_id, run.status, run.metrics, model.id)
        self.activate(model.id)

    def export_dialog(self) -> None:
        from .export_dialog import ExportDialog

        dlg = ExportDialog(self.w.project, self.w)
        if dlg.exec():
            opts = dlg.options()
            path = self.w.project.path
            self.w.run_job("Exporting identities", lambda t: export_job(path, opts, t), self._exported)

    def _exported(self, report) -> None:
        text = f"Exported {report.identities} identities ({report.written} images) to {report.out_dir}."
        if report.cancelled:
            text = "Export cancelled; images written so far are kept, no index was written."
        text = html.escape(text) + "".join(f"<br>{html.escape(w)}" for w in report.warnings)
        warn = report.cancelled or bool(report.warnings)
        self.w.banner.show_message(text, "warning" if warn else "info")
